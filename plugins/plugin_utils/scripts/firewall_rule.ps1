# Keeps one inbound "allow TCP port" rule (buildkitd's TCP listener) scoped to remote addresses, or
# removes it. The rule is found by its Name (unique, unlike DisplayName).
param(
    [Parameter(Mandatory = $true)][string]$Name,
    [ValidateSet('present', 'absent')][string]$State = 'present',
    [int]$Port = 0,
    [string[]]$RemoteAddresses = @('Any'),
    [string]$DisplayName = '',
    # Only read: answer what would change (changed) and the rule found (before), change nothing.
    [bool]$CheckOnly = $false
)
# Windows stores an IPv4 prefix as a mask (10.0.0.0/8 reads back as 10.0.0.0/255.0.0.0) and a /32 as
# the bare address: compare in that form so a converged rule is not rewritten on every run.
function ConvertTo-StoredAddress([string]$Address) {
    if ($Address -match '^(\d{1,3}(\.\d{1,3}){3})/(\d{1,2})$') {
        $bits = [int]$Matches[3]
        if ($bits -eq 32) {
            return $Matches[1]
        }
        $mask = [uint32]0
        if ($bits -gt 0) {
            $mask = [uint32]([math]::Pow(2, 32) - [math]::Pow(2, 32 - $bits))
        }
        $octets = @(24, 16, 8, 0) | ForEach-Object { [string](($mask -shr $_) -band 255) }
        return '{0}/{1}' -f $Matches[1], ($octets -join '.')
    }
    if ($Address -eq 'any') {
        return 'Any'
    }
    $Address
}
$answer = @{ name = $Name; state = $State; changed = $false; port = $Port; remote_addresses = @(); before = $null }
$rule = Get-NetFirewallRule -Name $Name -ErrorAction SilentlyContinue
if ($rule) {
    $ports = Get-NetFirewallPortFilter -AssociatedNetFirewallRule $rule
    $addresses = Get-NetFirewallAddressFilter -AssociatedNetFirewallRule $rule
    $answer.before = @{
        port = [string]$ports.LocalPort
        protocol = [string]$ports.Protocol
        remote_addresses = [string[]]@($addresses.RemoteAddress)
        enabled = [string]$rule.Enabled
        direction = [string]$rule.Direction
        action = [string]$rule.Action
    }
}
if ($State -eq 'absent') {
    if ($rule -and $CheckOnly) {
        $answer.changed = $true
    }
    elseif ($rule) {
        Remove-NetFirewallRule -Name $Name -ErrorAction Stop
        $answer.changed = $true
    }
    return $answer
}
if ($Port -lt 1 -or $Port -gt 65535) {
    throw "firewall_rule: Port must be 1-65535, not $Port"
}
$wanted = [string[]]@($RemoteAddresses | ForEach-Object { ConvertTo-StoredAddress ([string]$_) } | Sort-Object -Unique)
$answer.remote_addresses = $wanted
if (-not $DisplayName) {
    $DisplayName = $Name
}
if ($CheckOnly) {
    if ($rule) {
        $have = [string[]]@($answer.before.remote_addresses | ForEach-Object { ConvertTo-StoredAddress ([string]$_) } | Sort-Object -Unique)
        $answer.changed = -not (($answer.before.port -eq [string]$Port) -and ($answer.before.protocol -eq 'TCP') -and
            ($answer.before.enabled -eq 'True') -and ($answer.before.direction -eq 'Inbound') -and
            ($answer.before.action -eq 'Allow') -and (($have -join ',') -eq ($wanted -join ',')))
    }
    else {
        $answer.changed = $true
    }
    return $answer
}
if (-not $rule) {
    $create = @{
        Name = $Name; DisplayName = $DisplayName; Direction = 'Inbound'; Action = 'Allow'; Protocol = 'TCP'
        LocalPort = [string]$Port; RemoteAddress = $wanted; Profile = 'Any'; Enabled = 'True'
    }
    $null = New-NetFirewallRule @create -ErrorAction Stop
    $answer.changed = $true
    return $answer
}
$have = [string[]]@($answer.before.remote_addresses | ForEach-Object { ConvertTo-StoredAddress ([string]$_) } | Sort-Object -Unique)
$same = ($answer.before.port -eq [string]$Port) -and ($answer.before.protocol -eq 'TCP') -and
    ($answer.before.enabled -eq 'True') -and ($answer.before.direction -eq 'Inbound') -and
    ($answer.before.action -eq 'Allow') -and (($have -join ',') -eq ($wanted -join ','))
if (-not $same) {
    Set-NetFirewallRule -Name $Name -Direction Inbound -Action Allow -Protocol TCP -LocalPort ([string]$Port) -RemoteAddress $wanted -Enabled True -ErrorAction Stop
    $answer.changed = $true
}
$answer
