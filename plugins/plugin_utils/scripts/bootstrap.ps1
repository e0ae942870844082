# Runs the steps an action plugin sends on stdin and answers one JSON object.
# Input (one ASCII JSON line): {"caller": "...", "steps": [{"name": "...", "script": "...", "params": {...}}]}
# Output: {"failed": false, "steps": [{"name": "...", "result": {...}}]}
#     or: {"failed": true, "step": "...", "msg": "...", "error": "...", "steps": [...]}
# -Depth 5 is what our deepest answer needs: answer(0) > steps(1) > step(2) > result(3) >
# result value(4) > item of a list value(5), e.g. daemon_state's companions. 5.1 writes
# anything deeper as its ToString() ("System.Collections.Hashtable"); a deeper -Depth lets raw
# cmdlet output expand for minutes (PowerShell issue 6388). Keep answers that shallow.
# The answer goes to the pipeline, not [Console]::Out, so PSRP (no console) receives it too.
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
try {
    # Answer in UTF-8 whatever the code page (paths may not be ASCII); PSRP has no console to set.
    [Console]::OutputEncoding = [System.Text.UTF8Encoding]::new()
}
catch {
    $null = $_
}
$payload = ConvertFrom-Json -InputObject (@($input) -join "`n")
$done = [System.Collections.Generic.List[object]]::new()
foreach ($step in $payload.steps) {
    $splat = @{}
    foreach ($param in $step.params.PSObject.Properties) {
        $splat[$param.Name] = $param.Value
    }
    try {
        $block = [ScriptBlock]::Create($step.script)
        $result = @(& $block @splat)
    }
    catch {
        $answer = @{ failed = $true; step = $step.name; msg = $_.Exception.Message; error = ($_ | Out-String); steps = $done }
        ConvertTo-Json -InputObject $answer -Depth 5 -Compress
        $Host.SetShouldExit(1)
        return
    }
    $last = if ($result.Count) { $result[-1] } else { @{} }
    $done.Add(@{ name = $step.name; result = $last })
}
ConvertTo-Json -InputObject @{ failed = $false; steps = $done } -Depth 5 -Compress
