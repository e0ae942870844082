# Answers the text of a small file (UTF-8), or exists=false; never changes anything.
param(
    [Parameter(Mandatory = $true)][string]$Path
)
$ErrorActionPreference = 'Stop'
if (-not (Test-Path -LiteralPath $Path -PathType Leaf)) {
    return @{ path = $Path; exists = $false; content = $null }
}
$text = [System.IO.File]::ReadAllText($Path, [System.Text.UTF8Encoding]::new($false))
@{ path = $Path; exists = $true; content = [string]$text }
