# Runs one native program and answers its exit code and output.
# The controller quotes Arguments for the Win32 command line; nothing here re-parses them.
param(
    [Parameter(Mandatory = $true)][string]$FilePath,
    [string]$Arguments = '',
    [bool]$FailOnError = $false,
    # NAME=value pairs added to the program's environment (standalone buildx reads DOCKER_CONFIG).
    [string[]]$Environment = @()
)
$info = [System.Diagnostics.ProcessStartInfo]::new()
$info.FileName = $FilePath
$info.Arguments = $Arguments
$info.UseShellExecute = $false
$info.RedirectStandardOutput = $true
$info.RedirectStandardError = $true
# Without these, .NET decodes with the console's code page, and under WinRM/PSRP there is no console:
# the Go programs we run write UTF-8.
$utf8 = [System.Text.UTF8Encoding]::new($false)
$info.StandardOutputEncoding = $utf8
$info.StandardErrorEncoding = $utf8
$info.CreateNoWindow = $true
foreach ($pair in $Environment) {
    $at = $pair.IndexOf('=')
    if ($at -lt 1) {
        throw "Environment entry '$pair' is not NAME=value"
    }
    $info.EnvironmentVariables[$pair.Substring(0, $at)] = $pair.Substring($at + 1)
}
$process = [System.Diagnostics.Process]::Start($info)
$stderrTask = $process.StandardError.ReadToEndAsync()
$stdout = $process.StandardOutput.ReadToEnd()
$process.WaitForExit()
if ($FailOnError -and $process.ExitCode -ne 0) {
    throw "$FilePath exited with $($process.ExitCode): $($stderrTask.Result) $stdout"
}
@{
    rc = $process.ExitCode
    stdout = $stdout
    stderr = $stderrTask.Result
}
