"""Every shipped host script has a simulated contract, documented in tests/simulated/CONTRACT.md."""

from __future__ import annotations

import pathlib
import re

import pytest

# Importing dispatch registers every contract.
from wcow_sim import binding, dispatch
from wcow_sim.registry import SCRIPTS

REPO = pathlib.Path(__file__).resolve().parents[2]
SCRIPTS_DIR = REPO / "plugins" / "plugin_utils" / "scripts"
SHIPPED = sorted(p.stem for p in SCRIPTS_DIR.glob("*.ps1"))
CONTRACT = (REPO / "tests" / "simulated" / "CONTRACT.md").read_text()


@pytest.mark.parametrize("name", [n for n in SHIPPED if n != "bootstrap"])
def test_shipped_script_has_a_simulated_contract(name):
    assert name in SCRIPTS, f"{name}.ps1 ships but the simulated host has no @script({name!r}) contract"


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_script_is_documented(name):
    assert re.search(rf"^\| `{name}` \|", CONTRACT, re.M), f"{name}.ps1 has no row in tests/simulated/CONTRACT.md"


def test_no_contract_without_a_script():
    assert sorted(set(SCRIPTS) - set(SHIPPED)) == []


@pytest.mark.parametrize("name", [n for n in SHIPPED if n != "bootstrap"])
def test_simulated_parameters_exist_in_the_script(name):
    """A contract may only read parameters the real script declares (its param() block, parsed)."""
    declared = {p.name for p in binding.signature(SCRIPTS_DIR / f"{name}.ps1").parameters}
    source = pathlib.Path(SCRIPTS[name].__code__.co_filename).read_text()
    body = source.split(f'@script("{name}")', 1)[1].split("\n@", 1)[0]
    used = set(re.findall(r'params(?:\.get\(|\[)"(\w+)"', body))
    assert declared, f"{name}.ps1 declares no parameters"
    assert used <= declared, f"{name}: simulated contract reads {sorted(used - declared)} not in the param() block"


def test_bootstrap_takes_no_parameters_and_is_recognised():
    """bootstrap.ps1 reads its steps from stdin; the simulator knows it by its text."""
    assert binding.signature(SCRIPTS_DIR / "bootstrap.ps1").parameters == ()
    assert dispatch.is_bootstrap((SCRIPTS_DIR / "bootstrap.ps1").read_text())
    assert not dispatch.is_bootstrap("Write-Output 1")
