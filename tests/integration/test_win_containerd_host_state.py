"""win_containerd and the host state it shares with others: machine PATH, config bytes, Defender."""

from __future__ import annotations

import base64
import json

import pytest
from wcow_sim.state import DEFAULT_MACHINE_PATH, machine_path, machine_path_entries

MODULE = "wcow.buildkit.win_containerd"
BIN = r"C:\Program Files\containerd\bin"
EXE = BIN + r"\containerd.exe"
CONFIG = r"c:\program files\containerd\config.toml"


def _edit(simulator, change):
    state = simulator.state()
    change(state)
    state["events"] = []
    simulator.write_state(state)


# -- defect 6: the machine PATH is a REG_EXPAND_SZ value; %SystemRoot% entries stay as written ------------

def test_machine_path_keeps_expandable_entries_and_kind_through_add_and_remove(converge, simulator):
    run, _result = converge(version="2.1.5")
    assert run.rc == 0, run.stdout
    value = machine_path(simulator.state())
    assert value["kind"] == "REG_EXPAND_SZ"
    assert value["value"] == DEFAULT_MACHINE_PATH + ";" + BIN
    assert machine_path_entries(simulator.state())[0] == r"%SystemRoot%\system32"

    run, result = converge(state="absent")
    assert run.rc == 0, run.stdout
    assert f"remove {BIN} from the machine PATH" in result["changes"]
    value = machine_path(simulator.state())
    assert value == {"kind": "REG_EXPAND_SZ", "value": DEFAULT_MACHINE_PATH}


def test_machine_path_entry_spelled_with_a_variable_counts_as_ours(converge, simulator):
    run, _result = converge(version="2.1.5")
    assert run.rc == 0, run.stdout
    spelled = DEFAULT_MACHINE_PATH + r";%ProgramFiles%\containerd\bin\;C:\Tools"

    def respell(state):
        machine_path(state)["value"] = spelled
    _edit(simulator, respell)
    run, result = converge(version="2.1.5")
    assert run.rc == 0 and result["changed"] is False, result
    assert machine_path(simulator.state())["value"] == spelled

    run, result = converge(state="absent")
    assert run.rc == 0, run.stdout
    assert machine_path(simulator.state()) == {"kind": "REG_EXPAND_SZ", "value": DEFAULT_MACHINE_PATH + r";C:\Tools"}


# -- defect 8: the config's bytes decide drift, not the text ReadAllText decodes ------------------------

def _set_file(state, path, data):
    import hashlib
    entry = state["files"][path]
    entry.update(content=base64.b64encode(data).decode("ascii"), sha256=hashlib.sha256(data).hexdigest(), size=len(data))


@pytest.mark.parametrize("encode", [
    pytest.param(lambda text: b"\xff\xfe" + text.encode("utf-16-le"), id="utf16le-bom"),
    pytest.param(lambda text: b"\xef\xbb\xbf" + text.encode("utf-8"), id="utf8-bom"),
])
def test_reencoded_config_is_rewritten_and_containerd_restarted(converge, simulator, encode):
    run, _result = converge(version="2.1.5")
    assert run.rc == 0, run.stdout
    written = base64.b64decode(simulator.state()["files"][CONFIG]["content"])
    _edit(simulator, lambda state: _set_file(state, CONFIG, encode(written.decode("utf-8"))))

    run, result = converge(version="2.1.5")
    assert run.rc == 0, run.stdout
    assert result["changes"] == [r"write C:\Program Files\containerd\config.toml"]
    state = simulator.state()
    assert base64.b64decode(state["files"][CONFIG]["content"]) == written
    config_path = r"C:\Program Files\containerd\config.toml"
    # the new config is tried by containerd.exe in a trial file first, then written, once, with one restart
    assert state["events"] == [f"file_write {config_path}.new", f"path_remove {config_path}.new",
                               "service_stop containerd", f"file_write {config_path}", "service_start containerd"]
    assert converge(version="2.1.5")[1]["changed"] is False


# -- defects 10 and 12: Defender states, policy, and an administrator's own exclusions ----------------

ADMIN = r"C:\Tools\scanner-heavy.exe"


def _exclusions(simulator):
    return simulator.state()["defender_exclusions"]["processes"]


def _warnings(run):
    return " ".join((run.stdout + run.stderr).split())


def test_defender_exclusion_unset_leaves_every_exclusion_alone(converge, simulator):
    assert converge(version="2.1.5")[0].rc == 0
    _edit(simulator, lambda state: state["defender_exclusions"].update(processes=[EXE, ADMIN]))
    run, result = converge(version="2.1.5")
    assert run.rc == 0, run.stdout
    assert result["changed"] is False, result["changes"]
    assert _exclusions(simulator) == [EXE, ADMIN]


def test_defender_exclusion_true_adds_ours_false_removes_only_ours(converge, simulator):
    assert converge(version="2.1.5")[0].rc == 0
    _edit(simulator, lambda state: state["defender_exclusions"].update(processes=[ADMIN]))
    run, result = converge(version="2.1.5", defender_exclusion=True)
    assert run.rc == 0 and result["changes"] == ["add Windows Defender process exclusions"], run.stdout
    assert _exclusions(simulator) == [ADMIN, EXE]
    assert converge(version="2.1.5", defender_exclusion=True)[1]["changed"] is False
    run, result = converge(version="2.1.5", defender_exclusion=False)
    assert run.rc == 0 and result["changes"] == ["remove Windows Defender process exclusions"], run.stdout
    assert _exclusions(simulator) == [ADMIN]


def test_absent_removes_our_exclusion_and_keeps_the_administrators(converge, simulator):
    assert converge(version="2.1.5", defender_exclusion=True)[0].rc == 0
    _edit(simulator, lambda state: state["defender_exclusions"]["processes"].append(ADMIN))
    run, result = converge(state="absent")
    assert run.rc == 0, run.stdout
    assert "remove Windows Defender process exclusions" in result["changes"]
    assert _exclusions(simulator) == [ADMIN]


@pytest.mark.parametrize("status, reason", [("missing", "not installed"), ("off", "0x800106ba")])
def test_defender_missing_or_off_installs_and_warns(converge, simulator, status, reason):
    run, result = converge({"sim_faults": {"defender": status}}, version="2.1.5", defender_exclusion=True)
    assert run.rc == 0, run.stdout
    assert "add Windows Defender process exclusions" not in result["changes"]
    assert simulator.state()["services"]["containerd"]["status"] == "Running"
    assert "defender_exclusion" in _warnings(run) and reason in _warnings(run)
    assert _exclusions(simulator) == []


def test_policy_managed_exclusions_are_not_a_change_on_every_run(converge, simulator):
    policy = {"sim_faults": {"defender_policy_exclusions": [ADMIN]}}
    assert converge(policy, version="2.1.5")[0].rc == 0
    before = simulator.state()["stats"]["by_module"][MODULE]["round_trips"]
    for _attempt in range(2):
        run, result = converge(policy, version="2.1.5", defender_exclusion=True)
        assert run.rc == 0, run.stdout
        assert result["changed"] is False and result["changes"] == [], result
        assert "policy" in _warnings(run)
    assert simulator.state()["stats"]["by_module"][MODULE]["round_trips"] - before <= 4


def test_role_leaves_exclusions_alone_unless_the_variable_is_set(simulator, fake_github, tmp_path):
    """The role passes containerd_defender_exclusion only when it is defined (default(omit))."""
    role_vars = {f"containerd_{k}": v for k, v in fake_github.options(cache_dir=str(tmp_path / "cache")).items()}
    role_vars["containerd_version"] = "2.1.5"

    def play(extra):
        return simulator.playbook(json.dumps([{"hosts": "windows_builders", "gather_facts": False,
                                               "roles": [{"role": "wcow.buildkit.containerd",
                                                          "vars": {**role_vars, **extra}}]}]))
    assert simulator.run(play({})).rc == 0
    _edit(simulator, lambda state: state["defender_exclusions"].update(processes=[EXE, ADMIN]))
    run = simulator.run(play({}))
    assert run.rc == 0 and run.recap["sim-host"]["changed"] == 0, run.stdout
    assert _exclusions(simulator) == [EXE, ADMIN]
    run = simulator.run(play({"containerd_defender_exclusion": False}))
    assert run.rc == 0 and run.recap["sim-host"]["changed"] == 1, run.stdout
    assert _exclusions(simulator) == [ADMIN]
