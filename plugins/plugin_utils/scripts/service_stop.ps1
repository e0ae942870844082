# Stops a service (and the services that depend on it) and waits until it is stopped.
param(
    [Parameter(Mandatory = $true)][string]$Name,
    [int]$TimeoutSeconds = 60
)
$svc = Get-Service -Name $Name -ErrorAction SilentlyContinue
if (-not $svc -or $svc.Status -eq 'Stopped') {
    return @{ name = $Name; changed = $false; status = if ($svc) { 'Stopped' } else { $null } }
}
Stop-Service -Name $Name -Force
$svc.WaitForStatus('Stopped', [TimeSpan]::FromSeconds($TimeoutSeconds))
@{ name = $Name; changed = $true; status = 'Stopped' }
