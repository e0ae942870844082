# Reads everything a daemon's service lifecycle decides on (containerd, buildkitd), in one round trip.
# Changes nothing. The daemon's exe is <InstallDir>\bin\<ExeName>; its version is what `--version` prints.
param(
    [Parameter(Mandatory = $true)][string]$InstallDir,
    [Parameter(Mandatory = $true)][string]$ExeName,
    [Parameter(Mandatory = $true)][string]$ServiceName,
    [Parameter(Mandatory = $true)][string]$ConfigPath,
    [Parameter(Mandatory = $true)][string]$ArtifactFilter,
    [string]$ArchivePath,
    [string]$PipeName,
    [string[]]$OtherPipes = @(),
    [string[]]$CompanionServices = @(),
    [string[]]$ProcessNames = @(),
    [string[]]$DataDirs = @(),
    [string]$ArtifactDir
)
$exe = Join-Path -Path $InstallDir -ChildPath "bin\$ExeName"
$binary = @{ path = $exe; exists = (Test-Path -LiteralPath $exe -PathType Leaf); version_output = $null }
if ($binary.exists) {
    $ErrorActionPreference = 'Continue'  # a warning on stderr is not a failure
    try {
        $binary.version_output = (& $exe --version 2>&1 | Out-String).Trim()
    }
    catch {
        # A truncated or foreign file: no version, so the controller plans a reinstall.
        $binary.version_output = "error: $($_.Exception.Message)"
    }
    finally {
        $ErrorActionPreference = 'Stop'
    }
}

$service = $null
$svc = Get-Service -Name $ServiceName -ErrorAction SilentlyContinue
if ($svc) {
    $key = "HKLM:\SYSTEM\CurrentControlSet\Services\$($svc.Name)"
    $service = @{
        name = $svc.Name
        status = [string]$svc.Status
        start_mode = [string]$svc.StartType
        command_line = (Get-ItemProperty -LiteralPath $key -Name ImagePath).ImagePath
    }
}
# Services that use the daemon: its dependents, and the companions named even when not linked as dependents.
# Get-Service without a name lists every service: ask for companions only when some are named.
$named = @(if ($CompanionServices) { Get-Service -Name $CompanionServices -ErrorAction SilentlyContinue })
$companions = @(@($svc.DependentServices) + $named |
    Where-Object { $_ } | Sort-Object -Property Name -Unique |
    ForEach-Object { @{ name = $_.Name; status = [string]$_.Status } })

$config = $null
if (Test-Path -LiteralPath $ConfigPath -PathType Leaf) {
    $config = @{
        sha256 = (Get-FileHash -LiteralPath $ConfigPath -Algorithm SHA256).Hash.ToLowerInvariant()
        content = [System.IO.File]::ReadAllText($ConfigPath)
    }
}

$exclusions = $null
$defenderStatus = 'missing'  # Server Core can lack Defender and its cmdlets
$defenderError = $null
if (Get-Command -Name Get-MpPreference -ErrorAction SilentlyContinue) {
    try {
        $exclusions = @((Get-MpPreference -ErrorAction Stop).ExclusionProcess | Where-Object { $_ } | ForEach-Object { [string]$_ })
        $defenderStatus = 'running'
    }
    catch {
        # The cmdlets exist while Defender is off: they throw (HRESULT 0x800106ba).
        $defenderStatus = 'off'
        $defenderError = [string]$_.Exception.Message
    }
}

# Named pipes, listed once: Test-Path \\.\pipe\x would open a client connection to the daemon's pipe.
# .NET Framework throws on a pipe name it calls an illegal path; skip that one and go on.
$pipes = @()
$listing = [System.IO.Directory]::EnumerateFiles('\\.\pipe\').GetEnumerator()
try {
    $skipped = 0
    while ($skipped -lt 100) {
        try {
            if (-not $listing.MoveNext()) {
                break
            }
            $pipes += $listing.Current.Substring(9)  # after \\.\pipe\
        }
        catch [System.ArgumentException] {
            $skipped++
        }
    }
}
finally {
    $listing.Dispose()
}

# Processes of the daemon's own that outlive it (containerd's shims), counted by name.
$processCounts = @{}
foreach ($processName in $ProcessNames) {
    $processCounts[$processName] = @(Get-Process -Name $processName -ErrorAction SilentlyContinue).Count
}

$archiveSha256 = $null
if ($ArchivePath -and (Test-Path -LiteralPath $ArchivePath -PathType Leaf)) {
    $archiveSha256 = (Get-FileHash -LiteralPath $ArchivePath -Algorithm SHA256).Hash.ToLowerInvariant()
}

@{
    binary = $binary
    service = $service
    companions = $companions
    data_dirs_present = @($DataDirs | Where-Object { Test-Path -LiteralPath $_ })
    staged_archives = @(if ($ArtifactDir -and (Test-Path -LiteralPath $ArtifactDir)) {
            Get-ChildItem -LiteralPath $ArtifactDir -Filter $ArtifactFilter -File | ForEach-Object { $_.FullName }
        })
    config = $config
    machine_path = @([Environment]::GetEnvironmentVariable('Path', 'Machine') -split ';' | Where-Object { $_ })
    defender_exclusions = $exclusions
    defender_status = $defenderStatus
    defender_error = $defenderError
    archive_sha256 = $archiveSha256
    pipe_ready = [bool]($PipeName -and ($pipes -contains $PipeName))
    pipes_present = @($OtherPipes | Where-Object { $pipes -contains $_ })
    process_counts = $processCounts
}
