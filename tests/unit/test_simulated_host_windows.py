"""The simulated host's Windows semantics for helper C's areas: registry PATH, ReadAllText, Defender."""

from __future__ import annotations

import pytest
from wcow_sim.common import daemon_state, defender_exclusion
from wcow_sim.containerd import run_daemon
from wcow_sim.host import Host, ScriptFailure, ServiceStartFailed, dotnet_decode
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
    assert list(host.state["registry"][key.lower()]) == ["Path"]
    with pytest.raises(ScriptFailure):
        host.set_registry_value(key, "Path", "REG_STRING", "x")


# -- Defender ------------------------------------------------------------------------------------

OURS, ADMIN = r"C:\Program Files\containerd\bin\containerd.exe", r"C:\Tools\x.exe"
STATE_PARAMS = {"InstallDir": r"C:\Program Files\containerd", "ExeName": "containerd.exe", "ServiceName": "containerd",
                "ConfigPath": r"C:\Program Files\containerd\config.toml", "ArtifactFilter": "containerd-*.tar.gz"}


def test_defender_running_adds_and_removes_only_the_named_process():
    host = _host()
    host.state["defender_exclusions"]["processes"] = [ADMIN]
    assert defender_exclusion(host, {"Processes": [OURS]})["changed"] is True
    assert host.mp_exclusion_processes() == [ADMIN, OURS]
    assert defender_exclusion(host, {"Processes": [OURS.upper()]})["changed"] is False  # case-insensitive
    assert defender_exclusion(host, {"Processes": [OURS], "State": "absent"})["changed"] is True
    assert host.mp_exclusion_processes() == [ADMIN]


def test_defender_missing_has_no_cmdlets():
    host = _host({"defender": "missing"})
    with pytest.raises(ScriptFailure, match="is not recognized as the name of a cmdlet"):
        host.mp_exclusion_processes()
    answer = defender_exclusion(host, {"Processes": [OURS]})
    assert answer["changed"] is False and "not installed" in answer["skipped"]
    state = daemon_state(host, STATE_PARAMS)
    assert state["defender_exclusions"] is None and state["defender_status"] == "missing"


def test_defender_off_cmdlets_throw_the_service_error():
    host = _host({"defender": "off"})
    with pytest.raises(ScriptFailure, match="0x800106ba"):
        host.mp_set_exclusion_processes("Add-MpPreference", [OURS])
    answer = defender_exclusion(host, {"Processes": [OURS]})
    assert answer["changed"] is False and "0x800106ba" in answer["skipped"]
    state = daemon_state(host, STATE_PARAMS)
    assert state["defender_exclusions"] is None and state["defender_status"] == "off"
    assert "0x800106ba" in state["defender_error"]
    assert host.state["defender_exclusions"]["processes"] == []


def test_defender_policy_exclusions_do_not_change_locally():
    host = _host({"defender_policy_exclusions": [ADMIN]})
    answer = defender_exclusion(host, {"Processes": [OURS]})
    assert answer["changed"] is False and "policy" in answer["warning"]
    assert daemon_state(host, STATE_PARAMS)["defender_exclusions"] == [ADMIN]


def test_unknown_defender_fault_is_refused():
    with pytest.raises(ValueError):
        _host({"defender": "disabled"}).defender_status()


# -- containerd reads its config as bytes ------------------------------------------------------------

CONFIG = r"C:\Program Files\containerd\config.toml"
TOML = '[grpc]\n  address = "\\\\\\\\.\\\\pipe\\\\ctd-test"\n'


@pytest.mark.parametrize("data", [TOML.encode(), b"\xef\xbb\xbf" + TOML.encode()], ids=["utf8", "utf8-bom"])
def test_containerd_loads_utf8_config_with_or_without_bom(data):
    host = _host()
    host.write_file(CONFIG, data)
    assert run_daemon(host, {}, ["containerd.exe", "--run-service", "--config", CONFIG]) == "ctd-test"


def test_containerd_rejects_a_utf16_config():
    host = _host()
    host.write_file(CONFIG, b"\xff\xfe" + TOML.encode("utf-16-le"))
    assert host.read_text(CONFIG) == TOML  # what ReadAllText shows is fine...
    with pytest.raises(ServiceStartFailed, match="invalid UTF-8"):  # ...containerd is not
        run_daemon(host, {}, ["containerd.exe", "--run-service", "--config", CONFIG])
