"""win_containerd against the simulated host: install, converge, upgrade, rollback, drift, removal."""

from __future__ import annotations

import json
import pathlib
import tomllib

from wcow_sim.state import machine_path_entries

MODULE = "wcow.buildkit.win_containerd"
EXE = r"c:\program files\containerd\bin\containerd.exe"
CONFIG = r"c:\program files\containerd\config.toml"


def _round_trips(state):
    return state["stats"]["by_module"].get(MODULE, {}).get("round_trips", 0)


def _exe_version(state):
    import base64
    return base64.b64decode(state["files"][EXE]["content"]).decode().split()[2]


def _config(state):
    import base64
    return base64.b64decode(state["files"][CONFIG]["content"]).decode()


def test_fresh_install_then_converged_in_one_round_trip(converge, simulator):
    run, result = converge(version="2.1.5")
    assert run.rc == 0, run.stdout
    assert result["changed"] and result["version"] == "2.1.5" and result["previous_version"] is None
    state = simulator.state()
    service = state["services"]["containerd"]
    assert service["status"] == "Running" and service["start_mode"] == "Automatic"
    assert service["command_line"] == result["service"]["command_line"]
    assert "--log-file" in service["command_line"] and "--run-service" in service["command_line"]
    assert _exe_version(state) == "2.1.5"
    config = tomllib.loads(_config(state))  # containerd would refuse a file that does not parse
    assert config["version"] == 3  # the 2.x schema
    assert config["root"] == r"C:\ProgramData\containerd\root"
    assert config["grpc"]["address"] == r"\\.\pipe\containerd-containerd"  # the pipe the service serves
    assert r"C:\Program Files\containerd\bin" in machine_path_entries(state)
    assert machine_path_entries(state)[0] == r"%SystemRoot%\system32"  # everything else kept, in order
    assert _round_trips(state) <= 3

    before = _round_trips(state)
    run, result = converge(version="2.1.5")
    assert run.rc == 0 and run.recap["sim-host"]["changed"] == 0
    assert result["changed"] is False and result["changes"] == []
    assert _round_trips(simulator.state()) - before == 1


def test_check_mode_on_fresh_host_changes_nothing(converge, simulator, fake_github):
    run, result = converge(version="2.1.5", check=True)
    assert run.rc == 0, run.stdout
    assert result["changed"] is True and "install containerd 2.1.5" in result["changes"]
    state = simulator.state()
    assert state["services"] == {} and state["files"] == {}
    assert _round_trips(state) == 1
    assert fake_github.downloads("containerd-2.1.5-windows-amd64.tar.gz") == 0


def test_upgrade_switches_config_schema_and_restarts_buildkitd(converge, simulator):
    run = converge(version="1.7.29")[0]
    assert run.rc == 0, run.stdout
    state = simulator.state()
    assert "version = 2" in _config(state)
    # a running buildkitd and a leftover shim, as a real builder would have
    state["services"]["buildkitd"] = {**state["services"]["containerd"], "name": "buildkitd",
                                      "command_line": state["services"]["containerd"]["command_line"],
                                      "depends_on": ["containerd"], "pid": None}
    shim = r"C:\Program Files\containerd\bin\containerd-shim-runhcs-v1.exe"
    state["processes"] += [{"pid": 9000 + n, "name": "containerd-shim-runhcs-v1", "image": shim, "exits_at": None}
                           for n in (1, 2)]
    state["events"] = []
    simulator.write_state(state)

    run, result = converge(version="2.1.5")
    assert run.rc == 0, run.stdout
    assert result["previous_version"] == "1.7.29" and result["version"] == "2.1.5"
    assert result["changes"][0] == "upgrade containerd 1.7.29 -> 2.1.5"
    state = simulator.state()
    assert _exe_version(state) == "2.1.5"
    assert "version = 3" in _config(state) and "io.containerd.cri.v1.images" in _config(state)
    events = state["events"]
    extract = next(i for i, e in enumerate(events) if e.startswith("archive_extract"))
    assert events.index("service_stop buildkitd") < events.index("service_stop containerd") \
        < events.index("process_kill containerd-shim-runhcs-v1 9001") \
        < events.index("process_kill containerd-shim-runhcs-v1 9002") < extract
    assert events[-2:] == ["service_start containerd", "service_start buildkitd"]
    assert not [p for p in state["processes"] if p["name"] == "containerd-shim-runhcs-v1"]
    assert state["services"]["buildkitd"]["status"] == "Running"
    staged = sorted(f["path"].rsplit("\\", 1)[1] for f in state["files"].values() if "wcow.buildkit" in f["path"])
    assert staged == ["containerd-2.1.5-windows-amd64.tar.gz"]  # the 1.7.29 archive was cleaned up


def test_config_override_restarts_service_once(converge, simulator):
    assert converge(version="2.1.5")[0].rc == 0
    state = simulator.state()
    state["events"] = []
    simulator.write_state(state)
    override = {"plugins": {"io.containerd.cri.v1.images": {"pinned_images": {"sandbox": "registry.example/pause:3.10"}}}}
    run, result = converge(version="2.1.5", config=override)
    assert run.rc == 0, run.stdout
    state = simulator.state()
    assert "registry.example/pause:3.10" in _config(state)
    assert state["events"].count("service_stop containerd") == 1
    assert state["events"].count("service_start containerd") == 1
    assert result["changes"] == [r"write C:\Program Files\containerd\config.toml"]
    # and converged again afterwards
    assert converge(version="2.1.5", config=override)[1]["changed"] is False


def test_diff_shows_config_before_and_after(converge, simulator):
    assert converge(version="2.1.5")[0].rc == 0
    run, result = converge(version="2.1.5", config={"debug": {"level": "debug"}}, check=True, cli=("--diff",))
    assert run.rc == 0, run.stdout
    assert result["changed"] is True
    added = [line for line in run.stdout.splitlines() if line.startswith("+") and "level" in line]
    assert added and "debug" in added[0]
    assert "--- before: C:\\Program Files\\containerd\\config.toml" in run.stdout
    assert "debug" not in _config(simulator.state()).split("[debug]")[1].split("[")[0]


def test_failed_start_after_upgrade_rolls_back(converge, simulator):
    faults = {"sim_faults": {"service_start_fails": ["containerd@2.1.5"]}}
    assert converge(faults, version="1.7.29")[0].rc == 0
    run, result = converge(faults, version="2.1.5")
    assert run.rc != 0
    assert result["rolled_back"] is True and result["attempted_version"] == "2.1.5"
    assert "rolled back to 1.7.29" in result["msg"]
    assert any("exited right after start" in line for line in result["log_tail"])
    state = simulator.state()
    assert _exe_version(state) == "1.7.29"
    assert "version = 2" in _config(state)
    assert state["services"]["containerd"]["status"] == "Running"
    assert state["services"]["containerd"]["running_version"] == "1.7.29"


def test_failed_rollback_says_where_the_previous_files_are(converge, simulator):
    assert converge(version="1.7.29")[0].rc == 0
    run, result = converge({"sim_faults": {"service_start_fails": ["containerd"]}}, version="2.1.5")
    assert run.rc != 0 and result["rolled_back"] is False
    assert "restoring 1.7.29 failed too" in result["msg"]
    assert r"C:\Program Files\containerd.previous" in result["msg"]
    assert result["cmd"] == "script service_start"


def test_checksum_mismatch_changes_nothing(converge, simulator):
    run, result = converge(version="2.1.5", checksum="sha256:" + "0" * 64)
    assert run.rc != 0
    assert "0" * 64 in result["msg"] and "containerd-2.1.5-windows-amd64.tar.gz" in result["msg"]
    state = simulator.state()
    assert state["files"] == {} and state["services"] == {}
    assert not any("containerd" in p.lower() for p in machine_path_entries(state))


def test_drifted_service_command_line_is_repaired(converge, simulator):
    assert converge(version="2.1.5")[0].rc == 0
    state = simulator.state()
    desired = state["services"]["containerd"]["command_line"]
    state["services"]["containerd"]["command_line"] = desired.replace("--log-level info", "--log-level debug")
    state["events"] = []
    simulator.write_state(state)
    run, result = converge(version="2.1.5")
    assert run.rc == 0, run.stdout
    assert result["changes"] == ["re-register service containerd: command line differs"]
    state = simulator.state()
    assert state["services"]["containerd"]["command_line"] == desired
    candidate = r"C:\Program Files\containerd\config.toml.new"  # tried with the binary before anything stops
    assert state["events"] == [f"file_write {candidate}", f"path_remove {candidate}",
                               "service_stop containerd", "service_unregister containerd",
                               "service_register containerd", "service_start containerd"]


def test_absent_then_present(converge, simulator):
    assert converge(version="2.1.5", defender_exclusion=True)[0].rc == 0
    assert simulator.state()["defender_exclusions"]["processes"] == [r"C:\Program Files\containerd\bin\containerd.exe"]
    run, result = converge(state="absent")
    assert run.rc == 0, run.stdout
    assert result["changed"] and result["version"] is None and result["previous_version"] == "2.1.5"
    state = simulator.state()
    assert state["services"] == {}
    assert not any("containerd" in p.lower() for p in machine_path_entries(state))
    assert state["defender_exclusions"]["processes"] == []
    assert not any(k.startswith(r"c:\program files\containerd") or "wcow.buildkit" in k for k in state["files"])
    assert converge(state="absent")[1]["changed"] is False
    run, result = converge(version="2.1.5")
    assert run.rc == 0 and result["changed"] and simulator.state()["services"]["containerd"]["status"] == "Running"


def test_bad_input_is_named_and_changes_nothing(converge, simulator):
    run, result = converge(version="2.1.5", install_dir="relative\\path")
    assert run.rc != 0 and "install_dir must be an absolute Windows path" in result["msg"]
    run, result = converge(version="1.6.0")
    assert run.rc != 0 and "1.7.7" in result["msg"]
    run, result = converge(version="2.1.5", config={"plugins": {"io.containerd.grpc.v1.cri": {"sandbox_image": "x"}}})
    assert run.rc != 0 and "io.containerd.cri.v1.images" in result["msg"]
    run, result = converge(version="2.1.5", log_level="loud")
    assert run.rc != 0 and "log_level" in result["msg"]
    assert "Traceback" not in run.stdout + run.stderr
    assert not pathlib.Path(simulator.state_dir / "sim-host.json").exists() or simulator.state()["services"] == {}


def test_dropped_connection_is_unreachable_not_a_crash(converge, simulator):
    run = converge({"sim_faults": {"drop_connection": "archive_extract"}}, version="2.1.5")[0]
    assert run.recap["sim-host"]["unreachable"] == 1
    assert "Traceback" not in run.stdout
    run, result = converge(version="2.1.5")
    assert run.rc == 0 and simulator.state()["services"]["containerd"]["status"] == "Running"


def test_module_defaults_group_reaches_the_module(simulator, fake_github, tmp_path):
    play = [{"hosts": "windows_builders", "gather_facts": False,
             "module_defaults": {"group/wcow.buildkit.buildkit": {
                 **fake_github.options(cache_dir=str(tmp_path / "cache")), "version": "1.7.29"}},
             "tasks": [{"wcow.buildkit.win_containerd": {"log_level": "debug"}}]}]
    run = simulator.run(simulator.playbook(json.dumps(play)))
    assert run.rc == 0, run.stdout
    assert run.result()["version"] == "1.7.29"
    assert "--log-level debug" in simulator.state()["services"]["containerd"]["command_line"]
