"""The host-execution layer: one JSON round trip per call, stdin transport, errors, secrets."""

from __future__ import annotations

import base64
import json
import shlex

import pytest
from ansible.errors import AnsibleConnectionFailure

from ansible_collections.wcow.buildkit.plugins.plugin_utils import _host
from ansible_collections.wcow.buildkit.plugins.plugin_utils._host import HostError, PosixHost, Step, WindowsHost

WINRM_COMMAND_LIMIT = 8191  # cmd.exe / WinRM command-line cap, in characters


class FakeConnection:
    """Records what a Windows connection is asked to run and answers like a bootstrap would."""

    def __init__(self, answer=None, rc=0, stderr=b"", raw_stdout=None, exc=None):
        self.calls = []
        self.answer, self.rc, self.stderr, self.raw_stdout, self.exc = answer, rc, stderr, raw_stdout, exc

    def exec_command(self, cmd, in_data=None, sudoable=True):
        self.calls.append((cmd, in_data))
        if self.exc:
            raise self.exc
        payload = json.loads(in_data)
        if self.raw_stdout is not None:
            return self.rc, self.raw_stdout, self.stderr
        answer = self.answer or {"failed": False, "steps": [
            {"name": s["name"], "result": {"echo": s["params"]}} for s in payload["steps"]]}
        return self.rc, json.dumps(answer).encode(), self.stderr


def _decoded(cmd: str) -> str:
    return base64.b64decode(cmd.rsplit(" ", 1)[1]).decode("utf-16-le")


def test_one_round_trip_carries_every_step_and_returns_each_answer():
    conn = FakeConnection()
    host = WindowsHost(conn, "win1", "wcow.buildkit.test")
    answers = host.run([Step("file_write", {"Path": r"C:\a b\c.txt", "Content": "x"}),
                        Step("service_stop", {"Name": "containerd"})])
    assert len(conn.calls) == 1
    assert answers == [{"echo": {"Path": r"C:\a b\c.txt", "Content": "x"}}, {"echo": {"Name": "containerd"}}]
    cmd, in_data = conn.calls[0]
    assert cmd.startswith("PowerShell -NoProfile -NonInteractive -ExecutionPolicy Unrestricted -EncodedCommand ")
    assert "ConvertFrom-Json" in _decoded(cmd)
    payload = json.loads(in_data)
    assert payload["caller"] == "wcow.buildkit.test"
    assert [s["name"] for s in payload["steps"]] == ["file_write", "service_stop"]
    assert payload["steps"][0]["script"] == _host.script_text("file_write")


def test_large_payload_travels_on_stdin_not_the_command_line():
    conn = FakeConnection()
    content = "x" * 2_000_000
    WindowsHost(conn, "win1", "t").run_one("file_write", {"Path": r"C:\big.txt", "Content": content})
    cmd, in_data = conn.calls[0]
    assert len(cmd) < WINRM_COMMAND_LIMIT
    assert content not in cmd
    assert json.loads(in_data)["steps"][0]["params"]["Content"] == content


@pytest.mark.parametrize("value", [
    "plain", "with space", 'dou"ble', "single'quote", "$env:PATH", "back`tick", "ünïcødé ☃", "trailing\\",
    "C:\\Program Files\\x\\", "", "tab\there", "a\\\\\"b", "semi;colon&amp|pipe",
])
def test_values_reach_the_script_unchanged(value):
    conn = FakeConnection()
    WindowsHost(conn, "win1", "t").run_one("file_write", {"Path": "C:\\x", "Content": value})
    cmd, in_data = conn.calls[0]
    assert json.loads(in_data.decode("utf-8"))["steps"][0]["params"]["Content"] == value
    assert value == "" or value not in _decoded(cmd)  # data never becomes script text


def test_failed_step_maps_to_host_error_naming_script_host_rc_and_stderr():
    answer = {"failed": True, "step": "service_start", "msg": "service containerd did not come up", "steps": []}
    conn = FakeConnection(answer=answer, rc=1, stderr=b"Start-Service : cannot start")
    with pytest.raises(HostError) as info:
        WindowsHost(conn, "win1", "t").run([Step("service_start", {"Name": "containerd"})])
    err = info.value
    assert "service_start.ps1 failed: service containerd did not come up" in err.message
    assert "win1" in err.message and err.rc == 1
    assert "cannot start" in err.stderr
    assert err.to_result()["failed"] is True


def test_non_json_answer_is_a_clear_error():
    conn = FakeConnection(raw_stdout=b"#< CLIXML garbage", rc=0)
    with pytest.raises(HostError, match="did not answer with a JSON object"):
        WindowsHost(conn, "win1", "t").run_one("service_stop", {"Name": "x"})


def test_banner_lines_before_the_answer_are_tolerated():
    answer = json.dumps({"failed": False, "steps": [{"name": "service_stop", "result": {"changed": False}}]})
    conn = FakeConnection(raw_stdout=("WARNING: profile banner\r\n" + answer).encode())
    assert WindowsHost(conn, "win1", "t").run_one("service_stop", {"Name": "x"}) == {"changed": False}


def test_connection_failure_propagates_as_unreachable():
    conn = FakeConnection(exc=AnsibleConnectionFailure("winrm: connection refused"))
    with pytest.raises(AnsibleConnectionFailure):
        WindowsHost(conn, "win1", "t").run_one("service_stop", {"Name": "x"})


def test_unknown_script_is_an_internal_error():
    with pytest.raises(Exception, match="not shipped"):
        WindowsHost(FakeConnection(), "win1", "t").run_one("no_such_script", {})


def test_secrets_never_reach_logs_or_errors(monkeypatch):
    logged = []
    monkeypatch.setattr(_host.display, "vvv", lambda msg, host=None: logged.append(msg))
    secret = "s3cr3t-t0ken"
    answer = {"failed": True, "step": "run_command", "msg": f"login failed for {secret}", "steps": []}
    conn = FakeConnection(answer=answer, rc=1, stderr=f"echo {secret}".encode())
    with pytest.raises(HostError) as info:
        WindowsHost(conn, "win1", "t").run([Step("run_command", {"FilePath": "x.exe", "Arguments": secret},
                                                 secrets=("Arguments",))])
    assert logged and all(secret not in line for line in logged)
    assert secret not in str(info.value) and secret not in json.dumps(info.value.to_result())
    # the secret still reaches the host, on stdin
    assert secret in conn.calls[0][1].decode()


class FakeAction:
    def __init__(self, rc=0, stdout="", stderr=""):
        self.calls, self.rc, self.stdout, self.stderr = [], rc, stdout, stderr

    def _low_level_execute_command(self, cmd, sudoable=True, in_data=None):
        self.calls.append((cmd, in_data))
        return {"rc": self.rc, "stdout": self.stdout, "stderr": self.stderr}


@pytest.mark.parametrize("argv", [
    ["docker", "buildx", "create", "--name", "win builder", "tcp://host:1234"],
    ["echo", "it's", '"quoted"', "$HOME", "`id`", "ünï", "a;b|c&d", ""],
])
def test_posix_argv_is_quoted_for_sh(argv):
    action = FakeAction(stdout="ok")
    result = PosixHost(action, "mac1").run(argv, stdin="input")
    cmd, in_data = action.calls[0]
    assert shlex.split(cmd) == argv
    assert in_data == b"input" and result["stdout"] == "ok"


def test_posix_failure_carries_cmd_rc_stdout_stderr_and_masks_secrets():
    action = FakeAction(rc=1, stdout="", stderr="no builder \"b\" found; key=hunter2")
    with pytest.raises(HostError) as info:
        PosixHost(action, "mac1").run(["docker", "buildx", "rm", "b"], secrets=["hunter2"])
    assert info.value.rc == 1 and "docker buildx rm b" in info.value.command
    assert "hunter2" not in str(info.value) and "no builder" in info.value.stderr


@pytest.mark.parametrize("value, expected", [(None, []), ("one line", ["one line"]), (["a", "b"], ["a", "b"])])
def test_answer_strings_accepts_strings_and_powershells_collapsed_arrays(value, expected):
    assert WindowsHost(FakeConnection(), "win1", "t").answer_strings(value, "service_start", "log_tail") == expected


def test_answer_strings_refuses_objects_naming_the_script():
    """5.1's ConvertTo-Json writes a decorated Get-Content line as an object, not a string."""
    line = {"value": "level=fatal", "PSPath": "Microsoft.PowerShell.Core\\FileSystem::C:\\x.log", "ReadCount": 1}
    with pytest.raises(HostError, match=r"service_start\.ps1 answered log_tail with 1 item\(s\) that are not strings"):
        WindowsHost(FakeConnection(), "win1", "t").answer_strings([line], "service_start", "log_tail")
