# Reads, registers or removes a boot-time scheduled task that runs as SYSTEM (ScheduledTasks module,
# Windows Server 2012 and later). State query answers only; present registers (or replaces) the task
# when its action differs; absent unregisters it.
param(
    [Parameter(Mandatory = $true)][string]$Name,
    [ValidateSet('query', 'present', 'absent')][string]$State = 'query',
    [string]$Execute = '',
    [string]$Argument = '',
    [string]$Description = ''
)
$ErrorActionPreference = 'Stop'
$task = Get-ScheduledTask -TaskName $Name -ErrorAction SilentlyContinue
$current = $null
if ($task) {
    $action = @($task.Actions) | Select-Object -First 1
    $current = ('{0} {1}' -f [string]$action.Execute, [string]$action.Arguments)
}
$wanted = ('{0} {1}' -f $Execute, $Argument)
$changed = $false
if ($State -eq 'present' -and $current -cne $wanted) {
    $trigger = New-ScheduledTaskTrigger -AtStartup
    $principal = New-ScheduledTaskPrincipal -UserId 'SYSTEM' -LogonType ServiceAccount -RunLevel Highest
    $taskAction = New-ScheduledTaskAction -Execute $Execute -Argument $Argument
    $null = Register-ScheduledTask -TaskName $Name -Trigger $trigger -Principal $principal -Action $taskAction -Description $Description -Force
    $changed = $true
    $current = $wanted
}
elseif ($State -eq 'absent' -and $task) {
    Unregister-ScheduledTask -TaskName $Name -Confirm:$false
    $changed = $true
    $current = $null
}
@{ name = $Name; exists = [bool]($null -ne $current); command = $current; changed = $changed }
