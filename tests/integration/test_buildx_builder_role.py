"""The buildx_builder role on a local client: installs buildx from a release (checksums.txt) and adds one node per
Windows builder."""

from __future__ import annotations

import functools
import hashlib
import http.server
import json
import os
import pathlib
import subprocess
import sys
import threading

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
STANDIN = REPO / "tests" / "fixtures" / "docker_cli"
sys.path.insert(0, str(STANDIN))

from buildx_standin import install_docker  # noqa: E402


@pytest.fixture
def releases(tmp_path):
    """docker/buildx release downloads on 127.0.0.1: the asset and its checksums.txt."""
    root = tmp_path / "releases" / "v0.36.1"
    root.mkdir(parents=True)
    asset = b"#!/bin/sh\necho buildx\n"
    (root / "buildx-v0.36.1.linux-amd64").write_bytes(asset)
    (root / "checksums.txt").write_text(f"{hashlib.sha256(asset).hexdigest()} *buildx-v0.36.1.linux-amd64\n"
                                        f"{'0' * 64} *buildx-v0.36.1.darwin-arm64\n")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path / "releases"))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", root
    server.shutdown()


def run_role(tmp_path, role_vars, env=None):
    config = tmp_path / "docker-config"
    inventory = {"all": {"children": {
        "clients": {"hosts": {"client": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}}},
        "windows_builders": {"hosts": {
            "win1": {"buildkitd_endpoint": "tcp://127.0.0.1:1"},
            "win2": {"ansible_host": "127.0.0.1"}}}}}}
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


def test_role_installs_buildx_and_builds_one_node_per_windows_builder(tmp_path, releases):
    url, _root = releases
    env = {"WCOW_FAKE_PLUGIN_DIR_ONLY": "1"}
    proc, config = run_role(tmp_path, {"buildx_builder_release_url": url}, env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    plugin = config / "cli-plugins" / "docker-buildx"
    assert plugin.read_bytes() == b"#!/bin/sh\necho buildx\n" and os.access(plugin, os.X_OK)
    inst = json.loads((config / "buildx" / "instances" / "wcow").read_text())
    assert [(n["Name"], n["Endpoint"]) for n in inst["Nodes"]] == [("win1", "tcp://127.0.0.1:1"),
                                                                   ("win2", "tcp://127.0.0.1:1234")]
    again, _config = run_role(tmp_path, {"buildx_builder_release_url": url}, env)
    assert again.returncode == 0 and "changed=0" in again.stdout


def test_role_refuses_a_download_whose_checksum_differs(tmp_path, releases):
    url, root = releases
    (root / "buildx-v0.36.1.linux-amd64").write_bytes(b"tampered\n")
    proc, config = run_role(tmp_path, {"buildx_builder_release_url": url}, {"WCOW_FAKE_PLUGIN_DIR_ONLY": "1"})
    assert proc.returncode != 0 and "checksum" in proc.stdout.lower()
    assert not (config / "cli-plugins" / "docker-buildx").exists()
    assert not (config / "buildx").exists()
