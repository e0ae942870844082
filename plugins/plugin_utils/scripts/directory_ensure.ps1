# Creates a folder (and its parents) if it is missing. put_file cannot: it only creates the file.
param(
    [Parameter(Mandatory = $true)][string]$Path
)
if (Test-Path -LiteralPath $Path -PathType Container) {
    return @{ path = $Path; changed = $false }
}
$null = New-Item -Path $Path -ItemType Directory -Force
@{ path = $Path; changed = $true }
