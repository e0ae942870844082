# Stops every process with this name (leftover shims lock binaries during upgrades).
param(
    [Parameter(Mandatory = $true)][string]$Name
)
$processes = @(Get-Process -Name $Name -ErrorAction SilentlyContinue)
foreach ($process in $processes) {
    Stop-Process -Id $process.Id -Force -ErrorAction SilentlyContinue
    $null = $process.WaitForExit(30000)
}
@{ name = $Name; stopped = $processes.Count; changed = [bool]$processes.Count }
