# Adds or removes Windows Defender process exclusions (scanning slows layer extraction).
param(
    [Parameter(Mandatory = $true)][string[]]$Processes,
    [ValidateSet('present', 'absent')][string]$State = 'present'
)
if (-not (Get-Command -Name Add-MpPreference -ErrorAction SilentlyContinue)) {
    return @{ changed = $false; skipped = 'Windows Defender is not installed' }
}
if ($State -eq 'present') {
    Add-MpPreference -ExclusionProcess $Processes
}
else {
    Remove-MpPreference -ExclusionProcess $Processes
}
@{ processes = $Processes; state = $State; changed = $true }
