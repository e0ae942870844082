# Reads a Windows optional feature's DISM state (Enabled, Disabled, EnablePending, ...). DISM takes seconds,
# so a running service named in SkipIfServiceRunning (proof the feature works) skips the query.
param(
    [Parameter(Mandatory = $true)][string]$Name,
    [string]$SkipIfServiceRunning
)
if ($SkipIfServiceRunning) {
    $service = Get-Service -Name $SkipIfServiceRunning -ErrorAction SilentlyContinue
    if ($service -and [string]$service.Status -eq 'Running') {
        return @{ name = $Name; state = $null; skipped = $true }
    }
}
# Works on Windows Server and client alike (Get-WindowsFeature is Server-only); needs an elevated session.
$feature = Get-WindowsOptionalFeature -Online -FeatureName $Name
$state = $null
if ($feature) {
    $state = [string]$feature.State
}
@{ name = $Name; state = $state; skipped = $false }
