# Puts back the binaries and config that install_backup kept.
param(
    [Parameter(Mandatory = $true)][string]$InstallDir,
    [Parameter(Mandatory = $true)][string]$ConfigPath,
    [Parameter(Mandatory = $true)][string]$BackupDir
)
$savedBin = Join-Path -Path $BackupDir -ChildPath 'bin'
if (-not (Test-Path -LiteralPath $savedBin)) {
    throw "no backup to restore in $BackupDir"
}
$bin = Join-Path -Path $InstallDir -ChildPath 'bin'
# As archive_extract: rename the failed bin aside first, so a locked image leaves it whole.
$failed = "$bin.failed"
if (Test-Path -LiteralPath $failed) {
    Remove-Item -LiteralPath $failed -Recurse -Force
}
if (Test-Path -LiteralPath $bin) {
    Move-Item -LiteralPath $bin -Destination $failed
}
Copy-Item -LiteralPath $savedBin -Destination $bin -Recurse -Force
if (Test-Path -LiteralPath $failed) {
    Remove-Item -LiteralPath $failed -Recurse -Force
}
$savedConfig = Join-Path -Path $BackupDir -ChildPath 'config.toml'
if (Test-Path -LiteralPath $savedConfig -PathType Leaf) {
    Copy-Item -LiteralPath $savedConfig -Destination $ConfigPath -Force
}
@{ restored = $true; changed = $true }
