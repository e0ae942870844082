# Ends every process whose executable lives in Directory (leftover containerd shims, a ctr.exe
# left running) so the images there can be replaced or deleted: Windows refuses to delete or
# overwrite the image of a live process. Processes of the same name elsewhere - Docker Engine's
# own containerd-shim-runhcs-v1.exe and its containers - are left alone. Name narrows it down.
param(
    [Parameter(Mandatory = $true)][string]$Directory,
    [string]$Name,
    [int]$TimeoutSeconds = 30
)
$prefix = $Directory.TrimEnd('\') + '\'
$ours = @(Get-CimInstance -ClassName Win32_Process | Where-Object {
        $_.ExecutablePath -and ([string]$_.ExecutablePath).StartsWith($prefix, [StringComparison]::OrdinalIgnoreCase) -and
        (-not $Name -or [System.IO.Path]::GetFileNameWithoutExtension([string]$_.Name) -eq $Name)
    })
$stopped = @()
foreach ($item in $ours) {
    $process = Get-Process -Id ([int]$item.ProcessId) -ErrorAction SilentlyContinue
    if (-not $process) {
        continue
    }
    Stop-Process -Id $process.Id -Force -ErrorAction SilentlyContinue
    if (-not $process.WaitForExit($TimeoutSeconds * 1000)) {
        throw "process $($process.Id) ($($item.ExecutablePath)) did not exit within $TimeoutSeconds seconds of being ended"
    }
    $stopped += @{ pid = [int]$item.ProcessId; path = [string]$item.ExecutablePath }
}
@{ directory = $Directory; stopped = $stopped.Count; processes = $stopped; changed = [bool]$stopped.Count }
