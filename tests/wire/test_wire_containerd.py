"""win_containerd through ansible's real `winrm` connection plugin and pywinrm to a loopback listener."""

from __future__ import annotations

import base64
import json

import pytest

MODULE = "wcow.buildkit.win_containerd"
ROLE_PLAY = """
- name: Enable the Containers feature
  hosts: windows_builders
  gather_facts: false
  roles:
    - wcow.buildkit.containers_feature
"""


def _module(state):
    return state["stats"]["by_module"].get(MODULE, {})


@pytest.mark.parametrize("https", [False, True], ids=["ntlm-encrypted-http", "basic-https"])
def test_fresh_install_then_converged_in_one_command(listener, wire_converge, simulator, https):
    endpoint = listener(https=https)
    run, result, _cpu = wire_converge(endpoint.hostvars(), version="2.1.5")
    assert run.rc == 0, run.stdout + run.stderr
    assert result["changed"] and result["version"] == "2.1.5"
    state = simulator.state()
    assert state["services"]["containerd"]["status"] == "Running"
    assert _module(state)["round_trips"] <= 3
    assert endpoint.counts.module(MODULE)["commands"] <= 3
    before = endpoint.counts.module(MODULE)["commands"]

    run, result, _cpu = wire_converge(endpoint.hostvars(), version="2.1.5")
    assert run.rc == 0 and run.recap["sim-host"]["changed"] == 0, run.stdout
    assert result["changed"] is False
    assert endpoint.counts.module(MODULE)["commands"] - before == 1


def _exe_version(state):
    exe = r"c:\program files\containerd\bin\containerd.exe"
    return base64.b64decode(state["files"][exe]["content"]).decode().split()[2]


def test_failed_start_after_upgrade_rolls_back(listener, wire_converge, simulator):
    endpoint = listener(faults={"service_start_fails": ["containerd@2.1.5"]})
    assert wire_converge(endpoint.hostvars(), version="1.7.29")[0].rc == 0
    run, result, _cpu = wire_converge(endpoint.hostvars(), version="2.1.5")
    assert run.rc != 0
    assert result["rolled_back"] is True and result["attempted_version"] == "2.1.5"
    assert "rolled back to 1.7.29" in result["msg"]
    state = simulator.state()
    assert _exe_version(state) == "1.7.29"
    assert state["services"]["containerd"]["status"] == "Running"
    assert state["services"]["containerd"]["running_version"] == "1.7.29"


def test_containers_feature_reboots_through_the_real_plugin(listener, simulator):
    endpoint = listener(reboot_down_s=3, features={})  # a new host: the role turns the feature on
    play = simulator.playbook(ROLE_PLAY)
    run = simulator.run(play, {"sim-host": endpoint.hostvars()})
    assert run.rc == 0, run.stdout + run.stderr
    state = simulator.state()
    assert state["features"]["Containers"] == "Enabled"
    assert state["boot_id"] == 2 and state["pending_reboot"] is False
    assert endpoint.refused > 0  # win_reboot met the listener away and reconnected
    again = simulator.run(play, {"sim-host": endpoint.hostvars()})
    assert again.rc == 0 and again.recap["sim-host"]["changed"] == 0, again.stdout
    assert simulator.state()["boot_id"] == 2


def test_the_double_counts_the_requests_the_wire_makes(listener, wire_converge, simulator, big_github, tmp_path):
    """Fresh install (a put_file of a 20 MB archive) and converged: double and wire agree request for request."""
    (tmp_path / "double").mkdir()
    double = type(simulator)(tmp_path / "double")  # the connection double, on a host of its own
    endpoint = listener()
    options = {**big_github.options(cache_dir=str(tmp_path / "cache")), "version": "2.1.5"}
    play = double.playbook(json.dumps([{"hosts": "windows_builders", "gather_facts": False,
                                        "tasks": [{MODULE: options}]}]))
    for _run in range(2):  # fresh, then converged
        assert wire_converge(endpoint.hostvars(), version="2.1.5")[0].rc == 0
        assert double.run(play).rc == 0
        wire = endpoint.counts.module(MODULE)
        state = double.state()["stats"]["by_module"][MODULE]
        assert (state["round_trips"], state["requests"]) == (wire["commands"], wire["requests"])
