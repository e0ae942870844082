# Starts a service and waits, at most TimeoutSeconds, until it runs and, when PipeName is given,
# its named pipe exists. ServiceController.Start() returns at once (Start-Service would wait for
# as long as the service stays StartPending). The pipe is found by listing the pipe folder:
# Test-Path on a pipe opens a client connection to it.
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
if ($svc.Status -eq 'Stopped') {
    try {
        $svc.Start()
    }
    catch {
        $startError = $_.Exception.Message
    }
}
$pipe = "\\.\pipe\$PipeName"
$deadline = [DateTime]::UtcNow.AddSeconds($TimeoutSeconds)
$ready = $false
do {
    $svc.Refresh()
    $ready = $svc.Status -eq 'Running' -and (-not $PipeName -or ([System.IO.Directory]::GetFiles('\\.\pipe\') -contains $pipe))
    if ($ready -or $svc.Status -eq 'Stopped') {
        break
    }
    Start-Sleep -Milliseconds 250
} while ([DateTime]::UtcNow -lt $deadline)

$status = [string]$svc.Status
$tail = @()
if (-not $ready -and $LogFile -and (Test-Path -LiteralPath $LogFile -PathType Leaf)) {
    # Plain strings: Get-Content's lines carry PSPath/PSProvider properties that ConvertTo-Json would expand.
    $tail = @(Get-Content -LiteralPath $LogFile -Tail 20 | ForEach-Object { [string]$_ })
}
if (-not $ready -and $Require) {
    throw "service $Name did not come up within $TimeoutSeconds seconds (status $status). $startError Log tail: $($tail -join [Environment]::NewLine)"
}
@{ name = $Name; started = $ready; changed = $changed; status = $status; log_tail = $tail }
