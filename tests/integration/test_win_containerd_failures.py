"""win_containerd when something fails half-way: rollback, registration order, log folder, purge."""

from __future__ import annotations

import base64


MODULE = "wcow.buildkit.win_containerd"
EXE = r"c:\program files\containerd\bin\containerd.exe"
CONFIG = r"c:\program files\containerd\config.toml"


def _exe_version(state):
    return base64.b64decode(state["files"][EXE]["content"]).decode().split()[2]


def _config(state):
    return base64.b64decode(state["files"][CONFIG]["content"]).decode()


def test_failed_extract_during_upgrade_rolls_back(converge, simulator):
    assert converge(version="1.7.29")[0].rc == 0
    run, result = converge({"sim_faults": {"step_fails": ["archive_extract"]}}, version="2.1.5")
    assert run.rc != 0
    assert result["changed"] is True and result["rolled_back"] is True
    assert "archive_extract.ps1 failed" in result["msg"] and "rolled back to 1.7.29" in result["msg"]
    assert result["steps_done"][-1] == "install_backup" and "service_stop" in result["steps_done"]
    state = simulator.state()
    assert _exe_version(state) == "1.7.29" and "version = 2" in _config(state)
    assert state["services"]["containerd"]["status"] == "Running"
    assert state["services"]["containerd"]["running_version"] == "1.7.29"


def test_failed_step_and_failed_rollback_are_both_named(converge, simulator):
    assert converge(version="1.7.29")[0].rc == 0
    faults = {"sim_faults": {"step_fails": ["file_write"], "service_start_fails": ["containerd@1.7.29"]}}
    run, result = converge(faults, version="2.1.5")
    assert run.rc != 0 and result["changed"] is True and result["rolled_back"] is False
    assert "file_write.ps1 failed" in result["msg"] and "restoring 1.7.29 failed too" in result["msg"]
    assert "service_start.ps1 failed" in result["msg"]
    assert r"C:\Program Files\containerd.previous" in result["msg"]
    assert "install_restore" in result["rollback_steps_done"]


def test_failure_without_backup_reports_changed_and_steps(converge, simulator):
    run, result = converge({"sim_faults": {"step_fails": ["machine_path"]}}, version="2.1.5")
    assert run.rc != 0 and result["changed"] is True
    assert result["steps_done"][-2:] == ["archive_extract", "file_write"]
    assert "machine_path.ps1 failed" in result["msg"]


def test_log_file_in_a_missing_folder_is_created(converge, simulator):
    log_file = r"D:\logs\containerd\containerd.log"
    run, result = converge(version="2.1.5", log_file=log_file)
    assert run.rc == 0, run.stdout
    state = simulator.state()
    assert state["services"]["containerd"]["status"] == "Running"
    assert r"d:\logs\containerd" in state["dirs"]
    assert "booted" in base64.b64decode(state["files"][log_file.lower()]["content"]).decode()


def test_simulated_service_does_not_start_without_its_log_folder(converge, simulator):
    # The double itself: containerd creates root and state, but opens --log-file without creating its folder.
    assert converge(version="2.1.5")[0].rc == 0
    state = simulator.state()
    service = state["services"]["containerd"]
    service["command_line"] = service["command_line"].replace(
        r"C:\ProgramData\containerd\containerd.log", r"D:\missing\containerd.log")
    service["status"] = "Stopped"
    simulator.write_state(state)
    from wcow_sim import containerd  # noqa: F401  # pylint: disable=import-outside-toplevel,unused-import
    from wcow_sim.host import Host  # pylint: disable=import-outside-toplevel
    host = Host("sim-host", simulator.state())
    assert host.start_service("containerd") is False
    assert "service_log_open_failed " + r"D:\missing\containerd.log" in host.state["events"]
    assert not host.exists(r"D:\missing")  # nothing could be logged, no folder was made


def test_config_the_binary_rejects_leaves_the_service_running(converge, simulator):
    assert converge(version="2.1.5")[0].rc == 0
    before = _config(simulator.state())
    run, result = converge(version="2.1.5", log_level="debug", config={"disabled_plugins": ["cri"]})
    assert run.rc != 0
    assert 'invalid disabled plugin URI "cri"' in result["msg"]
    state = simulator.state()
    service = state["services"]["containerd"]
    assert service["status"] == "Running" and "--log-level info" in service["command_line"]
    assert _config(state) == before
    assert "service_stop containerd" not in state["events"][-3:]


def test_upgrade_with_a_config_the_new_binary_rejects_keeps_a_service(converge, simulator):
    assert converge(version="1.7.29")[0].rc == 0
    run, result = converge(version="2.1.5", log_level="debug", config={"disabled_plugins": ["cri"]})
    assert run.rc != 0 and result["rolled_back"] is True, result["msg"]
    assert 'invalid disabled plugin URI "cri"' in result["msg"]
    state = simulator.state()
    assert _exe_version(state) == "1.7.29" and "version = 2" in _config(state)
    service = state["services"]["containerd"]
    assert service["status"] == "Running" and "--log-level info" in service["command_line"]


def test_failed_re_registration_puts_the_old_service_back(converge, simulator):
    assert converge(version="1.7.29")[0].rc == 0
    old = simulator.state()["services"]["containerd"]["command_line"]
    run, result = converge({"sim_faults": {"step_fails": ["service_wait_gone"]}}, version="2.1.5", log_level="debug")
    assert run.rc != 0 and result["rolled_back"] is True, result["msg"]
    state = simulator.state()
    assert state["services"]["containerd"]["command_line"] == old
    assert state["services"]["containerd"]["status"] == "Running" and _exe_version(state) == "1.7.29"


def test_purge_deletes_the_configured_root_and_state_and_names_what_is_left(converge, simulator):
    config = {"root": "D:\\ctr\\root", "state": "D:\\ctr\\state"}
    assert converge(version="2.1.5", config=config)[0].rc == 0
    state = simulator.state()
    assert r"d:\ctr\root" in state["dirs"] and r"d:\ctr\state" in state["dirs"]  # containerd made them
    layer = "D:\\ctr\\root\\io.containerd.snapshotter.v1.windows\\snapshots\\7"
    deep = layer + "\\Files" + "\\very-long-folder-name-of-a-windows-layer" * 7 + "\\kernel32.dll"
    assert len(deep) > 260
    from wcow_sim.host import Host  # pylint: disable=import-outside-toplevel
    host = Host("sim-host", state)
    host.write_file(deep, b"MZ")
    host.write_file(layer + "\\Hives\\System_Delta", b"regf")
    host.file(layer + "\\Hives\\System_Delta")["acl"] = {"owner": "NT SERVICE\\TrustedInstaller",
                                                         "deny_administrators": True}
    busy = "D:\\ctr\\state\\io.containerd.runtime.v2.task\\default\\abc\\shim.log"
    host.write_file(busy, b"log")
    host.file(busy)["open_by"] = "containerd-shim-runhcs-v1.exe"
    simulator.write_state(host.state)

    run, result = converge(state="absent", purge=True)
    assert run.rc != 0 and result["changed"] is True
    assert "path_remove.ps1 failed" in result["msg"] and busy in result["msg"]
    assert "being used by another process" in result["msg"]
    state = simulator.state()
    left = [f["path"] for f in state["files"].values() if f["path"].lower().startswith("d:\\ctr")]
    assert left == [busy]  # everything else went: the long path and the file taken over from TrustedInstaller
    assert f"take_over {layer}\\Hives\\System_Delta" in state["events"]
    assert not any(k.startswith("c:\\programdata\\containerd") for k in state["files"])
    assert state["services"] == {}

    del state["files"][busy.lower()]["open_by"]  # the shim has gone
    simulator.write_state(state)
    run, result = converge(state="absent", purge=True)
    assert run.rc == 0, run.stdout
    state = simulator.state()
    assert not any(k.startswith("d:\\ctr") for k in state["files"]) and not any(
        d.startswith("d:\\ctr\\") for d in state["dirs"])
