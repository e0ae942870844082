# Answers whether a service exists and its status as a plain string; never changes anything.
param(
    [Parameter(Mandatory = $true)][string]$Name
)
$service = Get-Service -Name $Name -ErrorAction SilentlyContinue
if (-not $service) {
    return @{ name = $Name; exists = $false; status = $null }
}
@{ name = $Name; exists = $true; status = [string]$service.Status }
