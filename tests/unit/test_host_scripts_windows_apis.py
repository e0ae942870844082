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
