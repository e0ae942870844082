# Waits until a service no longer exists (deletion completes only when every handle is closed).
param(
    [Parameter(Mandatory = $true)][string]$Name,
    [int]$TimeoutSeconds = 60
)
$deadline = [DateTime]::UtcNow.AddSeconds($TimeoutSeconds)
while (Get-Service -Name $Name -ErrorAction SilentlyContinue) {
    if ([DateTime]::UtcNow -ge $deadline) {
        throw "service $Name is still registered after $TimeoutSeconds seconds (is a console or services.msc holding it open?)"
    }
    Start-Sleep -Milliseconds 250
}
@{ name = $Name; gone = $true }
