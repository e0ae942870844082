"""win_containerd and Windows' service control manager: pending states, lingering processes, locked images.

Each test starts from a host the module installed, then injects a fault the simulated
host models after Windows (see tests/simulated/CONTRACT.md, "Faults").
"""

from __future__ import annotations

import base64


MODULE = "wcow.buildkit.win_containerd"
BIN = r"C:\Program Files\containerd\bin"
EXE = BIN + r"\containerd.exe"
SHIM = BIN + r"\containerd-shim-runhcs-v1.exe"
DOCKER_SHIM = r"C:\Program Files\Docker\containerd-shim-runhcs-v1.exe"
CONFIG_CHANGE = {"debug": {"level": "debug"}}


def _faults(**faults):
    return {"sim_faults": faults}


def _exe_version(state):
    return base64.b64decode(state["files"][EXE.lower()]["content"]).decode().split()[2]


def _seed(simulator, *images):
    """Processes running from these images, as a builder with containers would have."""
    state = simulator.state()
    for n, image in enumerate(images):
        name = image.rsplit("\\", 1)[1][:-4]
        state["processes"].append({"pid": 9000 + 4 * n, "name": name, "image": image, "exits_at": None})
    state["events"] = []
    simulator.write_state(state)


def _containerd_process(state):
    pid = state["services"]["containerd"]["pid"]
    return next(p for p in state["processes"] if p["pid"] == pid)


# -- defect 2: timeouts are enforced -------------------------------------------------------
def test_stop_pending_hang_ends_the_service_process_after_the_timeout(converge, simulator):
    assert converge(version="2.1.5")[0].rc == 0
    old_pid = simulator.state()["services"]["containerd"]["pid"]
    run, result = converge(_faults(service_stop_hangs=["containerd"]), version="2.1.5", config=CONFIG_CHANGE,
                           start_timeout=20)
    assert run.rc == 0, run.stdout
    assert result["killed"] == [{"service": "containerd", "pid": old_pid,
                                 "reason": "still StopPending after 20 seconds"}]
    assert "ended process" in run.stdout + run.stderr  # and the user is told
    state = simulator.state()
    assert f"process_kill containerd {old_pid}" in state["events"]
    assert state["services"]["containerd"]["status"] == "Running"
    assert state["services"]["containerd"]["pid"] != old_pid
    assert 20 <= state["clock"] < 21  # one bounded wait, not forever


def test_start_pending_hang_fails_after_the_timeout_with_status_and_log(converge, simulator):
    run, result = converge(_faults(service_start_hangs=["containerd"]), version="2.1.5", start_timeout=15)
    assert run.rc != 0 and run.recap["sim-host"]["unreachable"] == 0, run.stdout
    assert "did not come up within 15 seconds (status StartPending)" in result["msg"]
    assert simulator.state()["clock"] >= 15


def test_start_pending_hang_after_upgrade_rolls_back(converge, simulator):
    faults = _faults(service_start_hangs=["containerd@2.1.5"])
    assert converge(faults, version="1.7.29")[0].rc == 0
    run, result = converge(faults, version="2.1.5", start_timeout=10)
    assert run.rc != 0 and run.recap["sim-host"]["unreachable"] == 0, run.stdout
    assert result["rolled_back"] is True and "StartPending" in result["msg"]
    state = simulator.state()
    # the hung 2.1.5 process was ended so its files could be restored
    assert any(e.startswith("process_kill containerd ") for e in state["events"])
    assert _exe_version(state) == "1.7.29"
    assert state["services"]["containerd"]["status"] == "Running"
    assert state["services"]["containerd"]["running_version"] == "1.7.29"


# -- defect 3: Stopped is not exited -------------------------------------------------------
def test_upgrade_waits_for_the_stopped_service_process_to_exit(converge, simulator):
    faults = _faults(service_exit_lingers={"containerd": 5})
    assert converge(faults, version="1.7.29")[0].rc == 0
    run, result = converge(faults, version="2.1.5")
    assert run.rc == 0, run.stdout
    assert "killed" not in result
    state = simulator.state()
    assert _exe_version(state) == "2.1.5"
    assert 5 <= state["clock"] < 6  # waited for the exit, no longer
    assert not any(e.startswith("process_kill") for e in state["events"])


def test_process_outliving_the_timeout_is_ended_before_binaries_are_replaced(converge, simulator):
    faults = _faults(service_exit_lingers={"containerd": 3600})
    assert converge(faults, version="1.7.29")[0].rc == 0
    _seed(simulator)  # forget the install's events
    old_pid = simulator.state()["services"]["containerd"]["pid"]
    run, result = converge(faults, version="2.1.5", start_timeout=30)
    assert run.rc == 0, run.stdout
    assert result["killed"] == [{"service": "containerd", "pid": old_pid,
                                 "reason": "process still running 30 seconds after the service stopped"}]
    state = simulator.state()
    assert _exe_version(state) == "2.1.5"
    events = state["events"]
    assert events.index(f"process_kill containerd {old_pid}") < next(
        i for i, e in enumerate(events) if e.startswith("archive_extract"))


# -- defect 4: locked images -----------------------------------------------------------------
def test_absent_ends_our_shims_first_and_leaves_dockers_alone(converge, simulator):
    assert converge(version="2.1.5")[0].rc == 0
    _seed(simulator, SHIM, SHIM, DOCKER_SHIM)
    run, result = converge(state="absent")
    assert run.rc == 0, run.stdout
    state = simulator.state()
    assert [p["image"] for p in state["processes"]] == [DOCKER_SHIM]
    assert not any(k.startswith(r"c:\program files\containerd") for k in state["files"])
    events = state["events"]
    assert events.index("process_kill containerd-shim-runhcs-v1 9000") < events.index(
        r"path_remove C:\Program Files\containerd")


def test_upgrade_leaves_docker_engine_shims_alone(converge, simulator):
    assert converge(version="1.7.29")[0].rc == 0
    _seed(simulator, SHIM, DOCKER_SHIM)
    run = converge(version="2.1.5")[0]
    assert run.rc == 0, run.stdout
    assert [p["image"] for p in simulator.state()["processes"] if "shim" in p["name"]] == [DOCKER_SHIM]


def test_reinstall_of_unreadable_binary_stops_and_restarts_the_service(converge, simulator):
    assert converge(version="2.1.5")[0].rc == 0
    state = simulator.state()
    state["files"][EXE.lower()]["content"] = base64.b64encode(b"MZ\x90\x00 truncated").decode()
    state["events"] = []
    simulator.write_state(state)
    _seed(simulator, SHIM)
    run, result = converge(version="2.1.5")
    assert run.rc == 0, run.stdout
    assert result["changes"][0] == "install containerd 2.1.5"
    state = simulator.state()
    assert _exe_version(state) == "2.1.5"
    events = state["events"]
    extract = next(i for i, e in enumerate(events) if e.startswith("archive_extract"))
    assert events.index("service_stop containerd") < extract < events.index("service_start containerd")
    assert state["services"]["containerd"]["status"] == "Running"
    assert _containerd_process(state)["image"] == EXE


def test_any_process_running_from_bin_is_ended_before_the_swap(converge, simulator):
    """ctr.exe run by hand holds its image as much as a shim does."""
    assert converge(version="1.7.29")[0].rc == 0
    state = simulator.state()
    ctr = BIN + r"\ctr.exe"
    state["processes"].append({"pid": 7000, "name": "ctr", "image": ctr, "exits_at": None})
    simulator.write_state(state)
    # process_stop ends it: the upgrade goes through
    run = converge(version="2.1.5")[0]
    assert run.rc == 0, run.stdout
    assert "process_kill ctr 7000" in simulator.state()["events"]


# -- honest result ---------------------------------------------------------------------------
def test_result_reports_the_observed_service(converge, simulator):
    assert converge(version="2.1.5")[0].rc == 0
    state = simulator.state()
    state["services"]["containerd"]["start_mode"] = "Manual"
    simulator.write_state(state)
    run, result = converge(version="2.1.5", check=True)
    assert run.rc == 0 and result["changed"] is True
    assert result["service"]["start_mode"] == "Manual" and result["service"]["status"] == "Running"
    run, result = converge(version="2.1.5")
    assert result["service"]["start_mode"] == "Automatic"  # what the apply made true
    assert converge(version="2.1.5", check=True)[1]["service"]["start_mode"] == "Automatic"


def test_check_mode_on_a_fresh_host_reports_no_service(converge):
    run, result = converge(version="2.1.5", check=True)
    assert run.rc == 0 and result["changed"] is True
    assert result["service"]["status"] is None and result["service"]["start_mode"] is None
