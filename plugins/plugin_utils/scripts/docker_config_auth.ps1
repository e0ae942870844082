# Keeps registry credentials where `docker login` keeps them, for the user this WinRM session runs as:
# <Folder>\config.json (Folder empty: %USERPROFILE%\.docker), auths.<Registry>.auth = base64(user:password),
# merged into the file without touching its other keys. The file is then readable by this user only
# (protected DACL, one full-control rule for the user's SID). Without Username nothing is written: the answer
# only says whether the file already has an entry for Registry. Credentials never appear in the answer.
param(
    [string]$Folder = '',
    [Parameter(Mandatory = $true)][string]$Registry,
    [string]$Username = '',
    [string]$Password = ''
)
if (-not $Folder) {
    $Folder = Join-Path $env:USERPROFILE '.docker'
}
$path = Join-Path $Folder 'config.json'
$config = New-Object PSObject
$hasBom = $false
if (Test-Path -LiteralPath $path -PathType Leaf) {
    $bytes = [System.IO.File]::ReadAllBytes($path)
    $hasBom = ($bytes.Length -ge 3 -and $bytes[0] -eq 0xEF -and $bytes[1] -eq 0xBB -and $bytes[2] -eq 0xBF)
    $text = [System.IO.File]::ReadAllText($path)
    if ($text.Trim()) {
        try {
            $config = $text | ConvertFrom-Json
        }
        catch {
            throw "$path is not valid JSON ($($_.Exception.Message)): fix or delete it, then run again."
        }
    }
}
# Missing, or "auths": null (valid JSON that docker reads as no logins; ConvertFrom-Json keeps the property with a
# $null value, whose properties cannot be indexed): a new empty object.
if ($null -eq $config.PSObject.Properties['auths'] -or $null -eq $config.auths) {
    $config | Add-Member -NotePropertyName 'auths' -NotePropertyValue (New-Object PSObject) -Force
}
$entry = $config.auths.PSObject.Properties[$Registry]
$hasAuth = [bool]($entry -and $entry.Value.PSObject.Properties['auth'] -and $entry.Value.auth)
$changed = $false
# No BOM (a file with one is rewritten): docker's Go JSON decoder refuses it and then reads no credentials.
if ($Username) {
    $auth = [Convert]::ToBase64String([System.Text.Encoding]::UTF8.GetBytes($Username + ':' + $Password))
    if ($hasBom -or -not $hasAuth -or [string]$entry.Value.auth -ne $auth) {
        $config.auths | Add-Member -NotePropertyName $Registry -NotePropertyValue ([pscustomobject]@{ auth = $auth }) -Force
        New-Item -ItemType Directory -Path $Folder -Force | Out-Null
        [System.IO.File]::WriteAllText($path, ($config | ConvertTo-Json -Depth 20), [System.Text.UTF8Encoding]::new($false))
        $changed = $true
    }
    $hasAuth = $true
}
$aclChanged = $false
if (Test-Path -LiteralPath $path -PathType Leaf) {
    $user = [System.Security.Principal.WindowsIdentity]::GetCurrent().User.Value
    $wanted = "D:PAI(A;;FA;;;$user)"
    $acl = [System.IO.File]::GetAccessControl($path)
    if ($acl.GetSecurityDescriptorSddlForm('Access') -ne $wanted) {
        $private = New-Object System.Security.AccessControl.FileSecurity
        $private.SetSecurityDescriptorSddlForm($wanted, 'Access')
        [System.IO.File]::SetAccessControl($path, $private)
        $aclChanged = $true
    }
}
@{ folder = [string]$Folder; path = [string]$path; has_auth = $hasAuth; changed = ($changed -or $aclChanged) }
