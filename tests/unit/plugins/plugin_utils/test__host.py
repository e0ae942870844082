"""The host-execution layer: one JSON round trip per call, stdin transport, errors, secrets."""

from __future__ import annotations

import base64
import json
import shlex

import pytest
from ansible.errors import AnsibleConnectionFailure, AnsibleError
from ansible.plugins.loader import shell_loader

from ansible_collections.wcow.buildkit.plugins.plugin_utils import _host
from ansible_collections.wcow.buildkit.plugins.plugin_utils._host import HostError, PosixHost, Step, WindowsHost

WINRM_COMMAND_LIMIT = 8191  # cmd.exe / WinRM command-line cap, in characters


class RawConnection:
    """A connection whose host answers `stdout` verbatim (or raises): for transport-level failures only."""

    def __init__(self, stdout=b"", rc=0, exc=None):
        self._shell = shell_loader.get("powershell")
        self.stdout, self.rc, self.exc, self.calls = stdout, rc, exc, []

    def exec_command(self, cmd, in_data=None, sudoable=True):
        self.calls.append((cmd, in_data))
        if self.exc:
            raise self.exc
        return self.rc, self.stdout, b""


def _decoded(cmd: str) -> str:
    return base64.b64decode(cmd.rsplit(" ", 1)[1]).decode("utf-16-le")


def test_one_round_trip_runs_every_step_on_the_host(sim_windows):
    answers = sim_windows.windows.run([Step("directory_ensure", {"Path": r"C:\a b"}),
                                       Step("file_write", {"Path": r"C:\a b\c.txt", "Content": "x"})])
    assert sim_windows.connection.round_trips == 1
    assert [a["changed"] for a in answers] == [True, True]
    assert sim_windows.host.read_text(r"C:\a b\c.txt") == "x"


def test_the_command_is_the_bootstrap_encoded_by_the_connections_shell(sim_windows, monkeypatch):
    sent = []
    real = sim_windows.connection.exec_command
    monkeypatch.setattr(sim_windows.connection, "exec_command",
                        lambda cmd, in_data=None, sudoable=True: sent.append(cmd) or real(cmd, in_data, sudoable))
    sim_windows.windows.run_one("directory_ensure", {"Path": r"C:\x"})
    shell = shell_loader.get("powershell")
    expected_script = "\n".join(line for line in _host.script_text("bootstrap").splitlines()
                                if line.strip() and not line.strip().startswith("#"))
    assert sent == [shell._encode_script(expected_script, strict_mode=False, preserve_rc=False)]
    assert len(sent[0]) < WINRM_COMMAND_LIMIT


def test_a_shell_that_is_not_powershell_is_a_clear_error():
    conn = RawConnection()
    conn._shell = shell_loader.get("sh")
    with pytest.raises(AnsibleError, match="set ansible_shell_type to powershell"):
        WindowsHost(conn, "win1", "wcow.buildkit.win_containerd").run_one("directory_ensure", {"Path": "C:\\x"})
    assert conn.calls == []


def test_large_payload_travels_on_stdin_not_the_command_line(sim_windows, monkeypatch):
    sent = []
    real = sim_windows.connection.exec_command
    monkeypatch.setattr(sim_windows.connection, "exec_command",
                        lambda cmd, in_data=None, sudoable=True: sent.append(cmd) or real(cmd, in_data, sudoable))
    content = "x" * 2_000_000
    sim_windows.windows.run_one("file_write", {"Path": r"C:\big.txt", "Content": content})
    assert len(sent[0]) < WINRM_COMMAND_LIMIT and content not in _decoded(sent[0])
    assert sim_windows.host.read_text(r"C:\big.txt") == content


@pytest.mark.parametrize("value", [
    "plain", "with space", 'dou"ble', "single'quote", "$env:PATH", "back`tick", "ünïcødé ☃", "trailing\\",
    "C:\\Program Files\\x\\", "", "tab\there", "a\\\\\"b", "semi;colon&amp|pipe",
])
def test_values_reach_the_script_unchanged(sim_windows, value):
    """The value PowerShell binds to -Content is what lands in the file, byte for byte."""
    sim_windows.windows.run_one("file_write", {"Path": "C:\\x", "Content": value})
    assert sim_windows.host.read_bytes("C:\\x") == value.encode("utf-8")


def test_failed_step_maps_to_host_error_naming_script_host_and_message(sim_windows):
    with pytest.raises(HostError) as info:
        sim_windows.windows.run([Step("directory_ensure", {"Path": r"C:\x"}),
                                 Step("service_start", {"Name": "containerd"})])
    err = info.value
    assert err.message.startswith("service_start.ps1 failed: Cannot find any service with service name 'containerd'.")
    assert "sim-host" in err.message and err.rc == 1
    assert err.to_result()["failed"] is True
    assert sim_windows.host.is_dir(r"C:\x")  # the step before it ran


def test_parameters_powershell_refuses_fail_with_its_message(sim_windows):
    with pytest.raises(HostError, match=r"service_stop\.ps1 failed: Cannot bind argument to parameter 'Name' "
                                        r"because it is an empty string\."):
        sim_windows.windows.run_one("service_stop", {"Name": ""})


def test_non_json_answer_is_a_clear_error():
    conn = RawConnection(stdout=b"#< CLIXML garbage", rc=0)
    with pytest.raises(HostError, match="did not answer with a JSON object"):
        WindowsHost(conn, "win1", "t").run_one("service_stop", {"Name": "x"})


def test_banner_lines_before_the_answer_are_tolerated():
    answer = json.dumps({"failed": False, "steps": [{"name": "service_stop", "result": {"changed": False}}]})
    conn = RawConnection(stdout=("WARNING: profile banner\r\n" + answer).encode())
    assert WindowsHost(conn, "win1", "t").run_one("service_stop", {"Name": "x"}) == {"changed": False}


def test_connection_failure_propagates_as_unreachable():
    conn = RawConnection(exc=AnsibleConnectionFailure("winrm: connection refused"))
    with pytest.raises(AnsibleConnectionFailure):
        WindowsHost(conn, "win1", "t").run_one("service_stop", {"Name": "x"})


def test_unknown_script_is_an_internal_error():
    with pytest.raises(Exception, match="not shipped"):
        WindowsHost(RawConnection(), "win1", "t").run_one("no_such_script", {})


def test_secrets_never_reach_logs_or_errors(sim_windows, monkeypatch):
    """PowerShell's ValidateSet message quotes the value it refused: the secret must not survive in it."""
    logged = []
    monkeypatch.setattr(_host.display, "vvv", lambda msg, host=None: logged.append(msg))
    secret = "s3cr3t-t0ken"
    with pytest.raises(HostError) as info:
        sim_windows.windows.run([Step("machine_path", {"Entry": "C:\\x", "State": secret}, secrets=("State",))])
    assert "does not belong to the set" in str(info.value)
    assert logged and all(secret not in line for line in logged)
    assert secret not in str(info.value) and secret not in json.dumps(info.value.to_result())


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
    assert WindowsHost(RawConnection(), "win1", "t").answer_strings(value, "service_start", "log_tail") == expected


def test_answer_strings_refuses_objects_naming_the_script():
    """5.1's ConvertTo-Json writes a decorated Get-Content line as an object, not a string."""
    line = {"value": "level=fatal", "PSPath": "Microsoft.PowerShell.Core\\FileSystem::C:\\x.log", "ReadCount": 1}
    with pytest.raises(HostError, match=r"service_start\.ps1 answered log_tail with 1 item\(s\) that are not strings"):
        WindowsHost(RawConnection(), "win1", "t").answer_strings([line], "service_start", "log_tail")
