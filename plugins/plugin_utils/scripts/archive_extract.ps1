# Extracts a release archive into a staging folder next to the target, then swaps its
# bin folder into place, so a half-extracted archive never becomes the installed one.
# The caller ends every process running from bin first (service_stop, process_stop).
param(
    [Parameter(Mandatory = $true)][string]$Archive,
    [Parameter(Mandatory = $true)][string]$InstallDir
)
$staging = "$($InstallDir.TrimEnd('\')).staging"
if (Test-Path -LiteralPath $staging) {
    Remove-Item -LiteralPath $staging -Recurse -Force
}
$null = New-Item -Path $staging -ItemType Directory -Force
if ($Archive -like '*.zip') {
    Expand-Archive -LiteralPath $Archive -DestinationPath $staging -Force
}
else {
    # Native stderr must not become a terminating error: judge tar.exe by its exit code.
    $ErrorActionPreference = 'Continue'
    $output = & "$env:SystemRoot\System32\tar.exe" -xzf $Archive -C $staging 2>&1 | Out-String
    $ErrorActionPreference = 'Stop'
    if ($LASTEXITCODE -ne 0) {
        throw "tar.exe could not extract ${Archive}: $output"
    }
}
$null = New-Item -Path $InstallDir -ItemType Directory -Force
$bin = Join-Path -Path $InstallDir -ChildPath 'bin'
# Rename the old bin aside before deleting it: Windows refuses to move a folder that holds the
# image of a live process, so a locked file fails here with bin still whole, not half deleted.
$old = "$bin.old"
if (Test-Path -LiteralPath $old) {
    Remove-Item -LiteralPath $old -Recurse -Force
}
if (Test-Path -LiteralPath $bin) {
    Move-Item -LiteralPath $bin -Destination $old
}
Move-Item -LiteralPath (Join-Path -Path $staging -ChildPath 'bin') -Destination $bin
Remove-Item -LiteralPath $staging -Recurse -Force
if (Test-Path -LiteralPath $old) {
    Remove-Item -LiteralPath $old -Recurse -Force
}
@{ install_dir = $InstallDir; files = @(Get-ChildItem -LiteralPath $bin -File | ForEach-Object { $_.Name }); changed = $true }
