"""Issue 8 on the simulated host: upgrades across a config schema change (1.7 -> 2.3, 2.1 -> 2.3)."""

from __future__ import annotations

import base64
import json
import tomllib

import pytest

MODULE = "wcow.buildkit.win_containerd"
CONFIG = r"c:\program files\containerd\config.toml"
LOG = r"c:\programdata\containerd\containerd.log"
ROOT = r"C:\ProgramData\containerd\builder-root"  # an override every schema reads at the same place
GRPC4 = "io.containerd.server.v1.grpc"


def _file(state, path):
    return base64.b64decode(state["files"][path]["content"]).decode()


def _forget_events(simulator):
    state = simulator.state()
    state["events"] = []
    state["stats"] = {**state["stats"], "by_module": {}}
    simulator.write_state(state)


@pytest.mark.parametrize("old, old_schema", [("1.7.29", 2), ("2.1.5", 3)])
def test_upgrade_to_2_3_rewrites_the_whole_config_once_and_restarts_once(converge, simulator, old, old_schema):
    run, _result = converge(version=old, config={"root": ROOT})
    assert run.rc == 0, run.stdout
    assert tomllib.loads(_file(simulator.state(), CONFIG))["version"] == old_schema
    _forget_events(simulator)

    run, result = converge(version="2.3.4", config={"root": ROOT}, cli=("--diff",))
    assert run.rc == 0, run.stdout
    assert result["changes"][0] == f"upgrade containerd {old} -> 2.3.4"
    state = simulator.state()
    config = tomllib.loads(_file(state, CONFIG))
    assert config["version"] == 4 and config["root"] == ROOT  # the user's override kept
    assert "grpc" not in config and config["plugins"][GRPC4]["address"] == r"\\.\pipe\containerd-containerd"
    events = state["events"]
    assert len([e for e in events if e.startswith("file_write") and e.lower().endswith("config.toml")]) == 1
    assert events.count("service_stop containerd") == 1 and events.count("service_start containerd") == 1
    # Written for the new schema, so 2.3 has nothing to migrate at start.
    assert "successfully booted\" version=2.3.4" in _file(state, LOG)
    assert "Configuration migrated" not in _file(state, LOG)
    # The diff shows the whole file re-rendered for the new schema.
    assert "-version = %d" % old_schema in run.stdout and "+version = 4" in run.stdout
    assert f'+[plugins."{GRPC4}"]' in run.stdout or f"+[plugins.'{GRPC4}']" in run.stdout

    run, result = converge(version="2.3.4", config={"root": ROOT})
    assert run.rc == 0 and result["changed"] is False
    assert simulator.state()["stats"]["by_module"][MODULE]["round_trips"] == 3 + 1  # upgrade, then converged


def test_a_schema_3_override_is_refused_for_2_3_before_anything_changes(converge, simulator):
    pipe = r"\\.\pipe\containerd-builder"
    assert converge(version="2.1.5", config={"grpc": {"address": pipe}})[0].rc == 0
    before = simulator.state()
    _forget_events(simulator)

    run, result = converge(version="2.3.4", config={"grpc": {"address": pipe}})
    assert run.rc != 0 and result.get("changed") is not True
    assert f'plugins."{GRPC4}".address' in result["msg"] and "config.grpc.address" in result["msg"]
    state = simulator.state()
    assert state["files"] == before["files"] and state["services"] == before["services"]
    assert state["events"] == []


def test_hosts_of_different_builds_get_no_captured_os_version(simulator, fake_github, tmp_path):
    # The platform list is host-dependent: left out, so each host's containerd computes its own.
    options = fake_github.options(cache_dir=str(tmp_path / "cache"), version="2.3.4")
    play = [{"hosts": "windows_builders", "gather_facts": False, "tasks": [{MODULE: options}]}]
    hosts = {"ws2019": {"sim_build": 17763}, "ws2025": {"sim_build": 26100}}
    run = simulator.run(simulator.playbook(json.dumps(play)), hosts)
    assert run.rc == 0, run.stdout
    texts = [_file(run.state(host), CONFIG) for host in hosts]
    assert texts[0] == texts[1]
    assert "windows(" not in texts[0] and "platforms" not in tomllib.loads(texts[0])["plugins"]["io.containerd.runtime.v2.task"]
