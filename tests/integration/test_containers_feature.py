"""The wcow.buildkit.containers_feature role against simulated Windows hosts.

Each case asserts on what the host went through (feature states, boot_id, events and which
ansible.windows modules reached it), not only on the play recap.
"""

from __future__ import annotations

import json
import re
import typing as t

import pytest
from wcow_sim.state import new_state

PLAY = """
- name: Enable the Containers feature
  hosts: windows_builders
  gather_facts: false
  roles:
    - wcow.buildkit.containers_feature
"""
SERVER = 20348
CLIENT = 22631


@pytest.fixture(autouse=True)
def _features_as_a_new_host_has_them(simulator):
    """These tests turn the Containers feature on themselves: start from a host where it is off."""
    simulator.host_vars = {}


def seed(simulator, *, build: int = SERVER, features: dict[str, str] | None = None,
         pending_reboot: bool = False) -> None:
    """An existing host: a new host's state with some features already enabled."""
    state = new_state(build)
    state["features"].update(features or {})
    state["pending_reboot"] = pending_reboot
    simulator.write_state(state)


def modules_used(state: dict[str, t.Any]) -> set[str]:
    return set(state["stats"]["by_module"])


_TASK = re.compile(r"^TASK \[(?:[^\]]* : )?(?P<name>.*)\] \**$")


def failure(run, host: str = "sim-host") -> tuple[str, str]:
    """(task name, msg) of the host's failed task, from the default callback's output."""
    task = None
    for line in run.stdout.splitlines():
        match = _TASK.match(line)
        if match:
            task = match["name"]
        elif line.startswith(f"fatal: [{host}]: FAILED! => "):
            return task, json.loads(line.split(" => ", 1)[1])["msg"]
    raise AssertionError(f"no task failed on {host}: {run.stdout[-2000:]}")


def test_server_check_mode_then_enable_then_idempotent(simulator):
    play = simulator.playbook(PLAY)

    plan = simulator.run(play, check=True)
    assert plan.rc == 0, plan.stdout + plan.stderr
    assert plan.recap["sim-host"]["changed"] == 2  # the feature and the restart it would need
    state = simulator.state()
    assert state["features"]["Containers"] == "Available"
    assert (state["boot_id"], state["pending_reboot"], state["events"]) == (1, False, [])
    assert "raw" not in modules_used(state)  # win_reboot sent no command

    first = simulator.run(play)
    assert first.rc == 0, first.stdout + first.stderr
    state = simulator.state()
    assert state["features"] == {"Containers": "Enabled", "Microsoft-Hyper-V": "Available"}
    assert state["boot_id"] == 2
    assert state["events"] == ["feature Containers EnablePending", "reboot 2"]
    assert "ansible.windows.win_feature" in modules_used(state)
    assert "ansible.windows.win_optional_feature" not in modules_used(state)

    for check in (True, False):
        again = simulator.run(play, check=check)
        assert again.rc == 0, again.stdout + again.stderr
        assert again.recap["sim-host"]["changed"] == 0, (check, again.stdout)
        assert simulator.state()["events"] == state["events"]


def test_client_uses_optional_features_and_hyperv_parent(simulator):
    play = simulator.playbook(PLAY)
    host = {"sim-host": {"sim_build": CLIENT, "containers_feature_hyperv": True}}

    # win_optional_feature never reports reboot_required in check mode: the role still plans the restart.
    plan = simulator.run(play, host, check=True)
    assert plan.rc == 0, plan.stdout + plan.stderr
    assert plan.recap["sim-host"]["changed"] == 2
    assert "Restart Windows to finish enabling the features] ***\nchanged: [sim-host]" in plan.stdout
    state = simulator.state()
    assert (state["boot_id"], state["events"]) == (1, [])
    assert state["features"] == {"Containers": "Available", "Microsoft-Hyper-V": "Available"}

    first = simulator.run(play, host)
    assert first.rc == 0, first.stdout + first.stderr
    state = simulator.state()
    # DISM names; Hyper-V's platform needs its parent, which only include_parent enables.
    assert state["features"] == {"Containers": "Enabled", "Microsoft-Hyper-V": "Enabled",
                                 "Microsoft-Hyper-V-All": "Enabled"}
    assert state["boot_id"] == 2
    assert [e for e in state["events"] if e.startswith("reboot")] == ["reboot 2"]
    used = modules_used(state)
    assert "ansible.windows.win_optional_feature" in used
    assert not {"ansible.windows.win_feature", "ansible.windows.win_feature_info"} & used

    second = simulator.run(play, host)
    assert second.rc == 0, second.stdout + second.stderr
    assert second.recap["sim-host"]["changed"] == 0, second.stdout
    assert simulator.state()["boot_id"] == 2


def test_server_hyperv_uses_server_manager_name_and_one_reboot(simulator):
    run = simulator.run(simulator.playbook(PLAY), {"sim-host": {"containers_feature_hyperv": True}})
    assert run.rc == 0, run.stdout + run.stderr
    state = simulator.state()
    assert state["features"] == {"Containers": "Enabled", "Microsoft-Hyper-V": "Enabled"}
    assert state["events"] == ["feature Containers EnablePending", "feature Microsoft-Hyper-V EnablePending",
                               "reboot 2"]


def test_enabled_feature_without_pending_reboot_never_reboots(simulator):
    seed(simulator, features={"Containers": "Enabled"})
    run = simulator.run(simulator.playbook(PLAY))
    assert run.rc == 0, run.stdout + run.stderr
    assert run.recap["sim-host"]["changed"] == 0
    state = simulator.state()
    assert (state["boot_id"], state["events"]) == (1, [])
    assert "raw" not in modules_used(state)


def test_pending_reboot_reboots_even_when_feature_is_enabled(simulator):
    # The state the `pending_reboot` fault gives a new host, on a host whose feature is enabled.
    seed(simulator, features={"Containers": "Enabled"}, pending_reboot=True)
    play = simulator.playbook(PLAY)

    refused = simulator.run(play, {"sim-host": {"containers_feature_reboot": False}})
    assert refused.rc != 0
    task, msg = failure(refused)
    assert task == "Stop because a restart is needed and the role may not restart"
    assert "Windows reports a restart pending from an earlier change" in msg
    assert simulator.state()["boot_id"] == 1

    run = simulator.run(play)
    assert run.rc == 0, run.stdout + run.stderr
    assert run.recap["sim-host"]["changed"] == 1  # the restart only
    state = simulator.state()
    assert (state["boot_id"], state["pending_reboot"], state["events"]) == (2, False, ["reboot 2"])
    assert state["features"]["Containers"] == "Enabled"


def test_pending_reboot_fault_and_new_feature_share_one_reboot(simulator):
    run = simulator.run(simulator.playbook(PLAY), {"sim-host": {"sim_faults": {"pending_reboot": True}}})
    assert run.rc == 0, run.stdout + run.stderr
    state = simulator.state()
    assert state["events"] == ["feature Containers EnablePending", "reboot 2"]
    assert (state["features"]["Containers"], state["pending_reboot"]) == ("Enabled", False)


def test_reboot_not_allowed_fails_clearly_and_leaves_feature_pending(simulator):
    play = simulator.playbook(PLAY)
    refused = simulator.run(play, {"sim-host": {"containers_feature_reboot": False}})
    assert refused.rc != 0
    task, msg = failure(refused)
    assert task == "Stop because a restart is needed and the role may not restart"
    assert "sim-host must restart before Containers can be used" in msg
    assert "Windows finishes enabling Containers at the next restart" in msg
    assert "containers_feature_reboot is false" in msg
    assert "set containers_feature_reboot: true" in msg
    state = simulator.state()
    assert state["features"]["Containers"] == "EnablePending"
    assert (state["boot_id"], state["pending_reboot"]) == (1, True)
    assert state["events"] == ["feature Containers EnablePending"]

    # Allowed next time: the pending feature (NoChangeNeeded, restart needed) gets its restart.
    run = simulator.run(play)
    assert run.rc == 0, run.stdout + run.stderr
    assert run.recap["sim-host"]["changed"] == 1
    state = simulator.state()
    assert state["features"]["Containers"] == "Enabled"
    assert state["events"] == ["feature Containers EnablePending", "reboot 2"]


@pytest.mark.parametrize("build, detail", [(SERVER, "Containers: Available"), (CLIENT, "not Enabled")])
def test_feature_rolled_back_at_restart_fails_verification(simulator, build, detail):
    hosts = {"sim-host": {"sim_build": build, "sim_faults": {"feature_rollback": ["Containers"]}}}
    run = simulator.run(simulator.playbook(PLAY), hosts)
    assert run.rc != 0
    task, msg = failure(run)
    assert task == "Check that the features are active"
    assert f"Containers on sim-host is not active ({detail}) after the restart" in msg
    state = simulator.state()
    assert state["boot_id"] == 2
    assert state["events"][-1] == "feature_rollback Containers"


def test_bad_variables_are_named_before_the_host_is_touched(simulator):
    hosts = {
        "bad-timeout": {"containers_feature_reboot_timeout": 0},
        "bad-hyperv": {"containers_feature_hyperv": "perhaps"},
    }
    run = simulator.run(simulator.playbook(PLAY), hosts)
    assert run.rc != 0
    msg = failure(run, "bad-timeout")[1]
    assert "containers_feature_reboot_timeout must be a positive number of seconds, got '0'" in msg
    msg = failure(run, "bad-hyperv")[1]
    assert "containers_feature_hyperv" in msg
    assert "bool" in msg
    assert list(simulator.state_dir.glob("*.json")) == []  # neither host was contacted
