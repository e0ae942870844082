"""The molecule scenarios: the windows one (users' VMs) runs the whole site.yml and verifies a build; win_command's
stand-in, which that verify uses on the simulated hosts, behaves as ansible.windows.win_command does."""

from __future__ import annotations

import pathlib

import yaml
# Importing dispatch registers every stand-in.
from wcow_sim import dispatch  # noqa: F401  pylint: disable=unused-import
from wcow_sim.ansible_windows import win_command
from wcow_sim.host import Host
from wcow_sim.state import new_state

REPO = pathlib.Path(__file__).resolve().parents[2]
MOLECULE = REPO / "extensions" / "molecule"
BUILDCTL = r"C:\Program Files\buildkit\bin\buildctl.exe"


def test_the_windows_scenario_converges_site_yml_and_verifies_a_build():
    converge = yaml.safe_load((MOLECULE / "shared" / "converge.yml").read_text())
    assert converge == [{"name": "Converge the Windows builders",
                         "ansible.builtin.import_playbook": "../../../playbooks/site.yml"}]
    verify = yaml.safe_load((MOLECULE / "shared" / "verify.yml").read_text())
    imported = [task.get("ansible.builtin.import_tasks") for task in verify[0]["tasks"]]
    assert "verify/smoke_test.yml" in imported
    smoke = yaml.safe_load((MOLECULE / "shared" / "verify" / "smoke_test.yml").read_text())
    assert any(task.get("ansible.builtin.include_role", {}).get("name") == "wcow.buildkit.smoke_test"
               and task.get("vars", {}).get("smoke_test_when") == "always" for task in smoke)
    example = yaml.safe_load((MOLECULE / "windows" / "inventory" / "example.yml").read_text())
    groups = example["all"]["children"]
    assert set(groups) == {"windows_builders", "buildx_clients"}
    # buildx clients reach the builders over TCP with mutual TLS, so the example turns it on.
    assert groups["windows_builders"]["vars"]["buildkitd_tls_generate"] is True
    assert groups["windows_builders"]["vars"]["buildkitd_tcp"].endswith(":1234")


def _host_with_buildctl() -> Host:
    host = Host("h", new_state())
    host.write_file(BUILDCTL, b"SIMULATED-EXE buildctl 0.24.0")
    return host


def test_win_command_runs_the_programs_twin_and_fails_on_a_non_zero_exit():
    host = _host_with_buildctl()
    ok = win_command(host, {"argv": [BUILDCTL, "--version"]}, False)
    assert ok["rc"] == 0 and ok["changed"] is True and "v0.24.0" in ok["stdout"] and "failed" not in ok
    assert ok["cmd"] == f'"{BUILDCTL}" --version'
    # No buildkitd running: buildctl cannot connect and exits 1; the module fails as the real one does.
    bad = win_command(host, {"argv": [BUILDCTL, "--addr", "npipe:////./pipe/buildkitd", "debug", "workers"]}, False)
    assert bad["failed"] is True and bad["msg"] == "non-zero return code" and bad["rc"] != 0


def test_win_command_cannot_start_a_missing_program_and_is_skipped_in_check_mode():
    host = Host("h", new_state())
    missing = win_command(host, {"argv": [BUILDCTL, "--version"]}, False)
    assert missing["failed"] is True and missing["rc"] == 2 and "Could not find file" in missing["msg"]
    skipped = win_command(_host_with_buildctl(), {"argv": [BUILDCTL, "--version"]}, True)
    assert skipped["skipped"] is True and "does not support check mode" in skipped["msg"]
