# Reads who may open a named pipe (buildkitd gives each --group read/write), without connecting to it.
param(
    [Parameter(Mandatory = $true)][string]$Name
)
$path = '\\.\pipe\' + $Name
$answer = @{ name = $Name; exists = $false; access = @() }
# Listing \\.\pipe\ never opens a pipe (Test-Path would connect to it). .NET Framework throws on a
# pipe name it calls an illegal path: skip that entry and go on, as containerd_state does.
$found = $false
$listing = [System.IO.Directory]::EnumerateFiles('\\.\pipe\').GetEnumerator()
$skipped = 0
while (-not $found -and $skipped -lt 100) {
    try {
        if (-not $listing.MoveNext()) {
            break
        }
        $found = ($listing.Current -eq $path)
    }
    catch [System.ArgumentException] {
        $skipped++
    }
}
if (-not $found) {
    return $answer
}
$answer.exists = $true
$acl = [System.IO.Directory]::GetAccessControl($path)
$answer.access = @($acl.GetAccessRules($true, $false, [System.Security.Principal.SecurityIdentifier]) | ForEach-Object {
        $rule = $_  # inside catch, $_ is the error
        $identity = [string]$rule.IdentityReference.Value
        try {
            $identity = [string]$rule.IdentityReference.Translate([System.Security.Principal.NTAccount]).Value
        }
        catch {
            $identity = [string]$rule.IdentityReference.Value
        }
        @{
            sid = [string]$rule.IdentityReference.Value
            identity = $identity
            type = [string]$rule.AccessControlType
            rights = [string]$rule.FileSystemRights
        }
    })
$answer
