"""win_containerd's planner: observed + desired -> ordered host steps (table-driven, no I/O)."""

from __future__ import annotations

import dataclasses
import hashlib

import pytest

from ansible_collections.wcow.buildkit.plugins.plugin_utils import _containerd
from ansible_collections.wcow.buildkit.plugins.plugin_utils._containerd import Desired, Observed

INSTALL = r"C:\Program Files\containerd"
DESIRED = Desired(
    state="present", install_dir=INSTALL, config_path=INSTALL + r"\config.toml", service_name="containerd",
    log_file=r"C:\ProgramData\containerd\containerd.log", log_level="info", defender_exclusion=False, purge=False,
    version="2.1.5", config_text="version = 3\n", archive_path=r"C:\ProgramData\wcow.buildkit\artifacts\c.tar.gz",
)
CONVERGED = Observed(
    version="2.1.5", binary_exists=True,
    service={"name": "containerd", "status": "Running", "start_mode": "Automatic",
             "command_line": DESIRED.command_line()},
    companions=(), data_dirs_present=(), staged_archives=(DESIRED.archive_path,), config_text="version = 3\n",
    machine_path=(r"C:\Windows\system32", INSTALL + "\\bin\\"), defender_exclusions=(), archive_sha256=None,
    pipe_ready=True, docker_containerd=False, shim_processes=0,
    config_sha256=hashlib.sha256(b"version = 3\n").hexdigest(),
)
FRESH = Observed(version=None, binary_exists=False, service=None, companions=(), data_dirs_present=(),
                 config_text=None, machine_path=(r"C:\Windows\system32",), defender_exclusions=None, staged_archives=(),
                 archive_sha256=None, pipe_ready=False, docker_containerd=False, shim_processes=0)
BUILDKITD_RUNNING = ({"name": "buildkitd", "status": "Running"},)


def _names(steps):
    return [(s.script, s.params.get("Name") or s.params.get("Entry") or s.params.get("Directory")
             or s.params.get("Path", "")) for s in steps]


def _sha256(text):
    return None if text is None else hashlib.sha256(text.encode("utf-8")).hexdigest()


def _observed(**changes):
    if "config_text" in changes and "config_sha256" not in changes:  # a file holding that text as UTF-8
        changes["config_sha256"] = _sha256(changes["config_text"])
    return dataclasses.replace(CONVERGED, **changes)


def _desired(**changes):
    return dataclasses.replace(DESIRED, **changes)


def test_converged_host_needs_nothing():
    plan = _containerd.plan(DESIRED, CONVERGED)
    assert not plan.changed and plan.steps == [] and not plan.needs_archive


def test_fresh_install_order():
    plan = _containerd.plan(DESIRED, FRESH)
    assert plan.needs_archive and not plan.rollback
    assert [s.script for s in plan.steps] == [
        "archive_extract", "file_write", "machine_path", "run_command", "run_command", "directory_ensure",
        "service_start"]
    assert plan.steps[3].params["Arguments"].endswith("config dump")  # the config is tried before registering
    register = plan.steps[4].params
    assert register["FilePath"] == INSTALL + r"\bin\containerd.exe" and register["FailOnError"] is True
    assert register["Arguments"].startswith("--register-service --service-name containerd --config ")
    assert plan.steps[-1].params["Require"] is True
    assert plan.changes[0] == "install containerd 2.1.5"


@pytest.mark.parametrize("observed, expected_steps, reason", [
    (_observed(config_text="version = 3\n# old\n"),
     [("file_write", INSTALL + r"\config.toml.new"), ("run_command", ""), ("path_remove", INSTALL + r"\config.toml.new"),
     ("service_stop", "containerd"), ("file_write", INSTALL + r"\config.toml"), ("directory_ensure", r"C:\ProgramData\containerd"),
      ("service_start", "containerd")],
     "write " + INSTALL + r"\config.toml"),
    (_observed(config_text="old", companions=BUILDKITD_RUNNING),
     [("file_write", INSTALL + r"\config.toml.new"), ("run_command", ""), ("path_remove", INSTALL + r"\config.toml.new"),
     ("service_stop", "buildkitd"), ("service_stop", "containerd"),
      ("file_write", INSTALL + r"\config.toml"), ("directory_ensure", r"C:\ProgramData\containerd"),
      ("service_start", "containerd"), ("service_start", "buildkitd")],
     "write " + INSTALL + r"\config.toml"),
    (_observed(service={**CONVERGED.service, "status": "Stopped"}, pipe_ready=False),
     [("directory_ensure", r"C:\ProgramData\containerd"), ("service_start", "containerd")], "start service containerd"),
    (_observed(service={**CONVERGED.service, "start_mode": "Manual"}),
     [("service_configure", "containerd")], "set service containerd to start automatically"),
    (_observed(machine_path=(r"C:\Windows\system32",)),
     [("machine_path", INSTALL + r"\bin")], "add " + INSTALL + r"\bin to the machine PATH"),
    (_observed(service={**CONVERGED.service, "command_line": CONVERGED.service["command_line"].replace("info", "debug")}),
     [("file_write", INSTALL + r"\config.toml.new"), ("run_command", ""), ("path_remove", INSTALL + r"\config.toml.new"),
     ("service_stop", "containerd"), ("run_command", ""), ("service_wait_gone", "containerd"),
      ("run_command", ""), ("directory_ensure", r"C:\ProgramData\containerd"), ("service_start", "containerd")],
     "re-register service containerd: command line differs"),
])
def test_single_drifts_are_repaired_alone(observed, expected_steps, reason):
    plan = _containerd.plan(DESIRED, observed)
    assert _names(plan.steps) == expected_steps
    assert plan.changes == [reason]
    assert not plan.needs_archive


def test_command_line_quoting_differences_are_not_drift():
    respelled = '"' + INSTALL.upper() + r'\BIN\CONTAINERD.EXE" "--run-service" ' + " ".join(
        f'"{a}"' for a in DESIRED.service_args())
    assert _containerd.same_command_line(respelled, DESIRED.command_line())
    assert not _containerd.plan(DESIRED, _observed(service={**CONVERGED.service, "command_line": respelled})).changed


def test_upgrade_stops_companions_shims_backs_up_and_can_roll_back():
    observed = _observed(version="1.7.29", config_text="version = 2\n", companions=BUILDKITD_RUNNING)
    plan = _containerd.plan(DESIRED, observed)
    assert plan.changes[0] == "upgrade containerd 1.7.29 -> 2.1.5"
    assert plan.needs_archive
    assert _names(plan.steps) == [
        ("service_stop", "buildkitd"), ("service_stop", "containerd"),
        ("process_stop", INSTALL + r"\bin"), ("install_backup", ""),
        ("archive_extract", ""), ("file_write", INSTALL + r"\config.toml"), ("run_command", ""),
        ("directory_ensure", r"C:\ProgramData\containerd"), ("service_start", "containerd"), ("service_start", "buildkitd"),
    ]
    start = plan.steps[-2].params
    assert start["Require"] is False  # the controller decides on rollback
    assert [s.script for s in plan.rollback] == [
        "service_stop", "service_stop", "process_stop", "install_restore", "service_start", "service_start"]
    assert plan.rollback[-2].params["Require"] is True


def test_upgrade_deletes_archives_of_other_versions_once_extracted():
    old = r"C:\ProgramData\wcow.buildkit\artifacts\containerd-1.7.29-windows-amd64.tar.gz"
    plan = _containerd.plan(DESIRED, _observed(version="1.7.29", staged_archives=(old, DESIRED.archive_path.upper())))
    names = _names(plan.steps)
    assert names.index(("archive_extract", "")) < names.index(("path_remove", old))
    assert ("path_remove", DESIRED.archive_path.upper()) not in names


def test_downgrade_is_named_as_such():
    plan = _containerd.plan(_desired(version="1.7.29"), CONVERGED)
    assert plan.changes[0] == "downgrade containerd 2.1.5 -> 1.7.29"


ABSENT = _desired(state="absent", version=None, config_text=None, archive_path=None)


@pytest.mark.parametrize("wanted, present, step", [
    (True, (), ("defender_exclusion", "present")),
    (False, (INSTALL + r"\bin\containerd.exe",), ("defender_exclusion", "absent")),
    (True, (INSTALL.lower() + r"\bin\containerd.exe",), None),
    (False, (), None),
    (None, (), None),  # unset: an administrator's exclusions (ours among them) are left alone
    (None, (INSTALL + r"\bin\containerd.exe", r"C:\Tools\x.exe"), None),
])
def test_defender_exclusion(wanted, present, step):
    plan = _containerd.plan(_desired(defender_exclusion=wanted), _observed(defender_exclusions=present))
    got = [(s.script, s.params["State"]) for s in plan.steps]
    assert got == ([step] if step else [])


def test_defender_missing_is_left_alone():
    assert not _containerd.plan(_desired(defender_exclusion=True), _observed(defender_exclusions=None)).changed


@pytest.mark.parametrize("status, error, words", [
    ("missing", None, "not installed"),
    ("off", "Get-MpPreference : Operation failed with the following error: 0x800106ba", "0x800106ba"),
])
def test_defender_missing_or_off_warns_only_when_asked(status, error, words):
    observed = _observed(defender_exclusions=None, defender_status=status, defender_error=error)
    plan = _containerd.plan(_desired(defender_exclusion=True), observed)
    assert not plan.changed and len(plan.warnings) == 1 and words in plan.warnings[0]
    assert _containerd.plan(_desired(defender_exclusion=None), observed).warnings == []


@pytest.mark.parametrize("option", [None, True, False])
def test_absent_removes_our_exclusion_whatever_the_option(option):
    ours, admin = INSTALL + r"\bin\containerd.exe", r"C:\Tools\x.exe"
    plan = _containerd.plan(dataclasses.replace(ABSENT, defender_exclusion=option),
                            _observed(defender_exclusions=(admin, ours)))
    assert [s.params for s in plan.steps if s.script == "defender_exclusion"] == [
        {"Processes": [ours], "State": "absent"}]


def test_settle_defender_drops_a_change_policy_kept_from_happening():
    step = _containerd.Step("defender_exclusion", {"Processes": ["x"], "State": "present"})
    changes = [_containerd.DEFENDER_ADD]
    warnings = _containerd.settle_defender([step], [{"changed": False, "warning": "managed by policy"}], changes)
    assert changes == [] and warnings == ["defender_exclusion: managed by policy"]
    changes = ["write x", _containerd.DEFENDER_ADD]
    assert _containerd.settle_defender([step], [{"changed": True, "warning": None}], changes) == []
    assert changes == ["write x", _containerd.DEFENDER_ADD]


def test_absent_removes_everything_but_data():
    observed = _observed(defender_exclusions=(INSTALL + r"\bin\containerd.exe",),
                         data_dirs_present=(r"C:\ProgramData\containerd",))
    plan = _containerd.plan(ABSENT, observed)
    assert [s.script for s in plan.steps] == [
        "service_stop", "run_command", "service_wait_gone", "machine_path", "defender_exclusion",
        "process_stop", "path_remove", "path_remove", "path_remove"]  # install dir, its backup, the staged archive
    assert plan.steps[5].params["Directory"] == INSTALL + r"\bin"
    assert all(r"C:\ProgramData\containerd" != s.params.get("Path") for s in plan.steps)


def test_absent_with_purge_deletes_data_that_exists():
    observed = _observed(data_dirs_present=(r"C:\ProgramData\containerd",))
    plan = _containerd.plan(dataclasses.replace(ABSENT, purge=True), observed)
    assert ("path_remove", [r"C:\ProgramData\containerd"]) in _names(plan.steps)


def test_absent_without_binary_unregisters_with_sc_exe():
    plan = _containerd.plan(ABSENT, _observed(binary_exists=False, version=None, config_text=None))
    assert plan.steps[1].params["FilePath"].lower().endswith(r"system32\sc.exe")


def test_absent_deletes_staged_archives():
    plan = _containerd.plan(ABSENT, dataclasses.replace(FRESH, staged_archives=(DESIRED.archive_path,)))
    assert plan.changes == ["delete staged containerd archives"]
    assert _names(plan.steps) == [("path_remove", DESIRED.archive_path)]


def test_absent_on_clean_host_is_a_no_op():
    assert not _containerd.plan(ABSENT, FRESH).changed


def test_observe_undoes_powershell_scalar_collapse():
    answer = {"binary": {"exists": True, "version_output": "containerd github.com/containerd/containerd v1.7.29 x"},
              "service": None, "companions": {"name": "buildkitd", "status": "Running"},
              "machine_path": r"C:\Windows", "defender_exclusions": "C:\\x.exe", "data_dirs_present": None}
    observed = _containerd.observe(answer, lambda text: text.split()[2].lstrip("v"))
    assert observed.version == "1.7.29"
    assert observed.running_companions == ["buildkitd"]
    assert observed.machine_path == (r"C:\Windows",) and observed.defender_exclusions == ("C:\\x.exe",)


def test_reinstall_of_unreadable_binary_stops_and_restarts_a_running_service():
    """Version unreadable, service running: bin is replaced under it unless it is stopped first."""
    observed = _observed(version=None, companions=BUILDKITD_RUNNING)
    plan = _containerd.plan(DESIRED, observed)
    assert plan.changes[0] == "install containerd 2.1.5" and plan.needs_archive
    assert _names(plan.steps) == [
        ("service_stop", "buildkitd"), ("service_stop", "containerd"), ("process_stop", INSTALL + r"\bin"),
        ("archive_extract", ""), ("run_command", ""), ("directory_ensure", r"C:\ProgramData\containerd"),
        ("service_start", "containerd"), ("service_start", "buildkitd"),
    ]
    assert plan.steps[-2].params["Require"] is True  # no backup to roll back to: a failed start throws


def test_reinstall_without_service_still_ends_processes_running_from_bin():
    observed = dataclasses.replace(FRESH, binary_exists=True)
    names = _names(_containerd.plan(DESIRED, observed).steps)
    assert names[:2] == [("process_stop", INSTALL + r"\bin"), ("archive_extract", "")]


def test_plain_restart_leaves_shims_running():
    """A config change restarts containerd; running containers (their shims) survive it."""
    plan = _containerd.plan(DESIRED, _observed(config_text="old", shim_processes=2))
    assert "process_stop" not in [s.script for s in plan.steps]


def test_stop_waits_are_bounded_by_start_timeout():
    plan = _containerd.plan(_desired(start_timeout=7), _observed(version="1.7.29", companions=BUILDKITD_RUNNING))
    bounded = [s for s in plan.steps + plan.rollback if s.script in ("service_stop", "service_start", "process_stop")]
    assert bounded and all(s.params["TimeoutSeconds"] == 7 for s in bounded)


@pytest.mark.parametrize("data", [
    pytest.param(b"\xef\xbb\xbfversion = 3\n", id="utf8-bom"),
    pytest.param(b"\xff\xfe" + "version = 3\n".encode("utf-16-le"), id="utf16le-bom"),
    pytest.param(b"version = 3\r\n", id="crlf"),
])
def test_config_drift_is_decided_on_bytes_not_decoded_text(data):
    """ReadAllText answers the same text for these files; only their digest tells them apart."""
    observed = _observed(config_text="version = 3\n", config_sha256=hashlib.sha256(data).hexdigest())
    plan = _containerd.plan(DESIRED, observed)
    assert plan.changes == ["write " + INSTALL + r"\config.toml"]
    assert ("file_write", INSTALL + r"\config.toml") in _names(plan.steps)


def test_observe_reads_the_config_digest():
    observed = _containerd.observe({"binary": {}, "config": {"sha256": "AB" * 32, "content": "x"}}, lambda _: None)
    assert observed.config_sha256 == "ab" * 32 and observed.config_text == "x"
    assert _containerd.observe({"binary": {}, "config": None}, lambda _: None).config_sha256 is None


def test_recovery_undoes_only_what_ran():
    command_line = CONVERGED.service["command_line"].replace("--log-level info", "--log-level debug")
    old = _observed(version="1.7.29", service={**CONVERGED.service, "command_line": command_line})
    plan = _containerd.plan(DESIRED, old)
    unregister = next(i for i, s in enumerate(plan.steps) if s.params.get("FilePath") == _containerd.SC_EXE)
    assert _containerd.recovery(DESIRED, old, []) == []  # nothing stopped or changed yet
    assert [s.script for s in _containerd.recovery(DESIRED, old, plan.steps[:1])] == ["service_stop", "service_start"]
    # failed before the service was removed: end what runs from bin, restore files, start
    assert [s.script for s in _containerd.recovery(DESIRED, old, plan.steps[:unregister])] == [
        "service_stop", "process_stop", "install_restore", "service_start"]
    # failed between removing and registering: the old registration comes back, with its own frozen arguments
    undo = _containerd.recovery(DESIRED, old, plan.steps[:unregister + 1])
    assert [s.script for s in undo] == ["service_stop", "process_stop", "install_restore", "run_command",
                                        "service_start"]
    assert undo[3].params["Arguments"].startswith("--register-service --service-name containerd")
    assert "--log-level debug" in undo[3].params["Arguments"] and "--run-service" not in undo[3].params["Arguments"]
    # the new registration was made: it goes first
    register = next(i for i, s in enumerate(plan.steps) if s.params.get("Arguments", "").startswith("--register"))
    undo = _containerd.recovery(DESIRED, old, plan.steps[:register + 1])
    assert [s.script for s in undo] == ["service_stop", "process_stop", "install_restore", "run_command",
                                        "service_wait_gone", "run_command", "service_start"]
    assert undo[3].params["FilePath"] == _containerd.SC_EXE


def test_log_folder_is_ensured_before_start():
    plan = _containerd.plan(_desired(log_file=r"D:\logs\containerd.log"), FRESH)
    names = _names(plan.steps)
    assert names.index(("directory_ensure", r"D:\logs")) < names.index(("service_start", "containerd"))


@pytest.mark.parametrize("config_text, expected", [
    (None, [r"C:\ProgramData\containerd"]),
    ("version = 3\n", [r"C:\ProgramData\containerd"]),  # defaults: root and state under the data folder
    ("version = 3\nroot = 'D:\\containerd\\root'\nstate = \"D:\\\\containerd\\\\state\"\n",
     [r"C:\ProgramData\containerd", r"D:\containerd\root", r"D:\containerd\state"]),
    ("version = 2\nroot = 'E:\\ctr'\n[plugins.'io.containerd.grpc.v1.cri']\n", [r"C:\ProgramData\containerd", r"E:\ctr"]),
    ("not toml [", [r"C:\ProgramData\containerd"]),
])
def test_purge_deletes_root_and_state_the_config_names(config_text, expected):
    desired = _desired(state="absent", purge=True, version=None, config_text=None)
    observed = _observed(config_text=config_text, data_dirs_present=(r"C:\ProgramData\containerd",))
    plan = _containerd.plan(desired, observed)
    purge = [s for s in plan.steps if s.script == "path_remove" and isinstance(s.params["Path"], list)]
    assert len(purge) == 1 and sorted(purge[0].params["Path"]) == sorted(expected)


def test_purge_without_anything_left_is_converged():
    desired = _desired(state="absent", purge=True, version=None, config_text=None)
    observed = dataclasses.replace(FRESH, defender_exclusions=())
    assert not _containerd.plan(desired, observed).changed


def test_failed_removal_is_not_undone():
    desired = _desired(state="absent", purge=True, version=None, config_text=None)
    plan = _containerd.plan(desired, CONVERGED)
    assert _containerd.recovery(desired, CONVERGED, plan.steps[:3]) == []


def test_recovery_without_backup_restarts_only_what_was_not_replaced():
    observed = _observed(config_text="old")
    plan = _containerd.plan(DESIRED, observed)
    write = next(i for i, s in enumerate(plan.steps) if s.params.get("Path") == DESIRED.config_path)
    assert [s.script for s in _containerd.recovery(DESIRED, observed, plan.steps[:write])][-1] == "service_start"
    assert _containerd.recovery(DESIRED, observed, plan.steps[:write + 1]) == []


def test_rollback_waits_for_the_pipe_and_log_of_the_service_as_found():
    desired = _desired(pipe_address=r"\\.\pipe\new-pipe", log_file=r"D:\new\containerd.log")
    observed = _observed(version="1.7.29", config_text="version = 2\n[grpc]\naddress = '\\\\.\\pipe\\old-pipe'\n")
    plan = _containerd.plan(desired, observed)
    start = [s for s in plan.rollback if s.script == "service_start"][-1].params
    assert start["PipeName"] == "old-pipe" and start["LogFile"] == r"C:\ProgramData\containerd\containerd.log"
    assert [s for s in plan.steps if s.script == "service_start"][-1].params["PipeName"] == "new-pipe"


def test_absent_ends_processes_from_bin_before_purging_data():
    """Shims outlive containerd and hold container files in root open: they go before the purge."""
    desired = _desired(state="absent", purge=True, version=None, config_text=None)
    observed = _observed(data_dirs_present=(r"C:\ProgramData\containerd",))
    names = [s.script for s in _containerd.plan(desired, observed).steps]
    assert names.count("process_stop") == 1
    purge = next(i for i, s in enumerate(_containerd.plan(desired, observed).steps)
                 if s.script == "path_remove" and isinstance(s.params["Path"], list))
    assert names.index("process_stop") < purge
