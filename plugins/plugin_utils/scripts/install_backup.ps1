# Keeps the current binaries and config in BackupDir so a failed upgrade can be undone.
param(
    [Parameter(Mandatory = $true)][string]$InstallDir,
    [Parameter(Mandatory = $true)][string]$ConfigPath,
    [Parameter(Mandatory = $true)][string]$BackupDir
)
if (Test-Path -LiteralPath $BackupDir) {
    Remove-Item -LiteralPath $BackupDir -Recurse -Force
}
$null = New-Item -Path $BackupDir -ItemType Directory -Force
$bin = Join-Path -Path $InstallDir -ChildPath 'bin'
if (Test-Path -LiteralPath $bin) {
    Copy-Item -LiteralPath $bin -Destination (Join-Path -Path $BackupDir -ChildPath 'bin') -Recurse -Force
}
if (Test-Path -LiteralPath $ConfigPath -PathType Leaf) {
    Copy-Item -LiteralPath $ConfigPath -Destination (Join-Path -Path $BackupDir -ChildPath 'config.toml') -Force
}
@{ backup_dir = $BackupDir; changed = $true }
