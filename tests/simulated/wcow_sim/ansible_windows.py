"""Stand-ins for the ansible.windows modules our roles call, and win_reboot's commands.

Each honours the documented arguments and return values of the real module
(ansible.windows 3.x), against the simulated host's features and reboot state.

Host features are keyed by their DISM (optional feature) name with DISM states
(Available = Disabled, EnablePending, Enabled, DisablePending). Server Manager
(win_feature, win_feature_info) names some of them differently: `Hyper-V` is DISM's
`Microsoft-Hyper-V`.
"""

from __future__ import annotations

import fnmatch
import json
import ntpath
import re
import typing as t

from . import hns
from .host import Host, ScriptFailure, join_args
from .registry import PROGRAMS, module, script

# Server Manager name -> (DISM name, display name), for the features the simulator knows.
_SERVER_FEATURES = {
    "Containers": ("Containers", "Containers"),
    "Hyper-V": ("Microsoft-Hyper-V", "Hyper-V"),
}
# Windows client: DISM refuses a feature whose parent is disabled unless asked to
# enable parents (-All); Hyper-V's platform sits under Microsoft-Hyper-V-All.
_CLIENT_PARENTS = {"Microsoft-Hyper-V": "Microsoft-Hyper-V-All"}
# Server Manager's InstallState for each simulated DISM state.
_INSTALL_STATE = {"Enabled": "Installed", "EnablePending": "InstallPending",
                  "DisablePending": "UninstallPending", "Available": "Available"}
_PENDING = ("EnablePending", "DisablePending")


def _names(args: dict[str, t.Any]) -> list[str]:
    names = args.get("name") or []
    if isinstance(names, str):  # list options accept a comma-separated string
        names = names.split(",")
    return [n.strip() for n in names if n.strip()]


def _dism_state(host: Host, name: str) -> str:
    """Get-WindowsOptionalFeature's State (the simulator's `Available` is DISM's `Disabled`)."""
    state = host.state["features"].get(name, "Disabled")
    return "Disabled" if state == "Available" else state


@script("optional_feature_state")
def optional_feature_state(host: Host, params: dict[str, t.Any]) -> dict[str, t.Any]:
    """Get-WindowsOptionalFeature -Online: DISM's state of one feature; a running service can skip the query."""
    name, skip = params["Name"], params.get("SkipIfServiceRunning")
    service = host.service(skip) if skip else None
    if service and service["status"] == "Running":
        return {"name": name, "state": None, "skipped": True}
    if name not in host.state["features"]:
        # DISM: "Feature name <name> is unknown. A Windows feature name is case sensitive..."
        raise ScriptFailure(f"Get-WindowsOptionalFeature : Feature name {name} is unknown.")
    return {"name": name, "state": _dism_state(host, name), "skipped": False}


def _toggle(host: Host, name: str, want_on: bool) -> None:
    status = "EnablePending" if want_on else "DisablePending"
    host.state["features"][name] = status
    host.state["pending_reboot"] = True
    host.event("feature", name, status)


@module("win_feature")
def win_feature(host: Host, args: dict[str, t.Any], check_mode: bool) -> dict[str, t.Any]:
    if host.state["edition"] != "server":
        return {"failed": True, "msg": "This module only works on Windows Server: Get-WindowsFeature is not available"}
    names = _names(args)
    unknown = [n for n in names if n not in _SERVER_FEATURES or _SERVER_FEATURES[n][0] not in host.state["features"]]
    if unknown:
        return {"failed": True, "changed": False,
                "msg": "Failed to install Windows Feature: ArgumentNotValid: The role, role service, or feature name is "
                       f"not valid: '{unknown[0]}'. The name was not found."}
    want_on = str(args.get("state", "present")).lower() == "present"  # PowerShell -eq ignores case
    results: list[dict[str, t.Any]] = []
    restart = False
    for name in names:
        dism, display = _SERVER_FEATURES[name]
        current = host.state["features"][dism]
        is_on = current in ("Enabled", "EnablePending")
        if want_on == is_on:
            # NoChangeNeeded; RestartNeeded still reflects a change that waits for a restart.
            restart = restart or current in _PENDING
            continue
        restart = True
        if not check_mode:
            _toggle(host, dism, want_on)
        results.append({"id": len(results) + 1, "display_name": display, "message": [], "reboot_required": True,
                        "skip_reason": "NotSkipped", "success": True})
    exitcode = "SuccessRestartRequired" if results else "NoChangeNeeded"
    return {"changed": bool(results), "exitcode": exitcode, "feature_result": results,
            "reboot_required": restart, "success": True}


@module("win_optional_feature")
def win_optional_feature(host: Host, args: dict[str, t.Any], check_mode: bool) -> dict[str, t.Any]:
    names = _names(args)
    want_on = str(args.get("state", "present")).lower() == "present"  # PowerShell -eq ignores case
    result: dict[str, t.Any] = {"changed": False, "reboot_required": False}
    to_change = []
    known = set(host.state["features"])
    if host.state["edition"] == "client":
        known |= set(_CLIENT_PARENTS.values())
    for name in names:
        if name not in known:
            return {**result, "failed": True, "msg": f"Failed to find feature '{name}'"}
        state = _dism_state(host, name)
        # The module compares with -like "Enabled*" / "Disabled*": a pending feature is changed again.
        if (want_on and not state.startswith("Enabled")) or (not want_on and not state.startswith("Disabled")):
            to_change.append(name)
    if not to_change:
        return result
    result["changed"] = True
    if check_mode:  # the module skips the DISM call, so reboot_required stays false
        return result
    if want_on:
        parents = [_CLIENT_PARENTS[n] for n in to_change if host.state["edition"] == "client" and n in _CLIENT_PARENTS]
        disabled_parents = [p for p in parents if not _dism_state(host, p).startswith("Enable")]
        if disabled_parents and not args.get("include_parent", False):
            # Enable-WindowsOptionalFeature throws; the module does not catch it.
            raise ScriptFailure("Unhandled exception while executing module: One or several parent features are "
                                "disabled so current feature can not be enabled.")
        for parent in disabled_parents:
            _toggle(host, parent, True)
    for name in to_change:
        if host.state["features"].get(name) != ("EnablePending" if want_on else "DisablePending"):
            _toggle(host, name, want_on)
        else:  # DISM re-applies the pending change; the restart is still needed
            host.state["pending_reboot"] = True
    result["reboot_required"] = True
    return result


@module("win_feature_info")
def win_feature_info(host: Host, args: dict[str, t.Any], check_mode: bool) -> dict[str, t.Any]:
    if host.state["edition"] != "server":
        return {"failed": True, "msg": "This module only works on Windows Server"}
    wanted = args.get("name") or "*"
    features = []
    for name, (dism, display) in _SERVER_FEATURES.items():
        state = host.state["features"].get(dism)
        if state is None or not fnmatch.fnmatchcase(name.lower(), wanted.lower()):
            continue
        install_state = _INSTALL_STATE.get(state, "Available")
        features.append({"name": name, "display_name": display, "installed": install_state in ("Installed", "InstallPending"),
                         "install_state": install_state, "feature_type": "Role" if name == "Hyper-V" else "Feature"})
    return {"changed": False, "exists": bool(features), "features": features}


# -- setup -----------------------------------------------------------------------
# setup.ps1's subset groups; each fact below belongs to the subset that gathers it.
_SUBSET_GROUPS = {
    "min": ["date_time", "distribution", "dns", "env", "local", "platform", "powershell_version", "user"],
    "network": ["all_ipv4_addresses", "all_ipv6_addresses", "interfaces", "windows_domain", "winrm"],
    "hardware": ["bios", "memory", "processor", "uptime", "virtual"],
    "external": ["facter"],
}
_ALL_SUBSETS = sorted({s for group in _SUBSET_GROUPS.values() for s in group})


def gathered_subsets(gather_subset: list[str]) -> tuple[set[str], list[str]]:
    """setup.ps1's rules: start from all, drop `!x`, add `x` back; `!all` keeps min."""
    actual, explicit, exclude, warnings = set(_ALL_SUBSETS), set(), set(), []
    for item in gather_subset:
        if item.startswith("!"):
            item = item[1:]
            if item == "all":
                exclude |= set(_ALL_SUBSETS) - set(_SUBSET_GROUPS["min"])
            elif item in _SUBSET_GROUPS:
                exclude |= set(_SUBSET_GROUPS[item])
            elif item in _ALL_SUBSETS:
                exclude.add(item)
        elif item == "all":
            explicit |= set(_ALL_SUBSETS)
        elif item in _SUBSET_GROUPS:
            explicit |= set(_SUBSET_GROUPS[item])
        elif item in _ALL_SUBSETS:
            explicit.add(item)
        else:
            warnings.append(f"invalid value {item} specified in gather_subset")
    return (actual - exclude) | explicit, warnings


@module("setup")
def setup(host: Host, args: dict[str, t.Any], check_mode: bool) -> dict[str, t.Any]:
    gather = args.get("gather_subset") or ["all"]
    gather = gather.split(",") if isinstance(gather, str) else list(gather)
    subsets, warnings = gathered_subsets(gather)
    build = host.state["build"]
    server = host.state["edition"] == "server"
    by_subset = {
        "distribution": {
            "os_family": "Windows",
            "distribution": f"Microsoft {host.state['product_name']}",
            "distribution_version": f"10.0.{build}.0",
            "distribution_major_version": "10",
            "os_name": f"Microsoft {host.state['product_name']}",
            "os_installation_type": "Server" if server else "Client",
            "os_product_type": "server" if server else "workstation",
        },
        "platform": {
            "system": "Win32NT",
            "kernel": f"10.0.{build}.0",
            "hostname": host.name.split(".")[0].upper(),
            "architecture": "64-bit",
            "architecture2": "x86_64",
            "reboot_pending": bool(host.state["pending_reboot"]),
        },
        "powershell_version": {"powershell_version": 5},
    }
    facts: dict[str, t.Any] = {"gather_subset": gather, "module_setup": True}
    for subset, values in by_subset.items():
        if subset in subsets:
            facts.update({f"ansible_{k}": v for k, v in values.items()})
    result: dict[str, t.Any] = {"changed": False, "ansible_facts": facts}
    if warnings:
        result["warnings"] = warnings
    return result


# -- win_command -----------------------------------------------------------------
@module("win_command")
def win_command(host: Host, args: dict[str, t.Any], check_mode: bool) -> dict[str, t.Any]:
    """win_command with `argv` (the form our verify uses): the program's twin runs; rc != 0 fails the task.

    The real module declares supports_check_mode = $false: Ansible.Basic skips it in check mode.
    `_raw_params`/`cmd` (a command line Windows would parse) are not simulated and fail saying so.
    """
    if check_mode:
        return {"changed": False, "skipped": True, "msg": "remote module (win_command) does not support check mode"}
    argv = args.get("argv")
    if not argv:
        return {"failed": True, "msg": "the simulated host runs win_command only with argv"}
    exe = argv[0]
    command = join_args(argv)
    # Resolve-ExecutablePath: an absolute path must exist; a bare name would be looked up on PATH (not simulated).
    handler = PROGRAMS.get(ntpath.basename(exe).lower())
    if not ntpath.isabs(exe) or not host.exists(exe) or handler is None:
        return {"failed": True, "rc": 2, "cmd": command, "changed": False,
                "msg": f"Failed to run: '{command}': Exception calling \"SearchPath\" with \"1\" argument(s): "
                       f"\"Could not find file '{exe}'.\""}
    rc, stdout, stderr = handler(host, exe, list(argv[1:]))
    result = {"changed": True, "cmd": command, "rc": rc, "stdout": stdout, "stderr": stderr,
              "stdout_lines": stdout.splitlines(), "stderr_lines": stderr.splitlines()}
    if rc != 0:
        result.update(failed=True, msg="non-zero return code")
    return result


# -- win_reboot ------------------------------------------------------------------
_BOOT_TIME = "LastBootUpTime.ToFileTime()"
_SHUTDOWN = re.compile(r"shutdown\.exe /r /t (?P<delay>\d+)")
_LOGON_TEST = re.compile(r"Get-Item -LiteralPath '[^']*AutoLogonChecked'[^;]*; '(?P<token>[^']+)'")


def reboot(host: Host) -> None:
    """What a reboot does to the simulated host: pending work completes, services restart."""
    host.state["boot_id"] += 1
    host.state["pending_reboot"] = False
    rollback = set(host.fault("feature_rollback", []) or [])
    host.event("reboot", host.state["boot_id"])
    for name, status in list(host.state["features"].items()):
        if status == "EnablePending" and name in rollback:
            # "We couldn't complete the features. Undoing changes": the feature stays off.
            host.state["features"][name] = "Available"
            host.event("feature_rollback", name)
        elif status == "EnablePending":
            host.state["features"][name] = "Enabled"
        elif status == "DisablePending":
            host.state["features"][name] = "Available"
    host.power_off()
    hns.run_startup_tasks(host)  # HNS, then AtStartup scheduled tasks, before automatic services
    for service in host.state["services"].values():
        if service.get("start_mode") == "Automatic":
            # The SCM starts an auto-start service's dependencies first (buildkitd after containerd).
            for dependency in service.get("depends_on", []):
                if host.service(dependency):
                    host.start_service(dependency)
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
