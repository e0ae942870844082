"""Transport edges through ansible's winrm plugin: encoding, envelopes, the command-line limit, auth, drops."""

from __future__ import annotations

import base64
import pathlib
import tomllib

from ansible.plugins.loader import shell_loader

import winrm_endpoint

MODULE = "wcow.buildkit.win_containerd"
CONFIG = r"c:\program files\containerd\config.toml"
BOOTSTRAP = pathlib.Path(__file__).resolve().parents[2] / "plugins" / "plugin_utils" / "scripts" / "bootstrap.ps1"
AWKWARD = "Grüße, 東京 \"double\" 'single' $env:PATH `t `$(whoami) 100% & | < > ^"


def test_awkward_text_and_a_payload_over_one_envelope_arrive_intact(listener, wire_converge, simulator):
    endpoint = listener()
    filler = "x" * 700_000  # the bootstrap's stdin then exceeds MaxEnvelopeSizekb: several Send requests
    run, _result, _cpu = wire_converge(endpoint.hostvars(), version="2.1.5",
                                       config={"wire_test": {"awkward": AWKWARD, "filler": filler}},
                                       config_extra_keys=["wire_test"])
    assert run.rc == 0, run.stdout + run.stderr
    written = base64.b64decode(simulator.state()["files"][CONFIG]["content"]).decode()
    config = tomllib.loads(written)
    assert config["wire_test"]["awkward"] == AWKWARD
    assert config["wire_test"]["filler"] == filler
    assert endpoint.counts.longest_command_line <= winrm_endpoint.MAX_COMMAND_LINE


def test_encoded_bootstrap_stays_under_the_command_line_limit():
    """What ansible's winrm plugin starts for our bootstrap must fit cmd.exe's 8191 characters."""
    shell = shell_loader.get("powershell")
    parts = shell._encode_script(BOOTSTRAP.read_text(encoding="utf-8"), as_list=True, strict_mode=False,
                                 preserve_rc=False)
    line = " ".join(parts)
    assert len(line) <= winrm_endpoint.MAX_COMMAND_LINE, f"{len(line)} characters"


def test_wrong_password_is_unreachable_with_the_reason(listener, wire_converge):
    endpoint = listener()
    run, _result, _cpu = wire_converge(endpoint.hostvars(ansible_password="not-the-password"), version="2.1.5")
    assert run.rc != 0
    assert run.recap["sim-host"]["unreachable"] == 1, run.stdout
    assert "credentials were rejected" in run.stdout


def test_dropped_connection_mid_apply_is_unreachable_with_the_reason_then_the_next_run_converges(
        listener, wire_converge, simulator):
    """ansible-core 2.19's winrm plugin lets requests' ConnectionError out of _winrm_exec (only Timeout becomes
    AnsibleConnectionFailure); the host layer reports it as the connection failure it is, so the host is unreachable."""
    endpoint = listener(drop_receive=MODULE)
    run, _result, _cpu = wire_converge(endpoint.hostvars(), version="2.1.5")
    assert run.rc != 0
    assert run.recap["sim-host"]["unreachable"] == 1 and run.recap["sim-host"]["failed"] == 0, run.stdout
    assert "the connection dropped while running" in run.stdout
    assert "Remote end closed connection without response" in run.stdout

    run, result, _cpu = wire_converge(endpoint.hostvars(), version="2.1.5")
    assert run.rc == 0, run.stdout
    assert simulator.state()["services"]["containerd"]["status"] == "Running"
    run, result, _cpu = wire_converge(endpoint.hostvars(), version="2.1.5")
    assert run.rc == 0 and result["changed"] is False, run.stdout
