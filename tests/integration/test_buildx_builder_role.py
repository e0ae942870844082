"""The buildx_builder role: installs buildx from a docker/buildx release (fake GitHub, checksums.txt) where the client
has none, and adds one node per Windows builder; on a local POSIX client and on the simulated Windows build host."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import pathlib
import platform as host_platform
import subprocess
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
STANDIN = REPO / "tests" / "fixtures" / "docker_cli"
sys.path.insert(0, str(STANDIN))
sys.path.insert(0, str(REPO / "tests" / "fixtures"))

import fake_github as fg  # noqa: E402
from buildx_standin import install_docker  # noqa: E402
from wcow_sim.state import new_state  # noqa: E402

MACHINE = {"x86_64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(host_platform.machine(), "amd64")
LOCAL = f"{'darwin' if sys.platform == 'darwin' else 'linux'}-{MACHINE}"


@pytest.fixture(scope="module")
def buildx_tree(tmp_path_factory):
    return fg.build_release_tree(tmp_path_factory.mktemp("buildx-releases"), {"buildx": fg.BUILDX_RELEASES})


@pytest.fixture
def github(buildx_tree):
    server = fg.FakeGitHub(buildx_tree).start()
    yield server
    server.stop()


def release_vars(server, tmp_path):
    return {"buildx_builder_github_api_url": server.api_url, "buildx_builder_download_base_url": server.base_url,
            "buildx_builder_cache_dir": str(tmp_path / "cache")}


def run_role(tmp_path, role_vars, env=None, win1=None, win2=None, win3=None):
    config = tmp_path / "docker-config"
    inventory = {"all": {"children": {
        "clients": {"hosts": {"client": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}}},
        "windows_builders": {"hosts": {
            "win1": {"buildkitd_endpoint": "tcp://127.0.0.1:1", **(win1 or {})},
            "win2": {"ansible_host": "127.0.0.1", **(win2 or {})},
            "127.0.0.2": {"buildkitd_endpoint": "tcp://127.0.0.2:1", **(win3 or {})}}}}}}
    (tmp_path / "inv.json").write_text(json.dumps(inventory))
    play = [{"hosts": "clients", "gather_facts": False, "roles": [{"role": "wcow.buildkit.buildx_builder",
             "vars": {"buildx_builder_docker_config": str(config), **role_vars}}]}]
    (tmp_path / "play.yml").write_text(json.dumps(play))
    full_env = {**os.environ, "PATH": f"{install_docker(tmp_path / 'bin')}{os.pathsep}{os.environ['PATH']}",
                "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1",
                "ANSIBLE_LOCAL_TEMP": str(tmp_path / "tmp"), "ANSIBLE_HOME": str(tmp_path / "ansible-home"),
                "WCOW_FAKE_BUILDX_TIMEOUT": "0.2", **(env or {})}
    cmd = [str(pathlib.Path(sys.executable).parent / "ansible-playbook"), "-i", str(tmp_path / "inv.json"),
           str(tmp_path / "play.yml")]
    proc = subprocess.run(cmd, cwd=REPO, env=full_env, capture_output=True, text=True, timeout=300, check=False)
    return proc, config


def test_role_installs_buildx_and_builds_one_node_per_windows_builder(tmp_path, github):
    env = {"WCOW_FAKE_PLUGIN_DIR_ONLY": "1"}  # the stand-in docker has buildx only once the plugin file is there
    role_vars = {**release_vars(github, tmp_path), "buildx_builder_version": "latest"}
    proc, config = run_role(tmp_path, role_vars, env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    plugin = config / "cli-plugins" / "docker-buildx"
    assert plugin.read_bytes() == fg.buildx_binary("0.36.1", LOCAL) and os.access(plugin, os.X_OK)
    inst = json.loads((config / "buildx" / "instances" / "wcow").read_text())
    assert [(n["Name"], n["Endpoint"]) for n in inst["Nodes"]] == [("win1", "tcp://127.0.0.1:1"),
                                                                   ("win2", "tcp://127.0.0.1:1234"),
                                                                   ("n127.0.0.2", "tcp://127.0.0.2:1")]
    again, _config = run_role(tmp_path, role_vars, env)
    assert again.returncode == 0 and "changed=0" in again.stdout, again.stdout
    assert github.downloads(f"buildx-v0.36.1.{LOCAL}") == 1


def test_role_keeps_a_buildx_the_client_already_has(tmp_path, github):
    proc, config = run_role(tmp_path, release_vars(github, tmp_path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert not (config / "cli-plugins").exists()
    assert github.downloads(f"buildx-v0.36.1.{LOCAL}") == 0 and github.requests == []
    assert (config / "buildx" / "instances" / "wcow").is_file()


def test_role_uses_the_client_bundle_the_buildkitd_role_published(tmp_path, github):
    """The buildkitd role publishes controller paths (buildkitd_client_ca/cert/key); the client gets the contents."""
    pki = tmp_path / "pki"
    pki.mkdir()
    pems = {"ca": "-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----",
            "cert": "-----BEGIN CERTIFICATE-----\nCLIENT\n-----END CERTIFICATE-----",
            "key": "-----BEGIN PRIVATE KEY-----\nSECRETKEY\n-----END PRIVATE KEY-----"}
    for name, text in pems.items():
        (pki / f"{name}.pem").write_text(text + "\n")
    published = {f"buildkitd_client_{name}": str(pki / f"{name}.pem") for name in pems}
    role_vars = {**release_vars(github, tmp_path), "buildx_builder_tls": {"servername": "win1.example"}}
    proc, config = run_role(tmp_path, role_vars, win1=published, win2={"buildkitd_client_tls": {}},
                            win3={"buildkitd_client_tls": {}})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SECRETKEY" not in proc.stdout
    nodes = {n["Name"]: n for n in json.loads((config / "buildx" / "instances" / "wcow").read_text())["Nodes"]}
    opts = nodes["win1"]["DriverOpts"]
    assert opts["servername"] == "win1.example"
    for option, name in (("cacert", "ca"), ("cert", "cert"), ("key", "key")):
        path = pathlib.Path(opts[option])
        assert path.parent == config / "wcow.buildkit" / "tls" and path.read_text().strip() == pems[name]
        assert path.stat().st_mode & 0o077 == 0
    assert nodes["win2"]["DriverOpts"] == {}  # a host's own buildkitd_client_tls wins


def test_role_refuses_a_download_whose_checksum_differs(tmp_path):
    root = fg.build_release_tree(tmp_path / "tampered", {"buildx": [
        {"version": "0.36.1", "tamper": True, "asset": f"buildx-v0.36.1.{LOCAL}"}]})
    server = fg.FakeGitHub(root).start()
    try:
        proc, config = run_role(tmp_path, release_vars(server, tmp_path), {"WCOW_FAKE_PLUGIN_DIR_ONLY": "1"})
    finally:
        server.stop()
    assert proc.returncode != 0 and "does not match the expected digest" in proc.stdout
    assert "buildx-v0.36.1" in proc.stdout and "nothing was installed" in proc.stdout
    assert not (config / "cli-plugins" / "docker-buildx").exists()
    assert not (config / "buildx" / "instances" / "wcow").exists()


def test_role_on_a_windows_build_host_without_docker_uses_the_standalone_buildx(simulator, github, tmp_path):
    """The build host is its own client: standalone buildx.exe (no docker CLI), its node on the local named pipe."""
    state = new_state()
    state["services"]["buildkitd"] = {"name": "buildkitd", "status": "Running", "pipe": "buildkitd",
                                      "depends_on": [], "pid": None}
    state["buildkitd_version"] = "v0.32.2"
    simulator.write_state(state)
    buildx = "C:\\Tools\\buildx.exe"
    config = "C:\\Users\\Administrator\\.docker"
    digest = hashlib.sha256(fg.buildx_binary("0.36.1", "windows-amd64")).hexdigest()
    role_vars = {**release_vars(github, tmp_path), "buildx_builder_docker_cli": buildx,
                 "buildx_builder_docker_config": config, "buildx_builder_checksum": f"sha256:{digest}",
                 "buildx_builder_bootstrap": True}
    play = [{"hosts": "windows_builders", "gather_facts": False,
             "roles": [{"role": "wcow.buildkit.buildx_builder", "vars": role_vars}]}]
    hosts = {"sim-host": {"buildkitd_endpoint": "npipe:////./pipe/buildkitd"}}
    outcome = simulator.run(simulator.playbook(json.dumps(play)), hosts)
    assert outcome.rc == 0, outcome.stdout
    files = simulator.state()["files"]
    assert base64.b64decode(files[buildx.lower()]["content"]) == fg.buildx_binary("0.36.1", "windows-amd64")
    inst = json.loads(base64.b64decode(files[f"{config}\\buildx\\instances\\wcow".lower()]["content"]))
    assert [(n["Name"], n["Endpoint"]) for n in inst["Nodes"]] == [("sim-host", "npipe:////./pipe/buildkitd")]
    outcome = simulator.run(simulator.playbook(json.dumps(play)), hosts)
    assert outcome.rc == 0 and "changed=0" in outcome.stdout, outcome.stdout
    assert github.downloads("buildx-v0.36.1.windows-amd64.exe") == 1
