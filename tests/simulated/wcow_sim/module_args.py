"""Ansible.Basic's argument checks, for the ansible.windows stand-ins.

The real modules (PowerShell, Ansible.Basic.cs in ansible-core) refuse unknown options,
missing required ones, values their type converter cannot convert and values outside
`choices`, before doing anything.  The specs come from the installed ansible.windows
(`.collections/`): each module's DOCUMENTATION (the `.py` or `.yml` beside its `.ps1`).
The stand-in then receives the converted values, defaults included.
"""

from __future__ import annotations

import ast
import functools
import pathlib
import typing as t

import yaml

REPO = pathlib.Path(__file__).resolve().parents[3]
MODULES_DIR = REPO / ".collections" / "ansible_collections" / "ansible" / "windows" / "plugins" / "modules"
_BOOLEANS_TRUE = ["y", "yes", "on", "1", "true", "t", "1.0"]
_BOOLEANS_FALSE = ["n", "no", "off", "0", "false", "f", "0.0"]


class ModuleArgumentError(Exception):
    """The module fails before it runs: FailJson(msg)."""


@functools.lru_cache(maxsize=None)
def documented_options(module: str) -> dict[str, dict[str, t.Any]]:
    """The options the installed ansible.windows documents for `module`."""
    sidecar = MODULES_DIR / f"{module}.py"
    if sidecar.is_file():
        tree = ast.parse(sidecar.read_text(encoding="utf-8"))
        text = next(node.value.value for node in tree.body if isinstance(node, ast.Assign)
                    and any(getattr(target, "id", "") == "DOCUMENTATION" for target in node.targets))
        doc = yaml.safe_load(text)
    else:
        doc = yaml.safe_load((MODULES_DIR / f"{module}.yml").read_text(encoding="utf-8"))["DOCUMENTATION"]
    return {name: option or {} for name, option in (doc.get("options") or {}).items()}


def _net_type(value: t.Any) -> str:
    if isinstance(value, bool):
        return "System.Boolean"
    if isinstance(value, int):
        return "System.Int32"
    if isinstance(value, str):
        return "System.String"
    if isinstance(value, list):
        return "System.Collections.ArrayList"
    return "System.Collections.Generic.Dictionary`2[System.String,System.Object]"


def _to_str(value: t.Any) -> str:
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, list):
        return "System.Collections.ArrayList"
    if isinstance(value, dict):
        return "System.Collections.Generic.Dictionary`2[System.String,System.Object]"
    return str(value)


def _to_bool(value: t.Any) -> bool:
    if isinstance(value, bool):
        return value
    text = _to_str(value).lower().strip()
    if text in _BOOLEANS_TRUE:
        return True
    if text in _BOOLEANS_FALSE:
        return False
    raise ValueError(f"The value '{text}' is not a valid boolean. Valid booleans include: "
                     + ", ".join(_BOOLEANS_TRUE + _BOOLEANS_FALSE))


def _to_int(value: t.Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = _to_str(value)
    try:
        return int(text.strip())
    except ValueError:
        raise ValueError("Input string was not in a correct format.") from None


def _to_list(value: t.Any) -> list[t.Any]:
    if isinstance(value, list):
        return value
    if isinstance(value, str):
        return [s.strip() for s in value.split(",")]
    if isinstance(value, int) and not isinstance(value, bool):
        return [value]
    raise ValueError(f"{_net_type(value)} cannot be converted to a list")


_CONVERTERS: dict[str, t.Callable[[t.Any], t.Any]] = {
    "str": _to_str, "path": _to_str, "bool": _to_bool, "int": _to_int, "list": _to_list, "raw": lambda v: v,
}


def check(module: str, module_name: str, args: dict[str, t.Any]) -> dict[str, t.Any]:
    """The module's params after Ansible.Basic's checks (defaults set, values converted)."""
    options = documented_options(module)
    legal = list(options) + [alias for o in options.values() for alias in o.get("aliases") or []]
    unsupported = [k for k in args if k.lower() not in {name.lower() for name in legal}]
    if unsupported:
        raise ModuleArgumentError(f"Unsupported parameters for ({module_name}) module: {', '.join(unsupported)}. "
                                  f"Supported parameters include: {', '.join(legal)}")
    params: dict[str, t.Any] = {}
    for key, value in args.items():
        name = next(n for n in legal if n.lower() == key.lower())
        name = next((o for o, spec in options.items() if name == o or name in (spec.get("aliases") or [])), name)
        params[name] = value
    missing = []
    for name, spec in options.items():
        if spec.get("default") is not None and name not in params:
            params[name] = spec["default"]
        if spec.get("required") and name not in params:
            missing.append(name)
    if missing:
        raise ModuleArgumentError(f"missing required arguments: {', '.join(missing)}")
    for name, spec in options.items():
        value = params.get(name)
        if value is None:
            continue
        kind = spec.get("type") or "str"
        try:
            value = _CONVERTERS[kind](value)
        except ValueError as exc:
            raise ModuleArgumentError(f"argument for {name} is of type {_net_type(value)} and we were unable to "
                                      f"convert to {kind}: {exc}") from None
        if kind == "list" and spec.get("elements") in _CONVERTERS:
            converted = []
            for element in value:
                try:
                    converted.append(_CONVERTERS[spec["elements"]](element))
                except ValueError as exc:
                    raise ModuleArgumentError(f"argument for list entry {name} is of type {_net_type(element)} and we "
                                              f"were unable to convert to {spec['elements']}: {exc}") from None
            value = converted
        choices = [str(c) for c in spec.get("choices") or []]
        if choices:
            values = [_to_str(v) for v in value] if kind == "list" else [_to_str(value)]
            wrong = [v for v in values if v.lower() not in {c.lower() for c in choices}]
            if wrong:
                which = "one or more of" if kind == "list" else "one of"
                raise ModuleArgumentError(f"value of {name} must be {which}: {', '.join(choices)}. "
                                          f"Got no match for: {', '.join(wrong)}")
        params[name] = value
    return params
