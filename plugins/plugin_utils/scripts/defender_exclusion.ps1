# Adds or removes Windows Defender process exclusions (scanning slows layer extraction).
# Only the processes named here are touched; every other exclusion stays as it is.
param(
    [Parameter(Mandatory = $true)][string[]]$Processes,
    [ValidateSet('present', 'absent')][string]$State = 'present'
)
$answer = @{ processes = @($Processes); state = $State; changed = $false; skipped = $null; warning = $null }
if (-not (Get-Command -Name Add-MpPreference -ErrorAction SilentlyContinue)) {
    $answer.skipped = 'Windows Defender is not installed (no Defender cmdlets)'
    return $answer
}
$read = { @((Get-MpPreference -ErrorAction Stop).ExclusionProcess | Where-Object { $_ } | ForEach-Object { [string]$_ }) }
# The processes not yet in the state asked for (-contains ignores case, as Defender does).
$pending = { param($list) @($Processes | Where-Object { ($list -contains $_) -ne ($State -eq 'present') }) }
try {
    $before = & $read
}
catch {
    # The cmdlets exist but Defender is off (HRESULT 0x800106ba): there is nothing to exclude from.
    $answer.skipped = "Windows Defender is not running: $($_.Exception.Message)"
    return $answer
}
$todo = & $pending $before
if ($todo.Count -eq 0) {
    return $answer
}
if ($State -eq 'present') {
    Add-MpPreference -ExclusionProcess $todo -ErrorAction Stop
}
else {
    Remove-MpPreference -ExclusionProcess $todo -ErrorAction Stop
}
# Exclusions managed by policy (Group Policy, Intune, tamper protection) do not change locally, yet the
# cmdlets succeed: read again, and report a change only when there was one.
$left = & $pending (& $read)
$answer.changed = $left.Count -lt $todo.Count
if ($left.Count) {
    $answer.warning = ('Windows Defender kept the process exclusions of {0} unchanged ({1} asked): they are ' +
        'managed by policy (Group Policy, Intune or tamper protection); change them there') -f ($left -join ', '), $State
}
$answer
