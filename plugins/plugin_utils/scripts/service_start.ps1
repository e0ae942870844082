# Starts a service and waits until it runs and, when PipeName is given, its named pipe answers.
# Answers started=false (with the log tail) instead of throwing unless Require is set,
# so the controller can decide to roll back.
param(
    [Parameter(Mandatory = $true)][string]$Name,
    [string]$PipeName,
    [string]$LogFile,
    [string]$OnlyIfRunning,
    [bool]$Require = $true,
    [int]$TimeoutSeconds = 60
)
if ($OnlyIfRunning -and (Get-Service -Name $OnlyIfRunning -ErrorAction SilentlyContinue).Status -ne 'Running') {
    return @{ name = $Name; started = $false; skipped = "$OnlyIfRunning is not running"; status = $null }
}
$svc = Get-Service -Name $Name
$changed = $svc.Status -ne 'Running'
$startError = ''
if ($changed) {
    try {
        Start-Service -Name $Name
    }
    catch {
        $startError = $_.Exception.Message
    }
}
$deadline = [DateTime]::UtcNow.AddSeconds($TimeoutSeconds)
$ready = $false
do {
    $svc.Refresh()
    $ready = $svc.Status -eq 'Running' -and (-not $PipeName -or (Test-Path -LiteralPath "\\.\pipe\$PipeName"))
    if ($ready -or $svc.Status -eq 'Stopped') {
        break
    }
    Start-Sleep -Milliseconds 250
} while ([DateTime]::UtcNow -lt $deadline)

$tail = @()
if (-not $ready -and $LogFile -and (Test-Path -LiteralPath $LogFile -PathType Leaf)) {
    # [string[]]: plain strings; 5.1 decorates each Get-Content line with PSPath, PSDrive, PSProvider...
    $tail = [string[]]@(Get-Content -LiteralPath $LogFile -Tail 20)
}
if (-not $ready -and $Require) {
    throw "service $Name did not come up (status $($svc.Status)). $startError Log tail: $($tail -join [Environment]::NewLine)"
}
@{ name = $Name; started = $ready; changed = $changed; status = [string]$svc.Status; log_tail = $tail }
