# Extracts a flat release zip (the Windows CNI plugins) into a folder, overwriting the files it holds.
# Expand-Archive ships with Windows PowerShell 5.1 (Microsoft.PowerShell.Archive).
param(
    [Parameter(Mandatory = $true)][string]$Archive,
    [Parameter(Mandatory = $true)][string]$Destination
)
$ErrorActionPreference = 'Stop'
$null = New-Item -Path $Destination -ItemType Directory -Force
Expand-Archive -LiteralPath $Archive -DestinationPath $Destination -Force
$names = [string[]]@(Get-ChildItem -LiteralPath $Destination -File | ForEach-Object { [string]$_.Name })
@{ destination = $Destination; files = $names; changed = $true }
