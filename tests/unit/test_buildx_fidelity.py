"""What real buildx does that the stand-in and the planner must follow (docker/buildx at 461836ba, after v0.36.1:
builder/builder.go, store/nodegroup.go, store/util.go; see buildx_standin.py's docstring)."""

from __future__ import annotations

import json
import pathlib
import sys

import pytest

from ansible_collections.wcow.buildkit.plugins.plugin_utils import _buildx

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "docker_cli"))

import buildx_standin  # noqa: E402


@pytest.fixture
def bx(tmp_path):
    def run(*args, platform="linux"):
        return buildx_standin.run(["--config", str(tmp_path), "buildx", *args], {}, platform, str(tmp_path))
    run.instance = lambda name: json.loads((tmp_path / "buildx" / "instances" / name).read_text())
    return run


def create(bx, *args):
    return bx("create", "--name", "b1", "--driver", "remote", *args)


def test_the_last_node_cannot_leave(bx):
    assert create(bx, "tcp://h:1")[0] == 0
    assert bx("create", "--name", "b1", "--leave", "--node", "b10") == (
        1, "", "ERROR: can not leave last node, do you want to rm instance instead?\n")


def test_a_missing_node_without_append_and_append_to_a_missing_builder_fail(bx):
    assert create(bx, "--append", "--node", "n1", "tcp://h:1") == (
        1, "", 'ERROR: failed to find instance "b1" for append\n')
    assert create(bx, "tcp://h:1")[0] == 0
    assert create(bx, "--node", "other", "tcp://h:2") == (1, "", "ERROR: node other not found, did you mean to append?\n")


def test_node_names_are_validated_and_stored_lower_case(bx):
    assert create(bx, "tcp://h:1")[0] == 0
    assert create(bx, "--append", "--node", "Win1", "tcp://h:2")[0] == 0
    assert [n["Name"] for n in bx.instance("b1")["Nodes"]] == ["b10", "win1"]
    assert create(bx, "--append", "--node", "10.0.0.5", "tcp://h:3") == (
        1, "", "ERROR: invalid name 10.0.0.5, name needs to start with a letter and may not contain symbols, "
               "except ._-\n")
    assert create(bx, "--append", "--node", "n3", "tcp://h:2") == (1, "", "ERROR: invalid duplicate endpoint tcp://h:2\n")


def test_an_update_keeps_driver_options_and_platforms_not_given(bx):
    assert create(bx, "--driver-opt", "cacert=/ca.pem", "--platform", "windows/amd64", "tcp://h:1")[0] == 0
    assert bx.instance("b1")["Nodes"][0]["Platforms"] == [{"architecture": "amd64", "os": "windows"}]
    rc, _out, err = create(bx, "--node", "b10", "tcp://h:9")
    assert rc == 0 and "new settings may not be used until builder is restarted" in err
    node = bx.instance("b1")["Nodes"][0]
    assert node["Endpoint"] == "tcp://h:9" and node["DriverOpts"] == {"cacert": "/ca.pem"}
    assert node["Platforms"] == [{"architecture": "amd64", "os": "windows"}]


def test_plan_removes_the_builder_instead_of_leaving_its_last_node():
    observed = {"Name": "b1", "Driver": "remote", "Nodes": [{"Name": "win1", "Endpoint": "tcp://h:1"}]}
    desired = _buildx.Desired(name="b1", state="absent", node="win1", append=True)
    assert _buildx.plan(desired, observed) == [("rm",)]
    observed["Nodes"].append({"Name": "win2", "Endpoint": "tcp://h:2"})
    assert _buildx.plan(desired, observed) == [("leave", "win1")]


def test_plan_recreates_a_node_whose_driver_options_all_go():
    node = {"Name": "b10", "Endpoint": "tcp://h:1", "DriverOpts": {"cacert": "/ca.pem"}}
    observed = {"Name": "b1", "Driver": "remote", "Current": True, "Nodes": [node]}
    desired = _buildx.Desired(name="b1", endpoint="tcp://h:1", use=True)
    assert _buildx.plan(desired, observed) == [("rm",), ("create",), ("use",)]
    observed["Nodes"] = [node, {"Name": "b11", "Endpoint": "tcp://h:2"}]
    assert _buildx.plan(_buildx.Desired(name="b1", endpoint="tcp://h:1", node="b10", append=True), observed) == [
        ("leave", "b10"), ("append", "b10")]


@pytest.mark.parametrize("args, option", [
    ({"name": "1builder"}, "name"), ({"name": "default"}, "name"), ({"name": "b", "node": "10.0.0.5"}, "node"),
])
def test_names_buildx_refuses_are_refused_first(args, option):
    full = {"state": "present", "endpoint": "tcp://h:1", "tls": {}, "append": False, **args}
    with pytest.raises(_buildx.InputError, match=rf"^{option}: "):
        _buildx.validate(full, "posix")


def test_instance_file_platform_objects_read_as_strings():
    text = json.dumps({"Name": "b1", "Driver": "remote", "Nodes": [{"Name": "b10", "Endpoint": "tcp://h:1",
                       "Platforms": [{"architecture": "amd64", "os": "windows"}], "DriverOpts": {}}]})
    assert _buildx.from_instance_file(text, False)["Nodes"][0]["Platforms"] == ["windows/amd64"]
