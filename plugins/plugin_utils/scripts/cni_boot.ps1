# Runs at boot as SYSTEM (the scheduled task win_container_network installs): re-creates the HNS
# network when it is gone, re-renders the CNI conf from the live network through the template the
# module wrote, and restarts buildkitd once when the conf changed and buildkitd already runs.
# Logs one line per run to LogFile. Shipped as a file on the host, not run as a module step.
param(
    [Parameter(Mandatory = $true)][string]$Name,
    [Parameter(Mandatory = $true)][string]$TemplatePath,
    [Parameter(Mandatory = $true)][string]$ConfPath,
    [Parameter(Mandatory = $true)][string]$Subnet,
    [Parameter(Mandatory = $true)][string]$Gateway,
    [string]$ServiceName = 'buildkitd',
    [string]$LogFile = ''
)
$ErrorActionPreference = 'Stop'
$signature = @'
[DllImport("vmcompute.dll")]
public static extern void HNSCall([MarshalAs(UnmanagedType.LPWStr)] string method, [MarshalAs(UnmanagedType.LPWStr)] string path, [MarshalAs(UnmanagedType.LPWStr)] string request, [MarshalAs(UnmanagedType.LPWStr)] out string response);
'@
$null = Add-Type -MemberDefinition $signature -Namespace 'WcowBuildkit.HnsBoot' -Name 'NativeMethods'

function Invoke-Hns {
    param(
        [Parameter(Mandatory = $true)][string]$Method,
        [Parameter(Mandatory = $true)][string]$Path,
        [string]$Request = ''
    )
    $response = ''
    [WcowBuildkit.HnsBoot.NativeMethods]::HNSCall($Method, $Path, $Request, [ref]$response)
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

$said = @()
$found = Find-Network
if (-not $found) {
    $request = ConvertTo-Json -Compress -Depth 4 -InputObject @{
        Name    = $Name
        Type    = 'NAT'
        Subnets = @(@{ AddressPrefix = $Subnet; GatewayAddress = $Gateway })
    }
    $null = Invoke-Hns -Method 'POST' -Path '/networks/' -Request $request
    $said += "created $Name $Subnet"
    $found = Find-Network
}
$first = @($found.Subnets) | Select-Object -First 1
$template = [System.IO.File]::ReadAllText($TemplatePath, [System.Text.UTF8Encoding]::new($false))
$text = $template.Replace('@SUBNET@', [string]$first.AddressPrefix).Replace('@GATEWAY@', [string]$first.GatewayAddress)
$old = $null
if (Test-Path -LiteralPath $ConfPath -PathType Leaf) {
    $old = [System.IO.File]::ReadAllText($ConfPath, [System.Text.UTF8Encoding]::new($false))
}
if ($old -cne $text) {
    $null = New-Item -Path (Split-Path -Path $ConfPath -Parent) -ItemType Directory -Force
    [System.IO.File]::WriteAllBytes($ConfPath, [System.Text.UTF8Encoding]::new($false).GetBytes($text))
    $said += "rendered $ConfPath"
    $service = Get-Service -Name $ServiceName -ErrorAction SilentlyContinue
    if ($service -and $service.Status -eq 'Running') {
        Restart-Service -Name $ServiceName -Force
        $said += "restarted $ServiceName"
    }
}
if ($LogFile) {
    Add-Content -LiteralPath $LogFile -Value ('{0} {1}' -f [DateTime]::UtcNow.ToString('o'), ($said -join '; '))
}
