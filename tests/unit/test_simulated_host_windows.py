"""The simulated host's Windows semantics for helper C's areas: registry PATH, ReadAllText, Defender."""

from __future__ import annotations

import pytest
from wcow_sim.host import Host, ScriptFailure, dotnet_decode
from wcow_sim.state import DEFAULT_MACHINE_PATH, machine_path, new_state


def _host(faults=None):
    return Host("h", new_state(), faults or {})


@pytest.mark.parametrize("data, text", [
    (b"\xef\xbb\xbfa = 1\n", "a = 1\n"),
    (b"\xff\xfe" + "a = 1\n".encode("utf-16-le"), "a = 1\n"),
    (b"\xfe\xff" + "a = 1\n".encode("utf-16-be"), "a = 1\n"),
    (b"\xff\xfe\x00\x00" + "a\n".encode("utf-32-le"), "a\n"),
    (b"a = \xe9\n", "a = \ufffd\n"),  # not UTF-8: replacement character, no exception
    (b"a = 1\n", "a = 1\n"),
])
def test_read_text_decodes_like_dotnet_read_all_text(data, text):
    assert dotnet_decode(data) == text
    host = _host()
    host.write_file(r"C:\x\f.toml", data)
    assert host.read_text(r"C:\x\f.toml") == text and host.read_bytes(r"C:\x\f.toml") == data


def test_new_host_path_is_expand_sz_with_system_root_names():
    host = _host()
    assert machine_path(host.state) == {"kind": "REG_EXPAND_SZ", "value": DEFAULT_MACHINE_PATH}
    assert host.machine_path_raw().startswith(r"%SystemRoot%\system32;")
    assert host.path_entries()[:2] == [r"C:\Windows\system32", r"C:\Windows"]


def test_reg_sz_path_is_not_expanded_and_unknown_names_stay():
    host = _host()
    key = r"HKLM\SYSTEM\CurrentControlSet\Control\Session Manager\Environment"
    host.set_registry_value(key, "PATH", "REG_SZ", r"%SystemRoot%\system32;%NOPE%\bin")
    assert host.path_entries() == [r"%SystemRoot%\system32", r"%NOPE%\bin"]
    host.set_registry_value(key, "Path", "REG_EXPAND_SZ", r"%SystemRoot%\system32;%NOPE%\bin")
    assert host.path_entries() == [r"C:\Windows\system32", r"%NOPE%\bin"]
    assert [n for n in host.state["registry"][key.lower()]] == ["Path"]
    with pytest.raises(ScriptFailure):
        host.set_registry_value(key, "Path", "REG_STRING", "x")
