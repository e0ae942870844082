# Answers the last Lines lines of a text file (a daemon's log) as plain strings, changing nothing.
# A missing file answers exists=false. Get-Content opens the file shared for read/write, so a daemon
# that holds its log open does not block it.
param(
    [Parameter(Mandatory = $true)][string]$Path,
    [int]$Lines = 20
)
$ErrorActionPreference = 'Stop'
if (-not (Test-Path -LiteralPath $Path -PathType Leaf)) {
    return @{ path = $Path; exists = $false; lines = [string[]]@(); changed = $false }
}
# Plain strings: Get-Content's lines carry PSPath/PSProvider properties that ConvertTo-Json would expand.
$tail = [string[]]@(Get-Content -LiteralPath $Path -Tail $Lines | ForEach-Object { [string]$_ })
@{ path = $Path; exists = $true; lines = $tail; changed = $false }
