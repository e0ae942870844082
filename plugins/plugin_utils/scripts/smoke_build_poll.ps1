# Waits up to WaitSeconds (well inside WinRM's operation timeout) for the detached smoke build to end,
# then answers the build log from Offset on and, once the build ended, its exit code; after a failure also
# the last TailBytes of buildkitd's own log (DaemonLog), where the daemon says what went wrong.
param(
    [Parameter(Mandatory = $true)][string]$LogPath,
    [Parameter(Mandatory = $true)][string]$RcPath,
    [int]$Offset = 0,
    [int]$WaitSeconds = 20,
    [string]$DaemonLog = '',
    [int]$TailBytes = 4096
)
$deadline = [DateTime]::UtcNow.AddSeconds($WaitSeconds)
while (-not (Test-Path -LiteralPath $RcPath) -and [DateTime]::UtcNow -lt $deadline) {
    Start-Sleep -Milliseconds 500
}
$rc = $null
if (Test-Path -LiteralPath $RcPath) {
    $rcText = ([System.IO.File]::ReadAllText($RcPath)).Trim()
    if ($rcText -ne '') {
        $rc = [int]$rcText
    }
}
$text = ''
$size = 0
if (Test-Path -LiteralPath $LogPath) {
    # buildctl still holds the log open for writing: share it.
    $stream = [System.IO.File]::Open($LogPath, 'Open', 'Read', 'ReadWrite')
    try {
        $size = [int]$stream.Length
        if ($size -gt $Offset) {
            [void]$stream.Seek($Offset, 'Begin')
            $buffer = New-Object byte[] ($size - $Offset)
            $read = $stream.Read($buffer, 0, $buffer.Length)
            $text = [System.Text.Encoding]::UTF8.GetString($buffer, 0, $read)
        }
    }
    finally {
        $stream.Dispose()
    }
}
$daemonTail = ''
if ($null -ne $rc -and $rc -ne 0 -and $DaemonLog -and (Test-Path -LiteralPath $DaemonLog)) {
    $stream = [System.IO.File]::Open($DaemonLog, 'Open', 'Read', 'ReadWrite')
    try {
        $start = [Math]::Max([long]0, $stream.Length - $TailBytes)
        [void]$stream.Seek($start, 'Begin')
        $buffer = New-Object byte[] ($stream.Length - $start)
        $read = $stream.Read($buffer, 0, $buffer.Length)
        $daemonTail = [System.Text.Encoding]::UTF8.GetString($buffer, 0, $read)
    }
    finally {
        $stream.Dispose()
    }
}
@{ done = ($null -ne $rc); rc = $rc; text = [string]$text; offset = $size; daemon_log_tail = [string]$daemonTail; changed = $false }
