# Writes a text file (UTF-8, no BOM) when its content differs, creating its folder.
param(
    [Parameter(Mandatory = $true)][string]$Path,
    [Parameter(Mandatory = $true)][AllowEmptyString()][string]$Content
)
$existing = if (Test-Path -LiteralPath $Path -PathType Leaf) { [System.IO.File]::ReadAllText($Path) } else { $null }
if ($existing -ceq $Content) {
    return @{ path = $Path; changed = $false }
}
$null = New-Item -Path (Split-Path -Path $Path -Parent) -ItemType Directory -Force
[System.IO.File]::WriteAllText($Path, $Content, [System.Text.UTF8Encoding]::new($false))
@{ path = $Path; changed = $true }
