"""buildx_remote_builder on the Windows build host itself (simulated host; docker.exe twin in wcow_sim/docker.py)."""

from __future__ import annotations

import base64
import hashlib
import json

from wcow_sim.state import new_state

DOCKER = "C:\\Program Files\\Docker\\docker.exe"
CONFIG = "C:\\Users\\Administrator\\.docker"
MODULE = "wcow.buildkit.buildx_remote_builder"


def seed(simulator, buildkitd_running=True):
    state = new_state()
    data = b"SIMULATED-EXE docker 27.3.1"
    state["files"][DOCKER.lower()] = {"path": DOCKER, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data),
                                      "content": base64.b64encode(data).decode()}
    state["services"]["buildkitd"] = {"name": "buildkitd", "status": "Running" if buildkitd_running else "Stopped",
                                      "pipe": "buildkitd", "depends_on": [], "pid": None}
    state["buildkitd_version"] = "v0.32.2"
    simulator.write_state(state)


def run(simulator, check=False, **args):
    play = [{"hosts": "windows_builders", "gather_facts": False, "tasks": [{"name": "builder", MODULE: {
        "docker_cli": DOCKER, "docker_config": CONFIG, **args}}]}]
    outcome = simulator.run(simulator.playbook(json.dumps(play)), {"sim-host": {}}, check=check)
    return outcome, outcome.result()


def instance(simulator, name):
    entry = simulator.state()["files"].get(f"{CONFIG}\\buildx\\instances\\{name}".lower())
    return None if entry is None else json.loads(base64.b64decode(entry["content"]))


def round_trips(simulator):
    return simulator.state()["stats"]["by_module"].get(MODULE, {}).get("round_trips", 0)


def test_npipe_builder_on_the_build_host_create_converge_bootstrap(simulator):
    seed(simulator)
    outcome, result = run(simulator, name="wcow", endpoint="npipe:////./pipe/buildkitd", use=True, bootstrap=True)
    assert outcome.rc == 0, outcome.stdout
    assert result["changed"] is True
    assert instance(simulator, "wcow")["Nodes"][0]["Endpoint"] == "npipe:////./pipe/buildkitd"
    node = result["builder"]["nodes"][0]
    assert node["status"] == "running" and node["version"] == "v0.32.2"
    before = round_trips(simulator)
    outcome, result = run(simulator, name="wcow", endpoint="npipe:////./pipe/buildkitd", use=True)
    assert outcome.rc == 0 and result["changed"] is False and result["commands"] == []
    assert round_trips(simulator) - before == 1  # converged: one read


def test_windows_paths_are_absolute_for_tls_and_relative_ones_refused(simulator):
    seed(simulator)
    outcome, result = run(simulator, name="wcow", endpoint="tcp://127.0.0.1:1", tls={"cacert": "ca.pem"})
    assert outcome.rc != 0 and "tls.cacert" in result["msg"]
    assert round_trips(simulator) == 0
    outcome, result = run(simulator, name="wcow", endpoint="tcp://127.0.0.1:1",
                          tls={"cacert": "C:\\pki\\ca.pem", "servername": "win1"})
    assert outcome.rc == 0, outcome.stdout
    assert instance(simulator, "wcow")["Nodes"][0]["DriverOpts"] == {"cacert": "C:\\pki\\ca.pem", "servername": "win1"}


def test_stopped_buildkitd_with_bootstrap_fails_with_causes_and_removes(simulator):
    seed(simulator, buildkitd_running=False)
    outcome, result = run(simulator, name="wcow", endpoint="npipe:////./pipe/buildkitd", bootstrap=True)
    assert outcome.rc != 0 and "not running" in result["msg"] and "context deadline exceeded" in result["msg"]
    assert instance(simulator, "wcow") is None


def test_absent_on_windows(simulator):
    seed(simulator)
    run(simulator, name="wcow", endpoint="npipe:////./pipe/buildkitd")
    outcome, result = run(simulator, name="wcow", state="absent")
    assert outcome.rc == 0 and result["changed"] is True and instance(simulator, "wcow") is None


def test_buildx_too_old_for_npipe_names_both_versions(simulator):
    seed(simulator)
    state = simulator.state()
    state["docker_env"] = {"WCOW_FAKE_BUILDX_VERSION": "v0.12.1"}
    simulator.write_state(state)
    outcome, result = run(simulator, name="wcow", endpoint="npipe:////./pipe/buildkitd")
    assert outcome.rc != 0 and "v0.12.1" in result["msg"] and "0.13" in result["msg"]
    assert instance(simulator, "wcow") is None


def test_change_costs_at_most_three_round_trips(simulator):
    seed(simulator)
    outcome, _result = run(simulator, name="wcow", endpoint="npipe:////./pipe/buildkitd", use=True)
    assert outcome.rc == 0 and round_trips(simulator) <= 3
