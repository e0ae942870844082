"""The ansible.windows stand-ins check their arguments like the real modules (Ansible.Basic)."""

from __future__ import annotations

import pytest

from wcow_sim import dispatch, module_args
from wcow_sim.host import Host
from wcow_sim.registry import MODULES
from wcow_sim.state import new_state


def _run(name, args, build=20348):
    host = Host("h", new_state(build), {})
    rc, result = dispatch.run_module(host, name, {**args, "_ansible_module_name": f"ansible.windows.{name}"})
    return rc, result, host


@pytest.mark.parametrize("name", sorted(MODULES))
def test_every_stand_in_has_the_real_modules_documented_options(name):
    assert module_args.documented_options(name), f"no DOCUMENTATION for ansible.windows.{name} in .collections/"


@pytest.mark.parametrize("name, args, message", [
    ("win_feature", {"name": "Containers", "nmae": "x"},
     "Unsupported parameters for (ansible.windows.win_feature) module: nmae. Supported parameters include: name, "
     "state, include_sub_features, include_management_tools, source"),
    ("win_feature", {"state": "present"}, "missing required arguments: name"),
    ("win_feature", {"name": "Containers", "state": "enabled"},
     "value of state must be one of: absent, present. Got no match for: enabled"),
    ("win_optional_feature", {"name": "Containers", "include_parent": "maybe"},
     "argument for include_parent is of type System.String and we were unable to convert to bool: The value "
     "'maybe' is not a valid boolean."),
    ("win_optional_feature", {"name": {"a": 1}},
     "argument for name is of type System.Collections.Generic.Dictionary`2[System.String,System.Object] and we were "
     "unable to convert to list"),
    ("setup", {"gather_timeout": "ten"},
     "argument for gather_timeout is of type System.String and we were unable to convert to int: Input string was "
     "not in a correct format."),
    ("setup", {"filter": "ansible_os*"}, "Unsupported parameters for (ansible.windows.setup) module: filter."),
    ("win_feature_info", {"name": "Containers", "state": "present"},
     "Unsupported parameters for (ansible.windows.win_feature_info) module: state."),
])
def test_invalid_arguments_fail_before_the_module_runs(name, args, message):
    rc, result, host = _run(name, args)
    assert rc == 1 and result["failed"] and message in result["msg"]
    assert host.state["features"]["Containers"] == "Available" and not host.state["pending_reboot"]


def test_values_are_converted_like_the_real_module():
    """A comma-separated string is a list, 'yes' a bool, and choices ignore case."""
    rc, result, host = _run("win_optional_feature",
                            {"name": "Containers, Microsoft-Hyper-V", "state": "PRESENT", "include_parent": "yes"},
                            build=22631)
    assert rc == 0 and result["changed"] and result["reboot_required"]
    assert host.state["features"]["Containers"] == "EnablePending"
    assert host.state["features"]["Microsoft-Hyper-V-All"] == "EnablePending"


def test_defaults_come_from_the_documentation():
    assert module_args.check("setup", "setup", {}) == {"gather_subset": ["all"], "gather_timeout": 10,
                                                       "_measure_subset": False}
