"""The standalone buildx binary: which docker_cli values are buildx itself, and how the stand-in runs it."""

from __future__ import annotations

import json
import pathlib
import sys

import pytest

from ansible_collections.wcow.buildkit.plugins.plugin_utils import _buildx

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "docker_cli"))

import buildx_standin  # noqa: E402


@pytest.mark.parametrize("cli, standalone", [
    ("C:\\Tools\\buildx.exe", True),
    ("C:\\Users\\b\\.docker\\cli-plugins\\docker-buildx.exe", True),
    ("/usr/local/lib/docker/cli-plugins/docker-buildx", True),
    ("C:\\dl\\buildx-v0.36.1.windows-amd64.exe", True),
    ("docker", False),
    ("C:\\Program Files\\Docker\\docker.exe", False),
    ("/usr/bin/buildxctl", False),
])
def test_is_standalone(cli, standalone):
    assert _buildx.is_standalone(cli) is standalone


def test_standalone_base_passes_the_config_folder_in_the_environment():
    assert _buildx.base_argv("buildx.exe", "C:\\cfg") == (["buildx.exe"], {"DOCKER_CONFIG": "C:\\cfg"})
    assert _buildx.base_argv("docker", "/cfg") == (["docker", "--config", "/cfg", "buildx"], {})
    assert _buildx.base_argv("docker", None) == (["docker", "buildx"], {})


def test_standalone_standin_reads_docker_config_and_refuses_the_docker_flag(tmp_path):
    env = {"DOCKER_CONFIG": str(tmp_path / "cfg")}
    assert buildx_standin.run_standalone(["create", "--name", "b1", "--driver", "remote", "tcp://h:1"], env,
                                         "linux", str(tmp_path)) == (0, "b1\n", "")
    assert json.loads((tmp_path / "cfg" / "buildx" / "instances" / "b1").read_text())["Name"] == "b1"
    rc, out, err = buildx_standin.run_standalone(["--config", str(tmp_path), "ls"], {}, "linux", str(tmp_path))
    assert (rc, out, err) == (1, "", "ERROR: unknown flag: --config\n")
