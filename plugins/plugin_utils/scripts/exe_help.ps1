# Answers what a program prints for --help (its flags), changing nothing; a missing file answers exists=false.
# A native program: run under 'Continue' and judged by its exit code, never by what it writes to stderr.
param(
    [Parameter(Mandatory = $true)][string]$Path
)
$ErrorActionPreference = 'Continue'
if (-not (Test-Path -LiteralPath $Path -PathType Leaf)) {
    return @{ path = $Path; exists = $false; rc = $null; help = $null; changed = $false }
}
$text = (& $Path --help 2>&1 | ForEach-Object { [string]$_ }) -join "`n"
$rc = [int]$LASTEXITCODE
@{ path = $Path; exists = $true; rc = $rc; help = [string]$text; changed = $false }
