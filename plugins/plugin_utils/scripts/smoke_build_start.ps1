# Writes the smoke build's context (Dockerfile, hello.txt) and starts buildctl.exe detached, so a long
# base-image pull outlives this WinRM request: Win32_Process.Create starts it outside the WinRM shell's job
# object (a child of this shell would be ended with it). cmd.exe sends buildctl's output to LogPath and,
# with delayed expansion (/V:ON), its exit code to RcPath once it ends; smoke_build_poll.ps1 reads both.
# A process made by Win32_Process.Create is not a child of this shell and does not get its environment, so
# cmd.exe sets DOCKER_CONFIG itself: buildctl then reads this user's docker config (registry credentials),
# DockerConfig or %USERPROFILE%\.docker of this session.
param(
    [Parameter(Mandatory = $true)][string]$Context,
    [Parameter(Mandatory = $true)][string]$Dockerfile,
    [Parameter(Mandatory = $true)][string]$HelloText,
    [Parameter(Mandatory = $true)][string]$Buildctl,
    [Parameter(Mandatory = $true)][string]$Arguments,
    [Parameter(Mandatory = $true)][string]$LogPath,
    [Parameter(Mandatory = $true)][string]$RcPath,
    [string]$DockerConfig = ''
)
if (-not $DockerConfig) {
    $DockerConfig = Join-Path $env:USERPROFILE '.docker'
}
if ($DockerConfig.IndexOfAny([char[]]'"!%^&') -ge 0) {
    throw "The docker config folder '$DockerConfig' holds a character cmd.exe would read as syntax (one of `" ! % ^ &): choose another folder."
}
if (Test-Path -LiteralPath $Context) {
    Remove-Item -LiteralPath $Context -Recurse -Force
}
New-Item -ItemType Directory -Path $Context -Force | Out-Null
$utf8 = [System.Text.UTF8Encoding]::new($false)
[System.IO.File]::WriteAllText((Join-Path $Context 'Dockerfile'), $Dockerfile, $utf8)
[System.IO.File]::WriteAllText((Join-Path $Context 'hello.txt'), $HelloText, $utf8)
$command = 'cmd.exe /D /V:ON /C "set "DOCKER_CONFIG=' + $DockerConfig + '" & "' + $Buildctl + '" ' + $Arguments + ' > "' + $LogPath + '" 2>&1 & echo !ERRORLEVEL! > "' + $RcPath + '""'
$created = Invoke-CimMethod -ClassName Win32_Process -MethodName Create -Arguments @{ CommandLine = $command; CurrentDirectory = $Context }
if ([int]$created.ReturnValue -ne 0) {
    throw "Win32_Process.Create failed with $([int]$created.ReturnValue) for: $command"
}
@{ pid = [int]$created.ProcessId; context = $Context; log = $LogPath; rc_file = $RcPath; docker_config = [string]$DockerConfig; changed = $true }
