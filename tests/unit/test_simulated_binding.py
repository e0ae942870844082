"""The simulated host binds a step's params the way PowerShell binds a splatted hashtable."""

from __future__ import annotations

import pytest

from wcow_sim import binding, dispatch
from wcow_sim.binding import BindingError
from wcow_sim.host import Host
from wcow_sim.registry import SCRIPTS
from wcow_sim.state import new_state

from ansible_collections.wcow.buildkit.plugins.plugin_utils._host import script_text

SCRIPT = r"""
# A script like ours.
param(
    [Parameter(Mandatory = $true)][string]$Name,
    [Parameter(Mandatory)][AllowEmptyString()][string]$Content,
    [ValidateSet('present', 'absent')][string]$State = 'present',
    [string[]]$DependsOn,
    [Parameter(Mandatory = $true)][string[]]$Processes,
    [string]$LogFile,
    [bool]$Require = $true,
    [int]$TimeoutSeconds = 60,
    [int]$TimeoutSec
)
$Name
"""
SIG = binding._signature_of(SCRIPT, "example")
BASE = {"Name": "containerd", "Content": "x", "Processes": ["a.exe"]}


def test_the_param_block_is_read_from_the_script():
    by_name = {p.name: p for p in SIG.parameters}
    assert SIG.advanced
    assert by_name["Name"].mandatory and by_name["Name"].type == "string"
    assert by_name["Content"].allow_empty_string
    assert by_name["State"].validate_set == ("present", "absent") and by_name["State"].default == "present"
    assert by_name["Processes"].type == "string[]" and by_name["TimeoutSeconds"].default == 60
    assert by_name["Require"].type == "bool" and by_name["Require"].default is True


@pytest.mark.parametrize("given, name, expected", [
    ({}, "State", "present"),
    ({}, "LogFile", ""),  # an unbound [string] is '' in PowerShell, never $null
    ({}, "DependsOn", None),
    ({}, "TimeoutSec", 0),
    ({"TimeoutSeconds": "90"}, "TimeoutSeconds", 90),
    ({"TimeoutSeconds": " 0x10 "}, "TimeoutSeconds", 16),
    ({"TimeoutSeconds": 2.5}, "TimeoutSeconds", 2),  # banker's rounding
    ({"TimeoutSeconds": True}, "TimeoutSeconds", 1),
    ({"TimeoutSeconds": None}, "TimeoutSeconds", 0),
    ({"Require": 0}, "Require", False),
    ({"Require": 2}, "Require", True),
    ({"LogFile": 5}, "LogFile", "5"),
    ({"LogFile": True}, "LogFile", "True"),
    ({"LogFile": ["a", "b"]}, "LogFile", "a b"),  # [string] of an array joins with $OFS
    ({"LogFile": {"k": "v", "n": 1}}, "LogFile", "@{k=v; n=1}"),
    ({"LogFile": None}, "LogFile", ""),
    ({"DependsOn": "containerd"}, "DependsOn", ["containerd"]),
    ({"DependsOn": ["a", 1]}, "DependsOn", ["a", "1"]),
    ({"DependsOn": []}, "DependsOn", []),
    ({"State": "ABSENT"}, "State", "ABSENT"),  # ValidateSet ignores case; the value is passed as given
    ({"Req": False}, "Require", False),  # an unambiguous prefix
    ({"Content": ""}, "Content", ""),  # [AllowEmptyString()]
    ({"ErrorAction": "Stop"}, "Name", "containerd"),  # a common parameter of an advanced script
])
def test_values_the_script_sees(given, name, expected):
    assert binding.bind(SIG, {**BASE, **given})[name] == expected


@pytest.mark.parametrize("given, message", [
    ({"Nmae": "x"}, "A parameter cannot be found that matches parameter name 'Nmae'."),
    ({"Name": None}, "Cannot bind argument to parameter 'Name' because it is null."),
    ({"Name": ""}, "Cannot bind argument to parameter 'Name' because it is an empty string."),
    ({"Processes": None}, "Cannot bind argument to parameter 'Processes' because it is null."),
    ({"Processes": []}, "Cannot bind argument to parameter 'Processes' because it is an empty array."),
    ({"Require": "false"}, "Cannot process argument transformation on parameter 'Require'. Cannot convert value "
     "\"System.String\" to type \"System.Boolean\". Boolean parameters accept only Boolean values and numbers, such "
     "as $True, $False, 1 or 0."),
    ({"Require": None}, "Cannot process argument transformation on parameter 'Require'. Cannot convert value \"\" to "
     "type \"System.Boolean\"."),
    ({"Require": [True]}, "Cannot convert value \"System.Object[]\" to type \"System.Boolean\"."),
    ({"TimeoutSeconds": "soon"}, "Cannot process argument transformation on parameter 'TimeoutSeconds'. Cannot "
     "convert value \"soon\" to type \"System.Int32\". Error: \"Input string was not in a correct format.\""),
    ({"TimeoutSeconds": [1, 2]}, "Cannot convert the \"System.Object[]\" value of type \"System.Object[]\" to type "
     "\"System.Int32\"."),
    ({"TimeoutSeconds": 2**40}, "Error: \"Value was either too large or too small for an Int32.\""),
    ({"State": "gone"}, "Cannot validate argument on parameter 'State'. The argument \"gone\" does not belong to the "
     "set \"present,absent\" specified by the ValidateSet attribute. Supply an argument that is in the set and then "
     "try the command again."),
    ({"Timeout": 1}, "Parameter cannot be processed because the parameter name 'Timeout' is ambiguous. Possible "
     "matches include: -TimeoutSeconds -TimeoutSec."),
])
def test_what_powershell_refuses(given, message):
    with pytest.raises(BindingError) as info:
        binding.bind(SIG, {**BASE, **given})
    assert message in str(info.value)


def test_names_ignore_case():
    assert binding.bind(SIG, {"nAME": "other", "content": "", "processes": "a.exe"})["Name"] == "other"


def test_missing_mandatory_parameters_are_named():
    with pytest.raises(BindingError, match=r"^Cannot process command because of one or more missing mandatory "
                                           r"parameters: Name Processes\.$"):
        binding.bind(SIG, {"Content": ""})


def test_a_simple_script_puts_unknown_names_in_args():
    sig = binding._signature_of("param([string]$Path = '')\n$Path", "simple")
    assert not sig.advanced
    assert binding.bind(sig, {"Pth": "x", "Path": "C:\\x"}) == {"Path": "C:\\x"}


def _step(name, params):
    return {"caller": "t", "steps": [{"name": name, "script": script_text(name), "params": params}]}


def test_run_steps_refuses_like_the_bootstrap_and_runs_nothing():
    host = Host("h", new_state(20348), {})
    rc, answer = dispatch.run_steps(host, _step("directory_ensure", {"Path": "C:\\x", "Recurse": True}))
    assert rc == 1 and answer["step"] == "directory_ensure"
    assert answer["msg"] == "A parameter cannot be found that matches parameter name 'Recurse'."
    assert not host.is_dir("C:\\x")


def test_run_steps_hands_the_twin_converted_values(monkeypatch):
    seen = {}
    monkeypatch.setitem(SCRIPTS, "service_stop", lambda host, params: seen.update(params) or {})
    params = {"name": "containerd", "TimeoutSeconds": "30"}
    dispatch.run_steps(Host("h", new_state(20348), {}), _step("service_stop", params))
    assert seen == {"Name": "containerd", "TimeoutSeconds": 30}


@pytest.mark.parametrize("path", sorted(dispatch.SHIPPED_SCRIPTS.glob("*.ps1")), ids=lambda p: p.stem)
def test_every_shipped_param_block_is_understood(path):
    sig = binding.signature(path)
    assert path.stem == "bootstrap" or sig.advanced, f"{path.name}: add [Parameter()] so unknown names fail"
