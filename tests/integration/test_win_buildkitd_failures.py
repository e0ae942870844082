"""win_buildkitd when buildkitd fails after a start: the message carries the tail of buildkitd's own log."""

from __future__ import annotations

import json

import pytest

MODULE = "wcow.buildkit.win_buildkitd"
CONTAINERD = ("win_containerd", {"version": "2.1.5"})
BUILDKITD = ("win_buildkitd", {"version": "0.24.0"})


@pytest.fixture
def play(simulator, fake_github, tmp_path):
    cache = tmp_path / "cache"

    def run(*tasks, faults=None):
        body = [{"name": f"t{i}", f"wcow.buildkit.{module}": {**fake_github.options(cache_dir=str(cache)), **args}}
                for i, (module, args) in enumerate(tasks)]
        plays = [{"hosts": "windows_builders", "gather_facts": False, "tasks": body}]
        host = {"sim_faults": faults} if faults else {}
        outcome = simulator.run(simulator.playbook(json.dumps(plays)), {"sim-host": host})
        return outcome, outcome.result()
    return run


def _trips(state):
    return state["stats"]["by_module"].get(MODULE, {}).get("round_trips", 0)


def test_daemon_that_dies_after_start_fails_with_its_log_tail(play, simulator):
    run, result = play(CONTAINERD, BUILDKITD, faults={"buildkitd_dies_after_start": ["buildkitd"]})
    assert run.rc != 0 and "Traceback" not in run.stdout
    msg = result["msg"]
    assert "worker check failed" in msg and "The system cannot find the file specified" in msg, msg
    # the tail of buildkitd.log, written by the daemon itself (not by our scripts)
    assert r"Last lines of C:\ProgramData\buildkitd\buildkitd.log" in msg, msg
    assert 'level=fatal msg="containerd worker: connection to containerd lost, exiting"' in msg, msg
    assert 'level=info msg="running server on npipe:////./pipe/buildkitd"' in msg, msg
    assert any("level=fatal" in line for line in result["log_tail"])
    state = simulator.state()
    assert "service_died buildkitd" in state["events"]
    assert _trips(state) <= 3


def test_daemon_that_dies_after_a_config_restart_fails_with_its_log_tail(play, simulator):
    assert play(CONTAINERD, BUILDKITD)[0].rc == 0
    before = _trips(simulator.state())
    changed = ("win_buildkitd", {"version": "0.24.0", "debug": True})
    run, result = play(changed, faults={"buildkitd_dies_after_start": ["buildkitd"]})
    assert run.rc != 0 and "Traceback" not in run.stdout
    assert "worker check failed" in result["msg"]
    assert 'level=fatal msg="containerd worker: connection to containerd lost, exiting"' in result["msg"], result["msg"]
    assert _trips(simulator.state()) - before <= 3


def test_healthy_start_reports_workers_and_no_log(play, simulator):
    run, result = play(CONTAINERD, BUILDKITD)
    assert run.rc == 0, run.stdout
    assert result["workers"][0]["executor"] == "containerd" and "log_tail" not in result


def test_daemon_that_exits_during_start_fails_with_its_log_tail(play, simulator):
    run, result = play(CONTAINERD, BUILDKITD, faults={"service_start_fails": ["buildkitd"]})
    assert run.rc != 0 and "Traceback" not in run.stdout
    assert "exited right after start" in result["msg"] and "level=fatal" in result["msg"], result["msg"]


def test_allowed_groups_pipe_dacl_is_read_after_start_and_grants_read_write(play, simulator):
    run, result = play(CONTAINERD, ("win_buildkitd", {"version": "0.24.0", "allowed_groups": ["docker-users"]}))
    assert run.rc == 0, run.stdout
    granted = [r for r in result["pipe_access"] if r["identity"].lower().endswith("\\docker-users")]
    assert granted and "Read" in granted[0]["rights"] and "Write" in granted[0]["rights"], result["pipe_access"]
    assert "S-1-5-11" not in [r["sid"] for r in result["pipe_access"]]  # no blanket authenticated-users rule
