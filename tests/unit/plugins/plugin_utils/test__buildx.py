"""The buildx planner, input checks and ls parsing (tables)."""

from __future__ import annotations

import json

import pytest

from ansible_collections.wcow.buildkit.plugins.plugin_utils import _buildx
from ansible_collections.wcow.buildkit.plugins.plugin_utils._buildx import Desired, plan

EP = "tcp://win1:1234"
OPTS = {"cacert": "/c/ca.pem", "servername": "win1"}


def row(nodes=(("b0", EP, OPTS),), driver="remote", current=False):
    return {"Name": "b", "Driver": driver, "Current": current,
            "Nodes": [{"Name": n, "Endpoint": e, "DriverOpts": dict(o)} for n, e, o in nodes]}


@pytest.mark.parametrize("desired, observed, expected", [
    (Desired("b", endpoint=EP, driver_opts=OPTS), None, [("create",)]),
    (Desired("b", endpoint=EP, driver_opts=OPTS), row(), []),
    (Desired("b", endpoint=EP, driver_opts={"servername": "win1", "cacert": "/c/ca.pem"}), row(), []),
    (Desired("b", endpoint="tcp://win2:1234", driver_opts=OPTS), row(), [("update", "b0")]),
    (Desired("b", endpoint=EP, driver_opts={"cacert": "/c/ca.pem"}), row(), [("update", "b0")]),
    (Desired("b", endpoint=EP, driver_opts=OPTS, use=True), row(), [("use",)]),
    (Desired("b", endpoint=EP, driver_opts=OPTS, use=True), row(current=True), []),
    (Desired("b", endpoint=EP, driver_opts=OPTS, use=True), None, [("create",), ("use",)]),
    (Desired("b", endpoint="tcp://w2:1", node="w2", append=True), row(), [("append", "w2")]),
    (Desired("b", endpoint="tcp://w2:1", node="w2", append=True),
     row(nodes=(("b0", EP, OPTS), ("w2", "tcp://w2:1", {}))), []),
    (Desired("b", state="absent"), None, []),
    (Desired("b", state="absent"), row(), [("rm",)]),
    (Desired("b", state="absent", node="w2", append=True), row(nodes=(("b0", EP, {}), ("w2", EP, {}))),
     [("leave", "w2")]),
    (Desired("b", state="absent", node="w2", append=True), row(), []),
])
def test_plan(desired, observed, expected):
    assert plan(desired, observed) == expected


def test_plan_refuses_other_driver():
    with pytest.raises(_buildx.InputError, match="docker-container"):
        plan(Desired("b", endpoint=EP, node="w", append=True), row(driver="docker-container"))


BASE = {"name": "b", "state": "present", "endpoint": EP, "tls": {}, "append": False, "node": None}


@pytest.mark.parametrize("change, client_os, message", [
    ({"tls": {"cacert": "ca.pem"}}, "posix", "tls.cacert: 'ca.pem' is a relative path"),
    ({"tls": {"cacert": "C:\\pki\\ca.pem"}}, "posix", "relative path"),
    ({"tls": {"cert": "/a", "key": "k.pem", "cacert": "/c"}}, "posix", "tls.key"),
    ({"tls": {"servername": "x"}}, "posix", "tls.servername: needs tls.cacert"),
    ({"tls": {"cacert": "/c", "cert": "/a"}}, "posix", "tls.cert/tls.key"),
    ({"endpoint": "foo://x"}, "posix", "unknown scheme 'foo'"),
    ({"endpoint": "npipe:////./pipe/buildkitd"}, "posix", "protocol not available"),
    ({"endpoint": None}, "posix", "endpoint: required"),
    ({"append": True}, "posix", "node: append needs"),
    ({"name": "bad name"}, "posix", "name:"),
])
def test_validate_refuses(change, client_os, message):
    with pytest.raises(_buildx.InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        _buildx.validate({**BASE, **change}, client_os)


@pytest.mark.parametrize("change, client_os", [
    ({"endpoint": "npipe:////./pipe/buildkitd"}, "windows"),
    ({"tls": {"cacert": "C:\\pki\\ca.pem", "servername": "w"}}, "windows"),
    ({"tls": {"cacert": "-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n"}}, "posix"),
    ({"state": "absent", "endpoint": None}, "posix"),
])
def test_validate_accepts(change, client_os):
    _buildx.validate({**BASE, **change}, client_os)


def test_parse_ls_skips_noise_and_keys_by_name():
    text = "\n".join([json.dumps({"Name": "default", "Driver": "", "Err": "x"}),
                      "WARNING: something", json.dumps(row())])
    assert sorted(_buildx.parse_ls(text)) == ["b", "default"]


def test_client_masks_secrets_and_records_only_writes():
    seen = []

    def runner(argv):
        seen.append(argv)
        return 0, "", ""
    client = _buildx.Client(runner, ["docker", "buildx"], secrets=["s3cret"])
    client.run(["ls"], writes=False)
    client.run(["create", "--driver-opt", "key=s3cret", "tcp://h:1"], writes=True)
    assert client.commands == ["docker buildx create --driver-opt key=******** tcp://h:1"]
    assert seen[1][-2] == "key=s3cret"


@pytest.mark.parametrize("rc, err, message", [
    (127, "sh: docker: not found", "was not found"),
    (1, "docker: 'buildx' is not a docker command.\nSee 'docker --help'", "buildx plugin is missing"),
    (1, "ERROR: boom", "boom"),
])
def test_client_errors_carry_cmd_rc_stderr(rc, err, message):
    client = _buildx.Client(lambda argv: (rc, "", err), ["docker", "buildx"])
    with pytest.raises(_buildx.BuildxError, match=message) as caught:
        client.run(["create", "x"], writes=True)
    assert caught.value.rc == rc and caught.value.stderr == err and caught.value.cmd == "docker buildx create x"
