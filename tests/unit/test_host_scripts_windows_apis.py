"""Static rules over host scripts for Windows behaviour the simulated host cannot observe.

The simulated host runs a Python twin of each script, so it cannot see which .NET or cmdlet
call a script makes. Where Windows' behaviour depends on that call (an API that expands
%names%, a process-wide setting), these rules pin the script to the call its twin models.
Comments are blanked with the real PowerShell grammar first, so prose cannot satisfy a rule.
"""

from __future__ import annotations

import pathlib
import re
import sys

import pytest
import tree_sitter
import tree_sitter_powershell

REPO = pathlib.Path(__file__).resolve().parents[2]
SCRIPTS = REPO / "plugins" / "plugin_utils" / "scripts"
_PARSER = tree_sitter.Parser(tree_sitter.Language(tree_sitter_powershell.language()))
sys.path.insert(0, str(REPO / "tests" / "simulated"))


def code(name: str) -> str:
    """The script's text with every comment blanked."""
    source = bytearray((SCRIPTS / f"{name}.ps1").read_bytes())
    stack = [_PARSER.parse(bytes(source)).root_node]
    while stack:
        node = stack.pop()
        if node.type == "comment":
            source[node.start_byte:node.end_byte] = b" " * (node.end_byte - node.start_byte)
        stack.extend(node.children)
    return source.decode("utf-8")


def test_code_helper_blanks_comments():
    text = code("machine_path")
    assert "Adds or removes" not in text and "param(" in text


# -- defect 6 ------------------------------------------------------------------------------------

def test_machine_path_reads_raw_and_writes_expand_sz():
    text = code("machine_path")
    # GetEnvironmentVariable('Path','Machine') expands %SystemRoot%; SetEnvironmentVariable writes REG_SZ.
    assert not re.search(r"\[Environment\]::(Get|Set)EnvironmentVariable", text, re.I)
    assert re.search(r"GetValue\('Path',[^)]*DoNotExpandEnvironmentNames", text)
    assert re.search(r"SetValue\('Path',[^)]*\[Microsoft\.Win32\.RegistryValueKind\]::ExpandString", text)
    assert r"'SYSTEM\CurrentControlSet\Control\Session Manager\Environment'" in text


# -- defect 8 ------------------------------------------------------------------------------------

def test_file_write_compares_bytes_and_writes_utf8_without_bom():
    text = code("file_write")
    assert "ReadAllText" not in text  # drops a BOM and decodes UTF-16: a re-encoded file compares equal
    assert "[System.IO.File]::ReadAllBytes($Path)" in text
    assert "[System.Text.UTF8Encoding]::new($false)" in text and "WriteAllBytes($Path, $bytes)" in text


# -- defect 10 -----------------------------------------------------------------------------------

def _optional_without_default(name: str) -> list[str]:
    """Parameters that are $null when the caller leaves them out: not Mandatory, no default."""
    source = (SCRIPTS / f"{name}.ps1").read_bytes()
    found, stack = [], [_PARSER.parse(source).root_node]
    while stack:
        node = stack.pop()
        if node.type == "script_parameter":
            text = source[node.start_byte:node.end_byte].decode()
            has_default = any(c.type == "script_parameter_default" for c in node.children)
            variable = next(c for c in node.children if c.type == "variable")
            if not has_default and not re.search(r"Mandatory\s*=\s*\$true", text, re.I):
                found.append(source[variable.start_byte:variable.end_byte].decode())
            continue
        stack.extend(node.children)
    return found


SHIPPED = sorted(p.stem for p in SCRIPTS.glob("*.ps1") if p.stem != "bootstrap")


def test_optional_parameter_finder_sees_service_configure():
    assert _optional_without_default("service_configure") == ["$DependsOn"]


@pytest.mark.parametrize("name", SHIPPED)
def test_no_array_of_an_optional_parameter_that_may_be_null(name):
    """@($x) of a $null parameter is a one-element array: the answer would read [null]."""
    text = code(name)
    bad = [v for v in _optional_without_default(name) if re.search(r"@\(\s*" + re.escape(v) + r"\s*\)", text, re.I)]
    assert bad == [], f"{name}.ps1 wraps optional parameter(s) {bad} in @(); guard against $null first"


def test_daemon_state_lists_the_pipe_folder_instead_of_opening_pipes():
    text = code("daemon_state")
    # Test-Path \\.\pipe\x opens (and closes) a client connection to the daemon's pipe.
    assert not re.search(r"Test-Path[^\n]*\\\\\.\\pipe", text, re.I)
    assert text.count(r"EnumerateFiles('\\.\pipe\')") == 1


def test_run_command_reads_native_output_as_utf8():
    text = code("run_command")
    # No console under WinRM/PSRP: without these .NET decodes with a legacy code page.
    assert "$info.StandardOutputEncoding = $utf8" in text and "$info.StandardErrorEncoding = $utf8" in text
    assert "$utf8 = [System.Text.UTF8Encoding]::new($false)" in text


# -- defect 9 ------------------------------------------------------------------------------------

def _block(text: str, start: int) -> str:
    """The balanced `{...}` block that opens at or after start."""
    depth, i = 0, text.index("{", start)
    for j in range(i, len(text)):
        depth += {"{": 1, "}": -1}.get(text[j], 0)
        if depth == 0:
            return text[i:j + 1]
    raise AssertionError("unbalanced braces")


def _if_blocks(text: str, condition: str) -> str:
    """The body of the first `if (<condition>) {` block, or ''."""
    start = text.find(f"if ({condition}) {{")
    return _block(text, start) if start >= 0 else ""


def test_download_skips_certificate_checks_per_powershell_version():
    text = code("download_file")
    assert "$modern = $PSVersionTable.PSVersion.Major -ge 6" in text
    branch = _if_blocks(text, "-not $ValidateCerts")
    # PowerShell 7's Invoke-WebRequest ignores ServicePointManager: only -SkipCertificateCheck works there.
    modern = _if_blocks(branch, "$modern")
    assert "$request.SkipCertificateCheck = $true" in modern and "ServicePointManager" not in modern
    assert "ServerCertificateValidationCallback = { $true }" in branch.split("else", 1)[1]


def test_download_restores_process_wide_state_on_51():
    text = code("download_file")
    assert "$previousCallback = [Net.ServicePointManager]::ServerCertificateValidationCallback" in text
    assert "$previousProtocols = [Net.ServicePointManager]::SecurityProtocol" in text
    cleanup = text.rsplit("finally", 1)[1]
    assert "ServerCertificateValidationCallback = $previousCallback" in cleanup
    assert "SecurityProtocol = $previousProtocols" in cleanup
    assert "ServerCertificateValidationCallback = $null" not in text  # would drop someone else's callback


def test_download_adds_tls12_without_replacing_system_default():
    text = code("download_file")
    sets = re.findall(r"\[Net\.ServicePointManager\]::SecurityProtocol = ([^\n]+)", text)
    assert sets == ["$previousProtocols -bor $tls12", "$previousProtocols"]
    # SystemDefault is 0: 0 -bor Tls12 would pin TLS 1.2 and drop TLS 1.3. Only add to an explicit list.
    assert "[int]$previousProtocols -ne 0 -and -not ($previousProtocols -band $tls12)" in text


def test_download_proxy_credentials():
    text = code("download_file")
    with_user = _if_blocks(text, "$proxyUri.UserInfo")
    # Invoke-WebRequest ignores user:password in -Proxy: they travel as -ProxyCredential.
    assert "$request.ProxyCredential = " in with_user and "ProxyUseDefaultCredentials" not in with_user
    rest = text[text.index(with_user) + len(with_user):]
    assert rest.lstrip().startswith("else")
    assert "$request.ProxyUseDefaultCredentials = $true" in _block(rest, 0)
