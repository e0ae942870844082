"""The shared daemon lifecycle (_daemon), driven by containerd and by a second, differently shaped daemon.

`widgetd` has no config check, no companions, its pipe and flags of its own and no data folders
in its config: what the lifecycle does for it must come from the spec, not from containerd.
"""

from __future__ import annotations

import dataclasses
import hashlib
import typing as t

import pytest

from ansible_collections.wcow.buildkit.plugins.plugin_utils import _containerd, _daemon
from ansible_collections.wcow.buildkit.plugins.plugin_utils._action import ModuleFailure
from ansible_collections.wcow.buildkit.plugins.plugin_utils._daemon_action import DaemonAction, daemon_argument_spec
from ansible_collections.wcow.buildkit.plugins.plugin_utils._host import HostError

WIDGETD = _daemon.DaemonSpec(name="widgetd", exe_name="widgetd.exe")
W_INSTALL = r"D:\Apps\widget"
W_PIPE = r"\\.\pipe\widgetd"


@dataclasses.dataclass(frozen=True, kw_only=True)
class WidgetDesired(_daemon.Desired):
    daemon: t.ClassVar[_daemon.DaemonSpec] = WIDGETD
    addr: str = "npipe:////./pipe/widgetd"

    def service_args(self) -> list[str]:
        return ["--service-name", self.service_name, "--addr", self.addr, "--config", self.config_path,
                "--log-file", self.log_file]


W_DESIRED = WidgetDesired(
    state="present", install_dir=W_INSTALL, config_path=W_INSTALL + r"\widgetd.toml", service_name="widgetd",
    log_file=r"D:\Logs\widgetd\widgetd.log", defender_exclusion=None, purge=False, version="0.20.2",
    config_text="debug = true\n", archive_path=r"C:\ProgramData\wcow.buildkit\artifacts\widgetd-0.20.2.tar.gz",
    pipe_address=W_PIPE, data_dirs=(r"C:\ProgramData\widgetd",),
)
W_CONVERGED = _daemon.Observed(
    version="0.20.2", binary_exists=True,
    service={"name": "widgetd", "status": "Running", "start_mode": "Automatic",
             "command_line": W_DESIRED.command_line()},
    companions=(), data_dirs_present=(), staged_archives=(W_DESIRED.archive_path,), config_text="debug = true\n",
    config_sha256=hashlib.sha256(b"debug = true\n").hexdigest(), machine_path=(W_INSTALL + r"\bin",),
    defender_exclusions=(), archive_sha256=None, pipe_ready=True,
)
W_FRESH = _daemon.Observed(
    version=None, binary_exists=False, service=None, companions=(), data_dirs_present=(), staged_archives=(),
    config_text=None, machine_path=(), defender_exclusions=None, archive_sha256=None, pipe_ready=False,
)

C_INSTALL = r"C:\Program Files\containerd"
C_DESIRED = _containerd.Desired(
    state="present", install_dir=C_INSTALL, config_path=C_INSTALL + r"\config.toml", service_name="containerd",
    log_file=r"C:\ProgramData\containerd\containerd.log", log_level="info", defender_exclusion=None, purge=False,
    version="2.1.5", config_text="version = 3\n", archive_path=r"C:\ProgramData\wcow.buildkit\artifacts\c.tar.gz",
)
C_CONVERGED = _containerd.Observed(
    version="2.1.5", binary_exists=True,
    service={"name": "containerd", "status": "Running", "start_mode": "Automatic",
             "command_line": C_DESIRED.command_line()},
    companions=(), data_dirs_present=(), staged_archives=(), config_text="version = 3\n",
    config_sha256=hashlib.sha256(b"version = 3\n").hexdigest(), machine_path=(C_INSTALL + r"\bin",),
    defender_exclusions=(), archive_sha256=None, pipe_ready=True, docker_containerd=False, shim_processes=0,
)
DAEMONS = [pytest.param(W_DESIRED, W_CONVERGED, id="widgetd"), pytest.param(C_DESIRED, C_CONVERGED, id="containerd")]


def _names(steps):
    return [(s.script, s.params.get("Name") or s.params.get("Entry") or s.params.get("Directory")
             or s.params.get("Path") or s.params.get("FilePath", "")) for s in steps]


def _w(observed=W_CONVERGED, **changes):
    if "config_text" in changes:
        changes["config_sha256"] = hashlib.sha256(changes["config_text"].encode()).hexdigest()
    return dataclasses.replace(observed, **changes)


@pytest.mark.parametrize("desired, converged", DAEMONS)
def test_converged_daemon_needs_nothing(desired, converged):
    plan = _daemon.plan(desired, converged)
    assert not plan.changed and plan.steps == [] and plan.rollback == []


@pytest.mark.parametrize("desired, converged", DAEMONS)
def test_exe_and_registration_come_from_the_spec(desired, converged):
    del converged
    exe = desired.exe
    assert exe == desired.install_dir + "\\bin\\" + desired.daemon.exe_name
    register = _daemon.plan(desired, W_FRESH).steps
    register = [s for s in register if _daemon.is_register(s)]
    assert len(register) == 1 and register[0].params["FilePath"] == exe
    # what --register-service freezes is what the ImagePath holds after --run-service
    assert _daemon.same_command_line(
        desired.command_line(), f'"{exe}" --run-service {register[0].params["Arguments"].split(" ", 1)[1]}')


def test_fresh_install_of_a_daemon_without_config_check():
    plan = _daemon.plan(W_DESIRED, W_FRESH)
    assert plan.changes == ["install widgetd 0.20.2", "write " + W_INSTALL + r"\widgetd.toml",
                            "add " + W_INSTALL + r"\bin to the machine PATH", "register service widgetd"]
    assert _names(plan.steps) == [
        ("archive_extract", ""), ("file_write", W_INSTALL + r"\widgetd.toml"), ("machine_path", W_INSTALL + r"\bin"),
        ("run_command", W_INSTALL + r"\bin\widgetd.exe"), ("directory_ensure", r"D:\Logs\widgetd"),
        ("service_start", "widgetd")]
    start = plan.steps[-1].params
    assert start["PipeName"] == "widgetd" and start["Require"] is True and start["LogFile"] == W_DESIRED.log_file


W_DRIFTED = W_CONVERGED.service["command_line"].replace("npipe", "tcp")


@pytest.mark.parametrize("observed, expected, reason", [
    pytest.param(_w(config_text="debug = false\n"),
                 [("service_stop", "widgetd"), ("file_write", W_INSTALL + r"\widgetd.toml"),
                  ("directory_ensure", r"D:\Logs\widgetd"), ("service_start", "widgetd")],
                 "write " + W_INSTALL + r"\widgetd.toml", id="config"),
    pytest.param(_w(service={**W_CONVERGED.service, "command_line": W_DRIFTED}),
                 [("service_stop", "widgetd"), ("run_command", _daemon.SC_EXE), ("service_wait_gone", "widgetd"),
                  ("run_command", W_INSTALL + r"\bin\widgetd.exe"), ("directory_ensure", r"D:\Logs\widgetd"),
                  ("service_start", "widgetd")],
                 "re-register service widgetd: command line differs", id="drift"),
    pytest.param(_w(pipe_ready=False),
                 [("directory_ensure", r"D:\Logs\widgetd"), ("service_start", "widgetd")],
                 "start service widgetd", id="pipe-missing"),
])
def test_without_a_config_check_no_candidate_file_is_tried(observed, expected, reason):
    """containerd tries a new config as config.toml.new first; a daemon without check_config goes straight on."""
    plan = _daemon.plan(W_DESIRED, observed)
    assert _names(plan.steps) == expected and plan.changes == [reason]


def test_config_check_comes_from_the_spec():
    checked = dataclasses.replace(WIDGETD, check_config=lambda path: ["--validate", path])

    @dataclasses.dataclass(frozen=True, kw_only=True)
    class Checked(WidgetDesired):
        daemon: t.ClassVar[_daemon.DaemonSpec] = checked

    plan = _daemon.plan(Checked(**{f.name: getattr(W_DESIRED, f.name) for f in dataclasses.fields(W_DESIRED)}),
                        _w(config_text="old\n"))
    assert [(s.script, s.params.get("Arguments")) for s in plan.steps[:3]] == [
        ("file_write", None), ("run_command", "--validate " + W_INSTALL + r"\widgetd.toml.new"),
        ("path_remove", None)]


def test_upgrade_backs_up_and_rolls_back_with_the_daemons_own_words():
    observed = _w(version="0.18.2")
    plan = _daemon.plan(W_DESIRED, observed)
    assert plan.changes == ["upgrade widgetd 0.18.2 -> 0.20.2"] and plan.needs_archive
    assert [s.script for s in plan.steps] == [
        "service_stop", "process_stop", "install_backup", "archive_extract", "directory_ensure", "service_start"]
    assert plan.steps[-1].params["Require"] is False
    assert [s.script for s in plan.rollback] == ["service_stop", "process_stop", "install_restore", "service_start"]
    assert plan.rollback[-1].params["Require"] is True


def test_downgrade_orders_versions_numerically():
    plan = _daemon.plan(dataclasses.replace(W_DESIRED, version="0.9.0"), W_CONVERGED)
    assert plan.changes[0] == "downgrade widgetd 0.20.2 -> 0.9.0"


@pytest.mark.parametrize("older, newer", [("0.9.0", "0.13.2"), ("1.7.29", "2.0.0"), ("2.1.5-rc.1", "2.1.6"),
                                          ("0.20", "0.20.1")])
def test_version_key_orders_releases(older, newer):
    assert _daemon.version_key(older) < _daemon.version_key(newer)


def test_rollback_starts_the_service_with_the_log_file_it_was_registered_with():
    """No found_pipe in the spec: the pipe waited for is the desired one; the log file is the service's own."""
    old_line = W_CONVERGED.service["command_line"].replace(r"D:\Logs\widgetd\widgetd.log", r"C:\old\w.log")
    observed = _w(version="0.18.2", service={**W_CONVERGED.service, "command_line": old_line})
    start = _daemon.plan(W_DESIRED, observed).rollback[-1].params
    assert start["LogFile"] == r"C:\old\w.log" and start["PipeName"] == "widgetd"


def test_containerd_rollback_waits_for_the_pipe_its_found_config_serves():
    observed = dataclasses.replace(C_CONVERGED, version="1.7.29",
                                   config_text="version = 2\n[grpc]\naddress = '\\\\.\\pipe\\old'\n")
    assert _daemon.plan(C_DESIRED, observed).rollback[-1].params["PipeName"] == "old"


def test_recovery_after_the_new_registration_removes_it_and_puts_the_old_one_back():
    old_line = W_CONVERGED.service["command_line"].replace("npipe", "tcp")
    observed = _w(version="0.18.2", service={**W_CONVERGED.service, "command_line": old_line})
    plan = _daemon.plan(W_DESIRED, observed)
    register = next(i for i, s in enumerate(plan.steps) if _daemon.is_register(s))
    undo = _daemon.recovery(W_DESIRED, observed, plan.steps[:register + 1])
    assert _names(undo) == [
        ("service_stop", "widgetd"), ("process_stop", W_INSTALL + r"\bin"), ("install_restore", ""),
        ("run_command", _daemon.SC_EXE), ("service_wait_gone", "widgetd"),
        ("run_command", W_INSTALL + r"\bin\widgetd.exe"), ("service_start", "widgetd")]
    assert "tcp" in undo[5].params["Arguments"] and "--run-service" not in undo[5].params["Arguments"]


def test_companions_are_stopped_first_and_started_after():
    companions = ({"name": "helper", "status": "Running"}, {"name": "idle", "status": "Stopped"})
    observed = _w(config_text="x\n", companions=companions)
    names = _names(_daemon.plan(W_DESIRED, observed).steps)
    assert names[0] == ("service_stop", "helper") and names[1] == ("service_stop", "widgetd")
    assert names[-2:] == [("service_start", "widgetd"), ("service_start", "helper")]
    assert ("service_stop", "idle") not in names


@pytest.mark.parametrize("present, expected", [
    ((), ["add"]),
    ((W_INSTALL + r"\BIN\WIDGETD.EXE",), []),
    ((C_INSTALL + r"\bin\containerd.exe",), ["add"]),  # another daemon's exclusion is not ours
])
def test_defender_exclusion_names_the_daemons_exe(present, expected):
    plan = _daemon.plan(dataclasses.replace(W_DESIRED, defender_exclusion=True), _w(defender_exclusions=present))
    steps = [s.params for s in plan.steps if s.script == "defender_exclusion"]
    assert [("add" if p["State"] == "present" else "remove") for p in steps] == expected
    assert all(p["Processes"] == [W_INSTALL + r"\bin\widgetd.exe"] for p in steps)


W_ABSENT = dataclasses.replace(W_DESIRED, state="absent", version=None, config_text=None, archive_path=None)


@pytest.mark.parametrize("purge, data_found, expected_purge", [
    (False, (r"C:\ProgramData\widgetd",), None),
    (True, (), None),  # widgetd's config names no folders: only what was found goes
    (True, (r"C:\ProgramData\widgetd", r"C:\ProgramData\widgetd\cache"), [r"C:\ProgramData\widgetd"]),
])
def test_absent_and_purge_for_a_daemon_whose_config_names_no_folders(purge, data_found, expected_purge):
    observed = _w(data_dirs_present=data_found, staged_archives=(r"C:\x\widgetd-0.18.2.tar.gz",))
    plan = _daemon.plan(dataclasses.replace(W_ABSENT, purge=purge), observed)
    purged = [s.params["Path"] for s in plan.steps if s.script == "path_remove" and isinstance(s.params["Path"], list)]
    assert purged == ([expected_purge] if expected_purge else [])
    assert plan.changes[0] == "remove service widgetd" and plan.changes[-1] == "delete staged widgetd archives"
    assert ("path_remove", W_INSTALL) in _names(plan.steps) and ("path_remove", W_INSTALL + ".previous") in _names(
        plan.steps)
    assert _daemon.recovery(W_ABSENT, observed, plan.steps[:2]) == []


def test_observe_reads_the_shared_keys():
    answer = {"binary": {"exists": True, "version_output": "widgetd v0.20.2"}, "service": None,
              "companions": {"name": "helper", "status": "Running"}, "machine_path": "C:\\Windows",
              "config": {"sha256": "AB" * 32, "content": "x"}, "pipe_ready": True}
    observed = _daemon.observe(answer, lambda text: text.split()[-1].lstrip("v"))
    assert observed.version == "0.20.2" and observed.running_companions == ["helper"]
    assert observed.config_sha256 == "ab" * 32 and observed.machine_path == ("C:\\Windows",)
    assert observed.defender_exclusions is None and observed.defender_status == "missing"


def test_plan_present_refuses_an_unresolved_desired_state():
    with pytest.raises(AssertionError):
        _daemon.plan(dataclasses.replace(W_DESIRED, version=None), W_FRESH)


class _WidgetAction(DaemonAction):
    module_name = "wcow.buildkit.win_widgetd"
    daemon = WIDGETD
    config_name = "widgetd.toml"
    argument_spec = daemon_argument_spec(install_dir=r"C:\Program Files\widget", service_name="widgetd",
                                         log_file=r"C:\ProgramData\widgetd\widgetd.log")


def _options(**changes):
    args = {name: spec.get("default") for name, spec in _WidgetAction.argument_spec.items()}
    return {**args, **changes}


def test_desired_options_use_the_daemons_defaults():
    action = object.__new__(_WidgetAction)  # desired_options reads only class attributes
    options = action.desired_options(_options(install_dir="D:\\widget\\"))
    assert options["install_dir"] == r"D:\widget" and options["config_path"] == r"D:\widget\widgetd.toml"
    assert options["service_name"] == "widgetd" and options["defender_exclusion"] is None


@pytest.mark.parametrize("option, value, words", [
    ("log_file", r"logs\w.log", r"log_file must be an absolute Windows path such as C:\Program Files\widget"),
    ("config_path", "/etc/widgetd.toml", "config_path must be an absolute Windows path"),
    ("start_timeout", 0, "start_timeout must be at least 1 second"),
])
def test_desired_options_name_the_bad_option(option, value, words):
    action = object.__new__(_WidgetAction)
    with pytest.raises(ModuleFailure) as failure:
        action.desired_options(_options(**{option: value}))
    assert failure.value.msg.startswith("wcow.buildkit.win_widgetd: ") and words in failure.value.msg


class _FakeHost:
    """Answers each round trip from a script of answers; records the steps sent."""

    host = "w1"

    def __init__(self, *round_trips):
        self.round_trips = list(round_trips)
        self.sent: list[list[str]] = []

    def run(self, steps):
        self.sent.append([s.script for s in steps])
        answer = self.round_trips.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer(steps) if callable(answer) else answer

    def answer_strings(self, value, script, field):
        del script, field
        return _daemon.as_list(value)


class _WidgetPlugin(_WidgetAction):
    def desired(self, args):
        return dataclasses.replace(W_DESIRED, **{k: v for k, v in self.desired_options(args).items()
                                                 if k not in ("install_dir", "config_path", "log_file")})

    def observe(self, answers):
        assert len(answers) == 1  # the scratch folder step is not the plugin's to read
        return _daemon.observe(answers[0], lambda text: text.rsplit(" v", 1)[-1] or None)


def _plugin(check_mode=False):
    plugin = object.__new__(_WidgetPlugin)
    plugin._task = type("Task", (), {"check_mode": check_mode, "diff": False})()
    return plugin


STATE_ANSWER = {"binary": {"exists": True, "version_output": "widgetd v0.20.2"},
                "service": W_CONVERGED.service, "config": {"sha256": "0" * 64, "content": "old"},
                "machine_path": [W_INSTALL + r"\bin"], "defender_exclusions": [], "pipe_ready": True,
                "staged_archives": [W_DESIRED.archive_path]}


FEATURE_ON = {"name": "Containers", "state": "Enabled", "skipped": False}


def test_the_action_loop_reads_once_and_stops_there_when_converged_or_checking():
    converged = {**STATE_ANSWER, "config": {"sha256": W_DESIRED.config_sha256, "content": "debug = true\n"}}
    host = _FakeHost([{}, FEATURE_ON, converged])
    result = _plugin().execute(_options(version="0.20.2"), host, {})
    assert host.sent == [["directory_ensure", "optional_feature_state", "daemon_state"]]
    assert result["changed"] is False
    host = _FakeHost([FEATURE_ON, STATE_ANSWER])
    result = _plugin(check_mode=True).execute(_options(version="0.20.2"), host, {})
    assert host.sent == [["optional_feature_state", "daemon_state"]]
    assert result["changes"] == ["write " + W_DESIRED.config_path]


@pytest.mark.parametrize("feature", [{"name": "Containers", "state": "Disabled", "skipped": False},
                                     {"name": "Containers", "state": "EnablePending", "skipped": False}])
def test_the_action_loop_stops_on_a_host_without_the_containers_feature(feature):
    host = _FakeHost([{}, feature, STATE_ANSWER])
    with pytest.raises(ModuleFailure) as raised:
        _plugin().execute(_options(version="0.20.2"), host, {})
    assert "containers_feature role" in raised.value.msg and len(host.sent) == 1
    host = _FakeHost([{}, feature, STATE_ANSWER], lambda steps: [{}] * len(steps))
    result = _plugin().execute(_options(version="0.20.2", require_containers_feature=False), host, {})
    assert result["changed"] is True and len(host.sent) == 2


def test_the_action_loop_undoes_a_failed_apply_for_any_daemon():
    """The config write fails after widgetd was stopped: it is started again and the failure names both."""
    failure = HostError("file_write.ps1 failed: disk full", host="w1", command="script file_write",
                        steps_done=["service_stop"])
    host = _FakeHost([{}, FEATURE_ON, STATE_ANSWER], failure, lambda steps: [{}] * len(steps))
    with pytest.raises(ModuleFailure) as raised:
        _plugin().execute(_options(version="0.20.2"), host, {})
    assert host.sent[1] == ["service_stop", "file_write", "directory_ensure", "service_start"]
    assert host.sent[2] == ["service_stop", "service_start"]
    assert raised.value.msg == ("wcow.buildkit.win_widgetd: file_write.ps1 failed: disk full; rolled back to 0.20.2, "
                                "which is running again.")
    assert raised.value.result["rolled_back"] is True and raised.value.result["steps_done"] == ["service_stop"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class _Dependent(WidgetDesired):
    """A daemon registered as depending on another, which waits for that one's pipe before it starts."""

    def after_register(self):
        return [_daemon.Step("service_configure", {"Name": self.service_name, "DependsOn": ["containerd"]})]

    def before_start(self):
        return [_daemon.Step("pipe_wait", {"PipeName": "containerd-containerd"})]


DEPENDENT = _Dependent(**{f.name: getattr(W_DESIRED, f.name) for f in dataclasses.fields(W_DESIRED)})


@pytest.mark.parametrize("observed, expected", [
    pytest.param(W_FRESH, ["archive_extract", "file_write", "machine_path", "run_command", "service_configure",
                           "directory_ensure", "pipe_wait", "service_start"], id="fresh"),
    pytest.param(_w(service={**W_CONVERGED.service, "command_line": "x"}),
                 ["service_stop", "run_command", "service_wait_gone", "run_command", "service_configure",
                  "directory_ensure", "pipe_wait", "service_start"], id="re-register"),
    pytest.param(_w(service={**W_CONVERGED.service, "status": "Stopped"}),
                 ["directory_ensure", "pipe_wait", "service_start"], id="start-only"),
    pytest.param(W_CONVERGED, [], id="converged"),
])
def test_registration_and_start_hooks_run_where_every_registration_and_start_does(observed, expected):
    assert [s.script for s in _daemon.plan(DEPENDENT, observed).steps] == expected


def test_a_registration_put_back_by_recovery_is_completed_too():
    observed = _w(version="0.18.2", service={**W_CONVERGED.service, "command_line": '"C:\\old\\widgetd.exe" --x'})
    plan = _daemon.plan(DEPENDENT, observed)
    register = next(i for i, s in enumerate(plan.steps) if _daemon.is_register(s))
    undo = [s.script for s in _daemon.recovery(DEPENDENT, observed, plan.steps[:register + 1])]
    assert undo[-3:] == ["run_command", "service_configure", "service_start"]
