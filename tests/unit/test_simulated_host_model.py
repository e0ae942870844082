"""The simulated host's Windows model: service states, service processes, locked images, the clock.

These pin what the double refuses, so that a script twin cannot quietly do what Windows would not.
"""

from __future__ import annotations

import pytest

# Importing common registers the twins.
from wcow_sim import common  # noqa: F401  pylint: disable=unused-import
from wcow_sim.host import Host, ScriptFailure
from wcow_sim.registry import SCRIPTS
from wcow_sim.state import new_state

BIN = r"C:\Program Files\containerd\bin"
EXE = BIN + r"\containerd.exe"
SHIM = BIN + r"\containerd-shim-runhcs-v1.exe"


def _host(**faults) -> Host:
    host = Host("h", new_state(), faults)
    host.write_file(EXE, b"SIMULATED-EXE containerd 2.1.5")
    host.write_file(SHIM, b"SIMULATED-EXE containerd-shim-runhcs-v1 2.1.5")
    host.write_file(BIN + r"\ctr.exe", b"SIMULATED-EXE ctr 2.1.5")
    host.register_service("containerd", f'"{EXE}" --run-service')
    return host


def _running(**faults) -> Host:
    host = _host(**faults)
    assert host.start_service("containerd")
    return host


# -- locked images ---------------------------------------------------------------------------
def test_a_running_image_cannot_be_deleted_overwritten_or_moved():
    host = _running()
    with pytest.raises(ScriptFailure, match=r"Cannot remove item .*containerd\.exe: Access to the path 'containerd\.exe' is denied"):
        host.remove_file(EXE)
    with pytest.raises(ScriptFailure, match=r"because it is being used by another process"):
        host.write_file(EXE, b"new")
    with pytest.raises(ScriptFailure, match=r"Access to the path .*bin' is denied"):
        host.move_tree(BIN, BIN + ".old")
    assert host.exe_version(EXE) == "2.1.5" and host.exists(BIN)


def test_other_files_beside_a_running_image_are_free():
    host = _running()
    host.write_file(BIN + r"\ctr.exe", b"SIMULATED-EXE ctr 2.1.6")
    assert host.remove_file(BIN + r"\ctr.exe")


def test_recursive_delete_stops_at_the_first_locked_file_after_deleting_what_came_before():
    """Remove-Item -Recurse -Force with ErrorActionPreference Stop: subfolders first, then files, in order."""
    host = _running()
    host.write_file(BIN + r"\sub\a.txt", b"a")
    with pytest.raises(ScriptFailure, match="containerd.exe"):
        host.remove_tree(BIN)
    left = [p.rsplit("\\", 1)[1] for p in host.list_tree(BIN)]
    # sub\a.txt and the shim (sorted before it) went first; the locked image and what follows it stay
    assert left == ["containerd.exe", "ctr.exe"]


def test_a_stopped_service_frees_its_image():
    host = _running()
    host.request_stop("containerd")
    assert host.service("containerd")["status"] == "Stopped"
    assert host.remove_tree(BIN) == 3


def test_killing_a_process_frees_its_image_and_the_scm_sees_the_service_stop():
    host = _running()
    pid = host.service("containerd")["pid"]
    assert host.kill_process(pid)
    assert host.service("containerd")["status"] == "Stopped" and host.pipes() == []
    host.remove_file(EXE)


def test_a_reboot_ends_every_process():
    host = _running()
    host.spawn(SHIM)
    host.power_off()
    assert host.processes() == [] and host.remove_tree(BIN) == 3


# -- pending states --------------------------------------------------------------------------
def test_stop_hang_leaves_the_service_stop_pending_and_refuses_another_stop():
    host = _running(service_stop_hangs=["containerd"])
    host.request_stop("containerd")
    assert host.service("containerd")["status"] == "StopPending"
    assert host.lock_blocker(EXE) is not None  # its process ignores the request
    with pytest.raises(ScriptFailure, match="cannot accept control messages"):
        host.request_stop("containerd")


def test_start_hang_leaves_the_service_start_pending_with_a_live_process_and_no_pipe():
    host = _host(service_start_hangs=["containerd@2.1.5"])
    assert host.start_service("containerd") is False
    assert host.service("containerd")["status"] == "StartPending"
    assert host.pipes() == [] and host.lock_blocker(EXE) is not None
    with pytest.raises(ScriptFailure, match="cannot accept control messages"):
        host.request_stop("containerd")


def test_start_hang_fault_can_name_one_version():
    assert _host(service_start_hangs=["containerd@1.7.29"]).start_service("containerd") is True


# -- Stopped is not exited -------------------------------------------------------------------
def test_a_lingering_process_keeps_its_image_locked_until_it_exits():
    host = _running(service_exit_lingers={"containerd": 5})
    pid = host.service("containerd")["pid"]
    host.request_stop("containerd")
    assert host.service("containerd")["status"] == "Stopped"
    with pytest.raises(ScriptFailure, match="denied"):
        host.remove_file(EXE)
    assert host.wait_for_exit(pid, 2) is False and host.clock == 2
    assert host.wait_for_exit(pid, 10) is True and host.clock == 5
    assert host.remove_file(EXE)


# -- the twins of service_stop, service_start and process_stop --------------------------------
def test_service_stop_ends_a_hung_service_after_the_timeout():
    host = _running(service_stop_hangs=["containerd"])
    pid = host.service("containerd")["pid"]
    answer = SCRIPTS["service_stop"](host, {"Name": "containerd", "TimeoutSeconds": 20})
    assert answer["killed"] is True and answer["pid"] == pid and answer["status"] == "Stopped"
    assert answer["reason"] == "still StopPending after 20 seconds" and host.clock == 20
    assert host.process(pid) is None


def test_service_stop_stops_running_dependents_first():
    host = _running()
    host.register_service("buildkitd", f'"{EXE}" --run-service', depends_on=["containerd"])
    assert host.start_service("buildkitd")
    answer = SCRIPTS["service_stop"](host, {"Name": "containerd", "TimeoutSeconds": 5})
    assert [d["name"] for d in answer["dependents"]] == ["buildkitd"]
    assert host.state["events"][-2:] == ["service_stop buildkitd", "service_stop containerd"]


def test_service_start_gives_up_on_start_pending_after_the_timeout():
    host = _host(service_start_hangs=["containerd"])
    answer = SCRIPTS["service_start"](host, {"Name": "containerd", "Require": False, "TimeoutSeconds": 15})
    assert answer["started"] is False and answer["status"] == "StartPending" and host.clock == 15
    with pytest.raises(ScriptFailure, match=r"within 15 seconds \(status StartPending\)"):
        SCRIPTS["service_start"](host, {"Name": "containerd", "TimeoutSeconds": 15})


def test_process_stop_ends_only_processes_running_from_the_directory():
    host = _running()
    ours = host.spawn(SHIM)
    docker = host.spawn(r"C:\Program Files\Docker\containerd-shim-runhcs-v1.exe")
    answer = SCRIPTS["process_stop"](host, {"Directory": BIN + "\\", "Name": "containerd-shim-runhcs-v1"})
    assert answer["processes"] == [{"pid": ours["pid"], "path": SHIM}]
    assert host.process(docker["pid"]) is not None
    assert host.service("containerd")["status"] == "Running"  # Name narrowed it to the shims


def test_service_stop_answers_every_dependent_it_stopped_within_the_json_depth():
    """A chain of running dependents must not nest past ConvertTo-Json's -Depth (5.1 would write a string)."""
    from ansible_collections.wcow.buildkit.plugins.plugin_utils._host import script_text
    from wcow_sim import dispatch

    host = _running()
    for name, parent in (("svc-a", "containerd"), ("svc-b", "svc-a"), ("svc-c", "svc-b")):
        host.write_file(BIN + rf"\{name}.exe", f"SIMULATED-EXE {name} 1.0".encode())
        host.register_service(name, f'"{BIN}\\{name}.exe"', depends_on=[parent])
        assert host.start_service(name)
    payload = {"caller": "t", "steps": [{"name": "service_stop", "script": script_text("service_stop"),
                                         "params": {"Name": "containerd", "TimeoutSeconds": 5}}]}
    rc, answer = dispatch.run_steps(host, payload)
    assert rc == 0, answer
    result = answer["steps"][0]["result"]
    dependents = result["dependents"]
    assert isinstance(dependents, list) and all(isinstance(d, dict) for d in dependents), dependents
    assert [d["name"] for d in dependents] == ["svc-c", "svc-b", "svc-a"]  # the deepest first, as stopped
    assert all(d["status"] == "Stopped" for d in dependents) and result["status"] == "Stopped"
