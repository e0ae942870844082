"""The simulated host behaves like a Windows host for ansible.windows modules and win_reboot."""

import pytest

PLAY = """
- hosts: windows_builders
  gather_facts: false
  tasks:
    - ansible.windows.win_feature:
        name: Containers
      register: feature
    - ansible.windows.win_reboot:
      when: feature.reboot_required
"""


@pytest.fixture(autouse=True)
def _features_as_a_new_host_has_them(simulator):
    """These tests turn the Containers feature on themselves: start from a host where it is off."""
    simulator.host_vars = {}


def test_feature_then_reboot_persists_between_runs(simulator):
    play = simulator.playbook(PLAY)
    first = simulator.run(play)
    assert first.rc == 0, first.stdout + first.stderr
    assert first.recap["sim-host"]["changed"] == 2
    state = simulator.state()
    assert state["features"]["Containers"] == "Enabled"
    assert state["boot_id"] == 2
    second = simulator.run(play)
    assert second.rc == 0
    assert second.recap["sim-host"]["changed"] == 0
    assert simulator.state()["boot_id"] == 2


def test_check_mode_changes_nothing(simulator):
    run = simulator.run(simulator.playbook(PLAY), check=True)
    assert run.rc == 0, run.stdout
    assert simulator.state()["features"]["Containers"] == "Available"


def test_win_feature_refuses_client_edition(simulator):
    run = simulator.run(simulator.playbook(PLAY), {"sim-host": {"sim_build": 22631}})
    assert run.rc != 0
    assert "only works on Windows Server" in run.stdout
