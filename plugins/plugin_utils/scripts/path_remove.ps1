# Deletes a file or folder tree if it exists.
param(
    [Parameter(Mandatory = $true)][string]$Path
)
if (-not (Test-Path -LiteralPath $Path)) {
    return @{ path = $Path; changed = $false }
}
Remove-Item -LiteralPath $Path -Recurse -Force
@{ path = $Path; changed = $true }
