# Stops a service (and, first, the services that depend on it) without ever waiting forever.
# Each service gets TimeoutSeconds to reach Stopped (ServiceController.WaitForStatus, not
# Stop-Service, which waits as long as the service stays StopPending); then its own process,
# captured from Win32_Service before stopping, is ended. Stopped is not exited: the process
# may still hold its image locked, so wait (bounded) for it to exit too, and end it if it
# outlives the wait. Every process ended is named in the answer (killed, pid, reason).
# The dependents stopped come as one flat list (deepest first), so the answer stays within
# the bootstrap's ConvertTo-Json -Depth however long the chain of dependents is.
param(
    [Parameter(Mandatory = $true)][string]$Name,
    [int]$TimeoutSeconds = 60
)

function Stop-ServiceBounded {
    param(
        [Parameter(Mandatory = $true)][System.ServiceProcess.ServiceController]$Service,
        [Parameter(Mandatory = $true)][int]$Seconds,
        [Parameter(Mandatory = $true)][System.Collections.Generic.List[object]]$Stopped
    )
    $serviceName = [string]$Service.ServiceName
    $answer = @{ name = $serviceName; changed = $false; killed = $false; pid = $null; reason = $null }
    # Services that depend on this one stop first (ServiceController.Stop() would wait 30 s for each, then throw).
    foreach ($dependent in @($Service.DependentServices)) {
        $dependent.Refresh()
        if ($dependent.Status -ne 'Stopped') {
            Stop-ServiceBounded -Service $dependent -Seconds $Seconds -Stopped $Stopped
        }
    }
    $Stopped.Add($answer)
    $Service.Refresh()
    # The service's own process, taken before stopping (ProcessId is 0 once Stopped). Only a service
    # that owns its process may have it ended; a shared svchost.exe is never touched.
    $process = $null
    $cim = Get-CimInstance -ClassName Win32_Service -Filter "Name='$serviceName'"
    if ($cim -and [int]$cim.ProcessId -gt 0 -and [string]$cim.ServiceType -eq 'Own Process') {
        $process = Get-Process -Id ([int]$cim.ProcessId) -ErrorAction SilentlyContinue
    }
    if ($process) {
        $answer.pid = [int]$process.Id
    }
    if ($Service.Status -eq 'Stopped' -and -not $process) {
        $answer.status = 'Stopped'
        return
    }
    $answer.changed = $true
    if ($Service.Status -eq 'Running' -or $Service.Status -eq 'Paused') {
        $Service.Stop()
    }
    $stopped = $true
    try {
        $Service.WaitForStatus('Stopped', [TimeSpan]::FromSeconds($Seconds))
    }
    catch [System.ServiceProcess.TimeoutException] {
        $stopped = $false
    }
    if (-not $stopped) {
        $Service.Refresh()
        if (-not $process) {
            throw "service $serviceName is still $($Service.Status) after $Seconds seconds and has no process of its own to end"
        }
        $answer.reason = "still $($Service.Status) after $Seconds seconds"
        Stop-Process -Id $process.Id -Force -ErrorAction SilentlyContinue
        $answer.killed = $true
    }
    if ($process -and -not $process.WaitForExit($Seconds * 1000)) {
        $answer.reason = "process still running $Seconds seconds after the service stopped"
        Stop-Process -Id $process.Id -Force -ErrorAction SilentlyContinue
        $answer.killed = $true
        if (-not $process.WaitForExit(10000)) {
            throw "process $($process.Id) of service $serviceName did not exit after being ended"
        }
    }
    # The SCM sees an ended process as Stopped.
    try {
        $Service.WaitForStatus('Stopped', [TimeSpan]::FromSeconds(10))
    }
    catch [System.ServiceProcess.TimeoutException] {
        throw "service $serviceName is still $($Service.Status) after its process exited"
    }
    $answer.status = 'Stopped'
}

$svc = Get-Service -Name $Name -ErrorAction SilentlyContinue
if (-not $svc) {
    return @{ name = $Name; changed = $false; status = $null; killed = $false; dependents = @() }
}
$stopped = [System.Collections.Generic.List[object]]::new()
Stop-ServiceBounded -Service $svc -Seconds $TimeoutSeconds -Stopped $stopped
$own = $stopped[$stopped.Count - 1]
$own.dependents = $stopped.GetRange(0, $stopped.Count - 1).ToArray()
$own
