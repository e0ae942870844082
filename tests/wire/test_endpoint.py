"""The WinRS listener against pywinrm's own Protocol: request shapes, answers and WS-Man faults."""

from __future__ import annotations

import base64
import time

import pytest
import requests
from winrm.exceptions import InvalidCredentialsError, WinRMOperationTimeoutError, WSManFaultError
from winrm.protocol import Protocol

import winrm_endpoint


def _encoded(script: str) -> list[str]:
    return ["-NoProfile", "-EncodedCommand", base64.b64encode(script.encode("utf-16-le")).decode()]


# ca_trust_path=None: pywinrm's default ('legacy_requests') reads REQUESTS_CA_BUNDLE and warns that it will stop;
# these endpoints are plain HTTP or trusted explicitly, so no environment CA is wanted.
@pytest.fixture
def ntlm(listener):
    endpoint = listener()
    protocol = Protocol(f"http://127.0.0.1:{endpoint.port}/wsman", transport="ntlm", username="vagrant",
                        password="vagrant", operation_timeout_sec=1, read_timeout_sec=5, ca_trust_path=None)
    return endpoint, protocol


def test_ntlm_messages_are_encrypted_and_answered(ntlm):
    endpoint, protocol = ntlm
    shell = protocol.open_shell(codepage=65001)
    command = protocol.run_command(shell, "PowerShell", _encoded("whoami"))
    protocol.send_command_input(shell, command, b"", end=True)
    stdout, stderr, rc = protocol.get_command_output(shell, command)
    assert rc == 1 and stdout == b"" and b"unrecognised command: whoami" in stderr
    protocol.cleanup_command(shell, command)
    protocol.close_shell(shell)
    assert endpoint.counts.commands == 1


def test_plain_soap_over_http_is_refused_without_ntlm(listener):
    endpoint = listener()
    answer = requests.post(f"http://127.0.0.1:{endpoint.port}/wsman", data=b"<x/>", timeout=5,
                           auth=("vagrant", "vagrant"))
    assert answer.status_code == 401  # Basic is only offered over HTTPS (AllowUnencrypted=false)
    assert answer.headers["WWW-Authenticate"] == "Negotiate"


def test_wrong_ntlm_password_is_rejected(listener):
    endpoint = listener()
    protocol = Protocol(f"http://127.0.0.1:{endpoint.port}/wsman", transport="ntlm", username="vagrant",
                        password="wrong", ca_trust_path=None)
    with pytest.raises(InvalidCredentialsError):
        protocol.open_shell()


def test_basic_over_https_validates_against_the_test_ca(listener):
    endpoint = listener(https=True)
    url = f"https://127.0.0.1:{endpoint.port}/wsman"
    assert Protocol(url, transport="basic", username="vagrant", password="vagrant",
                    ca_trust_path=endpoint.ca_path).open_shell()
    with pytest.raises(requests.exceptions.SSLError):
        Protocol(url, transport="basic", username="vagrant", password="vagrant", ca_trust_path=None).open_shell()


def test_unknown_shell_is_the_shell_not_found_fault(ntlm):
    _endpoint, protocol = ntlm
    with pytest.raises(WSManFaultError) as caught:
        protocol.run_command("0B4C2F4E-0000-0000-0000-000000000000", "PowerShell", ["-c", "1"])
    assert caught.value.wsman_fault_code == winrm_endpoint.FAULT_SHELL_NOT_FOUND
    assert "the shell was not found on the server" in caught.value.reason


def test_envelope_over_max_envelope_size_is_refused(ntlm):
    endpoint, protocol = ntlm
    shell = protocol.open_shell()
    command = protocol.run_command(shell, "PowerShell", _encoded("whoami"))
    with pytest.raises(WSManFaultError) as caught:
        protocol.send_command_input(shell, command, b"x" * 400_000)  # base64 -> 533 KB envelope
    assert caught.value.wsman_fault_code == winrm_endpoint.FAULT_ENVELOPE_TOO_LARGE
    assert "MaxEnvelopeSize" in caught.value.reason
    assert endpoint.counts.commands == 0


def test_receive_with_nothing_left_times_out_as_pywinrm_expects(ntlm):
    _endpoint, protocol = ntlm
    shell = protocol.open_shell()
    command = protocol.run_command(shell, "PowerShell", _encoded("whoami"))
    protocol.get_command_output_raw(shell, command)
    with pytest.raises(WinRMOperationTimeoutError):
        protocol.get_command_output_raw(shell, command)


def test_command_line_over_cmd_exe_limit_fails_like_cmd(ntlm):
    _endpoint, protocol = ntlm
    shell = protocol.open_shell()
    command = protocol.run_command(shell, "PowerShell", ["-Command", "x" * winrm_endpoint.MAX_COMMAND_LINE])
    stdout, stderr, rc = protocol.get_command_output(shell, command)
    assert (rc, stdout, stderr) == (1, b"", b"The command line is too long.\r\n")


def test_slow_host_pays_latency_on_every_request(listener):
    endpoint = listener(latency_ms=150)
    protocol = Protocol(f"http://127.0.0.1:{endpoint.port}/wsman", transport="ntlm", username="vagrant",
                        password="vagrant", ca_trust_path=None)
    started = time.monotonic()
    protocol.open_shell()
    assert time.monotonic() - started >= 0.15 * endpoint.counts.requests
    assert endpoint.counts.requests >= 3  # NTLM negotiate, authenticate, then Create
