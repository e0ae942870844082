# Adds or removes one entry of the machine PATH, keeping every other entry as it is.
param(
    [Parameter(Mandatory = $true)][string]$Entry,
    [ValidateSet('present', 'absent')][string]$State = 'present'
)
$current = [Environment]::GetEnvironmentVariable('Path', 'Machine')
$entries = @($current -split ';' | Where-Object { $_ })
$same = { param($item) $item.TrimEnd('\') -ieq $Entry.TrimEnd('\') }
$present = @($entries | Where-Object { & $same $_ }).Count -gt 0
$changed = $false
if ($State -eq 'present' -and -not $present) {
    $entries += $Entry
    $changed = $true
}
elseif ($State -eq 'absent' -and $present) {
    $entries = @($entries | Where-Object { -not (& $same $_) })
    $changed = $true
}
if ($changed) {
    [Environment]::SetEnvironmentVariable('Path', ($entries -join ';'), 'Machine')
}
@{ entry = $Entry; state = $State; changed = $changed }
