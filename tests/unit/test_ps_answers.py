# Copyright (c) wcow.buildkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The raw-answer rule: host scripts answer plain values, never decorated cmdlet output (defect 1)."""

from __future__ import annotations

import pathlib
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "tools"))

import ps_answers  # noqa: E402
import ps_grammar  # noqa: E402

SHIPPED = ps_grammar.collect([])


def _problems(source: str) -> list[str]:
    return [p.message for p in ps_answers.check_source(source.encode(), pathlib.Path("x.ps1"))]


@pytest.mark.parametrize("script", SHIPPED, ids=lambda p: p.name)
def test_shipped_script_answers_plain_values(script):
    assert [str(p) for p in ps_answers.check_file(script)] == []


def test_the_service_start_of_issue_7_is_caught():
    """`$tail = @(Get-Content ... -Tail 20)` returned as log_tail: what 5.1 turns into PSPath/PSDrive objects."""
    problems = ps_answers.check_file(REPO / "tests" / "fixtures" / "ps_answers" / "raw_answer_service_start.ps1")
    assert len(problems) == 1
    assert "log_tail" in problems[0].message and "Get-Content" in problems[0].message


@pytest.mark.parametrize("source", [
    "@{ tail = @(Get-Content $f -Tail 20) }",
    "$t = Get-Content $f\n@{ tail = $t }",
    "$t = Get-ChildItem $d | Where-Object { $_.Length }\n@{ files = $t }",
    "$t = Get-ChildItem $d | Sort-Object Name | Select-Object -First 2\n@{ files = $t }",
    "$a = Get-Item $p\n$b = $a\n@{ item = $b }",
    "foreach ($p in Get-Process x) { $last = $p }\n@{ p = $last }",
    "@{ when = Get-Date }",
    "@{ svc = (Get-Service x) }",
    "$lines = @(Get-Content $f) -ne ''\n@{ lines = $lines }",
    "$x = if ($y) { Get-Item $p } else { $null }\n@{ x = $x }",
    "$answer = @{}\n$answer.tail = Get-Content $f",
    "$v = & $exe --version 2>&1\n@{ version = $v }",
    "Get-ChildItem $d | ForEach-Object { @{ item = $_ } }",
    "@{ files = @(Get-ChildItem $d | ForEach-Object { $_ }) }",
    "$svc = Get-Service x\n@{ status = $svc.Status }",  # an enum: 5.1 writes 4, not Running
    "@{ modified = (Get-Item $p).LastWriteTime }",  # a DateTime: 5.1 writes \\/Date(ms)\\/
    "$svc = Get-Service x\n@{ dependents = @($svc.DependentServices) }",
])
def test_raw_values_are_reported(source):
    assert len(_problems(source)) == 1, source


@pytest.mark.parametrize("source", [
    "$t = [string[]]@(Get-Content $f -Tail 20)\n@{ tail = $t }",
    "@{ tail = @(Get-Content $f | ForEach-Object { [string]$_ }) }",
    "@{ tail = (Get-Content $f) -join \"`n\" }",
    "@{ name = (Get-Item $p).FullName; status = [string](Get-Service x).Status }",
    "@{ files = @(Get-ChildItem $d | Select-Object -ExpandProperty FullName) }",
    "@{ text = \"$(Get-Content $f)\" }",
    "@{ text = (Get-Content $f | Out-String) }",
    "$v = (& $exe --version 2>&1 | Out-String).Trim()\n@{ version = $v }",
    "$v = & $exe --version\n@{ version = $v; ok = (Test-Path $p) }",
    "$null = New-Item -ItemType Directory $p\n@{ path = $p }",
    "Get-ChildItem $d | ForEach-Object { @{ name = $_.Name } }",
    "$svc = Get-Service x\n@{ running = $svc.Status -eq 'Running'; status = [string]$svc.Status }",
    "$svc = Get-Service x\n$ok = $svc.Status -eq 'Running' -and (Test-Path $p)\n@{ ok = $ok }",
    "$svc = Get-Service x\n@{ dependents = @($svc.DependentServices | ForEach-Object { $_.Name }) }",
])
def test_plain_values_pass(source):
    assert _problems(source) == [], source
