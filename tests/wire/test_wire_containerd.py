"""win_containerd through ansible's real `winrm` connection plugin and pywinrm to a loopback listener."""

from __future__ import annotations

import pytest

MODULE = "wcow.buildkit.win_containerd"


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

