"""Quoting for both shell families, checked by splitting back (table-driven)."""

from __future__ import annotations

import shlex

import pytest

from ansible_collections.wcow.buildkit.plugins.plugin_utils._quote import (
    join_posix, join_win32, quote_pwsh, quote_win32, split_win32,
)

AWKWARD = ["plain", "with space", 'dou"ble', "single'quote", "$env:PATH", "back`tick", "ünïcødé", "",
           "trailing\\", "C:\\Program Files\\x\\", "a\\\\\"b", "tab\tx", "\u2018curly\u2019"]


@pytest.mark.parametrize("value", AWKWARD)
def test_win32_round_trip(value):
    assert split_win32(join_win32(["C:\\Program Files\\x.exe", value, "end"])) == ["C:\\Program Files\\x.exe", value, "end"]


@pytest.mark.parametrize("value", AWKWARD)
def test_posix_round_trip(value):
    assert shlex.split(join_posix(["cmd", value])) == ["cmd", value]


@pytest.mark.parametrize("line, argv", [
    ('a "b c" d', ["a", "b c", "d"]),
    ('"a""b"', ['a"b']),
    (r'a\\\"b', ['a\\"b']),
    (r'"C:\dir with space\\"', ["C:\\dir with space\\"]),
    (r"x\y", [r"x\y"]),
    ("  lead   trail  ", ["lead", "trail"]),
    ('""', [""]),
])
def test_split_win32_follows_commandlinetoargvw(line, argv):
    assert split_win32(line) == argv


@pytest.mark.parametrize("value, quoted", [
    ("abc", "abc"), ("a b", '"a b"'), ("", '""'), ('a"b', r'"a\"b"'), ("a\\ b\\", '"a\\ b\\\\"'),
])
def test_quote_win32_table(value, quoted):
    assert quote_win32(value) == quoted


@pytest.mark.parametrize("value, quoted", [("it's", "'it''s'"), ("\u2018x\u2019", "'\u2018\u2018x\u2019\u2019'"), ("$x`", "'$x`'")])
def test_quote_pwsh_doubles_every_single_quote_form(value, quoted):
    assert quote_pwsh(value) == quoted
