"""buildkitd_registries on a simulated host: CA/client files placed, buildkitd.toml's registry tables, converged at
one round trip, a changed CA rewritten with one restart, a bad value refused naming the role variable."""

from __future__ import annotations

import base64
import json
import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / ".collections"))
from ansible_collections.wcow.buildkit.plugins.plugin_utils import _certs  # noqa: E402

FOLDER = "c:\\programdata\\buildkitd\\certs.d\\registry.example.com_5000"
CONFIG = "c:\\program files\\buildkit\\buildkitd.toml"


def _play(fake_github, tmp_path, registries):
    common = fake_github.options(cache_dir=str(tmp_path / "cache"))
    return json.dumps([{"hosts": "windows_builders", "gather_facts": False, "roles": [
        {"role": "wcow.buildkit.containerd",
         "vars": {"containerd_version": "2.1.5", **{f"containerd_{k}": v for k, v in common.items()}}},
        {"role": "wcow.buildkit.buildkitd",
         "vars": {"buildkitd_version": "0.24.0", **{f"buildkitd_{k}": v for k, v in common.items()},
                  "buildkitd_registries": registries}}]}])


def _text(state, path):
    return base64.b64decode(state["files"][path]["content"]).decode()


def _trips(state):
    return state["stats"]["by_module"]["wcow.buildkit.win_buildkitd"]["round_trips"]


@pytest.fixture(name="pki")
def fixture_pki(tmp_path):
    ca = _certs.ensure_ca(tmp_path / "pki" / "ca")
    client = _certs.ensure_client_bundle(ca, tmp_path / "pki" / "client")
    return ca, client


def test_registry_files_and_tables_converge_then_a_new_ca_restarts_buildkitd_once(simulator, fake_github, tmp_path, pki):
    ca, client = pki
    registries = {"registry.example.com:5000": {"ca": str(ca.cert_path), "client_cert": str(client.cert_path),
                                                "client_key": str(tmp_path / "pki" / "client" / _certs.CLIENT_KEY)},
                  "docker.io": {"mirrors": ["registry.example.com:5000/proxy"]}}
    play = simulator.playbook(_play(fake_github, tmp_path, registries))
    first = simulator.run(play)
    assert first.rc == 0, first.stdout + first.stderr
    state = simulator.state()
    assert _text(state, FOLDER + "\\ca.crt") == ca.cert_path.read_text()
    assert _text(state, FOLDER + "\\client.cert") == client.cert_path.read_text()
    config = _text(state, CONFIG)
    assert ('[registry."registry.example.com:5000"]\nca = [\n    "C:\\\\ProgramData\\\\buildkitd\\\\certs.d\\\\'
            'registry.example.com_5000\\\\ca.crt",\n]') in config, config
    assert '[[registry."registry.example.com:5000".keypair]]' in config and '[registry."docker.io"]' in config
    # The client key is private to SYSTEM and Administrators, as the TCP listener's key is.
    acl = state["files"][FOLDER + "\\client.key"]["acl"]
    assert acl["protected"] and sorted(r["sid"] for r in acl["access"]) == ["S-1-5-18", "S-1-5-32-544"], acl
    assert "acl" not in state["files"][FOLDER + "\\ca.crt"]  # the CA and the certificate are public

    trips = _trips(state)
    again = simulator.run(play)
    assert again.rc == 0 and again.recap["sim-host"]["changed"] == 0, again.stdout
    assert _trips(simulator.state()) == trips + 1  # the files are read with the rest of the state

    other = _certs.ensure_ca(tmp_path / "pki" / "other-ca")
    registries["registry.example.com:5000"]["ca"] = other.cert_path.read_text()
    events = len(simulator.state()["events"])
    changed = simulator.run(simulator.playbook(_play(fake_github, tmp_path, registries)))
    assert changed.rc == 0, changed.stdout + changed.stderr
    assert changed.recap["sim-host"]["changed"] == 1, changed.stdout  # buildkitd's task, containerd untouched
    state = simulator.state()
    # buildkitd reads its registry CAs only when it starts: the new file, then one restart of buildkitd alone.
    assert [e for e in state["events"][events:] if e.startswith("service_start ")] == ["service_start buildkitd"]
    assert _text(state, FOLDER + "\\ca.crt") == other.cert_path.read_text()
    assert state["services"]["buildkitd"]["status"] == "Running"


def test_a_bad_registry_is_refused_naming_the_role_variable_and_nothing_changes(simulator, fake_github, tmp_path):
    play = simulator.playbook(_play(fake_github, tmp_path, {"https://registry.example.com": {"insecure": True}}))
    run = simulator.run(play)
    assert run.rc != 0 and "Traceback" not in run.stdout + run.stderr
    msg = run.result()["msg"]
    assert msg.startswith("wcow.buildkit.win_buildkitd: registries (role variable buildkitd_registries): "
                          "'https://registry.example.com' is a URL"), msg
    assert "buildkitd" not in simulator.state()["services"]
