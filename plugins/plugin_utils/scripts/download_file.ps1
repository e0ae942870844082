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
$request = @{ Uri = $Url; OutFile = $temp; UseBasicParsing = $true; TimeoutSec = $TimeoutSec }
if ($Proxy) {
    $proxyUri = [Uri]$Proxy
    if ($proxyUri.UserInfo) {
        # Invoke-WebRequest ignores credentials in the proxy URL: pass them as a credential.
        $user, $secret = $proxyUri.UserInfo.Split(':', 2)
        $password = ConvertTo-SecureString -String ([Uri]::UnescapeDataString([string]$secret)) -AsPlainText -Force
        $request.ProxyCredential = [System.Management.Automation.PSCredential]::new([Uri]::UnescapeDataString($user), $password)
        $request.Proxy = '{0}://{1}:{2}' -f $proxyUri.Scheme, $proxyUri.Host, $proxyUri.Port
    }
    else {
        # An authenticating corporate proxy accepts the host's own account (Kerberos/NTLM).
        $request.Proxy = $Proxy
        $request.ProxyUseDefaultCredentials = $true
    }
}
# PowerShell 6+ (HttpClient) ignores ServicePointManager; 5.1 (HttpWebRequest) has no -SkipCertificateCheck
# and shares ServicePointManager with the whole process, so restore what was there.
$modern = $PSVersionTable.PSVersion.Major -ge 6
$previousCallback = [Net.ServicePointManager]::ServerCertificateValidationCallback
$previousProtocols = [Net.ServicePointManager]::SecurityProtocol
if (-not $ValidateCerts) {
    if ($modern) {
        $request.SkipCertificateCheck = $true
    }
    else {
        [Net.ServicePointManager]::ServerCertificateValidationCallback = { $true }
    }
}
# Never downgrade: SystemDefault (0) lets Windows pick (TLS 1.2/1.3), and 0 -bor Tls12 would pin TLS 1.2 alone.
$tls12 = [Net.SecurityProtocolType]::Tls12
if (-not $modern -and [int]$previousProtocols -ne 0 -and -not ($previousProtocols -band $tls12)) {
    [Net.ServicePointManager]::SecurityProtocol = $previousProtocols -bor $tls12
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
    if (-not $modern) {
        [Net.ServicePointManager]::ServerCertificateValidationCallback = $previousCallback
        [Net.ServicePointManager]::SecurityProtocol = $previousProtocols
    }
}
@{ path = $Path; url = $Url; sha256 = $sha256; algorithm = $Algorithm; digest = $digest; changed = (-not $same) }
