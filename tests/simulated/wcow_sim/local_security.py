"""Contracts of local_group_ensure.ps1 and firewall_rule.ps1 (tests only).

Modelled on Windows: local group names follow the rules of lusrmgr / NetLocalGroupAdd (up to 256
characters, none of " / \\ [ ] : ; | = , + * ? < > @, not only dots or spaces, not a local user's
name); built-in groups always exist.  Firewall rules follow the NetSecurity cmdlets: a rule Name is
unique, addresses must be IPs, ranges, subnets or the documented keywords, and an IPv4 prefix is
stored (and read back by Get-NetFirewallAddressFilter) as a mask, a /32 as the bare address.
"""

from __future__ import annotations

import ipaddress
import re
import typing as t

from .host import Host, ScriptFailure
from .registry import script

# Groups every Windows host has (Get-LocalGroup / LookupAccountName find them with or without BUILTIN\),
# with their well-known SIDs.
BUILTIN_SIDS = {"Administrators": "S-1-5-32-544", "Users": "S-1-5-32-545", "Guests": "S-1-5-32-546",
                "Power Users": "S-1-5-32-547", "Backup Operators": "S-1-5-32-551", "Remote Desktop Users": "S-1-5-32-555",
                "Hyper-V Administrators": "S-1-5-32-578", "Remote Management Users": "S-1-5-32-580"}
BUILTIN_GROUPS = tuple(BUILTIN_SIDS)
SYSTEM = ("NT AUTHORITY\\SYSTEM", "S-1-5-18")
ADMINISTRATORS = ("BUILTIN\\Administrators", "S-1-5-32-544")
AUTHENTICATED_USERS = ("NT AUTHORITY\\Authenticated Users", "S-1-5-11")
_MACHINE_SID = "S-1-5-21-3623811015-3361044348-30300820"
# What FileSecurity reports for the two ACLs below.
FULL_CONTROL = "FullControl"
READ_WRITE = "Write, Read, Synchronize"
_BAD_GROUP_CHARS = set('"/\\[]:;|=,+*?<>@')
_ADDRESS_KEYWORDS = {k.lower(): k for k in (
    "Any", "LocalSubnet", "LocalSubnet4", "LocalSubnet6", "DNS", "DNS4", "DNS6", "DHCP", "DHCP4", "DHCP6",
    "WINS", "WINS4", "WINS6", "DefaultGateway", "DefaultGateway4", "DefaultGateway6", "Internet", "Internet4",
    "Internet6", "Intranet", "Intranet4", "Intranet6", "IntranetRemoteAccess", "IntranetRemoteAccess4",
    "IntranetRemoteAccess6", "PlayToDevice", "PlayToDevice4", "PlayToDevice6")}
INVALID_ADDRESS = ("The address is invalid. Addresses may be specified as IP addresses, ranges, or subnets. Also, the "
                   "following address keywords are allowed in certain places: LocalSubnet, DNS, DHCP, WINS, "
                   "DefaultGateway, Internet, Intranet, IntranetRemoteAccess, PlayToDevice. Keywords can be restricted "
                   "to IPv4 or IPv6 by appending a 4 or a 6.")


def _groups(host: Host) -> dict[str, dict[str, t.Any]]:
    return host.state.setdefault("local_groups", {})


def find_group(host: Host, name: str) -> str | None:
    """Get-LocalGroup -Name: the group's own spelling, or None."""
    short = re.sub(r"^(BUILTIN|\.)\\", "", name, flags=re.I)
    for builtin in BUILTIN_GROUPS:
        if builtin.lower() == short.lower():
            return builtin
    group = _groups(host).get(short.lower())
    return group["name"] if group else None


def group_account(host: Host, name: str) -> tuple[str, str] | None:
    """LookupAccountName: (DOMAIN\\name as NTAccount shows it, SID) of a local group, or None."""
    found = find_group(host, name)
    if found is None:
        return None
    if found in BUILTIN_SIDS:
        return f"BUILTIN\\{found}", BUILTIN_SIDS[found]
    groups = _groups(host)
    # A group a test put in the state without a SID gets a stable one.
    sid = groups[found.lower()].get("sid") or f"{_MACHINE_SID}-{1000 + sorted(groups).index(found.lower())}"
    return f"{host.name.split('.')[0].upper()}\\{found}", sid


@script("local_group_ensure")
def local_group_ensure(host: Host, params: dict[str, t.Any]) -> dict[str, t.Any]:
    created, existing = [], []
    for name in params["Names"]:
        found = find_group(host, name)
        if found:
            existing.append(found)
            continue
        if (not name or len(name) > 256 or set(name) & _BAD_GROUP_CHARS or not name.strip(". ")):
            raise ScriptFailure(f"New-LocalGroup : The format of the specified group name is invalid. ({name})")
        if name.lower() in (u.lower() for u in host.state.get("local_users", [])):
            raise ScriptFailure(f"New-LocalGroup : The account already exists. ({name})")
        rid = 1000 + len(_groups(host)) + len(host.state.get("local_users", []))
        _groups(host)[name.lower()] = {"name": name, "description": params.get("Description"), "members": [],
                                       "sid": f"{_MACHINE_SID}-{rid}"}
        host.event("local_group_create", name)
        created.append(name)
    return {"names": list(params["Names"]), "created": created, "existing": existing, "changed": bool(created)}


def stored_address(text: str) -> str:
    """What New-/Set-NetFirewallRule keeps for one -RemoteAddress item (raises on what they refuse)."""
    value = str(text).strip()
    if value.lower() in _ADDRESS_KEYWORDS:
        return _ADDRESS_KEYWORDS[value.lower()]
    try:
        if "-" in value:
            first, last = (ipaddress.ip_address(p) for p in value.split("-", 1))
            if first.version != last.version or first > last:
                raise ValueError(value)
            return f"{first}-{last}"
        if "/" in value:
            address, prefix = value.split("/", 1)
            network = ipaddress.ip_network(f"{address}/{prefix}", strict=False)
            if network.version == 4:
                if network.prefixlen == 32:
                    return str(ipaddress.ip_address(address))
                return f"{ipaddress.ip_address(address)}/{network.netmask}"
            return f"{ipaddress.ip_address(address)}/{network.prefixlen}"
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise ScriptFailure(INVALID_ADDRESS) from None


@script("firewall_rule")
def firewall_rule(host: Host, params: dict[str, t.Any]) -> dict[str, t.Any]:
    name, state, port = params["Name"], params.get("State", "present"), int(params.get("Port", 0))
    rules = host.state.setdefault("firewall_rules", {})
    rule = rules.get(name.lower())
    answer: dict[str, t.Any] = {"name": name, "state": state, "changed": False, "port": port,
                                "remote_addresses": [], "before": None}
    if rule:
        answer["before"] = {"port": rule["local_port"], "protocol": rule["protocol"],
                            "remote_addresses": list(rule["remote_addresses"]), "enabled": rule["enabled"],
                            "direction": rule["direction"], "action": rule["action"]}
    check_only = bool(params.get("CheckOnly"))
    if state == "absent":
        if rule and check_only:
            answer["changed"] = True
        elif rule:
            del rules[name.lower()]
            host.event("firewall_rule_remove", name)
            answer["changed"] = True
        return answer
    if not 1 <= port <= 65535:
        raise ScriptFailure(f"firewall_rule: Port must be 1-65535, not {port}")
    wanted = sorted({stored_address(a) for a in params.get("RemoteAddresses") or ["Any"]}, key=str.lower)
    answer["remote_addresses"] = wanted
    desired = {"name": name, "display_name": params.get("DisplayName") or name, "direction": "Inbound",
               "action": "Allow", "protocol": "TCP", "local_port": str(port), "remote_addresses": wanted,
               "enabled": "True", "profile": "Any"}
    if check_only:
        have = sorted(rule["remote_addresses"], key=str.lower) if rule else None
        found = None if rule is None else (rule["local_port"], rule["protocol"], rule["enabled"], rule["direction"],
                                           rule["action"], have)
        answer["changed"] = found != (str(port), "TCP", "True", "Inbound", "Allow", wanted)
        return answer
    if rule is None:
        rules[name.lower()] = desired
        host.event("firewall_rule_create", name, port)
        answer["changed"] = True
        return answer
    have = sorted(rule["remote_addresses"], key=str.lower)
    if (rule["local_port"], rule["protocol"], rule["enabled"], rule["direction"], rule["action"], have) != \
            (str(port), "TCP", "True", "Inbound", "Allow", wanted):
        rule.update({k: v for k, v in desired.items() if k not in ("name", "display_name", "profile")})
        host.event("firewall_rule_update", name, port)
        answer["changed"] = True
    return answer


def _rule(account: tuple[str, str], rights: str) -> dict[str, str]:
    return {"sid": account[1], "identity": account[0], "type": "Allow", "rights": rights}


PRIVATE_ACL = [_rule(SYSTEM, FULL_CONTROL), _rule(ADMINISTRATORS, FULL_CONTROL)]


@script("file_acl_private")
def file_acl_private(host: Host, params: dict[str, t.Any]) -> dict[str, t.Any]:
    """A file entry's acl {protected, access:[rules]}; without one it inherits from its folder (not private)."""
    updated, missing = [], []
    check_only = bool(params.get("CheckOnly"))
    for path in params["Path"]:
        entry = host.file(path)
        if entry is None:
            if check_only:
                missing.append(path)
                continue
            raise ScriptFailure(f"Cannot find path '{path}' because it does not exist.")
        acl = entry.get("acl") or {}
        if acl.get("protected") and sorted(r["sid"] for r in acl.get("access", [])) == ["S-1-5-18", "S-1-5-32-544"] \
                and all(r["rights"] == FULL_CONTROL and r["type"] == "Allow" for r in acl["access"]):
            continue
        if check_only:
            updated.append(path)
            continue
        acl = entry.setdefault("acl", {})
        acl.update(protected=True, access=[dict(r) for r in PRIVATE_ACL])
        host.event("file_acl_private", path)
        updated.append(path)
    return {"path": list(params["Path"]), "changed": bool(updated), "updated": updated, "missing": missing}


def pipe_acl_of(host: Host, version: tuple[int, ...], groups: list[str]) -> list[dict[str, str]]:
    """The DACL buildkitd puts on its pipe (cmd/buildkitd/main_windows.go): before 0.14 without --group
    authenticated users may read/write; from 0.13.2 each --group gets read/write."""
    rules = [_rule(SYSTEM, FULL_CONTROL), _rule(ADMINISTRATORS, FULL_CONTROL)]
    accounts = [group_account(host, g) for g in groups] if version >= (0, 13, 2) else []
    if not [a for a in accounts if a] and version < (0, 14, 0):
        rules.append(_rule(AUTHENTICATED_USERS, READ_WRITE))
    rules += [_rule(a, READ_WRITE) for a in accounts if a]
    return rules


@script("pipe_acl")
def pipe_acl(host: Host, params: dict[str, t.Any]) -> dict[str, t.Any]:
    name = params["Name"]
    answer: dict[str, t.Any] = {"name": name, "exists": False, "access": []}
    if name not in host.pipes():
        return answer
    service = next(s for s in host.state["services"].values() if s["status"] == "Running" and s.get("pipe") == name)
    answer["exists"] = True
    # containerd's pipe (and any other simulated daemon's): SYSTEM and Administrators only.
    answer["access"] = [dict(r) for r in ((service.get("buildkitd") or {}).get("pipe_acl") or PRIVATE_ACL)]
    return answer
