"""buildx_remote_builder with ansible_connection=local against the stand-in docker CLI (tests/fixtures/docker_cli)."""

from __future__ import annotations

import json
import os
import pathlib
import stat
import subprocess
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
STANDIN = REPO / "tests" / "fixtures" / "docker_cli"
sys.path.insert(0, str(STANDIN))

from buildx_standin import install_docker  # noqa: E402
from fake_buildkitd import FakeBuildkitd, closed_port  # noqa: E402

PEM = "-----BEGIN CERTIFICATE-----\nMIIBfakefakefake\n-----END CERTIFICATE-----\n"
KEY = "-----BEGIN PRIVATE KEY-----\nMIIEsecretsecretsecret\n-----END PRIVATE KEY-----\n"


class Client:
    def __init__(self, root: pathlib.Path):
        self.root = root
        self.config = root / "docker-config"
        self.runs = 0
        self.env: dict[str, str] = {}
        self.bin = install_docker(root / "bin")

    def docker(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([f"{self.bin}/docker", "--config", str(self.config), "buildx", *args],
                              capture_output=True, text=True, check=False, env={**os.environ, **self.env})

    def builders(self) -> dict:
        out = self.docker("ls", "--format", "json").stdout
        return {row["Name"]: row for row in map(json.loads, out.splitlines())}

    def run(self, tasks: list | dict, check: bool = False, diff: bool = False):
        if isinstance(tasks, dict):
            tasks = [tasks]
        play = [{"hosts": "clients", "gather_facts": False,
                 "tasks": [{"name": f"t{i}", "wcow.buildkit.buildx_remote_builder":
                            {k: v for k, v in {"docker_config": str(self.config), **task}.items() if v is not None}}
                           for i, task in enumerate(tasks)]}]
        (self.root / "play.yml").write_text(json.dumps(play))
        (self.root / "inv.json").write_text(json.dumps({"all": {"children": {"clients": {"hosts": {"client": {
            "ansible_connection": "local", "ansible_python_interpreter": sys.executable}}}}}}))
        self.runs += 1
        tree = self.root / f"results-{self.runs}"
        env = {**os.environ, "PATH": f"{self.bin}{os.pathsep}{os.environ['PATH']}",
               "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1",
               "ANSIBLE_LOCAL_TEMP": str(self.root / "tmp"), "ANSIBLE_HOME": str(self.root / "ansible-home"),
               "ANSIBLE_CALLBACK_PLUGINS": str(REPO / "tests" / "simulated" / "plugins" / "callback"),
               "ANSIBLE_CALLBACKS_ENABLED": "last_result", "WCOW_RESULTS_DIR": str(tree), **self.env}
        cmd = [str(pathlib.Path(sys.executable).parent / "ansible-playbook"), "-i", str(self.root / "inv.json"),
               str(self.root / "play.yml")] + (["--check"] if check else []) + (["--diff"] if diff else [])
        proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False)
        result = json.loads((tree / "client").read_text())
        return proc, result


@pytest.fixture
def client(tmp_path):
    return Client(tmp_path)


@pytest.fixture
def daemon():
    server = FakeBuildkitd()
    yield server
    server.close()


def test_create_then_converged(client, daemon):
    proc, result = client.run({"name": "wcow", "endpoint": daemon.endpoint, "use": True})
    assert proc.returncode == 0, proc.stdout
    assert result["changed"] is True
    assert result["commands"] == [f"docker --config {client.config} buildx create --name wcow --driver remote --use "
                                  f"{daemon.endpoint}"]
    row = client.builders()["wcow"]
    assert row["Current"] is True and row["Nodes"][0]["Endpoint"] == daemon.endpoint
    inst = json.loads((client.config / "buildx" / "instances" / "wcow").read_text())
    assert inst["Nodes"][0]["Name"] == "wcow0"
    proc, result = client.run({"name": "wcow", "endpoint": daemon.endpoint, "use": True})
    assert proc.returncode == 0 and result["changed"] is False and result["commands"] == []
    assert result["builder"]["nodes"][0]["status"] == "running"


def test_endpoint_change_updates_node_in_place(client, daemon):
    client.run({"name": "wcow", "endpoint": "tcp://127.0.0.1:1"})
    proc, result = client.run({"name": "wcow", "endpoint": daemon.endpoint})
    assert proc.returncode == 0, proc.stdout
    assert result["changed"] is True and "--node wcow0" in result["commands"][0]
    nodes = client.builders()["wcow"]["Nodes"]
    assert [(n["Name"], n["Endpoint"]) for n in nodes] == [("wcow0", daemon.endpoint)]


def test_driver_option_order_changes_nothing(client, tmp_path):
    for name in ("ca.pem", "c.pem", "k.pem"):
        (tmp_path / name).write_text(PEM)
    tls = {"cacert": str(tmp_path / "ca.pem"), "cert": str(tmp_path / "c.pem"), "key": str(tmp_path / "k.pem"),
           "servername": "winbuild"}
    client.docker("create", "--name", "wcow", "--driver", "remote", "--driver-opt", f"servername=winbuild,key={tls['key']}",
                  "--driver-opt", f"cert={tls['cert']}", "--driver-opt", f"cacert={tls['cacert']}", "tcp://127.0.0.1:1")
    proc, result = client.run({"name": "wcow", "endpoint": "tcp://127.0.0.1:1", "tls": tls})
    assert proc.returncode == 0, proc.stdout
    assert result["changed"] is False and result["commands"] == []


def test_append_and_leave_node(client, daemon):
    client.run({"name": "wcow", "endpoint": daemon.endpoint})
    proc, result = client.run({"name": "wcow", "node": "win2", "append": True, "endpoint": "tcp://127.0.0.1:2"})
    assert proc.returncode == 0 and result["changed"] is True
    assert [n["Name"] for n in client.builders()["wcow"]["Nodes"]] == ["wcow0", "win2"]
    _proc, again = client.run({"name": "wcow", "node": "win2", "append": True, "endpoint": "tcp://127.0.0.1:2"})
    assert again["changed"] is False
    proc, result = client.run({"name": "wcow", "node": "win2", "append": True, "state": "absent"})
    assert proc.returncode == 0 and result["changed"] is True
    assert [n["Name"] for n in client.builders()["wcow"]["Nodes"]] == ["wcow0"]


def test_use_switches_current(client, daemon):
    client.run({"name": "one", "endpoint": daemon.endpoint, "use": True})
    client.run({"name": "two", "endpoint": daemon.endpoint})
    assert client.builders()["one"]["Current"] is True
    proc, result = client.run({"name": "two", "endpoint": daemon.endpoint, "use": True})
    assert proc.returncode == 0 and result["changed"] is True and result["commands"][-1].endswith("buildx use two")
    assert client.builders()["two"]["Current"] is True


def test_absent_and_absent_of_missing(client, daemon):
    client.run({"name": "wcow", "endpoint": daemon.endpoint})
    proc, result = client.run({"name": "wcow", "state": "absent"})
    assert proc.returncode == 0 and result["changed"] is True
    assert "wcow" not in client.builders()
    proc, result = client.run({"name": "wcow", "state": "absent"})
    assert proc.returncode == 0 and result["changed"] is False and result["commands"] == []


@pytest.mark.parametrize("task, words", [
    ({"endpoint": "tcp://h:1", "tls": {"cacert": "ca.pem"}}, ["tls.cacert", "relative"]),
    ({"endpoint": "tcp://h:1", "tls": {"servername": "h"}}, ["tls.servername", "cacert"]),
    ({"endpoint": "foo://h:1"}, ["endpoint", "unknown scheme 'foo'"]),
    ({"endpoint": "npipe:////./pipe/buildkitd"}, ["endpoint", "protocol not available"]),
    ({}, ["endpoint", "required"]),
])
def test_bad_input_fails_before_any_command(client, task, words):
    proc, result = client.run({"name": "wcow", **task})
    assert proc.returncode != 0 and "failed=1" in proc.stdout
    for word in words:
        assert word in result["msg"]
    assert not (client.config / "buildx").exists()


def test_append_to_builder_with_other_driver_fails(client):
    inst = client.config / "buildx" / "instances"
    inst.mkdir(parents=True)
    (inst / "wcow").write_text(json.dumps({"Name": "wcow", "Driver": "docker-container", "Nodes": [
        {"Name": "wcow0", "Endpoint": "unix:///var/run/docker.sock", "Platforms": [], "DriverOpts": {},
         "Flags": [], "Files": {}}], "Dynamic": False}))
    before = (inst / "wcow").read_text()
    proc, result = client.run({"name": "wcow", "node": "win", "append": True, "endpoint": "tcp://h:1"})
    assert proc.returncode != 0 and "docker-container" in result["msg"] and result["commands"] == []
    assert (inst / "wcow").read_text() == before


def test_unreachable_with_bootstrap_is_removed_and_explained(client):
    endpoint = f"tcp://127.0.0.1:{closed_port()}"
    proc, result = client.run({"name": "wcow", "endpoint": endpoint, "bootstrap": True})
    assert proc.returncode != 0
    assert "context deadline exceeded" in result["msg"] and "firewall" in result["msg"] and "servername" in result["msg"]
    assert "wcow" not in client.builders()
    proc, result = client.run({"name": "wcow", "endpoint": endpoint, "bootstrap": True, "keep_unreachable": True})
    assert proc.returncode != 0 and "wcow" in client.builders()


def test_bootstrap_reports_version_and_platforms(client, daemon):
    proc, result = client.run({"name": "wcow", "endpoint": daemon.endpoint, "bootstrap": True})
    assert proc.returncode == 0, proc.stdout
    node = result["builder"]["nodes"][0]
    assert node["status"] == "running" and node["version"] == "v0.32.2" and node["platforms"] == ["windows/amd64"]


def test_check_mode_runs_nothing_that_writes(client, daemon):
    proc, result = client.run({"name": "wcow", "endpoint": daemon.endpoint}, check=True, diff=True)
    assert proc.returncode == 0 and result["changed"] is True and result["commands"] == []
    assert "wcow" not in client.builders()


def test_pem_contents_go_to_owner_only_files_never_in_result(client, daemon):
    tls = {"cacert": PEM, "cert": PEM, "key": KEY, "servername": "winbuild"}
    proc, result = client.run({"name": "wcow", "endpoint": daemon.endpoint, "tls": tls})
    assert proc.returncode == 0, proc.stdout
    text = json.dumps(result)
    assert "secretsecret" not in text and "secretsecret" not in proc.stdout
    opts = client.builders()["wcow"]["Nodes"][0]["DriverOpts"]
    key_file = pathlib.Path(opts["key"])
    assert key_file.read_text() == KEY
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_file.parent.stat().st_mode) == 0o700
    _proc, again = client.run({"name": "wcow", "endpoint": daemon.endpoint, "tls": tls})
    assert again["changed"] is False


def test_old_buildx_without_json_listing_reads_the_instance_file(client, daemon):
    client.env["WCOW_FAKE_BUILDX_VERSION"] = "v0.12.1"
    proc, result = client.run({"name": "wcow", "endpoint": daemon.endpoint, "use": True})
    assert proc.returncode == 0 and result["changed"] is True, proc.stdout
    proc, result = client.run({"name": "wcow", "endpoint": daemon.endpoint, "use": True})
    assert proc.returncode == 0 and result["changed"] is False and result["commands"] == []
    proc, result = client.run({"name": "wcow", "endpoint": "tcp://127.0.0.1:2"})
    assert result["changed"] is True and "--node wcow0" in result["commands"][0]


def test_missing_buildx_plugin_and_missing_docker(client):
    client.env["WCOW_FAKE_NO_BUILDX"] = "1"
    _proc, result = client.run({"name": "wcow", "endpoint": "tcp://h:1"})
    assert "buildx plugin is missing" in result["msg"]
    del client.env["WCOW_FAKE_NO_BUILDX"]
    _proc, result = client.run({"name": "wcow", "endpoint": "tcp://h:1", "docker_cli": "/nonexistent/docker"})
    assert "docker CLI '/nonexistent/docker' was not found" in result["msg"]


def test_pem_contents_without_docker_config_go_under_the_users_home(client, daemon, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    client.env["HOME"] = str(home)
    client.config = home / ".docker"  # what the stand-in (like docker) uses without --config
    proc, result = client.run({"name": "wcow", "endpoint": daemon.endpoint, "docker_config": None,
                               "tls": {"cacert": PEM}})
    assert proc.returncode == 0, proc.stdout
    cacert = pathlib.Path(client.builders()["wcow"]["Nodes"][0]["DriverOpts"]["cacert"])
    assert cacert.parent == home / ".docker" / "wcow.buildkit" / "tls" and cacert.read_text() == PEM
