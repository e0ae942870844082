# Creates the local groups that are missing (buildkitd's --group must name an existing group, or the
# daemon refuses to start). Existing groups and their members are left as they are.
param(
    [Parameter(Mandatory = $true)][string[]]$Names,
    [string]$Description = 'May use the buildkitd named pipe (wcow.buildkit)'
)
$created = @()
$existing = @()
foreach ($name in $Names) {
    # Get-LocalGroup also finds built-in groups (Administrators, Users, ...), with or without BUILTIN\.
    $group = Get-LocalGroup -Name ($name -replace '^(BUILTIN|\.)\\', '') -ErrorAction SilentlyContinue
    if ($group) {
        $existing += [string]$group.Name
        continue
    }
    $null = New-LocalGroup -Name $name -Description $Description -ErrorAction Stop
    $created += [string]$name
}
@{ names = [string[]]@($Names); created = [string[]]$created; existing = [string[]]$existing; changed = ($created.Count -gt 0) }
