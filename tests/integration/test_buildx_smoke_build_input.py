"""buildx_smoke_build on a local client: bad input and missing facts fail before anything is built, naming the option."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "fixtures" / "docker_cli"))

import buildx_standin  # noqa: E402
from fake_buildkitd import closed_port  # noqa: E402


@pytest.fixture
def client(tmp_path):
    """A local client whose builder `wcow` has one node that does not answer (nothing is built in these tests)."""
    config = tmp_path / "docker-config"
    env = {**os.environ, "PATH": f"{buildx_standin.install_docker(tmp_path / 'bin')}{os.pathsep}{os.environ['PATH']}",
           "DOCKER_CONFIG": str(config), "WCOW_FAKE_BUILDX_TIMEOUT": "0.2", "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
           "ANSIBLE_NOCOLOR": "1", "ANSIBLE_LOCAL_TEMP": str(tmp_path / "tmp"),
           "ANSIBLE_HOME": str(tmp_path / "ansible-home"), "TMPDIR": str(tmp_path)}
    rc, _out, err = buildx_standin.run(["buildx", "create", "--name", "wcow", "--driver", "remote", "--node", "win1",
                                        f"tcp://127.0.0.1:{closed_port()}"], env, "linux", str(tmp_path))
    assert rc == 0, err

    def run(**args):
        play = [{"hosts": "localhost", "gather_facts": False,
                 "tasks": [{"wcow.buildkit.buildx_smoke_build": args, "register": "out", "ignore_errors": True},
                           {"ansible.builtin.copy": {"content": "{{ out | to_json }}",
                                                     "dest": str(tmp_path / "out.json")}}]}]
        (tmp_path / "play.yml").write_text(json.dumps(play))
        cmd = [str(pathlib.Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", "-c", "local",
               "-e", f"ansible_python_interpreter={sys.executable}", str(tmp_path / "play.yml")]
        proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return json.loads((tmp_path / "out.json").read_text())
    run.tmp = tmp_path
    return run


def test_bad_input_is_refused_naming_the_option(client):
    out = client(timeout=0)
    assert out["failed"] and out["msg"].startswith("timeout and poll_seconds must be positive")
    out = client(builder="1bad")
    assert "builder: '1bad' is not a valid builder name" in out["msg"]
    out = client(builder="missing")
    assert "builder: no buildx builder 'missing' on this client; create it first" in out["msg"]
    assert not list(client.tmp.glob("wcow-smoke.*"))


def test_the_building_node_needs_a_known_windows_build(client):
    out = client()
    assert out["failed"]
    assert ("nodes: buildx will build on node 'win1' (tcp://127.0.0.1:" in out["msg"]
            and "whose Windows build is not given (nodes known: none); pass its build in nodes, or set base_image."
            in out["msg"])
    out = client(nodes={"win1": {"build": "10.0.14393.0"}})
    assert "node win1: Windows build 14393 (server) has no nanoserver image" in out["msg"]
    out = client(nodes={"win1": {"build": "next"}})
    assert "nodes: win1: 'next' is not a Windows build number" in out["msg"]
    assert not list(client.tmp.glob("wcow-smoke.*"))


def test_an_unreachable_node_fails_with_buildx_error_and_the_likely_causes(client):
    out = client(nodes={"win1": {"build": "10.0.22631.0", "edition": "client"}}, poll_seconds=1)
    assert out["failed"] and out["base_image"] == "mcr.microsoft.com/windows/nanoserver:ltsc2022"
    assert out["msg"].startswith("the buildx smoke build on mcr.microsoft.com/windows/nanoserver:ltsc2022 (node win1, ")
    assert "does not fall back to another node" in out["msg"] and "(1) buildkitd is not running" in out["msg"]
    assert out["failed_step"]["name"] == "[internal] waiting for connection" and out["rc"] == 1
    assert not list(client.tmp.glob("wcow-smoke.*"))  # removed after the failure too
