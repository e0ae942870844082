"""Contracts of the general-purpose host scripts (any module may send them as steps)."""

from __future__ import annotations

import io
import ntpath
import tarfile
import typing as t
import zipfile

from .host import Host, ScriptFailure, key, split_win32
from .registry import PROGRAMS, script


@script("run_command")
def run_command(host: Host, params: dict[str, t.Any]) -> dict[str, t.Any]:
    file_path = params["FilePath"]
    argv = split_win32(params.get("Arguments") or "")
    system_program = file_path.lower().startswith("c:\\windows\\")
    if not system_program and not host.exists(file_path):
        raise ScriptFailure(f"Exception calling \"Start\": \"The system cannot find the file specified\" ({file_path})")
    handler = PROGRAMS.get(ntpath.basename(file_path).lower())
    if handler is None:
        rc, stdout, stderr = 1, "", f"{file_path}: not simulated"
    else:
        rc, stdout, stderr = handler(host, file_path, argv)
    if params.get("FailOnError") and rc != 0:
        raise ScriptFailure(f"{file_path} exited with {rc}: {stderr} {stdout}")
    return {"rc": rc, "stdout": stdout, "stderr": stderr}


@script("service_stop")
def service_stop(host: Host, params: dict[str, t.Any]) -> dict[str, t.Any]:
    name = params["Name"]
    service = host.service(name)
    if service is None or service["status"] == "Stopped":
        return {"name": name, "changed": False, "status": "Stopped" if service else None}
    for dependent in host.dependents(name):  # Stop-Service -Force stops dependents first
        host.stop_service(dependent["name"])
    host.stop_service(name)
    return {"name": name, "changed": True, "status": "Stopped"}


@script("service_start")
def service_start(host: Host, params: dict[str, t.Any]) -> dict[str, t.Any]:
    name = params["Name"]
    only_if = params.get("OnlyIfRunning")
    if only_if:
        other = host.service(only_if)
        if other is None or other["status"] != "Running":
            return {"name": name, "started": False, "skipped": f"{only_if} is not running", "status": None}
    service = host.service(name)
    if service is None:
        raise ScriptFailure(f"Cannot find any service with service name '{name}'.")
    for dependency in service.get("depends_on", []):
        if not host.start_service(dependency):
            raise ScriptFailure(f"Service '{name}' cannot be started: dependency {dependency} failed to start")
    changed = service["status"] != "Running"
    running = host.start_service(name)
    pipe = params.get("PipeName")
    ready = running and (not pipe or pipe in host.pipes())
    tail: list[str] = []
    log_file = params.get("LogFile")
    if not ready and log_file and host.file(log_file):
        tail = host.read_text(log_file).splitlines()[-20:]
    if not ready and params.get("Require", True):
        raise ScriptFailure(f"service {name} did not come up (status {service['status']}). Log tail: {' | '.join(tail)}")
    return {"name": name, "started": ready, "changed": changed, "status": service["status"], "log_tail": tail}


@script("service_wait_gone")
def service_wait_gone(host: Host, params: dict[str, t.Any]) -> dict[str, t.Any]:
    if host.service(params["Name"]) is not None:
        raise ScriptFailure(f"service {params['Name']} is still registered after {params.get('TimeoutSeconds', 60)} seconds")
    return {"name": params["Name"], "gone": True}


@script("service_configure")
def service_configure(host: Host, params: dict[str, t.Any]) -> dict[str, t.Any]:
    service = host.service(params["Name"])
    if service is None:
        raise ScriptFailure(f"Service '{params['Name']}' was not found on computer '.'.")
    service["start_mode"] = params.get("StartMode", "Automatic")
    if params.get("DependsOn") is not None:
        service["depends_on"] = list(params["DependsOn"])
    host.event("service_configure", params["Name"])
    return {"name": params["Name"], "start_mode": service["start_mode"], "depends_on": service.get("depends_on", [])}


@script("process_stop")
def process_stop(host: Host, params: dict[str, t.Any]) -> dict[str, t.Any]:
    name = params["Name"].lower()
    before = len(host.state["processes"])
    host.state["processes"] = [p for p in host.state["processes"] if p.lower() != name]
    stopped = before - len(host.state["processes"])
    if stopped:
        host.event("process_stop", params["Name"], stopped)
    return {"name": params["Name"], "stopped": stopped, "changed": bool(stopped)}


def _copy_tree(host: Host, source: str, target: str) -> None:
    for path in host.list_tree(source):
        host.write_file(target + path[len(source):], host.read_bytes(path))


@script("install_backup")
def install_backup(host: Host, params: dict[str, t.Any]) -> dict[str, t.Any]:
    backup = params["BackupDir"]
    host.remove_tree(backup)
    host.make_dir(backup)
    _copy_tree(host, ntpath.join(params["InstallDir"], "bin"), ntpath.join(backup, "bin"))
    if host.file(params["ConfigPath"]):
        host.write_file(ntpath.join(backup, "config.toml"), host.read_bytes(params["ConfigPath"]))
    host.event("install_backup", backup)
    return {"backup_dir": backup, "changed": True}


@script("install_restore")
def install_restore(host: Host, params: dict[str, t.Any]) -> dict[str, t.Any]:
    backup = params["BackupDir"]
    saved_bin = ntpath.join(backup, "bin")
    if not host.list_tree(saved_bin):
        raise ScriptFailure(f"no backup to restore in {backup}")
    bin_dir = ntpath.join(params["InstallDir"], "bin")
    host.remove_tree(bin_dir)
    _copy_tree(host, saved_bin, bin_dir)
    saved_config = ntpath.join(backup, "config.toml")
    if host.file(saved_config):
        host.write_file(params["ConfigPath"], host.read_bytes(saved_config))
    host.event("install_restore", params["InstallDir"])
    return {"restored": True, "changed": True}


def _archive_members(name: str, data: bytes) -> t.Iterator[tuple[str, bytes]]:
    if name.lower().endswith(".zip"):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for info in archive.infolist():
                if not info.is_dir():
                    yield info.filename, archive.read(info)
        return
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
            for member in archive.getmembers():
                if member.isfile():
                    yield member.name, archive.extractfile(member).read()
    except (tarfile.TarError, OSError) as exc:
        raise ScriptFailure(f"tar.exe could not extract {name}: {exc}") from None


@script("archive_extract")
def archive_extract(host: Host, params: dict[str, t.Any]) -> dict[str, t.Any]:
    archive, install_dir = params["Archive"], params["InstallDir"]
    members = list(_archive_members(archive, host.read_bytes(archive)))
    bin_members = [(n, d) for n, d in members if n.lstrip("./").startswith("bin/")]
    if not bin_members:
        raise ScriptFailure(f"Cannot find path '{install_dir}.staging\\bin' because it does not exist.")
    bin_dir = ntpath.join(install_dir, "bin")
    host.remove_tree(bin_dir)
    for name, data in bin_members:
        host.write_file(ntpath.join(bin_dir, name.lstrip("./")[len("bin/"):].replace("/", "\\")), data)
    host.event("archive_extract", archive, install_dir)
    return {"install_dir": install_dir, "files": sorted(ntpath.basename(p) for p in host.list_tree(bin_dir)),
            "changed": True}


@script("machine_path")
def machine_path(host: Host, params: dict[str, t.Any]) -> dict[str, t.Any]:
    entry, state = params["Entry"], params.get("State", "present")
    entries = host.state["machine_path"]
    same = [e for e in entries if e.rstrip("\\").lower() == entry.rstrip("\\").lower()]
    changed = False
    if state == "present" and not same:
        entries.append(entry)
        changed = True
    elif state == "absent" and same:
        host.state["machine_path"] = [e for e in entries if e not in same]
        changed = True
    if changed:
        host.event("machine_path", state, entry)
    return {"entry": entry, "state": state, "changed": changed}


@script("file_write")
def file_write(host: Host, params: dict[str, t.Any]) -> dict[str, t.Any]:
    path, content = params["Path"], params["Content"]
    if host.file(path) and host.read_text(path) == content:
        return {"path": path, "changed": False}
    host.write_file(path, content.encode("utf-8"))
    host.event("file_write", path)
    return {"path": path, "changed": True}


@script("defender_exclusion")
def defender_exclusion(host: Host, params: dict[str, t.Any]) -> dict[str, t.Any]:
    processes = host.state["defender_exclusions"]["processes"]
    wanted = list(params["Processes"])
    if params.get("State", "present") == "present":
        processes.extend(p for p in wanted if p.lower() not in [q.lower() for q in processes])
    else:
        host.state["defender_exclusions"]["processes"] = [p for p in processes if p.lower() not in [w.lower() for w in wanted]]
    host.event("defender_exclusion", params.get("State", "present"), *wanted)
    return {"processes": wanted, "state": params.get("State", "present"), "changed": True}


@script("directory_ensure")
def directory_ensure(host: Host, params: dict[str, t.Any]) -> dict[str, t.Any]:
    path = params["Path"]
    if host.is_dir(path):
        return {"path": path, "changed": False}
    host.make_dir(path)
    host.event("directory_ensure", path)
    return {"path": path, "changed": True}


def _delete_blocker(host: Host, path: str) -> str | None:
    """Why Windows refuses to delete this file now: a process holding it (image or open handle), or its ACL."""
    lock_blocker = getattr(host, "lock_blocker", None)  # running images (services, processes), when modelled
    return (lock_blocker(path) if lock_blocker else None) or host.open_handle_blocker(path) or host.acl_blocker(path)


@script("path_remove")
def path_remove(host: Host, params: dict[str, t.Any]) -> dict[str, t.Any]:
    """Deletes what it can (long paths too), takes over files whose ACL shuts Administrators out, lists the rest."""
    paths = params["Path"] if isinstance(params["Path"], list) else [params["Path"]]
    left: list[str] = []
    removed, changed = 0, False
    for path in paths:
        files = [host.file(path)["path"]] if host.file(path) else host.list_tree(path)
        if not files and not host.exists(path):
            continue
        changed = True
        kept: set[str] = set()
        for name in files:
            why = _delete_blocker(host, name)
            if why and host.acl_blocker(name) == why and host.take_over(name):  # takeown /A + icacls /grant
                why = _delete_blocker(host, name)
            if why:
                left.append(f"{name}: {why}")
                folder = key(name)
                while folder != key(ntpath.dirname(folder)):
                    folder = key(ntpath.dirname(folder))
                    kept.add(folder)
                continue
            host.remove_file(name)
            removed += 1
        prefix = key(path).rstrip("\\") + "\\"
        for folder in [d for d in host.state["dirs"] if (d == key(path) or d.startswith(prefix)) and d not in kept]:
            host.state["dirs"].remove(folder)
            removed += 1
        host.event("path_remove", path)
    if left:
        more = f"; and {len(left) - 10} more" if len(left) > 10 else ""
        raise ScriptFailure(f"deleted {removed} items, but {len(left)} could not be deleted: {'; '.join(left[:10])}{more}")
    return {"path": params["Path"], "changed": changed, "removed": removed}
