"""win_buildkitd's planner (pure) and the firewall rule's read-only check it relies on."""

from __future__ import annotations

import copy
import pathlib

import pytest

from ansible_collections.wcow.buildkit.plugins.plugin_utils import _buildkitd, _buildkitd_flags
from wcow_sim import binding, dispatch  # noqa: F401  pylint: disable=unused-import
from wcow_sim.host import Host
from wcow_sim.registry import SCRIPTS
from wcow_sim.state import new_state

SCRIPTS_DIR = pathlib.Path(__file__).resolve().parents[2] / "plugins" / "plugin_utils" / "scripts"


def run(host: Host, name: str, **params):
    bound = binding.bind(binding.signature(SCRIPTS_DIR / f"{name}.ps1"), params)
    return SCRIPTS[name](host, bound)


def test_firewall_check_only_answers_without_changing():
    host = Host("win1", new_state())
    assert run(host, "firewall_rule", Name="r", Port=1234, CheckOnly=True)["changed"] is True
    assert host.state["firewall_rules"] == {}
    run(host, "firewall_rule", Name="r", Port=1234, RemoteAddresses=["10.0.0.0/8"])
    before = copy.deepcopy(host.state["firewall_rules"])
    same = run(host, "firewall_rule", Name="r", Port=1234, RemoteAddresses=["10.0.0.0/255.0.0.0"], CheckOnly=True)
    assert same["changed"] is False and same["before"]["remote_addresses"] == ["10.0.0.0/255.0.0.0"]
    assert run(host, "firewall_rule", Name="r", Port=1235, RemoteAddresses=["10.0.0.0/8"], CheckOnly=True)["changed"]
    assert run(host, "firewall_rule", Name="r", State="absent", CheckOnly=True)["changed"] is True
    assert host.state["firewall_rules"] == before


def _desired(**extra):
    base = {"state": "present", "install_dir": r"C:\Program Files\buildkit",
            "config_path": r"C:\Program Files\buildkit\buildkitd.toml", "service_name": "buildkitd",
            "log_file": r"C:\ProgramData\buildkitd\buildkitd.log", "defender_exclusion": None, "purge": False,
            "version": "0.24.0", "config_text": "x", "archive_path": r"C:\a.tar.gz",
            "args": ("--service-name", "buildkitd"),
            "verify_argv": (r"C:\Program Files\buildkit\bin\buildctl.exe", "debug", "workers")}
    return _buildkitd.Desired(**{**base, **extra})


def _observed(desired, **extra):
    answer = {"binary": {"exists": True, "version_output": "buildkitd github.com/moby/buildkit v0.24.0 abc"},
              "service": {"status": "Running", "start_mode": "Automatic", "command_line": desired.command_line()},
              "config": {"content": "x", "sha256": _buildkitd.sha256("x")},
              "machine_path": [desired.bin_dir], "pipe_ready": True, "defender_exclusions": []}
    return _buildkitd.observe([answer, extra.pop("firewall", {"changed": False}), *extra.pop("files", [])],
                              _buildkitd_flags.version_from_output)


def test_converged_plans_nothing():
    desired = _desired()
    assert not _buildkitd.plan(desired, _observed(desired)).changed


def test_registration_adds_dependency_and_start_waits_for_containerd_then_verifies():
    desired = _desired(groups=("docker-users",))
    observed = _observed(desired)
    observed = _buildkitd.Observed(**{**observed.__dict__, "service": None})
    steps = _buildkitd.plan(desired, observed).steps
    scripts = [s.script for s in steps]
    configure = scripts.index("service_configure")
    assert steps[configure].params["DependsOn"] == ["containerd"]
    group, start = scripts.index("local_group_ensure"), scripts.index("service_start")
    assert steps[start].params["Name"] == "containerd" and steps[start].params["PipeName"] == "containerd-containerd"
    own = [i for i, s in enumerate(steps) if s.script == "service_start" and s.params["Name"] == "buildkitd"]
    assert configure < group < start < own[0]
    assert _buildkitd.is_verify(steps[-2]) and steps[-2].params["FailOnError"] is False
    # then the log's tail, in the same round trip, for a check that fails
    assert steps[-1].script == "file_tail" and steps[-1].params["Path"] == desired.log_file


def test_changed_tls_file_is_written_private_and_restarts_once():
    key = r"C:\ProgramData\buildkitd\certs\key.pem"
    desired = _desired(tls_files=((key, "KEY"),), tls_keys=(key,))
    observed = _observed(desired, files=[{"path": key, "exists": True, "sha256": "0" * 64}])
    plan = _buildkitd.plan(desired, observed)
    scripts = [s.script for s in plan.steps]
    assert scripts[:2] == ["file_write", "file_acl_private"] and plan.steps[0].secrets == ("Content",)
    assert [s.params["Name"] for s in plan.steps if s.script == "service_stop"] == ["buildkitd"]
    assert sum(1 for s in plan.steps if s.script == "service_start" and s.params["Name"] == "buildkitd") == 1
    same = _observed(desired, files=[{"path": key, "exists": True, "sha256": _buildkitd.sha256("KEY")}])
    assert not _buildkitd.plan(desired, same).changed


@pytest.mark.parametrize("port, found, reason", [(1234, {"changed": True}, "configure firewall rule"),
                                                 (None, {"changed": True}, "remove firewall rule")])
def test_firewall_rule_follows_tcp(port, found, reason):
    desired = _desired(firewall_port=port, firewall_addresses=("LocalSubnet",))
    plan = _buildkitd.plan(desired, _observed(desired, firewall=found))
    assert any(c.startswith(reason) for c in plan.changes)
    assert not any(s.script == "service_stop" for s in plan.steps)  # a firewall change needs no restart
