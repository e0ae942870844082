# Copyright (c) wcow.buildkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The PowerShell grammar check: shipped scripts parse, broken ones are caught with file:line."""

from __future__ import annotations

import pathlib
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "ps"
sys.path.insert(0, str(REPO / "tests" / "tools"))

import ps_grammar  # noqa: E402

SHIPPED = ps_grammar.collect([])


def test_shipped_scripts_are_found():
    # bootstrap.ps1 carries every host call; a glob that misses it checks nothing.
    assert REPO / "plugins" / "plugin_utils" / "scripts" / "bootstrap.ps1" in SHIPPED


@pytest.mark.parametrize("script", SHIPPED, ids=lambda p: str(p.relative_to(REPO)))
def test_shipped_script_parses(script):
    assert ps_grammar.check_file(script) == []


def test_good_fixture_parses():
    assert ps_grammar.check_file(FIXTURES / "good.ps1") == []


def test_broken_fixture_fails_at_the_unclosed_block():
    problems = ps_grammar.check_file(FIXTURES / "broken.ps1")
    assert [(p.line, p.column) for p in problems] == [(9, 1)]
    assert "$quoted = foreach" in problems[0].message


BROKEN = [
    # (id, source, expected (line, column) of the first problem, text in its message)
    ("unclosed-if-block", "$a = 1\nif ($a) {\n  1\n", (3, 4), "missing '}'"),
    ("unterminated-string", "$x = 1\n$y = \"abc\n$z = 2\n", (2, 1), "$y = \"abc"),
    ("unclosed-hashtable", "$ok = 1\n$h = @{\n a = 1\n", (2, 1), "$h = @{"),
    ("stray-closing-brace", "$x = 1\n}\n$y = 2\n", (2, 1), "}"),
    ("dangling-operator", "$x = 1 +\n", (1, 1), "$x = 1 +"),
    ("unclosed-here-string", "$x = @\"\nabc\n", (1, 1), "@\""),
    ("extra-paren", "Get-Item -Path $a -Force)\n", (1, 25), "Get-Item"),
    ("foreach-without-in", "foreach ($x) { }\n", (1, 1), "foreach"),
    ("missing-terminator", "switch ($x) { 1 { 'a' } 2 { 'b' } }\n", (1, 24), "switch_clause"),
]


@pytest.mark.parametrize("source, where, text", [case[1:] for case in BROKEN], ids=[case[0] for case in BROKEN])
def test_broken_source_is_located(source, where, text):
    problems = ps_grammar.check_source(source.encode(), pathlib.Path("x.ps1"))
    assert problems, "the checker let a syntax error through"
    assert (problems[0].line, problems[0].column) == where
    assert text in problems[0].message
    assert str(problems[0]).startswith(f"x.ps1:{where[0]}:{where[1]}: ")


VALID = [
    ("bom-and-non-ascii", "\ufeff$x = 'été'\n".encode("utf-8")),
    ("cmdletbinding-param", b"[CmdletBinding()]\nparam(\n  [Parameter(Mandatory)][string]$A\n)\n$A\n"),
    ("splat-and-static", b"$h = @{ Path = $p }\nGet-Item @h\n[System.IO.File]::ReadAllBytes($p)\n"),
    ("native-call", b"& \"$env:ProgramFiles\\containerd\\containerd.exe\" --register-service\nsc.exe config b depend= c\n"),
    ("try-catch-finally", b"try { 1 } catch [System.IO.IOException] { 2 } finally { 3 }\n"),
]


@pytest.mark.parametrize("source", [case[1] for case in VALID], ids=[case[0] for case in VALID])
def test_valid_source_passes(source):
    assert ps_grammar.check_source(source, pathlib.Path("x.ps1")) == []


def test_cli_prints_file_and_line_and_fails(capsys, monkeypatch):
    monkeypatch.chdir(REPO)
    rc = ps_grammar.main([str(FIXTURES)])
    out, err = capsys.readouterr()
    assert rc == 1
    lines = out.splitlines()
    assert len(lines) == 1 and lines[0].startswith("tests/fixtures/ps/broken.ps1:9:1: "), out
    assert "2 file(s) checked, 1 syntax error(s)" in err


def test_cli_passes_on_shipped_scripts(capsys, monkeypatch):
    monkeypatch.chdir(REPO)
    assert ps_grammar.main([]) == 0
    assert f"{len(SHIPPED)} file(s) checked, 0 syntax error(s)" in capsys.readouterr().err


@pytest.mark.parametrize("targets, text", [
    (["no/such/file.ps1"], "no such file or folder"),
    (["tests/unit/plugins"], "no .ps1 files found"),
])
def test_cli_refuses_to_check_nothing(capsys, monkeypatch, targets, text):
    monkeypatch.chdir(REPO)
    assert ps_grammar.main(targets) == 2
    assert text in capsys.readouterr().err
