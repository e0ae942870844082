# Runs the steps an action plugin sends on stdin and answers one JSON object.
# Input (one JSON line): {"caller": "...", "steps": [{"name": "...", "script": "...", "params": {...}}]}
# Output: {"failed": false, "steps": [{"name": "...", "result": {...}}]}
#     or: {"failed": true, "step": "...", "msg": "...", "error": "...", "steps": [...]}
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
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
        [Console]::Out.WriteLine((ConvertTo-Json -InputObject $answer -Depth 20 -Compress))
        exit 1
    }
    $last = if ($result.Count) { $result[-1] } else { @{} }
    $done.Add(@{ name = $step.name; result = $last })
}
[Console]::Out.WriteLine((ConvertTo-Json -InputObject @{ failed = $false; steps = $done } -Depth 20 -Compress))
