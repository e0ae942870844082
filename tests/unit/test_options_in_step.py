"""Each module's argument spec, its DOCUMENTATION, and the wrapping role's defaults and argument specs agree."""

from __future__ import annotations

import importlib
import pathlib
import re

import pytest
import yaml

REPO = pathlib.Path(__file__).resolve().parents[2]
PACKAGE = "ansible_collections.wcow.buildkit"
# module -> (role, variable prefix)
ROLES = {"win_containerd": ("containerd", "containerd_"), "win_buildkitd": ("buildkitd", "buildkitd_")}
# Helper C is turning defender_exclusion into an unset-by-default bool; the lead reconciles it.
PENDING = {("win_containerd", "defender_exclusion")}
MODULES = sorted(p.stem for p in (REPO / "plugins" / "modules").glob("*.py") if p.stem != "__init__")
_FIELDS = ("type", "default", "choices", "elements", "required")


def _normal(spec: dict) -> dict:
    """The fields that must agree, with Ansible's implicit values made explicit."""
    out = {field: spec.get(field) for field in _FIELDS}
    out["type"] = out["type"] or "str"
    out["required"] = bool(out["required"])
    if out["choices"] is not None:
        out["choices"] = list(out["choices"])
    return out


def _documented(module: str) -> dict[str, dict]:
    doc = yaml.safe_load(importlib.import_module(f"{PACKAGE}.plugins.modules.{module}").DOCUMENTATION)
    options = dict(doc.get("options") or {})
    for fragment in doc.get("extends_documentation_fragment") or []:
        # wcow.buildkit.<file> or wcow.buildkit.<file>.<variable> (as ansible-doc reads them)
        name, _dot, variable = fragment.split(".", 2)[2].partition(".")
        fragment_doc = importlib.import_module(f"{PACKAGE}.plugins.doc_fragments.{name}").ModuleDocFragment
        text = getattr(fragment_doc, (variable or "documentation").upper())
        options.update(yaml.safe_load(text).get("options") or {})
    return options


def _spec(module: str) -> dict[str, dict]:
    return importlib.import_module(f"{PACKAGE}.plugins.action.{module}").ActionModule.argument_spec


@pytest.mark.parametrize("module", MODULES)
def test_documentation_matches_the_argument_spec(module):
    spec, documented = _spec(module), _documented(module)
    assert sorted(documented) == sorted(spec)
    for name in spec:
        if (module, name) not in PENDING:
            assert _normal(documented[name]) == _normal(spec[name]), f"{module}: option {name}"


@pytest.mark.parametrize("module", sorted(ROLES))
def test_role_argument_specs_match_the_module(module):
    role, prefix = ROLES[module]
    spec = _spec(module)
    role_spec = yaml.safe_load((REPO / "roles" / role / "meta" / "argument_specs.yml").read_text())
    options = role_spec["argument_specs"]["main"]["options"]
    assert sorted(options) == sorted(prefix + name for name in spec), f"role {role} must expose every option"
    for name, option in spec.items():
        if (module, name) in PENDING:
            continue
        role_option = _normal(options[prefix + name])
        module_option = _normal(option)
        if module_option["type"] == "path" or role_option["type"] == "path":
            # The role may say path where the module says str (and back): both expand ~ the same way.
            role_option["type"] = module_option["type"]
        assert role_option == module_option, f"role {role}: {prefix}{name}"


@pytest.mark.parametrize("module", sorted(ROLES))
def test_role_passes_unset_options_with_omit(module):
    """A role default would hide module_defaults for group/wcow.buildkit.buildkit: only omit may stand in."""
    role, prefix = ROLES[module]
    defaults = yaml.safe_load((REPO / "roles" / role / "defaults" / "main.yml").read_text()) or {}
    tasks = yaml.safe_load((REPO / "roles" / role / "tasks" / "main.yml").read_text())
    call = next(task[f"wcow.buildkit.{module}"] for task in tasks if f"wcow.buildkit.{module}" in task)
    spec = _spec(module)
    assert sorted(call) == sorted(spec), f"role {role} must pass every option"
    for name in spec:
        if (module, name) in PENDING:
            continue
        assert prefix + name not in defaults, f"{role}/defaults sets {prefix}{name}: leave it to the module"
        assert re.fullmatch(rf"\{{\{{ {prefix}{name} \| default\(omit\) \}}\}}", call[name]), call[name]
