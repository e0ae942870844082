# Sets a service's start mode and the services it depends on.
param(
    [Parameter(Mandatory = $true)][string]$Name,
    [ValidateSet('Automatic', 'Manual', 'Disabled')][string]$StartMode = 'Automatic',
    [string[]]$DependsOn
)
Set-Service -Name $Name -StartupType $StartMode
if ($null -ne $DependsOn) {
    # sc.exe wants "depend= a/b" with the space after '='; '/' alone clears the list.
    $list = if ($DependsOn.Count) { $DependsOn -join '/' } else { '/' }
    $ErrorActionPreference = 'Continue'  # judge sc.exe by its exit code, not its stderr
    $output = & "$env:SystemRoot\System32\sc.exe" config $Name depend= $list 2>&1 | Out-String
    $ErrorActionPreference = 'Stop'
    if ($LASTEXITCODE -ne 0) {
        throw "sc.exe config $Name depend= $list failed ($LASTEXITCODE): $output"
    }
}
# Without DependsOn the dependencies stay as they are: answer them (@($null) would answer [null]).
$dependencies = $DependsOn  # [string[]] when given
if ($null -eq $dependencies) {
    $dependencies = @((Get-Service -Name $Name).ServicesDependedOn | ForEach-Object { [string]$_.Name })
}
@{ name = $Name; start_mode = $StartMode; depends_on = $dependencies }
