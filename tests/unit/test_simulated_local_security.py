"""local_group_ensure.ps1 and firewall_rule.ps1 twins, called with params bound like PowerShell 5.1 binds them."""

from __future__ import annotations

import json
import pathlib

import pytest
# Importing dispatch registers every contract.
from wcow_sim import binding, dispatch  # noqa: F401  pylint: disable=unused-import
from wcow_sim.buildkitd import buildkitd_exe
from wcow_sim.host import Host, ScriptFailure
from wcow_sim.registry import SCRIPTS
from wcow_sim.state import new_state

SCRIPTS_DIR = pathlib.Path(__file__).resolve().parents[2] / "plugins" / "plugin_utils" / "scripts"


def run(host: Host, name: str, **params):
    bound = binding.bind(binding.signature(SCRIPTS_DIR / f"{name}.ps1"), params)
    return SCRIPTS[name](host, bound)


@pytest.fixture
def host():
    return Host("win1", new_state())


def test_missing_groups_are_created_once(host):
    first = run(host, "local_group_ensure", Names=["buildkit-users", "Administrators", "BUILTIN\\Users"])
    assert first["created"] == ["buildkit-users"] and first["existing"] == ["Administrators", "Users"]
    assert first["changed"] is True
    again = run(host, "local_group_ensure", Names=["BUILDKIT-USERS"])
    assert again == {"names": ["BUILDKIT-USERS"], "created": [], "existing": ["buildkit-users"], "changed": False}
    assert host.state["events"].count("local_group_create buildkit-users") == 1


@pytest.mark.parametrize("name", ["a,b", "x/y", "...", "  ", "g" * 257, "who@where"])
def test_names_windows_refuses(host, name):
    with pytest.raises(ScriptFailure, match="The format of the specified group name is invalid"):
        run(host, "local_group_ensure", Names=[name])
    assert host.state.get("local_groups", {}) == {}


def test_a_user_of_that_name_blocks_the_group(host):
    host.state["local_users"] = ["builder"]
    with pytest.raises(ScriptFailure, match="The account already exists"):
        run(host, "local_group_ensure", Names=["builder"])


def test_created_group_lets_buildkitd_start(host):
    exe = r"C:\Program Files\buildkit\bin\buildkitd.exe"
    host.write_file(exe, b"SIMULATED-EXE buildkitd 0.24.0")
    host.state["services"]["containerd"] = {"name": "containerd", "status": "Running", "pipe": "containerd-containerd",
                                            "command_line": "c.exe", "start_mode": "Automatic", "depends_on": [],
                                            "pid": None}
    assert buildkitd_exe(host, exe, ["--register-service", "--group", "buildkit-users", "--cdi-disabled"])[0] == 0
    assert host.start_service("buildkitd") is False
    run(host, "local_group_ensure", Names=["buildkit-users"])
    assert host.start_service("buildkitd") is True


def test_firewall_rule_created_scoped_and_converged(host):
    first = run(host, "firewall_rule", Name="wcow-buildkitd-tcp", Port=1234, RemoteAddresses=["10.0.0.0/8", "192.168.1.7/32"])
    assert first["changed"] and first["before"] is None
    assert first["remote_addresses"] == ["10.0.0.0/255.0.0.0", "192.168.1.7"]
    rule = host.state["firewall_rules"]["wcow-buildkitd-tcp"]
    assert (rule["direction"], rule["action"], rule["protocol"], rule["local_port"]) == ("Inbound", "Allow", "TCP", "1234")
    again = run(host, "firewall_rule", Name="wcow-buildkitd-tcp", Port=1234, RemoteAddresses=["192.168.1.7", "10.0.0.0/8"])
    assert again["changed"] is False and again["before"]["remote_addresses"] == ["10.0.0.0/255.0.0.0", "192.168.1.7"]


def test_firewall_rule_rescoped_then_removed(host):
    run(host, "firewall_rule", Name="r", Port=1234)
    assert host.state["firewall_rules"]["r"]["remote_addresses"] == ["Any"]
    changed = run(host, "firewall_rule", Name="r", Port=1234, RemoteAddresses=["LocalSubnet"])
    assert changed["changed"] and host.state["firewall_rules"]["r"]["remote_addresses"] == ["LocalSubnet"]
    assert run(host, "firewall_rule", Name="r", Port=4321, RemoteAddresses=["localsubnet"])["changed"]
    assert run(host, "firewall_rule", Name="r", State="absent")["changed"] is True
    assert run(host, "firewall_rule", Name="r", State="absent")["changed"] is False
    assert "r" not in host.state["firewall_rules"]


@pytest.mark.parametrize("address", ["10.0.0.300", "nowhere", "10.0.0.9-10.0.0.1", "10.0.0.0/33"])
def test_addresses_windows_refuses(host, address):
    with pytest.raises(ScriptFailure, match="The address is invalid"):
        run(host, "firewall_rule", Name="r", Port=1234, RemoteAddresses=[address])
    assert host.state["firewall_rules"] == {}


def test_port_is_checked_and_bound_as_int(host):
    with pytest.raises(ScriptFailure, match="Port must be 1-65535"):
        run(host, "firewall_rule", Name="r", Port=0)
    with pytest.raises(ScriptFailure):  # PowerShell refuses to bind text to [int]
        run(host, "firewall_rule", Name="r", Port="tcp")


def test_private_acl_set_once_and_missing_file_refused(host):
    key = r"C:\ProgramData\buildkitd\tls\key.pem"
    host.write_file(key, b"-----BEGIN PRIVATE KEY-----")
    first = run(host, "file_acl_private", Path=[key])
    assert first == {"path": [key], "changed": True, "updated": [key], "missing": []}
    acl = host.file(key)["acl"]
    assert acl["protected"] and sorted(r["sid"] for r in acl["access"]) == ["S-1-5-18", "S-1-5-32-544"]
    assert run(host, "file_acl_private", Path=[key])["changed"] is False
    host.file(key)["acl"]["access"].append({"sid": "S-1-5-32-545", "identity": "BUILTIN\\Users", "type": "Allow",
                                            "rights": "ReadAndExecute, Synchronize"})
    assert run(host, "file_acl_private", Path=[key])["changed"] is True
    with pytest.raises(ScriptFailure, match="does not exist"):
        run(host, "file_acl_private", Path=[key, r"C:\nope.pem"])


def test_private_acl_check_only_reports_and_changes_nothing(host):
    key = r"C:\pki\key.pem"
    host.write_file(key, b"-----BEGIN PRIVATE KEY-----")
    loose = {"protected": False, "access": [{"sid": "S-1-1-0", "identity": "Everyone", "type": "Allow",
                                             "rights": "ReadAndExecute, Synchronize"}]}
    host.file(key)["acl"] = json.loads(json.dumps(loose))
    answer = run(host, "file_acl_private", Path=[key, r"C:\pki\nope.pem"], CheckOnly=True)
    assert answer == {"path": [key, r"C:\pki\nope.pem"], "changed": True, "updated": [key],
                      "missing": [r"C:\pki\nope.pem"]}
    assert host.file(key)["acl"] == loose
    run(host, "file_acl_private", Path=[key])
    assert run(host, "file_acl_private", Path=[key], CheckOnly=True)["changed"] is False


def _buildkitd(host, version, *flags):
    exe = r"C:\Program Files\buildkit\bin\buildkitd.exe"
    host.write_file(exe, f"SIMULATED-EXE buildkitd {version}".encode())
    host.state["services"]["containerd"] = {"name": "containerd", "status": "Running", "pipe": "containerd-containerd",
                                            "command_line": "c.exe", "start_mode": "Automatic", "depends_on": [],
                                            "pid": None}
    assert buildkitd_exe(host, exe, ["--register-service", *flags])[0] == 0
    assert host.start_service("buildkitd")


@pytest.mark.parametrize("version, groups, expected", [
    ("0.13.2", [], ["S-1-5-18", "S-1-5-32-544", "S-1-5-11"]),  # v0.13: authenticated users may use the pipe
    ("0.13.2", ["buildkit-users"], ["S-1-5-18", "S-1-5-32-544", "local"]),
    ("0.18.2", [], ["S-1-5-18", "S-1-5-32-544"]),  # from v0.14 only SYSTEM and Administrators
    ("0.24.0", ["buildkit-users", "Remote Management Users"], ["S-1-5-18", "S-1-5-32-544", "local", "S-1-5-32-580"]),
])
def test_pipe_acl_follows_the_release_and_groups(host, version, groups, expected):
    if groups:
        run(host, "local_group_ensure", Names=groups)
    _buildkitd(host, version, *(["--group", ",".join(groups)] if groups else []))
    answer = run(host, "pipe_acl", Name="buildkitd")
    sids = [r["sid"] for r in answer["access"]]
    assert answer["exists"] and [("local" if s.startswith("S-1-5-21-") else s) for s in sids] == expected
    if groups:
        mine = next(r for r in answer["access"] if r["sid"].startswith("S-1-5-21-"))
        assert mine["identity"] == "WIN1\\buildkit-users" and mine["rights"] == "Write, Read, Synchronize"


def test_pipe_acl_of_a_missing_pipe(host):
    assert run(host, "pipe_acl", Name="buildkitd") == {"name": "buildkitd", "exists": False, "access": []}
