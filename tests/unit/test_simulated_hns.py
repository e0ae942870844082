"""The simulated HNS: what Windows has by default, what HNSCall refuses, what a reboot does."""

from __future__ import annotations

import pytest

from wcow_sim import dispatch  # noqa: F401  pylint: disable=unused-import
from wcow_sim.ansible_windows import reboot
from wcow_sim.host import Host, ScriptFailure
from wcow_sim.registry import SCRIPTS
from wcow_sim.state import new_state


def _host(build=20348, containers="Enabled", **faults):
    state = new_state(build)
    state["features"]["Containers"] = containers
    return Host("win1", state, faults)


def _get(host):
    return SCRIPTS["hns_network"](host, {"Name": "nat", "Create": False})


def test_server_2022_has_nat_by_default_and_2019_has_none():
    assert _get(_host())["exists"] and _get(_host())["type"] == "NAT"
    assert not _get(_host(17763))["exists"]
    assert not _get(_host(hns_nat="absent"))["exists"]


def test_without_the_containers_feature_vmcompute_dll_is_missing():
    answer = _get(_host(containers="Available"))
    assert answer["available"] is False and "Unable to load DLL 'vmcompute.dll'" in answer["error"]
    with pytest.raises(ScriptFailure, match="Unable to load DLL 'vmcompute.dll'"):
        SCRIPTS["cni_boot"](_host(containers="Available"), {"Name": "nat"})


@pytest.mark.parametrize("subnet,gateway,error", [
    ("172.30.0.0/16", "10.0.0.1", "The parameter is incorrect"),
    ("172.23.0.0/16", "172.23.0.1", "The object already exists"),  # overlaps the default nat's 172.23.64.0/20
])
def test_hns_refuses_what_windows_refuses(subnet, gateway, error):
    host = _host()
    with pytest.raises(ScriptFailure, match=f"HNS failed with error : {error}"):
        SCRIPTS["hns_network"](host, {"Name": "other", "Create": True, "Type": "NAT", "Subnet": subnet,
                                      "Gateway": gateway})


def test_create_answers_the_network_made():
    host = _host(17763)
    answer = SCRIPTS["hns_network"](host, {"Name": "nat", "Create": True, "Type": "NAT",
                                           "Subnet": "172.30.0.0/16", "Gateway": "172.30.0.1"})
    assert answer["changed"] and (answer["subnet"], answer["gateway"], answer["build"]) == \
        ("172.30.0.0/16", "172.30.0.1", 17763)


def test_reboot_loses_or_moves_nat_only_with_the_fault():
    kept = _host()
    before = _get(kept)
    reboot(kept)
    assert _get(kept) == before
    lost = _host(hns_nat_vanishes_on_reboot=True)
    _get(lost)
    reboot(lost)
    assert not _get(lost)["exists"]
    moved = _host(hns_nat_subnet_on_reboot="172.27.32.0/20")
    _get(moved)
    reboot(moved)
    assert (_get(moved)["subnet"], _get(moved)["gateway"]) == ("172.27.32.0/20", "172.27.32.1")


def test_a_boot_task_whose_script_is_gone_fails_and_changes_nothing():
    host = _host(hns_nat_vanishes_on_reboot=True)
    _get(host)
    SCRIPTS["scheduled_task"](host, {"Name": "t", "State": "present", "Execute": "powershell.exe",
                                     "Argument": '-File "C:\\x\\cni_boot.ps1" -Name nat -Subnet 1.0.0.0/8'})
    reboot(host)
    assert any(e.startswith("scheduled_task_failed t file not found") for e in host.state["events"])
    assert not _get(host)["exists"]
