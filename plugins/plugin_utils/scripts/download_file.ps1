# Downloads Url to Path through a temporary name, verifies its digest, then renames it into place.
# A file already holding the expected digest is left alone; a mismatch deletes the download and fails.
param(
    [Parameter(Mandatory = $true)][string]$Url,
    [Parameter(Mandatory = $true)][string]$Path,
    [ValidateSet('SHA256', 'SHA512')][string]$Algorithm = 'SHA256',
    [string]$Hash = '',
    [string]$Proxy = '',
    [bool]$ValidateCerts = $true,
    [int]$TimeoutSec = 900
)
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$expected = $Hash.ToLowerInvariant()
if ($expected -and (Test-Path -LiteralPath $Path -PathType Leaf)) {
    $present = (Get-FileHash -LiteralPath $Path -Algorithm $Algorithm).Hash.ToLowerInvariant()
    if ($present -eq $expected) {
        $sha256 = (Get-FileHash -LiteralPath $Path -Algorithm SHA256).Hash.ToLowerInvariant()
        return @{ path = $Path; url = $Url; sha256 = $sha256; algorithm = $Algorithm; digest = $present; changed = $false }
    }
}
$folder = Split-Path -Path $Path -Parent
if ($folder) {
    $null = New-Item -Path $folder -ItemType Directory -Force
}
$temp = '{0}.{1}.download' -f $Path, [guid]::NewGuid().ToString('N')
[Net.ServicePointManager]::SecurityProtocol = [Net.ServicePointManager]::SecurityProtocol -bor [Net.SecurityProtocolType]::Tls12
if (-not $ValidateCerts) {
    [Net.ServicePointManager]::ServerCertificateValidationCallback = { $true }
}
$request = @{ Uri = $Url; OutFile = $temp; UseBasicParsing = $true; TimeoutSec = $TimeoutSec }
if ($Proxy) {
    $request.Proxy = $Proxy
}
try {
    Invoke-WebRequest @request
    $digest = (Get-FileHash -LiteralPath $temp -Algorithm $Algorithm).Hash.ToLowerInvariant()
    if ($expected -and $digest -ne $expected) {
        throw ('checksum mismatch for {0}: expected {1} {2}, actual {3}; the download was deleted' -f $Url, $Algorithm.ToLowerInvariant(), $expected, $digest)
    }
    $sha256 = (Get-FileHash -LiteralPath $temp -Algorithm SHA256).Hash.ToLowerInvariant()
    $same = $false
    if (Test-Path -LiteralPath $Path -PathType Leaf) {
        $same = (Get-FileHash -LiteralPath $Path -Algorithm SHA256).Hash.ToLowerInvariant() -eq $sha256
        Remove-Item -LiteralPath $Path -Force
    }
    Move-Item -LiteralPath $temp -Destination $Path
}
finally {
    if (Test-Path -LiteralPath $temp) {
        Remove-Item -LiteralPath $temp -Force
    }
    if (-not $ValidateCerts) {
        [Net.ServicePointManager]::ServerCertificateValidationCallback = $null
    }
}
@{ path = $Path; url = $Url; sha256 = $sha256; algorithm = $Algorithm; digest = $digest; changed = (-not $same) }
