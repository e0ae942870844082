"""Turns what a connection plugin sends into simulated behaviour.

Three kinds of traffic reach a Windows host from our plays:
1. `bootstrap.ps1` with steps on stdin (our action plugins) -> SCRIPTS contracts;
2. ansible's PowerShell module wrapper (ansible.windows modules) -> MODULES stand-ins;
3. win_reboot's raw commands (boot time, shutdown.exe, the logon test) -> reboot().
"""

from __future__ import annotations

import base64
import json
import pathlib
import re
import typing as t

# Importing a contract module registers its contracts.
from . import ansible_windows, artifacts, common, containerd  # noqa: F401  pylint: disable=unused-import
from . import buildkitd, local_security  # noqa: F401  pylint: disable=unused-import
from . import buildctl_build, docker  # noqa: F401  pylint: disable=unused-import
from . import hns  # noqa: F401  pylint: disable=unused-import
from . import ctr, docker_config  # noqa: F401  pylint: disable=unused-import
from . import binding, module_args, psjson
from .host import ConnectionDropped, Host, ScriptFailure
from .registry import MODULES, SCRIPTS

REPO = pathlib.Path(__file__).resolve().parents[3]
SHIPPED_SCRIPTS = REPO / "plugins" / "plugin_utils" / "scripts"
_ENCODED = re.compile(r"-EncodedCommand\s+(?P<b64>[A-Za-z0-9+/=]+)")


def decode_command(cmd: str) -> str:
    """The PowerShell text inside `PowerShell ... -EncodedCommand <b64>` (the innermost one)."""
    text = cmd
    while True:
        match = _ENCODED.search(text)
        if not match:
            return text
        text = base64.b64decode(match["b64"]).decode("utf-16-le")


def _normalise(script: str) -> str:
    return "\n".join(l.strip() for l in script.splitlines() if l.strip() and not l.strip().startswith("#"))


def is_bootstrap(script: str) -> bool:
    return _normalise(script) == _normalise((SHIPPED_SCRIPTS / "bootstrap.ps1").read_text())


def run_steps(host: Host, payload: dict[str, t.Any]) -> tuple[int, dict[str, t.Any]]:
    """The bootstrap's contract: run steps in order, stop at the first failure.

    The answer is what the shipped bootstrap's `ConvertTo-Json -Depth N` makes of it on
    Windows PowerShell 5.1: anything nested deeper than N arrives as a string.
    """
    rc, answer = _run_steps(host, payload)
    return rc, psjson.convert(answer, psjson.bootstrap_depth())


def _run_steps(host: Host, payload: dict[str, t.Any]) -> tuple[int, dict[str, t.Any]]:
    done: list[dict[str, t.Any]] = []
    drop_at = host.fault("drop_connection")
    for step in payload.get("steps", []):
        name = step["name"]
        shipped = SHIPPED_SCRIPTS / f"{name}.ps1"
        if not shipped.is_file() or step["script"] != shipped.read_text(encoding="utf-8"):
            return 1, {"failed": True, "step": name, "msg": f"{name}.ps1 is not the shipped script", "steps": done}
        handler = SCRIPTS.get(name)
        if handler is None:
            return 1, {"failed": True, "step": name, "msg": f"the simulated host has no contract for {name}.ps1",
                       "steps": done}
        if drop_at == name:
            host.event("connection_dropped", name)
            raise ConnectionDropped(f"connection dropped while running {name}.ps1")
        if name in (host.fault("step_fails") or []):  # a step after which the rest must be undone
            return 1, {"failed": True, "step": name, "msg": f"{name}.ps1 failed (simulated fault step_fails)",
                       "error": "simulated fault", "steps": done}
        try:
            # `& $block @splat`: PowerShell binds the params to the script's param() block first.
            params = binding.bind(binding.signature(shipped), step.get("params") or {})
            result = handler(host, params)
        except ScriptFailure as exc:
            return 1, {"failed": True, "step": name, "msg": str(exc), "error": str(exc), "steps": done}
        done.append({"name": name, "result": result})
    return 0, {"failed": False, "steps": done}


def parse_module_payload(in_data: bytes) -> tuple[str, dict[str, t.Any]] | None:
    """(module short name, module args) from ansible's PowerShell exec wrapper input."""
    if b"\0\0\0\0" not in in_data:
        return None
    manifest = json.loads(in_data.split(b"\n\0\0\0\0\n", 1)[1])
    for action in manifest.get("actions", []):
        params = action.get("params", {})
        if action.get("name") == "module_wrapper.ps1" and params.get("Script"):
            name = params["Script"].rsplit(".", 1)[0].rsplit(".", 1)[-1]
            args = {}
            for variable in params.get("Variables", []):
                if variable.get("Name") == "complex_args":
                    args = variable.get("Value") or {}
            return name, args
    return None


def run_module(host: Host, name: str, args: dict[str, t.Any]) -> tuple[int, dict[str, t.Any]]:
    handler = MODULES.get(name)
    if handler is None:
        return 1, {"failed": True, "msg": f"the simulated host has no stand-in for module {name}"}
    check_mode = bool(args.get("_ansible_check_mode"))
    user_args = {k: v for k, v in args.items() if not k.startswith("_ansible_")}
    try:
        # Ansible.Basic checks the arguments against the module's spec before the module runs.
        user_args = module_args.check(name, str(args.get("_ansible_module_name") or name), user_args)
    except module_args.ModuleArgumentError as exc:
        return 1, {"failed": True, "msg": str(exc)}
    try:
        result = handler(host, user_args, check_mode)
    except ScriptFailure as exc:
        return 1, {"failed": True, "msg": str(exc)}
    result.setdefault("changed", False)
    return (1 if result.get("failed") else 0), result


def run_command(host: Host, script: str, payload: dict[str, t.Any] | None,
                module: tuple[str, dict[str, t.Any]] | None) -> tuple[int, bytes, bytes]:
    """One decoded command on the host, as any transport hands it over: our bootstrap steps, an
    ansible.windows module, or a raw command (win_reboot's). Answers (rc, stdout, stderr)."""
    if payload is not None:
        rc, answer = run_steps(host, payload)
        return rc, json.dumps(answer).encode(), b""
    if module is not None:
        rc, answer = run_module(host, *module)
        return rc, json.dumps(answer).encode(), b""
    raw = ansible_windows.raw_command(host, script)
    if raw is None:
        return 1, b"", f"simulated host: unrecognised command: {script[:200]}".encode()
    return raw[0], raw[1].encode(), raw[2].encode()
