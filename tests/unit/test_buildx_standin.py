"""The stand-in docker/buildx against the field notes (FIELD_NOTES.md, buildx v0.28.0 and v0.36.1)."""

from __future__ import annotations

import json
import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "docker_cli"))

import buildx_standin  # noqa: E402


@pytest.fixture
def bx(tmp_path):
    def run(*args, platform="linux", **env):
        return buildx_standin.run(["--config", str(tmp_path), "buildx", *args], env, platform, str(tmp_path))
    run.config = tmp_path
    return run


def test_create_prints_name_and_writes_instance_file(bx):
    assert bx("create", "--name", "b1", "--driver", "remote", "tcp://h:1") == (0, "b1\n", "")
    inst = json.loads((bx.config / "buildx" / "instances" / "b1").read_text())
    assert inst == {"Name": "b1", "Driver": "remote", "Dynamic": False, "Nodes": [
        {"Name": "b10", "Endpoint": "tcp://h:1", "Platforms": [], "DriverOpts": {}, "Flags": [], "Files": {}}]}


@pytest.mark.parametrize("args, stderr", [
    (["--driver-opt", "cacert=ca.pem"], "ERROR: failed to initialize builder b2 (b20): non-absolute path 'ca.pem' "
                                        "provided for cacert\n"),
    (["--driver-opt", "servername=x"], "ERROR: failed to initialize builder b2 (b20): tls enabled, but missing keys "
                                       "cacert\n"),
    (["--driver-opt", "foo=1"], "ERROR: invalid driver option foo for remote driver\n"),
])
def test_create_refusals(bx, args, stderr):
    assert bx("create", "--name", "b2", "--driver", "remote", *args, "tcp://h:1") == (1, "", stderr)
    assert not (bx.config / "buildx" / "instances" / "b2").exists()


def test_unknown_scheme_and_npipe_off_windows(bx):
    assert bx("create", "--name", "b1", "--driver", "remote", "foo://x")[2] == "ERROR: unrecognized url scheme foo\n"
    rc, _out, err = bx("create", "--name", "b1", "--driver", "remote", "npipe:////./pipe/buildkitd")
    assert rc == 1 and err == "ERROR: failed to initialize builder b1 (b10): protocol not available\n"
    assert bx("create", "--name", "b1", "--driver", "remote", "npipe:////./pipe/buildkitd", platform="windows")[0] == 0


def test_existing_name_needs_node_and_node_updates_in_place(bx):
    bx("create", "--name", "b1", "--driver", "remote", "--driver-opt", "cacert=/ca,servername=a", "tcp://h:1")
    rc, _out, err = bx("create", "--name", "b1", "--driver", "remote", "tcp://h:2")
    assert rc == 1 and err == ('ERROR: existing instance for "b1" but no append mode, specify the node name to make '
                               'changes for existing instances\n')
    assert bx("create", "--name", "b1", "--node", "b10", "--driver-opt", "cacert=/ca2", "tcp://h:2") == (
        0, "b1\n", "WARNING: new settings may not be used until builder is restarted\n")
    node = json.loads((bx.config / "buildx" / "instances" / "b1").read_text())["Nodes"][0]
    assert node["Endpoint"] == "tcp://h:2" and node["DriverOpts"] == {"cacert": "/ca2"}  # whole map replaced


def test_append_leave_and_missing_node(bx):
    bx("create", "--name", "b1", "--driver", "remote", "tcp://h:1")
    assert bx("create", "--name", "b1", "--append", "--node", "w", "tcp://h:2")[0] == 0
    assert bx("create", "--name", "b1", "--leave", "--node", "X") == (1, "", 'ERROR: node "X" not found for b1\n')
    assert bx("create", "--name", "b1", "--leave", "--node", "w")[0] == 0


def test_rm_and_rm_unknown(bx):
    bx("create", "--name", "b1", "--driver", "remote", "tcp://h:1")
    assert bx("rm", "b1") == (0, "", "b1 removed\n")
    expected = 'failed to remove nosuch: no builder "nosuch" found\nERROR: failed to remove one or more builders\n'
    assert bx("rm", "nosuch") == (1, "", expected)


def test_ls_json_keys_alphabetical_default_has_err(bx):
    bx("create", "--name", "b1", "--driver", "remote", "--use", "tcp://127.0.0.1:1")
    rows = [json.loads(line) for line in bx("ls", "--format", "json", WCOW_FAKE_BUILDX_TIMEOUT="0.2")[1].splitlines()]
    assert [r["Name"] for r in rows] == ["default", "b1"]
    assert rows[0]["Driver"] == "" and rows[0]["Err"].startswith("failed to connect to the docker API")
    assert list(rows[1]) == sorted(rows[1]) and rows[1]["Current"] is True
    assert rows[1]["Nodes"][0]["Status"] == "inactive" and "Version" not in rows[1]["Nodes"][0]


def test_old_buildx_has_no_json_ls(bx):
    rc, _out, err = bx("ls", "--format", "json", WCOW_FAKE_BUILDX_VERSION="v0.12.1")
    assert rc == 1 and err.startswith("unknown flag: --format")


def test_bootstrap_of_unreachable(bx):
    bx("create", "--name", "b1", "--driver", "remote", "tcp://127.0.0.1:1")
    assert bx("inspect", "--bootstrap", "b1", WCOW_FAKE_BUILDX_TIMEOUT="0.2") == (
        1, "", "ERROR: context deadline exceeded\n")
