"""win_buildkitd's lifecycle on the simulated host: config change, containerd restarts, rollback, Docker's containerd,
certificate renewal, bad input."""

from __future__ import annotations

import base64
import datetime
import json
import pathlib
import sys
import tomllib

import pytest

# The collection as the unit tests import it (linked by `make setup`).
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / ".collections"))
from ansible_collections.wcow.buildkit.plugins.plugin_utils import _certs  # noqa: E402

MODULE = "wcow.buildkit.win_buildkitd"


@pytest.fixture
def play(simulator, fake_github, tmp_path):
    """Run tasks [(module, args), ...] in one play; answer the run and the last task's result."""
    cache = tmp_path / "cache"

    def run(*tasks, faults=None, hostvars=None, check=False):
        body = [{"name": f"t{i}", f"wcow.buildkit.{module}": {**fake_github.options(cache_dir=str(cache)), **args}}
                for i, (module, args) in enumerate(tasks)]
        plays = [{"hosts": "windows_builders", "gather_facts": False, "tasks": body}]
        host = {**(hostvars or {}), **({"sim_faults": faults} if faults else {})}
        outcome = simulator.run(simulator.playbook(json.dumps(plays)), {"sim-host": host}, check=check)
        return outcome, outcome.result()
    return run


CONTAINERD = ("win_containerd", {"version": "2.1.5"})


def _starts(state, name="buildkitd"):
    return state["events"].count(f"service_start {name}")


def _trips(state):
    return state["stats"]["by_module"].get(MODULE, {}).get("round_trips", 0)


def test_config_change_restarts_once(play, simulator):
    assert play(CONTAINERD, ("win_buildkitd", {"version": "0.24.0"}))[0].rc == 0
    state = simulator.state()
    starts, trips = _starts(state), _trips(state)
    config = {"registry": {"docker.io": {"mirrors": ["mirror.example.com"]}},
              "worker": {"containerd": {"gckeepstorage": "20GB"}}}
    run, result = play(("win_buildkitd", {"version": "0.24.0", "config": config}))
    assert run.rc == 0, run.stdout
    assert result["changes"] == [r"write C:\Program Files\buildkit\buildkitd.toml"]
    state = simulator.state()
    assert _starts(state) == starts + 1
    assert _trips(state) - trips <= 3
    text = state["files"][r"c:\program files\buildkit\buildkitd.toml"]["content"]
    written = tomllib.loads(base64.b64decode(text).decode())
    assert written["worker"]["containerd"]["reservedSpace"] == "20GB"  # the 0.17+ key
    assert "gckeepstorage" not in written["worker"]["containerd"]


def test_unknown_config_key_named_with_the_nearest(play, simulator):
    assert play(CONTAINERD)[0].rc == 0
    run, result = play(("win_buildkitd", {"version": "0.24.0", "config": {"registy": {}}}))
    assert run.rc != 0 and "Traceback" not in run.stdout
    assert "config.registy" in result["msg"] and "'registry'" in result["msg"]
    assert "buildkitd" not in simulator.state()["services"]


def test_containerd_restart_is_followed_by_buildkitd_restart(play, simulator):
    assert play(CONTAINERD, ("win_buildkitd", {"version": "0.24.0"}))[0].rc == 0
    starts = _starts(simulator.state())
    run, result = play(("win_containerd", {"version": "2.1.5", "config": {"debug": {"level": "debug"}}}))
    assert run.rc == 0 and result["changed"], run.stdout
    state = simulator.state()
    assert state["services"]["buildkitd"]["status"] == "Running"
    assert _starts(state) == starts + 1
    events = state["events"]
    last = {name: len(events) - 1 - events[::-1].index(f"service_start {name}") for name in ("containerd", "buildkitd")}
    assert last["containerd"] < last["buildkitd"]  # started again after containerd, not before


def test_upgrade_failure_rolls_back(play, simulator):
    assert play(CONTAINERD, ("win_buildkitd", {"version": "0.20.2"}))[0].rc == 0
    run, result = play(("win_buildkitd", {"version": "0.24.0"}), faults={"service_start_fails": ["buildkitd@0.24.0"]})
    assert run.rc != 0
    assert result["rolled_back"] is True and result["attempted_version"] == "0.24.0", result["msg"]
    state = simulator.state()
    assert state["services"]["buildkitd"]["status"] == "Running"
    run, result = play(("win_buildkitd", {"version": "0.20.2"}))
    assert run.rc == 0 and not result["changed"], result


def test_docker_engines_containerd_used_when_asked(play, simulator):
    docker = ("win_containerd", {"version": "2.1.5", "service_name": "docker",
                                 "config": {"grpc": {"address": r"\\.\pipe\docker-containerd"}}})
    run, result = play(docker, ("win_buildkitd", {"version": "0.24.0",
                                                  "containerd_address": r"\\.\pipe\docker-containerd"}))
    assert run.rc == 0, run.stdout
    service = simulator.state()["services"]["buildkitd"]
    assert service["depends_on"] == ["docker"]
    assert r"--containerd-worker-addr \\.\pipe\docker-containerd" in service["command_line"]
    assert result["workers"][0]["executor"] == "containerd"


def test_docker_engines_containerd_is_offered_when_seen(play, simulator):
    docker = ("win_containerd", {"version": "2.1.5", "service_name": "docker",
                                 "config": {"grpc": {"address": r"\\.\pipe\docker-containerd"}}})
    assert play(docker)[0].rc == 0
    run, result = play(("win_buildkitd", {"version": "0.24.0"}), check=True)
    assert run.rc == 0, run.stdout
    assert "set containerd_address: '\\\\.\\pipe\\docker-containerd'" in " ".join((run.stdout + run.stderr).split())
    assert "buildkitd" not in simulator.state()["services"]


def test_certificate_near_expiry_is_renewed_and_restarts_once(play, simulator, tmp_path):
    pki = tmp_path / "pki"
    task = ("win_buildkitd", {"version": "0.24.0", "tcp": "0.0.0.0:1234", "tls_generate": True,
                              "tls_ca_dir": str(pki), "tls_renew_days": 30})
    assert play(CONTAINERD, task)[0].rc == 0
    starts = _starts(simulator.state())
    # A server certificate with 10 days left, from the same CA.
    ca = _certs.ensure_ca(pki)
    server_dir = pki / "hosts" / "sim-host"
    for name in ("cert.pem", "key.pem"):
        (server_dir / name).unlink()
    soon = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=_certs.LEAF_DAYS - 10)
    _certs.ensure_server_cert(ca, server_dir, ["sim-host"], [], now=soon)
    old = (server_dir / "cert.pem").read_bytes()
    run, result = play(task)
    assert run.rc == 0, run.stdout
    assert (server_dir / "cert.pem").read_bytes() != old
    assert result["tls"]["server"]["renewed"].startswith("expires")
    assert any(c.startswith("write TLS files") for c in result["changes"])
    assert _starts(simulator.state()) == starts + 1


@pytest.mark.parametrize("args, words", [
    ({"tcp": "0.0.0.0:99999", "tcp_insecure": True}, ["tcp", "host:port"]),
    ({"hyperv_isolation": True}, ["hyperv_isolation", "0.32.2"]),
    ({"tls_generate": True}, ["tls", "set tcp"]),
    ({"root": "relative\\dir"}, ["root", "absolute"]),
    ({"cni": {"config_path": "C:\\cni\\nat.conf"}}, ["binary_dir"]),
    ({"tcp": "0.0.0.0:1234", "tls_cert": "x"}, ["tls_key", "tls_ca"]),
])
def test_bad_input_is_named_without_a_traceback(play, simulator, args, words):
    run, result = play(("win_buildkitd", {"version": "0.24.0", **args}))
    assert run.rc != 0
    assert "Traceback" not in run.stdout + run.stderr
    for word in words:
        assert word in result["msg"], result["msg"]
    assert not (simulator.state_dir / "sim-host.json").exists() or "buildkitd" not in simulator.state()["services"]


def test_worker_check_fails_when_cni_is_asked_but_the_worker_has_no_network(play, simulator):
    cni = {"config_path": r"C:\Program Files\containerd\cni\conf\0-containerd-nat.conf",
           "binary_dir": r"C:\Program Files\containerd\cni\bin"}
    run, result = play(CONTAINERD, ("win_buildkitd", {"version": "0.24.0", "cni": cni}))
    assert run.rc != 0 and "Traceback" not in run.stdout
    assert "worker check failed" in result["msg"] and "not 'cni'" in result["msg"]
    assert "--containerd-cni-config-path" in simulator.state()["services"]["buildkitd"]["command_line"]
