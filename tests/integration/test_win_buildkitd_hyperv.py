"""hyperv_isolation decided by the binary: refused for every captured release (their --help has no flag), and for a
newer release by the installed binary's own --help (read in the state read) or its own --register-service."""

from __future__ import annotations

import json

import pytest
from fake_github import FakeGitHub, build_release_tree

MODULE = "wcow.buildkit.win_buildkitd"
FLAG = "--containerd-worker-hyperv-isolation"
# 0.33.0 stands in for a release after 0.32.2 (the newest captured help); the twin shows FLAG in its help only
# when the fault buildkitd_extra_flags says so.
RELEASES = {"containerd": [{"version": "2.1.5", "created_at": "2025-07-01T00:00:00Z"}],
            "buildkit": [{"version": "0.32.2", "created_at": "2026-06-01T00:00:00Z"},
                         {"version": "0.33.0", "created_at": "2026-10-01T00:00:00Z"}]}
WITH_FLAG = {"buildkitd_extra_flags": {"0.33.0": [FLAG]}}


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    return build_release_tree(tmp_path_factory.mktemp("gh-hyperv"), RELEASES)


@pytest.fixture
def play(simulator, tree, tmp_path):
    server = FakeGitHub(tree).start()
    cache = tmp_path / "cache"

    def run(*tasks, faults=None):
        body = [{"name": f"t{i}", f"wcow.buildkit.{module}": {**server.options(cache_dir=str(cache)), **args}}
                for i, (module, args) in enumerate(tasks)]
        plays = [{"hosts": "windows_builders", "gather_facts": False, "tasks": body}]
        outcome = simulator.run(simulator.playbook(json.dumps(plays)), {"sim-host": {"sim_faults": faults or {}}})
        return outcome, outcome.result()
    try:
        yield run
    finally:
        server.stop()


CONTAINERD = ("win_containerd", {"version": "2.1.5"})


def _trips(state):
    return state["stats"]["by_module"].get(MODULE, {}).get("round_trips", 0)


def test_refused_on_032_naming_the_version_and_the_flag(play, simulator):
    run, result = play(CONTAINERD, ("win_buildkitd", {"version": "0.32.2", "hyperv_isolation": True}))
    assert run.rc != 0 and "Traceback" not in run.stdout
    assert "hyperv_isolation" in result["msg"] and "0.32.2" in result["msg"] and FLAG in result["msg"], result["msg"]
    assert "buildkitd" not in simulator.state()["services"]


def test_accepted_and_passed_when_the_release_help_shows_the_flag(play, simulator):
    task = ("win_buildkitd", {"version": "0.33.0", "hyperv_isolation": True})
    run, result = play(CONTAINERD, task, faults=WITH_FLAG)
    assert run.rc == 0, run.stdout
    state = simulator.state()
    assert FLAG in state["services"]["buildkitd"]["command_line"]
    assert state["services"]["buildkitd"]["status"] == "Running"
    before = _trips(state)
    run, result = play(task, faults=WITH_FLAG)
    assert run.rc == 0 and run.recap["sim-host"]["changed"] == 0, result.get("changes")
    assert _trips(simulator.state()) - before == 1  # the --help is read in the one state read


def test_installed_release_without_the_flag_is_refused_before_any_change(play, simulator):
    assert play(CONTAINERD, ("win_buildkitd", {"version": "0.33.0"}))[0].rc == 0
    state = simulator.state()
    before, line = _trips(state), state["services"]["buildkitd"]["command_line"]
    run, result = play(("win_buildkitd", {"version": "0.33.0", "hyperv_isolation": True}))
    assert run.rc != 0 and "Traceback" not in run.stdout
    msg = result["msg"]
    assert "hyperv_isolation: the installed buildkit 0.33.0" in msg and FLAG in msg, msg
    state = simulator.state()
    assert state["services"]["buildkitd"]["command_line"] == line and _trips(state) - before == 1


def test_new_release_whose_binary_refuses_the_flag_is_rolled_back(play, simulator):
    run, result = play(CONTAINERD, ("win_buildkitd", {"version": "0.33.0", "hyperv_isolation": True}))
    assert run.rc != 0 and "Traceback" not in run.stdout
    assert "flag provided but not defined" in result["msg"] and FLAG.lstrip("-") in result["msg"], result["msg"]
    assert "buildkitd" not in simulator.state()["services"]
