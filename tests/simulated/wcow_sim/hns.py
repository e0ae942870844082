"""The Host Networking Service (HNS) of the simulated host, the scripts that reach it, and boot-time tasks.

HNS state lives in ``host.state["hns_networks"]`` ({id: {id, name, type, subnet, gateway}}). What real
Windows does, as modelled here:
- vmcompute.dll (and so ``HNSCall``) exists only with the Containers feature Enabled; without it
  Add-Type's P/Invoke fails at the first call with .NET's DllNotFoundException text.
- At the first boot with Containers on, HNS creates the default ``nat`` network (172.x subnet of its
  choosing) on every build except 17763: Windows Server 2019 has none by default. Host var
  ``sim_faults.hns_nat: absent`` makes any build start without it.
- At a reboot ``sim_faults.hns_nat_vanishes_on_reboot: true`` deletes ``nat``; ``sim_faults.hns_nat_subnet_on_reboot:
  <cidr>`` gives it a new subnet (gateway: the first host address) and a new id.
- ``POST /networks/`` refuses a gateway outside the subnet and a subnet overlapping another network's,
  and a second NAT network on builds that allow only one (HNSCall answers Success=false).
- Scheduled tasks with an AtStartup trigger run at boot, before automatic services start (our boot
  script also restarts a buildkitd that got there first).
"""

from __future__ import annotations

import ipaddress
import typing as t
import uuid

from .host import Host, ScriptFailure, split_win32
from .registry import SCRIPTS, script

DEFAULT_NAT = ("172.23.64.0/20", "172.23.64.1")
NO_VMCOMPUTE = ("Unable to load DLL 'vmcompute.dll': The specified module could not be found. "
                "(Exception from HRESULT: 0x8007007E)")


def _new_id(host: Host, name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_OID, f"{host.name}-{name}-{host.state['boot_id']}-{host.clock}")).upper()


def _add(host: Host, name: str, kind: str, subnet: str, gateway: str) -> dict[str, t.Any]:
    network = {"id": _new_id(host, name), "name": name, "type": kind, "subnet": subnet, "gateway": gateway}
    host.state.setdefault("hns_networks", {})[network["id"]] = network
    return network


def networks(host: Host) -> list[dict[str, t.Any]]:
    """GET /networks/ (after the boot-time work of the current boot, done once)."""
    boot(host)
    return list(host.state.setdefault("hns_networks", {}).values())


def boot(host: Host) -> None:
    """What HNS does when it starts in a boot (idempotent within one boot)."""
    if host.state.get("hns_boot") == host.state["boot_id"]:
        return
    if host.state["features"].get("Containers") != "Enabled":
        return  # no HNS yet: its work waits for the boot that has the feature
    first = "hns_boot" not in host.state
    host.state["hns_boot"] = host.state["boot_id"]
    nets = host.state.setdefault("hns_networks", {})
    nat = [n for n in nets.values() if n["name"] == "nat"]
    if first:
        if not nat and host.state["build"] != 17763 and host.fault("hns_nat") != "absent":
            _add(host, "nat", "NAT", *DEFAULT_NAT)
        return
    if nat and host.fault("hns_nat_vanishes_on_reboot"):
        for network in nat:
            del nets[network["id"]]
        host.event("hns_network_lost", "nat")
        return
    moved = host.fault("hns_nat_subnet_on_reboot")
    if nat and moved:
        net = ipaddress.ip_network(moved)
        for network in nat:
            del nets[network["id"]]
        _add(host, "nat", "NAT", str(net), str(next(net.hosts())))
        host.event("hns_network_moved", "nat", moved)


def _hns(host: Host) -> None:
    if host.state["features"].get("Containers") != "Enabled":
        raise ScriptFailure(NO_VMCOMPUTE)


def _create(host: Host, name: str, kind: str, subnet: str, gateway: str) -> None:
    """POST /networks/: HNS's refusals come back as Success=false, thrown as 'HNS failed with error : ...'."""
    try:
        net = ipaddress.ip_network(subnet, strict=True)
        address = ipaddress.ip_address(gateway)
    except ValueError:
        raise ScriptFailure("HNS failed with error : The parameter is incorrect. ") from None
    if address not in net:
        raise ScriptFailure("HNS failed with error : The parameter is incorrect. ")
    for other in networks(host):
        if other.get("subnet") and ipaddress.ip_network(other["subnet"]).overlaps(net):
            raise ScriptFailure("HNS failed with error : The object already exists. ")
        if kind.lower() == "nat" and other["type"].lower() == "nat" and host.state["build"] == 17763:
            raise ScriptFailure("HNS failed with error : The object already exists. ")
    _add(host, name, kind.upper() if kind.lower() == "nat" else kind, str(net), gateway)
    host.event("hns_network_create", name, subnet)


def _flat(host: Host, name: str, changed: bool) -> dict[str, t.Any]:
    found = next((n for n in networks(host) if n["name"] == name), None)
    if found is None:
        return {"name": name, "exists": False, "id": None, "type": None, "subnet": None, "gateway": None,
                "changed": changed, "build": host.state["build"], "available": True}
    return {"name": name, "available": True, "exists": True, "id": found["id"], "type": found["type"], "subnet": found["subnet"],
            "gateway": found["gateway"], "changed": changed, "build": host.state["build"]}


@script("hns_network")
def hns_network(host: Host, params: dict[str, t.Any]) -> dict[str, t.Any]:
    name = params["Name"]
    if host.state["features"].get("Containers") != "Enabled":  # the script catches DllNotFoundException
        return {"name": name, "available": False, "error": NO_VMCOMPUTE, "exists": False,
                "build": host.state["build"]}
    found = any(n["name"] == name for n in networks(host))
    if not found and params.get("Create"):
        if not params.get("Subnet") or not params.get("Gateway"):
            raise ScriptFailure(f"cannot create the HNS network {name} without a subnet and a gateway")
        _create(host, name, params.get("Type") or "NAT", params["Subnet"], params["Gateway"])
        return _flat(host, name, True)
    return _flat(host, name, False)


@script("file_read")
def file_read(host: Host, params: dict[str, t.Any]) -> dict[str, t.Any]:
    path = params["Path"]
    if host.file(path) is None:
        return {"path": path, "exists": False, "content": None}
    return {"path": path, "exists": True, "content": host.read_text(path)}


@script("service_status")
def service_status(host: Host, params: dict[str, t.Any]) -> dict[str, t.Any]:
    service = host.service(params["Name"])
    if service is None:
        return {"name": params["Name"], "exists": False, "status": None}
    return {"name": params["Name"], "exists": True, "status": service["status"]}


@script("zip_extract")
def zip_extract(host: Host, params: dict[str, t.Any]) -> dict[str, t.Any]:
    """Expand-Archive -Force: each member overwrites its file (a locked one refuses: the write fails there)."""
    from .common import _archive_members  # pylint: disable=import-outside-toplevel
    archive, destination = params["Archive"], params["Destination"]
    if not archive.lower().endswith(".zip"):
        raise ScriptFailure(f".{archive.rsplit('.', 1)[-1]} is not a supported archive file format. .zip is the only "
                            "supported archive file format.")
    host.make_dir(destination)
    for name, data in _archive_members(archive, host.read_bytes(archive)):
        host.write_file(destination.rstrip("\\") + "\\" + name.replace("/", "\\"), data)
    host.event("zip_extract", archive, destination)
    files = sorted({p.rsplit("\\", 1)[-1] for p in host.list_tree(destination)
                    if "\\" not in p[len(destination.rstrip("\\")) + 1:]})
    return {"destination": destination, "files": files, "changed": True}


@script("scheduled_task")
def scheduled_task(host: Host, params: dict[str, t.Any]) -> dict[str, t.Any]:
    tasks = host.state.setdefault("scheduled_tasks", {})
    name, state = params["Name"], params.get("State", "query")
    current = tasks.get(name.lower())
    command = f"{current['execute']} {current['argument']}" if current else None
    wanted = f"{params.get('Execute', '')} {params.get('Argument', '')}"
    changed = False
    if state == "present" and command != wanted:
        tasks[name.lower()] = {"name": name, "execute": params["Execute"], "argument": params["Argument"],
                               "trigger": "AtStartup", "user": "SYSTEM"}
        host.event("scheduled_task_register", name)
        changed, command = True, wanted
    elif state == "absent" and current:
        del tasks[name.lower()]
        host.event("scheduled_task_unregister", name)
        changed, command = True, None
    return {"name": name, "exists": command is not None, "command": command, "changed": changed}


@script("cni_boot")
def cni_boot(host: Host, params: dict[str, t.Any]) -> dict[str, t.Any]:
    """The boot script as the task runs it (its answer goes nowhere; the log line is what it leaves)."""
    _hns(host)
    name = params["Name"]
    said = []
    if not any(n["name"] == name for n in networks(host)):
        _create(host, name, "NAT", params["Subnet"], params["Gateway"])
        said.append(f"created {name} {params['Subnet']}")
    found = next(n for n in networks(host) if n["name"] == name)
    text = host.read_text(params["TemplatePath"]).replace("@SUBNET@", found["subnet"]).replace(
        "@GATEWAY@", found["gateway"])
    conf = params["ConfPath"]
    old = host.read_text(conf) if host.file(conf) else None
    if old != text:
        host.write_file(conf, text.encode("utf-8"))
        said.append(f"rendered {conf}")
        service = host.service(params.get("ServiceName") or "buildkitd")
        if service and service["status"] == "Running":
            host.request_stop(service["name"])
            host.start_service(service["name"])
            said.append(f"restarted {service['name']}")
    if params.get("LogFile"):
        before = host.read_bytes(params["LogFile"]) if host.file(params["LogFile"]) else b""
        host.write_file(params["LogFile"], before + ("; ".join(said) + "\r\n").encode())
    host.event("cni_boot", *said)
    return {"said": said}


def run_startup_tasks(host: Host) -> None:
    """At boot: HNS starts, then every AtStartup task runs its powershell.exe -File script."""
    boot(host)
    for task in list(host.state.get("scheduled_tasks", {}).values()):
        argv = split_win32(f"\"{task['execute']}\" {task['argument']}")
        if "-File" not in argv:
            continue
        path = argv[argv.index("-File") + 1]
        if host.file(path) is None:
            host.event("scheduled_task_failed", task["name"], "file not found", path)
            continue
        params = {}
        rest = argv[argv.index("-File") + 2:]
        for flag, value in zip(rest[::2], rest[1::2]):
            params[flag.lstrip("-")] = value
        script_name = path.rsplit("\\", 1)[-1].rsplit(".", 1)[0]
        handler = SCRIPTS.get(script_name)
        try:
            if handler is None:
                raise ScriptFailure(f"no simulated contract for {path}")
            handler(host, params)
        except ScriptFailure as exc:
            host.event("scheduled_task_failed", task["name"], str(exc))
