"""daemon_state.ps1 as the planner sends it (_daemon.state_step), bound and answered as 5.1 would, then observed."""

from __future__ import annotations

import dataclasses
import typing as t

from wcow_sim import dispatch
from wcow_sim.host import Host
from wcow_sim.state import new_state

from ansible_collections.wcow.buildkit.plugins.plugin_utils import _containerd, _containerd_config, _daemon
from ansible_collections.wcow.buildkit.plugins.plugin_utils._host import Step

ARTIFACTS = r"C:\ProgramData\wcow.buildkit\artifacts"
INSTALL = r"C:\Program Files\containerd"
DESIRED = _containerd.Desired(
    state="present", install_dir=INSTALL, config_path=INSTALL + r"\config.toml", service_name="containerd",
    log_file=r"C:\ProgramData\containerd\containerd.log", log_level="info", defender_exclusion=None, purge=False,
    version="2.1.5", config_text="version = 3\n", archive_path=ARTIFACTS + r"\containerd-2.1.5-windows-amd64.tar.gz",
)
OTHER = _daemon.DaemonSpec(name="widgetd", exe_name="widgetd.exe", archive_filter="widgetd-*.tar.gz")


@dataclasses.dataclass(frozen=True, kw_only=True)
class WidgetDesired(_daemon.Desired):
    daemon: t.ClassVar[_daemon.DaemonSpec] = OTHER

    def service_args(self) -> list[str]:
        return ["--config", self.config_path]


def _run(host: Host, step: Step) -> dict[str, t.Any]:
    rc, answer = dispatch.run_steps(host, {"caller": "t", "steps": [step.payload()]})
    assert rc == 0, answer
    return answer["steps"][0]["result"]


def _observe(host: Host, desired: _daemon.Desired = DESIRED) -> _containerd.Observed:
    return _containerd.observe(_run(host, _daemon.state_step(desired, ARTIFACTS)),
                               _containerd_config.parse_version_output)


def _running(host: Host, name: str, pipe: str) -> None:
    host.register_service(name, rf'"C:\x\{name}.exe"', status="Running", pipe=pipe)


def test_version_is_what_the_installed_exe_prints():
    host = Host("h", new_state(), {})
    host.write_file(INSTALL + r"\bin\containerd.exe", b"SIMULATED-EXE containerd 1.7.29\n")
    observed = _observe(host)
    assert observed.binary_exists and observed.version == "1.7.29"


def test_a_file_windows_cannot_run_has_no_version():
    """A truncated download: the call operator throws, the script answers the error, the planner reinstalls."""
    host = Host("h", new_state(), {})
    host.write_file(INSTALL + r"\bin\containerd.exe", b"MZ\x90\x00 truncated")
    answer = _run(host, _daemon.state_step(DESIRED, ARTIFACTS))
    assert answer["binary"]["exists"] is True and answer["binary"]["version_output"].startswith("error: ")
    assert _observe(host).version is None


def test_pipes_are_matched_case_insensitively_as_windows_names_are():
    host = Host("h", new_state(), {})
    _running(host, "containerd", "Containerd-Containerd")
    _running(host, "docker", "DOCKER-containerd")
    observed = _observe(host)
    assert observed.pipe_ready and observed.docker_containerd
    assert observed.pipes_present == ("docker-containerd",)


def test_docker_engine_absent_and_shims_counted_by_name():
    host = Host("h", new_state(), {})
    shim = INSTALL + r"\bin\containerd-shim-runhcs-v1.exe"
    host.state["processes"] += [{"pid": 700 + n, "name": "containerd-shim-runhcs-v1", "image": shim, "exits_at": None}
                                for n in range(3)]
    observed = _observe(host)
    assert not observed.docker_containerd and not observed.pipe_ready and observed.shim_processes == 3


def test_companions_only_when_the_daemon_names_them():
    """containerd names buildkitd; a daemon naming none gets only its dependents (Get-Service is not asked)."""
    host = Host("h", new_state(), {})
    _running(host, "buildkitd", "buildkitd")
    assert _observe(host).running_companions == ["buildkitd"]
    other = WidgetDesired(state="present", install_dir=r"C:\w", config_path=r"C:\w\w.toml", service_name="widgetd",
                          log_file=r"C:\w\w.log", defender_exclusion=None, purge=False)
    answer = _run(host, _daemon.state_step(other, ARTIFACTS))
    assert answer["companions"] == [] and answer["process_counts"] == {} and answer["pipes_present"] == []
    assert answer["pipe_ready"] is False  # no PipeName: nothing to wait for, nothing ready


def test_staged_archives_follow_the_daemons_filter():
    host = Host("h", new_state(), {})
    for name in ("containerd-1.7.29-windows-amd64.tar.gz", "widgetd-0.1.tar.gz", "notes.txt"):
        host.write_file(ARTIFACTS + "\\" + name, b"x")
    assert _observe(host).staged_archives == (ARTIFACTS + r"\containerd-1.7.29-windows-amd64.tar.gz",)
    other = WidgetDesired(state="absent", install_dir=r"C:\w", config_path=r"C:\w\w.toml", service_name="widgetd",
                          log_file=r"C:\w\w.log", defender_exclusion=None, purge=False)
    assert _run(host, _daemon.state_step(other, ARTIFACTS))["staged_archives"] == [ARTIFACTS + r"\widgetd-0.1.tar.gz"]


def test_the_exe_name_is_mandatory_as_powershell_binds_it():
    host = Host("h", new_state(), {})
    step = _daemon.state_step(DESIRED, ARTIFACTS)
    params = {k: v for k, v in step.params.items() if k != "ExeName"}
    rc, answer = dispatch.run_steps(host, {"caller": "t", "steps": [Step("daemon_state", params).payload()]})
    assert rc != 0 and answer["step"] == "daemon_state" and "ExeName" in answer["msg"]
