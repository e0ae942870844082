"""Stand-ins for the ansible.windows modules our roles call, and win_reboot's commands.

Each honours the documented arguments and return values of the real module
(ansible.windows 3.x), against the simulated host's features and reboot state.
"""

from __future__ import annotations

import json
import re
import typing as t

from .host import Host, ScriptFailure
from .registry import module

_ENABLED = ("Enabled", "EnablePending")


def _names(args: dict[str, t.Any]) -> list[str]:
    names = args.get("name") or []
    return [names] if isinstance(names, str) else list(names)


def _set_features(host: Host, names: list[str], state: str, check_mode: bool) -> tuple[bool, list[dict]]:
    changed = False
    results = []
    for name in names:
        current = host.state["features"].get(name)
        if current is None:
            raise ScriptFailure(f"The name '{name}' is not a valid feature name on this host")
        want_on = state == "present"
        is_on = current in _ENABLED
        restart = False
        if want_on != is_on:
            changed = True
            restart = True
            if not check_mode:
                host.state["features"][name] = "EnablePending" if want_on else "DisablePending"
                host.state["pending_reboot"] = True
                host.event("feature", name, "EnablePending" if want_on else "DisablePending")
        results.append({"id": len(results), "display_name": name, "message": [], "reboot_required": restart,
                        "restart_needed": restart, "skip_reason": "NotSkipped", "success": True})
    return changed, results


@module("win_feature")
def win_feature(host: Host, args: dict[str, t.Any], check_mode: bool) -> dict[str, t.Any]:
    if host.state["edition"] != "server":
        return {"failed": True, "msg": "This module only works on Windows Server: Get-WindowsFeature is not available"}
    changed, results = _set_features(host, _names(args), args.get("state", "present"), check_mode)
    reboot = any(r["restart_needed"] for r in results)
    return {"changed": changed, "exitcode": "SuccessRestartRequired" if reboot else ("Success" if changed else "NoChangeNeeded"),
            "feature_result": results, "reboot_required": reboot, "success": True}


@module("win_optional_feature")
def win_optional_feature(host: Host, args: dict[str, t.Any], check_mode: bool) -> dict[str, t.Any]:
    changed, results = _set_features(host, _names(args), args.get("state", "present"), check_mode)
    return {"changed": changed, "reboot_required": any(r["restart_needed"] for r in results)}


@module("win_feature_info")
def win_feature_info(host: Host, args: dict[str, t.Any], check_mode: bool) -> dict[str, t.Any]:
    if host.state["edition"] != "server":
        return {"failed": True, "msg": "This module only works on Windows Server"}
    wanted = args.get("name", "*")
    features = [{"name": n, "display_name": n, "installed": s == "Enabled", "install_state": "Installed" if s == "Enabled" else s}
                for n, s in host.state["features"].items() if wanted in ("*", n)]
    return {"changed": False, "exists": bool(features), "features": features}


@module("setup")
def setup(host: Host, args: dict[str, t.Any], check_mode: bool) -> dict[str, t.Any]:
    build = host.state["build"]
    server = host.state["edition"] == "server"
    facts = {
        "os_family": "Windows",
        "system": "Win32NT",
        "distribution": f"Microsoft {host.state['product_name']}",
        "distribution_version": f"10.0.{build}.0",
        "distribution_major_version": "10",
        "kernel": f"10.0.{build}.0",
        "os_name": f"Microsoft {host.state['product_name']}",
        "os_installation_type": "Server" if server else "Client",
        "os_product_type": "server" if server else "workstation",
        "hostname": host.name.split(".")[0].upper(),
        "architecture": "64-bit",
        "powershell_version": 5,
        "reboot_pending": bool(host.state["pending_reboot"]),
    }
    return {"changed": False, "ansible_facts": {f"ansible_{k}": v for k, v in facts.items()}}


# -- win_reboot ------------------------------------------------------------------
_BOOT_TIME = "LastBootUpTime.ToFileTime()"
_SHUTDOWN = re.compile(r"shutdown\.exe /r /t (?P<delay>\d+)")
_LOGON_TEST = re.compile(r"Get-Item -LiteralPath '[^']*AutoLogonChecked'[^;]*; '(?P<token>[^']+)'")


def reboot(host: Host) -> None:
    """What a reboot does to the simulated host: pending work completes, services restart."""
    host.state["boot_id"] += 1
    host.state["pending_reboot"] = False
    for name, status in list(host.state["features"].items()):
        if status == "EnablePending":
            host.state["features"][name] = "Enabled"
        elif status == "DisablePending":
            host.state["features"][name] = "Available"
    host.event("reboot", host.state["boot_id"])
    for service in host.state["services"].values():
        service["status"] = "Stopped"
    for service in host.state["services"].values():
        if service.get("start_mode") == "Automatic":
            host.start_service(service["name"])


def raw_command(host: Host, script: str) -> tuple[int, str, str] | None:
    """win_reboot's commands; None when the script is not one of them."""
    if _BOOT_TIME in script:
        return 0, f"{133000000000000000 + host.state['boot_id']}\r\n", ""
    if _SHUTDOWN.search(script):
        reboot(host)
        return 0, json.dumps({"stdout": "", "stderr": "", "rc": 0}), ""
    if "shutdown.exe /a" in script:
        return 1, "", "Unable to abort the system shutdown because no shutdown was in progress.(1116)"
    match = _LOGON_TEST.search(script)
    if match:
        return 0, f"Hive: HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Winlogon\r\n{match['token']}\r\n", ""
    return None
