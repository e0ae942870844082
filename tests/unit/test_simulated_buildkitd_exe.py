"""The simulated buildkitd.exe / buildctl.exe behave as the real releases' --help and source say."""

from __future__ import annotations

import datetime
import json
import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "simulated"))

from wcow_sim.buildkitd import buildctl_exe, buildkitd_exe  # noqa: E402
from wcow_sim.host import Host, split_win32  # noqa: E402
from wcow_sim.state import new_state  # noqa: E402

FIXTURES = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "buildkitd"
EXE = r"C:\Program Files\buildkit\bin\buildkitd.exe"
CTL = r"C:\Program Files\buildkit\bin\buildctl.exe"
CONFIG = r"C:\ProgramData\buildkitd\buildkitd.toml"
LOG = r"C:\ProgramData\buildkitd\buildkitd.log"
CNI_CONF = r"C:\Program Files\containerd\cni\conf\0-containerd-nat.conf"
VERSIONS = ("0.13.2", "0.18.2", "0.20.2", "0.24.0", "0.32.2")


def _host(version: str, containerd_up: bool = True) -> Host:
    host = Host("win1.corp.example", new_state())
    host.write_file(EXE, f"SIMULATED-EXE buildkitd {version}".encode())
    host.write_file(CTL, f"SIMULATED-EXE buildctl {version}".encode())
    host.write_file(CONFIG, b"")
    if containerd_up:
        host.state["services"]["containerd"] = {"name": "containerd", "status": "Running", "pipe": "containerd-containerd",
                                                "command_line": "containerd.exe", "start_mode": "Automatic",
                                                "depends_on": [], "pid": None}
    return host


def _register(host: Host, *extra: str) -> tuple[int, str, str]:
    return buildkitd_exe(host, EXE, ["--register-service", "--config", CONFIG, "--log-file", LOG, *extra])


def _log(host: Host) -> str:
    return host.read_text(LOG) if host.file(LOG) else ""


@pytest.mark.parametrize("version", VERSIONS)
def test_help_and_version_are_the_real_ones(version):
    host = _host(version)
    assert buildkitd_exe(host, EXE, ["--help"]) == (0, (FIXTURES / f"buildkitd-{version}-help.txt").read_text(), "")
    rc, out, _err = buildkitd_exe(host, EXE, ["--version"])
    assert rc == 0 and out.strip() == (FIXTURES / f"buildkitd-{version}-version.txt").read_text().strip()


@pytest.mark.parametrize("version, flag, defined", [
    ("0.18.2", "--cdi-disabled", False), ("0.20.2", "--cdi-disabled", True),
    ("0.24.0", "--log-level=debug", False), ("0.32.2", "--log-level=debug", True),
    ("0.24.0", "--trace", True), ("0.32.2", "--trace", False),
    ("0.13.2", "--containerd-max-parallelism=4", False), ("0.24.0", "--containerd-max-parallelism=4", True),
    ("0.32.2", "--containerd-worker-hyperv-isolation", False), ("0.32.2", "--oci-worker=false", False),
])
def test_register_refuses_flags_the_release_lacks(version, flag, defined):
    host = _host(version)
    rc, out, err = _register(host, flag)
    name = flag.lstrip("-").split("=")[0]
    if defined:
        assert rc == 0 and host.service("buildkitd") is not None
    else:
        assert rc == 1 and f"flag provided but not defined: -{name}" in err and host.service("buildkitd") is None
        assert out.startswith("Incorrect Usage") and "GLOBAL OPTIONS:" in out


def test_a_future_release_with_the_hyperv_flag_is_modelled_by_a_fault():
    host = _host("0.33.0")
    host.faults["buildkitd_extra_flags"] = {"0.33.0": ["--containerd-worker-hyperv-isolation"]}
    assert _register(host, "--containerd-worker-hyperv-isolation")[0] == 0


def test_register_freezes_arguments_and_refuses_a_second_time():
    host = _host("0.24.0")
    assert _register(host, "--debug") == (0, "", "")
    argv = split_win32(host.service("buildkitd")["command_line"])
    assert argv == [EXE, "--run-service", "--config", CONFIG, "--log-file", LOG, "--debug"]
    assert host.is_dir(r"C:\ProgramData\buildkitd\.buildstate")  # root made before registering
    rc, _out, err = _register(host)
    assert rc == 1 and "service buildkitd already exists" in err
    assert buildkitd_exe(host, EXE, ["--unregister-service"]) == (0, "", "")
    assert buildkitd_exe(host, EXE, ["--unregister-service"])[0] == 1


def test_register_needs_an_explicit_config_to_exist():
    host = _host("0.24.0")
    host.remove_file(CONFIG)
    rc, _out, err = _register(host)
    assert rc == 1 and f"failed to load config from {CONFIG}" in err and host.service("buildkitd") is None
    assert buildkitd_exe(host, EXE, ["--register-service"])[0] == 0  # the default path may be missing


def test_start_needs_containerd_pipe():
    host = _host("0.24.0", containerd_up=False)
    _register(host, "--cdi-disabled")
    assert host.start_service("buildkitd") is False
    assert "no worker found, rebuild the buildkit" in _log(host) and "skipping containerd worker" in _log(host)


def test_start_serves_the_pipe_and_buildctl_sees_the_containerd_worker():
    host = _host("0.24.0")
    _register(host, "--cdi-disabled")
    assert host.start_service("buildkitd") is True
    assert "buildkitd" in host.pipes()
    assert "using null network as the default" in _log(host)
    rc, out, _err = buildctl_exe(host, CTL, ["debug", "workers", "--format", "{{json .}}"])
    worker = json.loads(out)[0]
    assert rc == 0 and list(worker) == ["id", "labels", "platforms", "gcPolicy", "buildkitVersion"]
    assert worker["platforms"] == [{"architecture": "amd64", "os": "windows"}]
    assert worker["labels"]["org.mobyproject.buildkit.worker.executor"] == "containerd"
    assert worker["labels"]["org.mobyproject.buildkit.worker.network"] == ""
    assert worker["buildkitVersion"]["version"] == "v0.24.0"
    assert "reservedSpace" in worker["gcPolicy"][0]
    rc, out, _err = buildctl_exe(host, CTL, ["debug", "workers"])
    assert out.splitlines()[0].split() == ["ID", "PLATFORMS"] and out.splitlines()[1].endswith("windows/amd64")
    assert "org.mobyproject.buildkit.worker.network:\t\n" in buildctl_exe(host, CTL, ["debug", "workers", "-v"])[1]


def test_cni_config_present_gives_the_cni_network_label():
    host = _host("0.24.0")
    host.write_file(CNI_CONF, b"{}")
    _register(host, "--containerd-cni-config-path", CNI_CONF, "--containerd-cni-binary-dir",
              r"C:\Program Files\containerd\cni\bin")
    assert host.start_service("buildkitd")
    worker = json.loads(buildctl_exe(host, CTL, ["debug", "workers", "--format", "{{json .}}"])[1])[0]
    assert worker["labels"]["org.mobyproject.buildkit.worker.network"] == "cni"
    assert "using null network" not in _log(host)


def test_old_release_reads_cni_from_its_old_default_and_has_old_gc_keys():
    host = _host("0.13.2")
    host.write_file(CNI_CONF, b"{}")  # the 0.22+ default: 0.13 does not look there
    _register(host)
    assert host.start_service("buildkitd")
    worker = json.loads(buildctl_exe(host, CTL, ["debug", "workers", "--format", "{{json .}}"])[1])[0]
    assert worker["labels"]["org.mobyproject.buildkit.worker.network"] == ""
    assert "keepBytes" in worker["gcPolicy"][0] and "reservedSpace" not in worker["gcPolicy"][0]


def test_buildctl_without_the_daemon_fails_like_the_real_one():
    host = _host("0.24.0")
    rc, _out, err = buildctl_exe(host, CTL, ["debug", "workers"])
    assert rc == 1 and r"open \\.\pipe\buildkitd: The system cannot find the file specified." in err


@pytest.mark.parametrize("version, warns", [("0.18.2", False), ("0.20.2", True), ("0.32.2", True)])
def test_cdi_warning_from_0_20_unless_disabled_or_folder_exists(version, warns):
    host = _host(version)
    _register(host)
    assert host.start_service("buildkitd")
    assert ("CDI setup error" in _log(host)) == warns
    if version != "0.18.2":
        for fix in (["--cdi-disabled"], ["--cdi-spec-dir", r"C:\ProgramData\buildkitd\cdi"]):
            other = _host(version)
            other.make_dir(r"C:\ProgramData\buildkitd\cdi")
            _register(other, *fix)
            assert other.start_service("buildkitd") and "CDI setup error" not in _log(other)


@pytest.mark.parametrize("version, enforced", [("0.13.1", False), ("0.13.2", True), ("0.32.2", True)])
def test_a_missing_group_stops_the_daemon_from_0_13_2(version, enforced):
    host = _host(version)
    assert _register(host, "--group", "buildkit-users,Administrators")[0] == 0
    assert host.start_service("buildkitd") is (not enforced)
    if enforced:
        assert 'failed to get group SID for "buildkit-users"' in _log(host)
        host.state["local_groups"] = {"buildkit-users": {"name": "buildkit-users", "members": []}}
        assert host.start_service("buildkitd") is True


def test_log_folder_is_never_created():
    host = _host("0.24.0")
    buildkitd_exe(host, EXE, ["--register-service", "--config", CONFIG, "--log-file", r"C:\nope\b.log"])
    assert host.start_service("buildkitd") is False and "service_log_open_failed C:\\nope\\b.log" in host.state["events"]


def _tls_host(tmp_path):
    from ansible_collections.wcow.buildkit.plugins.plugin_utils import _certs
    now = datetime.datetime.now(datetime.timezone.utc)
    ca = _certs.ensure_ca(tmp_path / "ca", now=now)
    server = _certs.ensure_server_cert(ca, tmp_path / "server", ["win1"], ["127.0.0.1"], now=now)
    client = _certs.ensure_client_bundle(ca, tmp_path / "client", now=now)
    other = _certs.ensure_client_bundle(_certs.ensure_ca(tmp_path / "other", now=now), tmp_path / "other-client", now=now)
    host = _host("0.32.2")
    tls_dir = "C:\\ProgramData\\buildkitd\\tls\\"
    for name, source in (("cert.pem", server.cert_path), ("key.pem", server.key_path), ("ca.pem", server.ca_path),
                         ("client-ca.pem", client.ca_path), ("client-cert.pem", client.cert_path),
                         ("client-key.pem", client.key_path), ("other-ca.pem", other.ca_path),
                         ("other-cert.pem", other.cert_path), ("other-key.pem", other.key_path)):
        host.write_file(tls_dir + name, source.read_bytes())
    _register(host, "--addr", "npipe:////./pipe/buildkitd", "--addr", "tcp://0.0.0.0:1234",
              "--tlscert", tls_dir + "cert.pem", "--tlskey", tls_dir + "key.pem", "--tlscacert", tls_dir + "ca.pem",
              "--cdi-disabled")
    return host, tls_dir


def test_tcp_with_mutual_tls(tmp_path):
    host, tls = _tls_host(tmp_path)
    assert host.start_service("buildkitd") and "buildkitd" in host.pipes()
    tcp = ["--addr", "tcp://127.0.0.1:1234"]
    good = [*tcp, "--tlscacert", tls + "client-ca.pem", "--tlscert", tls + "client-cert.pem", "--tlskey", tls + "client-key.pem"]
    assert buildctl_exe(host, CTL, [*good, "debug", "workers"])[0] == 0
    assert "certificate required" in buildctl_exe(host, CTL, [*good[:4], "debug", "workers"])[2]
    assert "unknown authority" in buildctl_exe(host, CTL, [*tcp, "debug", "workers"])[2]
    wrong = [*tcp, "--tlscacert", tls + "client-ca.pem", "--tlscert", tls + "other-cert.pem", "--tlskey", tls + "other-key.pem"]
    assert "bad certificate" in buildctl_exe(host, CTL, [*wrong, "debug", "workers"])[2]
    assert "actively refused" in buildctl_exe(host, CTL, ["--addr", "tcp://127.0.0.1:9999", "debug", "workers"])[2]
    assert "TLS is not enabled" not in _log(host)


def test_tls_key_not_matching_stops_the_daemon(tmp_path):
    host, tls = _tls_host(tmp_path)
    host.write_file(tls + "key.pem", host.read_bytes(tls + "client-key.pem"))
    assert host.start_service("buildkitd") is False
    assert "tls: private key does not match public key" in _log(host)


def test_tcp_without_tls_warns():
    host = _host("0.24.0")
    _register(host, "--addr", "tcp://0.0.0.0:1234", "--cdi-disabled")
    assert host.start_service("buildkitd")
    assert "TLS is not enabled for tcp://0.0.0.0:1234" in _log(host)
    assert buildctl_exe(host, CTL, ["--addr", "tcp://127.0.0.1:1234", "debug", "workers"])[0] == 0
    assert "buildkitd" not in host.pipes()  # --addr replaced the default pipe


def test_every_argv_the_shipped_backend_builds_is_accepted(tmp_path):
    from ansible_collections.wcow.buildkit.plugins.plugin_utils import _buildkitd_flags as bf
    for version in VERSIONS:
        host = _host(version)
        host.state["local_groups"] = {"docker-users": {"name": "docker-users", "members": []}}
        host.write_file(CNI_CONF, b"{}")
        argv = bf.register_argv(version, {"exe": EXE, "config": CONFIG, "log_file": LOG, "allowed_groups": ["docker-users"],
                                          "cni": {"config_path": CNI_CONF, "binary_dir": r"C:\Program Files\containerd\cni\bin"}})
        assert buildkitd_exe(host, EXE, argv[1:]) == (0, "", ""), version
        assert host.start_service("buildkitd"), (version, _log(host))
        assert "CDI setup error" not in _log(host) and "level=warning" not in _log(host), _log(host)
