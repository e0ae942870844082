"""buildx_remote_builder on a Windows client: PEM contents written owner-private, the standalone buildx.exe.

Simulated Windows host; docker.exe / buildx.exe twins in wcow_sim/docker.py."""

from __future__ import annotations

import base64
import hashlib
import json

from wcow_sim.state import new_state

DOCKER = "C:\\Program Files\\Docker\\docker.exe"
BUILDX = "C:\\Tools\\buildx.exe"
CONFIG = "C:\\Users\\builder\\.docker"
MODULE = "wcow.buildkit.buildx_remote_builder"
CA = "-----BEGIN CERTIFICATE-----\nMIIBca\n-----END CERTIFICATE-----\n"
CERT = "-----BEGIN CERTIFICATE-----\nMIIBclient\n-----END CERTIFICATE-----\n"
KEY = "-----BEGIN PRIVATE KEY-----\nMIIEsecretkeymaterial\n-----END PRIVATE KEY-----\n"


def exe(state, path, program):
    data = f"SIMULATED-EXE {program} 1".encode()
    state["files"][path.lower()] = {"path": path, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data),
                                    "content": base64.b64encode(data).decode()}


def seed(simulator, docker=True, buildx=False):
    state = new_state()
    if docker:
        exe(state, DOCKER, "docker")
    if buildx:
        exe(state, BUILDX, "buildx")
    state["services"]["buildkitd"] = {"name": "buildkitd", "status": "Running", "pipe": "buildkitd",
                                      "depends_on": [], "pid": None}
    state["buildkitd_version"] = "v0.32.2"
    simulator.write_state(state)


def run(simulator, check=False, **args):
    play = [{"hosts": "windows_builders", "gather_facts": False, "tasks": [{"name": "builder", MODULE: args}]}]
    outcome = simulator.run(simulator.playbook(json.dumps(play)), {"sim-host": {}}, check=check)
    return outcome, outcome.result()


def file_entry(simulator, path):
    return simulator.state()["files"].get(path.lower())


def instance(simulator, name, config=CONFIG):
    entry = file_entry(simulator, f"{config}\\buildx\\instances\\{name}")
    return None if entry is None else json.loads(base64.b64decode(entry["content"]))


def round_trips(simulator):
    return simulator.state()["stats"]["by_module"].get(MODULE, {}).get("round_trips", 0)


def test_pem_contents_on_windows_are_written_private_and_converge(simulator):
    seed(simulator)
    tls = {"cacert": CA, "cert": CERT, "key": KEY, "servername": "build1"}
    outcome, result = run(simulator, name="wcow", endpoint="tcp://build1:1234", tls=tls, docker_cli=DOCKER,
                          docker_config=CONFIG)
    assert outcome.rc == 0, outcome.stdout
    assert result["changed"] is True and round_trips(simulator) <= 3  # ls; files + create; ls
    opts = instance(simulator, "wcow")["Nodes"][0]["DriverOpts"]
    for key, pem in (("cacert", CA), ("cert", CERT), ("key", KEY)):
        path = opts[key]
        assert path.lower().startswith(f"{CONFIG}\\wcow.buildkit\\tls\\".lower()), path
        entry = file_entry(simulator, path)
        assert base64.b64decode(entry["content"]).decode() == pem
        acl = entry["acl"]
        assert acl["protected"] and sorted(r["sid"] for r in acl["access"]) == ["S-1-5-18", "S-1-5-32-544"]
    assert opts["servername"] == "build1"
    assert "MIIEsecretkeymaterial" not in outcome.stdout and "MIIEsecretkeymaterial" not in json.dumps(result)
    before = round_trips(simulator)
    outcome, result = run(simulator, name="wcow", endpoint="tcp://build1:1234", tls=tls, docker_cli=DOCKER,
                          docker_config=CONFIG)
    assert outcome.rc == 0 and result["changed"] is False and result["commands"] == []
    assert round_trips(simulator) - before == 1


def test_pem_contents_on_windows_need_docker_config(simulator):
    seed(simulator)
    outcome, result = run(simulator, name="wcow", endpoint="tcp://build1:1234", tls={"cacert": CA},
                          docker_cli=DOCKER)
    assert outcome.rc != 0 and "docker_config" in result["msg"]
    assert round_trips(simulator) == 0


def test_standalone_buildx_exe_replaces_docker_on_the_build_host(simulator):
    seed(simulator, docker=False, buildx=True)
    outcome, result = run(simulator, name="wcow", endpoint="npipe:////./pipe/buildkitd", use=True, bootstrap=True,
                          docker_cli=BUILDX, docker_config=CONFIG)
    assert outcome.rc == 0, outcome.stdout
    assert result["changed"] is True
    assert all(c.startswith(BUILDX + " create") for c in result["commands"]), result["commands"]
    assert instance(simulator, "wcow")["Nodes"][0]["Endpoint"] == "npipe:////./pipe/buildkitd"
    assert result["builder"]["nodes"][0]["status"] == "running"
    outcome, result = run(simulator, name="wcow", endpoint="npipe:////./pipe/buildkitd", use=True,
                          docker_cli=BUILDX, docker_config=CONFIG)
    assert outcome.rc == 0 and result["changed"] is False


def test_standalone_buildx_missing_is_named(simulator):
    seed(simulator, docker=False)
    outcome, result = run(simulator, name="wcow", endpoint="npipe:////./pipe/buildkitd", docker_cli=BUILDX)
    assert outcome.rc != 0 and "buildx binary" in result["msg"] and BUILDX in result["msg"]


def test_become_is_still_refused_on_windows(simulator):
    seed(simulator)
    play = [{"hosts": "windows_builders", "gather_facts": False, "tasks": [{
        "name": "builder", "become": True, "become_method": "runas", "become_user": "SYSTEM",
        MODULE: {"name": "wcow", "endpoint": "npipe:////./pipe/buildkitd", "docker_cli": DOCKER}}]}]
    outcome = simulator.run(simulator.playbook(json.dumps(play)), {"sim-host": {}})
    assert outcome.rc != 0 and "become is not supported" in outcome.result()["msg"]
    assert round_trips(simulator) == 0
