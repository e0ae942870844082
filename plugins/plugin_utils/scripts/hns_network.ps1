# Reads, and with Create makes, one HNS network through the HNS JSON API that ships with the
# Containers feature (vmcompute.dll HNSCall), so a fresh host needs no helper module (hns.psm1).
# HNSCall answers {Success, Error, Output}: GET /networks/ lists every network; POST /networks/
# with {Name, Type, Subnets:[{AddressPrefix, GatewayAddress}]} creates one.
# Answers the network flat (first subnet only), so the answer stays within the bootstrap's -Depth,
# and the OS build (HNS and the nat plugin behave differently on 17763).
param(
    [Parameter(Mandatory = $true)][string]$Name,
    [bool]$Create = $false,
    [string]$Type = 'NAT',
    [string]$Subnet = '',
    [string]$Gateway = ''
)
$ErrorActionPreference = 'Stop'
$signature = @'
[DllImport("vmcompute.dll")]
public static extern void HNSCall([MarshalAs(UnmanagedType.LPWStr)] string method, [MarshalAs(UnmanagedType.LPWStr)] string path, [MarshalAs(UnmanagedType.LPWStr)] string request, [MarshalAs(UnmanagedType.LPWStr)] out string response);
'@
if (-not ('WcowBuildkit.Hns.NativeMethods' -as [type])) {
    $null = Add-Type -MemberDefinition $signature -Namespace 'WcowBuildkit.Hns' -Name 'NativeMethods'
}

function Invoke-Hns {
    param(
        [Parameter(Mandatory = $true)][string]$Method,
        [Parameter(Mandatory = $true)][string]$Path,
        [string]$Request = ''
    )
    $response = ''
    [WcowBuildkit.Hns.NativeMethods]::HNSCall($Method, $Path, $Request, [ref]$response)
    $parsed = ConvertFrom-Json -InputObject $response
    if (-not $parsed.Success) {
        throw ('HNS failed with error : {0}' -f [string]$parsed.Error)
    }
    return $parsed.Output
}

function Find-Network {
    foreach ($network in @(Invoke-Hns -Method 'GET' -Path '/networks/')) {
        if ($network -and ([string]$network.Name) -eq $Name) {
            return $network
        }
    }
    return $null
}

$build = [int][Environment]::OSVersion.Version.Build
try {
    $found = Find-Network
}
catch [System.DllNotFoundException] {
    # No HNS without the Containers feature: say so instead of throwing, so the controller can name the fix.
    return @{ name = $Name; available = $false; error = [string]$_.Exception.Message; exists = $false; build = $build }
}
$changed = $false
if (-not $found -and $Create) {
    if (-not $Subnet -or -not $Gateway) {
        throw ('cannot create the HNS network {0} without a subnet and a gateway' -f $Name)
    }
    $request = ConvertTo-Json -Compress -Depth 4 -InputObject @{
        Name    = $Name
        Type    = $Type
        Subnets = @(@{ AddressPrefix = $Subnet; GatewayAddress = $Gateway })
    }
    $null = Invoke-Hns -Method 'POST' -Path '/networks/' -Request $request
    $changed = $true
    $found = Find-Network
}
if (-not $found) {
    return @{ name = $Name; exists = $false; id = $null; type = $null; subnet = $null; gateway = $null; changed = $changed; build = $build; available = $true }
}
$first = @($found.Subnets) | Select-Object -First 1
@{
    name    = $Name
    exists  = $true
    id      = [string]$found.ID
    type    = [string]$found.Type
    subnet  = [string]$first.AddressPrefix
    gateway = [string]$first.GatewayAddress
    changed = $changed
    build   = $build
    available = $true
}
