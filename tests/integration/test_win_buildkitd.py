"""win_buildkitd against the simulated host: pipe install, converge, check mode, TCP + mTLS, groups, absent."""

from __future__ import annotations

import base64
import json

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from wcow_sim.state import machine_path_entries

MODULE = "wcow.buildkit.win_buildkitd"
TOML = r"c:\program files\buildkit\buildkitd.toml"
HOST = "10.1.2.3"  # the simulated host keeps its state under ansible_host
KEY = r"c:\programdata\buildkitd\certs\key.pem"


@pytest.fixture
def builder(simulator, fake_github, tmp_path):
    """Run win_containerd (once per play) then win_buildkitd with the given arguments."""
    cache = tmp_path / "cache"

    def run(check=False, containerd=True, hostvars=None, **args):
        options = {**fake_github.options(cache_dir=str(cache)), **args}
        tasks = []
        if containerd:
            tasks.append({"name": "containerd", "wcow.buildkit.win_containerd": {
                **fake_github.options(cache_dir=str(cache)), "version": "2.1.5"}})
        tasks.append({"name": "buildkitd", "wcow.buildkit.win_buildkitd": options})
        play = [{"hosts": "windows_builders", "gather_facts": False, "tasks": tasks}]
        outcome = simulator.run(simulator.playbook(json.dumps(play)), {"sim-host": hostvars or {}}, check=check)
        return outcome, outcome.result()
    return run


def _trips(state):
    return state["stats"]["by_module"].get(MODULE, {}).get("round_trips", 0)


def _file(state, path):
    return base64.b64decode(state["files"][path.lower()]["content"])


def test_fresh_pipe_install_then_converged_in_one_round_trip(builder, simulator):
    run, result = builder(version="0.24.0")
    assert run.rc == 0, run.stdout
    assert result["changed"] and result["version"] == "0.24.0"
    assert result["endpoint"] == "npipe:////./pipe/buildkitd"
    state = simulator.state()
    service = state["services"]["buildkitd"]
    assert service["status"] == "Running" and service["start_mode"] == "Automatic"
    assert service["depends_on"] == ["containerd"]
    line = service["command_line"]
    assert "--addr npipe:////./pipe/buildkitd" in line and "tcp://" not in line
    assert "--cdi-disabled" in line and "--containerd-worker-addr" in line
    assert "buildkitd" in simulator.state().get("pipes", []) or service.get("buildkitd")
    assert r"C:\Program Files\buildkit\bin" in machine_path_entries(state)
    assert result["workers"][0]["executor"] == "containerd" and result["workers"][0]["version"] == "0.24.0"
    assert _trips(state) <= 3
    assert "CDI setup error" not in json.dumps(state.get("logs", {}))

    before = _trips(state)
    run, result = builder(version="0.24.0")
    assert run.rc == 0 and run.recap["sim-host"]["changed"] == 0, run.stdout
    assert result["changes"] == []
    assert _trips(simulator.state()) - before == 1


def test_check_mode_on_fresh_host_changes_nothing(builder, simulator):
    run, result = builder(version="0.24.0", containerd=False, check=True)
    assert run.rc == 0, run.stdout
    assert result["changed"] and "install buildkit 0.24.0" in result["changes"]
    state = simulator.state()
    assert state["services"] == {} and state["files"] == {} and state["firewall_rules"] == {}


def test_tcp_without_tls_is_refused_naming_the_fix(builder, simulator):
    run, result = builder(version="0.24.0", tcp="0.0.0.0:1234")
    assert run.rc != 0
    assert "tcp" in result["msg"] and "tcp_insecure" in result["msg"] and "Traceback" not in run.stdout
    assert "buildkitd" not in simulator.state()["services"]


def test_tcp_with_generated_certificates(builder, simulator, tmp_path):
    pki = tmp_path / "pki"
    run, result = builder(version="0.24.0", tcp="0.0.0.0:1234", tls_generate=True, tls_ca_dir=str(pki),
                          firewall_remote_addresses=["10.0.0.0/8"], hostvars={"ansible_host": "10.1.2.3"})
    assert run.rc == 0, run.stdout
    assert result["endpoint"] == "tcp://10.1.2.3:1234"
    state = simulator.state(HOST)
    server = x509.load_pem_x509_certificate(_file(state, r"C:\ProgramData\buildkitd\certs\cert.pem"))
    san = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "sim-host" in san.get_values_for_type(x509.DNSName)
    assert [str(a) for a in san.get_values_for_type(x509.IPAddress)] == ["10.1.2.3"]
    assert list(server.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value) == [ExtendedKeyUsageOID.SERVER_AUTH]
    client = x509.load_pem_x509_certificate(open(result["tls"]["client"]["cert"], "rb").read())
    assert list(client.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    assert (pki / "client" / "key.pem").stat().st_mode & 0o077 == 0
    acl = state["files"][KEY]["acl"]
    assert acl["protected"] and sorted(r["sid"] for r in acl["access"]) == ["S-1-5-18", "S-1-5-32-544"]
    rule = state["firewall_rules"]["wcow.buildkit-buildkitd-tcp"]
    assert rule["local_port"] == "1234" and rule["remote_addresses"] == ["10.0.0.0/255.0.0.0"]
    assert "--tlscacert" in state["services"]["buildkitd"]["command_line"]

    before = _trips(state)
    run, result = builder(version="0.24.0", tcp="0.0.0.0:1234", tls_generate=True, tls_ca_dir=str(pki),
                          firewall_remote_addresses=["10.0.0.0/8"], hostvars={"ansible_host": "10.1.2.3"})
    assert run.rc == 0 and run.recap["sim-host"]["changed"] == 0, run.stdout
    assert _trips(simulator.state(HOST)) - before == 1

    run, result = builder(version="0.24.0", state="absent", containerd=False, hostvars={"ansible_host": HOST})
    assert run.rc == 0, run.stdout
    state = simulator.state(HOST)
    assert "buildkitd" not in state["services"] and state["firewall_rules"] == {}
    assert r"C:\Program Files\buildkit\bin" not in machine_path_entries(state)


def test_allowed_groups_created_before_start_and_passed(builder, simulator):
    run, result = builder(version="0.24.0", allowed_groups=["docker-users"])
    assert run.rc == 0, run.stdout
    state = simulator.state()
    assert "docker-users" in state["local_groups"]
    assert "--group docker-users" in state["services"]["buildkitd"]["command_line"]
    events = state["events"]
    assert events.index("local_group_create docker-users") < events.index("service_start buildkitd")
    acl = state["services"]["buildkitd"]["buildkitd"]["pipe_acl"]
    assert any(r["identity"].endswith("docker-users") and "Write" in r["rights"] for r in acl)


def test_absent_with_purge_removes_service_path_exclusion_and_data(builder, simulator):
    run, result = builder(version="0.24.0", defender_exclusion=True)
    assert run.rc == 0, run.stdout
    exe = r"C:\Program Files\buildkit\bin\buildkitd.exe"
    assert exe.lower() in [p.lower() for p in simulator.state()["defender_exclusions"]["processes"]]
    run, result = builder(state="absent", purge=True, containerd=False)
    assert run.rc == 0, run.stdout
    state = simulator.state()
    assert "buildkitd" not in state["services"] and state["services"]["containerd"]["status"] == "Running"
    assert r"C:\Program Files\buildkit\bin" not in machine_path_entries(state)
    assert state["defender_exclusions"]["processes"] == []
    assert not any(k.startswith((r"c:\program files\buildkit", r"c:\programdata\buildkitd")) for k in state["files"])


def test_old_version_asked_for_groups_fails_before_changing_anything(builder, simulator):
    run, result = builder(version="0.13.0", containerd=False, allowed_groups=["docker-users"],
                          include_prereleases=False)
    assert run.rc != 0
    assert "allowed_groups" in result["msg"] and "0.13.2" in result["msg"]
    assert not (simulator.state_dir / "sim-host.json").exists()  # refused before reaching the host
    print(result["msg"])
