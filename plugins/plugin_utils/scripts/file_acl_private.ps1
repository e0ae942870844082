# Leaves files (TLS private keys) readable by SYSTEM and Administrators only: inheritance off, full
# control for those two, nobody else. Files already in that state are not rewritten.
param(
    [Parameter(Mandatory = $true)][string[]]$Path,
    # Only read: answer which files would change (updated, changed) and which are missing; change nothing.
    [bool]$CheckOnly = $false
)
$wanted = 'S-1-5-18:Allow:FullControl;S-1-5-32-544:Allow:FullControl'
$sid = [System.Security.Principal.SecurityIdentifier]
$changed = @()
$missing = @()
foreach ($item in $Path) {
    if (-not (Test-Path -LiteralPath $item -PathType Leaf)) {
        if ($CheckOnly) {
            $missing += [string]$item
            continue
        }
        throw "Cannot find path '$item' because it does not exist."
    }
    $acl = [System.IO.File]::GetAccessControl($item)
    $rules = @($acl.GetAccessRules($true, $true, $sid) | ForEach-Object {
            '{0}:{1}:{2}' -f $_.IdentityReference.Value, $_.AccessControlType, $_.FileSystemRights
        } | Sort-Object)
    if ($acl.AreAccessRulesProtected -and (($rules -join ';') -eq $wanted)) {
        continue
    }
    if ($CheckOnly) {
        $changed += [string]$item
        continue
    }
    $private = New-Object System.Security.AccessControl.FileSecurity
    # P: protected (inherited entries dropped); FA: full access; SY: SYSTEM; BA: Administrators.
    $private.SetSecurityDescriptorSddlForm('D:PAI(A;;FA;;;SY)(A;;FA;;;BA)', 'Access')
    [System.IO.File]::SetAccessControl($item, $private)
    $changed += [string]$item
}
@{ path = [string[]]@($Path); changed = ($changed.Count -gt 0); updated = [string[]]$changed; missing = [string[]]$missing }
