# Copyright (c) wcow.buildkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for wcow.buildkit.controller_check: every missing controller package in one message.

Runs on the controller only and never touches a host: it imports what the play's connections
(WinRM, PSRP) and this collection's plugins need, and fails once, listing all that is missing.
"""

from __future__ import annotations

import importlib
import sys
import typing as t

from ansible.plugins.action import ActionBase

# What this collection's action plugins import on the controller: (module, PyPI package).
COLLECTION_NEEDS: tuple[tuple[str, str], ...] = (
    ("httpx", "httpx"),
    ("cryptography.x509", "cryptography"),
    ("tomli_w", "tomli-w"),
)
# What ansible-core's connection plugins import, by connection name (the last part of an FQCN).
CONNECTION_NEEDS: dict[str, tuple[tuple[str, str], ...]] = {
    "winrm": (("winrm", "pywinrm"), ("requests", "requests")),
    "psrp": (("pypsrp.powershell", "pypsrp"), ("requests", "requests")),
}
# Extra client libraries for WinRM/PSRP authentication transports.
TRANSPORT_NEEDS: dict[str, tuple[str, str]] = {
    "kerberos": ("gssapi", "pywinrm[kerberos]"),
    "credssp": ("requests_credssp", "pywinrm[credssp]"),
}


def _import_error(module: str) -> str | None:
    try:
        importlib.import_module(module)
    except Exception as exc:  # pylint: disable=broad-exception-caught  # a broken install is as bad as a missing one
        return f"{type(exc).__name__}: {exc}"
    return None


def needs_of(hostvars: t.Mapping[str, t.Any], hosts: t.Iterable[str], default_connection: str) -> dict[str, dict[str, t.Any]]:
    """{package: {module, users: [why...]}} for the given hosts' connections plus this collection."""
    wanted: dict[str, dict[str, t.Any]] = {}

    def want(module: str, package: str, user: str) -> None:
        entry = wanted.setdefault(package, {"module": module, "users": []})
        if user not in entry["users"]:
            entry["users"].append(user)

    for module, package in COLLECTION_NEEDS:
        want(module, package, "wcow.buildkit modules")
    for host in hosts:
        hv = hostvars.get(host) or {}
        connection = str(hv.get("ansible_connection") or default_connection).rsplit(".", 1)[-1]
        for module, package in CONNECTION_NEEDS.get(connection, ()):
            want(module, package, f"{connection} connection")
        transport = str(hv.get(f"ansible_{connection}_transport") or hv.get("ansible_psrp_auth") or "")
        for name, (module, package) in TRANSPORT_NEEDS.items():
            if connection in CONNECTION_NEEDS and name in transport.lower():
                want(module, package, f"{connection} {name} transport")
    return wanted


def missing_message(missing: dict[str, dict[str, t.Any]], python: str) -> str:
    lines = [f"{p} (for {', '.join(e['users'])}; import {e['module']}: {e['error']})" for p, e in missing.items()]
    return (f"The controller's Python ({python}) lacks {len(missing)} package(s) this play needs: "
            + "; ".join(lines) + ". Install them into the Python that runs ansible-playbook, e.g. "
            + f"`{python} -m pip install {' '.join(repr(p) if '[' in p else p for p in missing)}` "
            + "(the repository's requirements.txt pins them), then run the playbook again.")


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False
    argument_spec: dict[str, t.Any] = {"hosts": {"type": "list", "elements": "str"}}

    def run(self, tmp: str | None = None, task_vars: dict[str, t.Any] | None = None) -> dict[str, t.Any]:
        result = super().run(tmp, task_vars)
        task_vars = task_vars or {}
        args = self.validate_argument_spec(argument_spec=self.argument_spec)[1]
        hosts = args["hosts"] if args["hosts"] is not None else list(task_vars.get("ansible_play_hosts_all") or [])
        hostvars = task_vars.get("hostvars") or {}
        wanted = needs_of(hostvars, hosts, "ssh")
        missing: dict[str, dict[str, t.Any]] = {}
        for package, entry in wanted.items():
            error = _import_error(entry["module"])
            if error:
                missing[package] = {**entry, "error": error}
        result.update(changed=False, checked=sorted(wanted), missing=sorted(missing))
        if missing:
            result.update(failed=True, msg=missing_message(missing, sys.executable))
        else:
            result["msg"] = f"The controller has every package this play needs: {', '.join(sorted(wanted))}."
        return result
