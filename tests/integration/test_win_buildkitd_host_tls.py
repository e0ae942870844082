"""win_buildkitd with the user's own TLS files already on the host (tls_cert/tls_key/tls_ca as Windows paths):
no upload, checked in the state read, key ACL enforced, flags point at them; a missing file fails first."""

from __future__ import annotations

import base64
import hashlib
import json
import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / ".collections"))
from ansible_collections.wcow.buildkit.plugins.plugin_utils import _certs  # noqa: E402

MODULE = "wcow.buildkit.win_buildkitd"
PKI = r"C:\pki"
HOST_TLS = {"tls_cert": PKI + r"\server.pem", "tls_key": PKI + r"\server-key.pem", "tls_ca": PKI + r"\ca.pem"}
EVERYONE_READ = {"protected": False, "access": [{"sid": "S-1-1-0", "identity": "Everyone", "type": "Allow",
                                                 "rights": "ReadAndExecute, Synchronize"}]}


@pytest.fixture
def play(simulator, fake_github, tmp_path):
    cache = tmp_path / "cache"

    def run(*tasks, check=False):
        body = [{"name": f"t{i}", f"wcow.buildkit.{module}": {**fake_github.options(cache_dir=str(cache)), **args}}
                for i, (module, args) in enumerate(tasks)]
        plays = [{"hosts": "windows_builders", "gather_facts": False, "tasks": body}]
        outcome = simulator.run(simulator.playbook(json.dumps(plays)), {"sim-host": {}}, check=check)
        return outcome, outcome.result()
    return run


def _pki(tmp_path):
    ca = _certs.ensure_ca(tmp_path / "ca")
    server = _certs.ensure_server_cert(ca, tmp_path / "server", ["sim-host"], [])
    return {"tls_cert": server.cert_path.read_bytes(), "tls_key": server.key_path.read_bytes(),
            "tls_ca": ca.cert_path.read_bytes()}


def _put_on_host(simulator, pems, skip=()):
    """The files as an admin copied them: under C:\\pki, the key readable by Everyone (inherited ACL)."""
    state = simulator.state()
    for option, path in HOST_TLS.items():
        if option in skip:
            continue
        data = pems[option]
        state["files"][path.lower()] = {"path": path, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data),
                                        "content": base64.b64encode(data).decode("ascii"),
                                        "acl": json.loads(json.dumps(EVERYONE_READ))}
    simulator.write_state(state)


def _trips(state):
    return state["stats"]["by_module"].get(MODULE, {}).get("round_trips", 0)


def test_host_paths_are_used_in_place_with_the_key_acl_enforced(play, simulator, tmp_path):
    assert play(("win_containerd", {"version": "2.1.5"}))[0].rc == 0
    _put_on_host(simulator, _pki(tmp_path))
    task = ("win_buildkitd", {"version": "0.24.0", "tcp": "0.0.0.0:1234", **HOST_TLS})
    run, result = play(task)
    assert run.rc == 0, run.stdout
    state = simulator.state()
    line = state["services"]["buildkitd"]["command_line"]
    for flag, option in (("--tlscert", "tls_cert"), ("--tlskey", "tls_key"), ("--tlscacert", "tls_ca")):
        assert f'{flag} "{HOST_TLS[option]}"' in line or f"{flag} {HOST_TLS[option]}" in line, line
    # nothing uploaded to the default TLS folder
    assert not [p for p in state["files"] if p.startswith(r"c:\programdata\buildkitd\certs")]
    acl = state["files"][HOST_TLS["tls_key"].lower()]["acl"]
    assert acl["protected"] and sorted(r["sid"] for r in acl["access"]) == ["S-1-5-18", "S-1-5-32-544"]
    assert state["files"][HOST_TLS["tls_cert"].lower()]["acl"] == EVERYONE_READ  # only the key is made private
    assert result["tls"]["on_host"] == ["tls_ca", "tls_cert", "tls_key"]

    before = _trips(state)
    run, result = play(task)
    assert run.rc == 0 and run.recap["sim-host"]["changed"] == 0, run.stdout
    assert _trips(simulator.state()) - before == 1

    # Someone loosens the key's ACL again: the next run restores it, in the apply round trip, without a restart.
    state = simulator.state()
    state["files"][HOST_TLS["tls_key"].lower()]["acl"] = json.loads(json.dumps(EVERYONE_READ))
    starts = state["events"].count("service_start buildkitd")
    simulator.write_state(state)
    run, result = play(task)
    assert run.rc == 0 and result["changed"], run.stdout
    assert any(c.startswith("restrict the ACL of") for c in result["changes"]), result["changes"]
    state = simulator.state()
    assert state["files"][HOST_TLS["tls_key"].lower()]["acl"]["protected"]
    assert state["events"].count("service_start buildkitd") == starts


@pytest.mark.parametrize("check, missing", [(False, "tls_ca"), (True, "tls_cert"), (False, "tls_key")])
def test_missing_host_file_fails_naming_option_and_path_before_any_change(play, simulator, tmp_path, check, missing):
    assert play(("win_containerd", {"version": "2.1.5"}))[0].rc == 0
    _put_on_host(simulator, _pki(tmp_path), skip=(missing,))
    before = simulator.state()
    run, result = play(("win_buildkitd", {"version": "0.24.0", "tcp": "0.0.0.0:1234", **HOST_TLS}), check=check)
    assert run.rc != 0 and "Traceback" not in run.stdout + run.stderr
    # tls_key is no_log (it may hold the key itself), so ansible masks its value, the path, in every result
    path = "********" if missing == "tls_key" else HOST_TLS[missing]
    assert f"{missing}: {path} does not exist on the host" in result["msg"], result["msg"]
    after = simulator.state()
    assert "buildkitd" not in after["services"]
    assert after["files"].keys() - before["files"].keys() <= {k for k in after["files"] if "wcow" in k}
    assert _trips(after) == 1


def test_mixed_forms_upload_only_the_pem_ones(play, simulator, tmp_path):
    assert play(("win_containerd", {"version": "2.1.5"}))[0].rc == 0
    pems = _pki(tmp_path)
    _put_on_host(simulator, pems, skip=("tls_ca",))
    args = {"version": "0.24.0", "tcp": "0.0.0.0:1234", "tls_cert": HOST_TLS["tls_cert"],
            "tls_key": HOST_TLS["tls_key"], "tls_ca": pems["tls_ca"].decode()}
    run, _result = play(("win_buildkitd", args))
    assert run.rc == 0, run.stdout
    state = simulator.state()
    assert r"c:\programdata\buildkitd\certs\ca.pem" in state["files"]
    assert r"c:\programdata\buildkitd\certs\key.pem" not in state["files"]
    assert r"C:\ProgramData\buildkitd\certs\ca.pem" in state["services"]["buildkitd"]["command_line"]


@pytest.mark.parametrize("value, on_host", [
    (r"C:\pki\cert.pem", True), ("D:/pki/cert.pem", True), (r"\\fileserver\pki\cert.pem", True),
    ("/home/me/pki/cert.pem", False), ("pki/cert.pem", False), ("-----BEGIN CERTIFICATE-----\nMIIB\n", False),
    ("C:relative.pem", False),
])
def test_host_path_forms(value, on_host):
    from ansible_collections.wcow.buildkit.plugins.action.win_buildkitd import is_host_path
    assert is_host_path(value) is on_host
