# Writes a text file (UTF-8, no BOM) when its bytes differ, creating its folder.
# Bytes, not text: ReadAllText drops a BOM and decodes UTF-16, so a re-encoded file would compare equal.
param(
    [Parameter(Mandatory = $true)][string]$Path,
    [Parameter(Mandatory = $true)][AllowEmptyString()][string]$Content
)
$bytes = [System.Text.UTF8Encoding]::new($false).GetBytes($Content)
$sha = [System.Security.Cryptography.SHA256]::Create()
try {
    $want = [BitConverter]::ToString($sha.ComputeHash($bytes))
    $have = $null
    if (Test-Path -LiteralPath $Path -PathType Leaf) {
        $have = [BitConverter]::ToString($sha.ComputeHash([System.IO.File]::ReadAllBytes($Path)))
    }
}
finally {
    $sha.Dispose()
}
$sha256 = $want.Replace('-', '').ToLowerInvariant()
if ($have -ceq $want) {
    return @{ path = $Path; sha256 = $sha256; changed = $false }
}
$null = New-Item -Path (Split-Path -Path $Path -Parent) -ItemType Directory -Force
[System.IO.File]::WriteAllBytes($Path, $bytes)
@{ path = $Path; sha256 = $sha256; changed = $true }
