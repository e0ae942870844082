# Answers a file's SHA-256 (and its digest in Algorithm); with -Hash, fails on a mismatch.
# A mismatching file is deleted by default so a bad transfer is never installed later.
param(
    [Parameter(Mandatory = $true)][string]$Path,
    [ValidateSet('SHA256', 'SHA512')][string]$Algorithm = 'SHA256',
    [string]$Hash = '',
    [bool]$RemoveOnMismatch = $true
)
$ErrorActionPreference = 'Stop'
$expected = $Hash.ToLowerInvariant()
if (-not (Test-Path -LiteralPath $Path -PathType Leaf)) {
    if ($expected) {
        throw ('checksum check failed: {0} does not exist' -f $Path)
    }
    return @{ path = $Path; exists = $false; sha256 = $null; algorithm = $Algorithm; digest = $null; changed = $false }
}
$sha256 = (Get-FileHash -LiteralPath $Path -Algorithm SHA256).Hash.ToLowerInvariant()
$digest = $sha256
if ($Algorithm -ne 'SHA256') {
    $digest = (Get-FileHash -LiteralPath $Path -Algorithm $Algorithm).Hash.ToLowerInvariant()
}
if ($expected -and $digest -ne $expected) {
    if ($RemoveOnMismatch) {
        Remove-Item -LiteralPath $Path -Force
    }
    throw ('checksum mismatch for {0}: expected {1} {2}, actual {3}' -f $Path, $Algorithm.ToLowerInvariant(), $expected, $digest)
}
$size = (Get-Item -LiteralPath $Path).Length
@{ path = $Path; exists = $true; sha256 = $sha256; algorithm = $Algorithm; digest = $digest; size = $size; changed = $false }
