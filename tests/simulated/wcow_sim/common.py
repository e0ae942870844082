"""Contracts of the general-purpose host scripts (any module may send them as steps)."""

from __future__ import annotations

import fnmatch
import hashlib
import io
import ntpath
import tarfile
import typing as t
import zipfile

from .host import ENVIRONMENT_KEY, Host, ScriptFailure, exe_identity, key, split_win32
from .registry import PROGRAMS, script


@script("run_command")
def run_command(host: Host, params: dict[str, t.Any]) -> dict[str, t.Any]:
    file_path = params["FilePath"]
    argv = split_win32(params.get("Arguments") or "")
    system_program = file_path.lower().startswith("c:\\windows\\")
    if not system_program and not host.exists(file_path):
        raise ScriptFailure(f"Exception calling \"Start\": \"The system cannot find the file specified\" ({file_path})")
    handler = PROGRAMS.get(ntpath.basename(file_path).lower())
    environment = {}
    for pair in params.get("Environment") or []:
        name, sep, value = str(pair).partition("=")
        if not sep or not name:
            raise ScriptFailure(f"Environment entry '{pair}' is not NAME=value")
        environment[name] = value
    if handler is None:
        rc, stdout, stderr = 1, "", f"{file_path}: not simulated"
    else:
        # the process's added environment, for the program twins that read it (docker.py); gone after the run
        host.process_env = environment
        try:
            rc, stdout, stderr = handler(host, file_path, argv)
        finally:
            host.process_env = {}
    if params.get("FailOnError") and rc != 0:
        raise ScriptFailure(f"{file_path} exited with {rc}: {stderr} {stdout}")
    return {"rc": rc, "stdout": stdout, "stderr": stderr}


def _stop_bounded(host: Host, name: str, seconds: int, stopped: list[dict[str, t.Any]]) -> None:
    """service_stop.ps1's Stop-ServiceBounded: dependents first, bounded waits, end the process.

    Appends one answer per service to `stopped`, dependents before the service they depend on.
    """
    service = host.service(name)
    answer: dict[str, t.Any] = {"name": service["name"], "changed": False, "killed": False, "pid": None,
                                "reason": None}
    for dependent in host.dependents(name):
        if dependent["status"] != "Stopped":
            _stop_bounded(host, dependent["name"], seconds, stopped)
    stopped.append(answer)
    # Win32_Service.ProcessId, read before stopping (0 once the service is Stopped).
    process = host.process(service.get("pid"))
    answer["pid"] = process["pid"] if process else None
    if service["status"] == "Stopped" and not process:
        answer["status"] = "Stopped"
        return
    answer["changed"] = True
    if service["status"] == "Running":
        host.request_stop(name)  # ServiceController.Stop(): sends the control, does not wait
    if service["status"] != "Stopped":  # WaitForStatus('Stopped', TimeSpan) throws TimeoutException
        host.advance(seconds)
        if not process:
            raise ScriptFailure(f"service {name} is still {service['status']} after {seconds} seconds "
                                "and has no process of its own to end")
        answer["reason"] = f"still {service['status']} after {seconds} seconds"
        host.kill_process(process["pid"])
        answer["killed"] = True
    if process and not host.wait_for_exit(process["pid"], seconds):
        answer["reason"] = f"process still running {seconds} seconds after the service stopped"
        host.kill_process(process["pid"])
        answer["killed"] = True
    answer["status"] = "Stopped"


@script("service_stop")
def service_stop(host: Host, params: dict[str, t.Any]) -> dict[str, t.Any]:
    name = params["Name"]
    if host.service(name) is None:
        return {"name": name, "changed": False, "status": None, "killed": False, "dependents": []}
    stopped: list[dict[str, t.Any]] = []
    _stop_bounded(host, name, int(params.get("TimeoutSeconds", 60)), stopped)
    return {**stopped[-1], "dependents": stopped[:-1]}


@script("service_start")
def service_start(host: Host, params: dict[str, t.Any]) -> dict[str, t.Any]:
    name = params["Name"]
    timeout = int(params.get("TimeoutSeconds", 60))
    only_if = params.get("OnlyIfRunning")
    if only_if:
        other = host.service(only_if)
        if other is None or other["status"] != "Running":
            return {"name": name, "started": False, "skipped": f"{only_if} is not running", "status": None}
    service = host.service(name)
    if service is None:
        raise ScriptFailure(f"Cannot find any service with service name '{name}'.")
    changed = service["status"] != "Running"
    if service["status"] == "Stopped":
        # StartService starts the services this one depends on first.
        for dependency in service.get("depends_on", []):
            if not host.start_service(dependency):
                raise ScriptFailure(f"Service '{name}' cannot be started: dependency {dependency} failed to start")
        host.start_service(name)
    pipe = params.get("PipeName")
    ready = service["status"] == "Running" and (not pipe or pipe in host.pipes())
    if not ready and service["status"] != "Stopped":
        host.advance(timeout)  # polled until the deadline: a pending service never got there
    tail: list[str] = []
    log_file = params.get("LogFile")
    if not ready and log_file and host.file(log_file):
        tail = host.read_text(log_file).splitlines()[-20:]
    if not ready and params.get("Require", True):
        raise ScriptFailure(f"service {name} did not come up within {timeout} seconds (status {service['status']}).  "
                            f"Log tail: {' | '.join(tail)}")
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
    prefix = key(params["Directory"]).rstrip("\\") + "\\"
    name = (params.get("Name") or "").lower()
    ours = [p for p in host.processes()
            if key(p["image"]).startswith(prefix) and (not name or p["name"].lower() == name)]
    for record in ours:
        host.kill_process(record["pid"])
    stopped = [{"pid": p["pid"], "path": p["image"]} for p in ours]
    return {"directory": params["Directory"], "stopped": len(stopped), "processes": stopped,
            "changed": bool(stopped)}


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
    host.remove_tree(bin_dir + ".failed")
    if host.exists(bin_dir):
        host.move_tree(bin_dir, bin_dir + ".failed")
    _copy_tree(host, saved_bin, bin_dir)
    host.remove_tree(bin_dir + ".failed")
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
    # bin is renamed to bin.old (refused while a live process's image is inside), then deleted.
    host.remove_tree(bin_dir + ".old")
    if host.exists(bin_dir):
        host.move_tree(bin_dir, bin_dir + ".old")
    for name, data in bin_members:
        host.write_file(ntpath.join(bin_dir, name.lstrip("./")[len("bin/"):].replace("/", "\\")), data)
    host.remove_tree(bin_dir + ".old")
    host.event("archive_extract", archive, install_dir)
    return {"install_dir": install_dir, "files": sorted(ntpath.basename(p) for p in host.list_tree(bin_dir)),
            "changed": True}


@script("machine_path")
def machine_path(host: Host, params: dict[str, t.Any]) -> dict[str, t.Any]:
    entry, state = params["Entry"], params.get("State", "present")
    # The raw value (DoNotExpandEnvironmentNames); entries compare by their expansion.
    current = host.machine_path_raw()
    want = host.expand(entry).rstrip("\\").lower()
    parts = current.split(";")
    same = [p for p in parts if p and host.expand(p).rstrip("\\").lower() == want]
    new = None
    if state == "present" and not same:
        new = entry if current == "" else current + entry if current.endswith(";") else current + ";" + entry
    elif state == "absent" and same:
        new = ";".join(p for p in parts if p not in same)
    if new is not None:
        host.set_registry_value(ENVIRONMENT_KEY, "Path", "REG_EXPAND_SZ", new)
        host.event("machine_path", state, entry)
    return {"entry": entry, "state": state, "changed": new is not None}


@script("file_write")
def file_write(host: Host, params: dict[str, t.Any]) -> dict[str, t.Any]:
    path, content = params["Path"], params["Content"]
    data = content.encode("utf-8")  # UTF8Encoding($false): no BOM
    sha256 = hashlib.sha256(data).hexdigest()
    if host.file(path) and host.read_bytes(path) == data:  # bytes compared, not ReadAllText's decoding
        return {"path": path, "sha256": sha256, "changed": False}
    host.write_file(path, data)
    host.event("file_write", path)
    return {"path": path, "sha256": sha256, "changed": True}


@script("defender_exclusion")
def defender_exclusion(host: Host, params: dict[str, t.Any]) -> dict[str, t.Any]:
    wanted = list(params["Processes"])
    state = params.get("State", "present")
    answer = {"processes": wanted, "state": state, "changed": False, "skipped": None, "warning": None}
    if host.defender_status() == "missing":  # Get-Command Add-MpPreference finds nothing
        answer["skipped"] = "Windows Defender is not installed (no Defender cmdlets)"
        return answer

    def pending(current: list[str]) -> list[str]:
        lowered = [c.lower() for c in current]
        return [w for w in wanted if (w.lower() in lowered) != (state == "present")]
    try:
        before = host.mp_exclusion_processes()
    except ScriptFailure as exc:
        answer["skipped"] = f"Windows Defender is not running: {exc}"
        return answer
    todo = pending(before)
    if not todo:
        return answer
    local = list(host.state["defender_exclusions"]["processes"])
    if state == "present":
        known = [q.lower() for q in local]
        host.mp_set_exclusion_processes("Add-MpPreference", local + [p for p in todo if p.lower() not in known])
    else:
        doomed = [q.lower() for q in todo]
        host.mp_set_exclusion_processes("Remove-MpPreference", [p for p in local if p.lower() not in doomed])
    left = pending(host.mp_exclusion_processes())
    answer["changed"] = len(left) < len(todo)
    if left:
        answer["warning"] = (f"Windows Defender kept the process exclusions of {', '.join(left)} unchanged ({state} "
                             "asked): they are managed by policy (Group Policy, Intune or tamper protection); "
                             "change them there")
    if answer["changed"]:
        host.event("defender_exclusion", state, *todo)
    return answer


@script("directory_ensure")
def directory_ensure(host: Host, params: dict[str, t.Any]) -> dict[str, t.Any]:
    path = params["Path"]
    if host.is_dir(path):
        return {"path": path, "changed": False}
    host.make_dir(path)
    host.event("directory_ensure", path)
    return {"path": path, "changed": True}


@script("directory_remove_empty")
def directory_remove_empty(host: Host, params: dict[str, t.Any]) -> dict[str, t.Any]:
    """Each folder, in order, deleted only when nothing is inside it (Directory.Delete(path, false) refuses otherwise)."""
    paths = params["Path"] if isinstance(params["Path"], list) else [params["Path"]]
    removed: list[str] = []
    kept: list[str] = []
    for path in paths:
        if not host.is_dir(path):
            continue  # missing, or a file: left as it is
        prefix = key(path).rstrip("\\") + "\\"
        if host.list_tree(path) or any(d.startswith(prefix) for d in host.state["dirs"]):
            kept.append(f"{path}: not empty")
            continue
        host.state["dirs"].remove(key(path))
        host.event("directory_remove_empty", path)
        removed.append(path)
    return {"path": paths, "removed": removed, "kept": kept, "changed": bool(removed)}


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


def _version_output(host: Host, exe: str) -> str:
    """`(& $exe --version 2>&1 | Out-String).Trim()`: the program runs; a file Windows cannot run throws, caught."""
    if exe_identity(host.read_bytes(exe)) is None:
        # CreateProcess refuses a file that is not an image (truncated, foreign): the call operator throws.
        return (f"error: Program '{ntpath.basename(exe)}' failed to run: The specified executable is not a valid "
                "application for this OS platform.")
    handler = PROGRAMS.get(ntpath.basename(exe).lower())
    if handler is None:
        return f"error: {exe}: not simulated"
    _rc, stdout, stderr = handler(host, exe, ["--version"])
    return (stdout + stderr).strip()


def _staged(host: Host, folder: str | None, pattern: str) -> list[str]:
    """Get-ChildItem -Filter: the files directly in folder whose name matches (case-insensitive)."""
    if not folder:
        return []
    return [p for p in host.list_tree(folder)
            if ntpath.dirname(p).lower() == folder.rstrip("\\").lower()
            and fnmatch.fnmatch(ntpath.basename(p).lower(), pattern.lower())]


@script("daemon_state")
def daemon_state(host: Host, params: dict[str, t.Any]) -> dict[str, t.Any]:
    exe = ntpath.join(params["InstallDir"], "bin", params["ExeName"])
    binary = {"path": exe, "exists": host.file(exe) is not None, "version_output": None}
    if binary["exists"]:
        binary["version_output"] = _version_output(host, exe)
    service = None
    svc = host.service(params["ServiceName"])
    if svc:
        service = {"name": svc["name"], "status": svc["status"], "start_mode": svc["start_mode"],
                   "command_line": svc["command_line"]}
    companions = {d["name"].lower(): d for d in host.dependents(params["ServiceName"])}
    for name in params.get("CompanionServices") or []:
        if host.service(name):
            companions[name.lower()] = host.service(name)
    config = None
    if host.file(params["ConfigPath"]):
        config = {"sha256": host.file(params["ConfigPath"])["sha256"], "content": host.read_text(params["ConfigPath"])}
    archive = params.get("ArchivePath")
    exclusions, defender_status, defender_error = None, host.defender_status(), None
    if defender_status != "missing":  # Get-Command Get-MpPreference
        try:
            exclusions = host.mp_exclusion_processes()
        except ScriptFailure as exc:  # cmdlets present, Defender off
            defender_error = str(exc)
    # One listing of \\.\pipe\; -contains compares strings case-insensitively, as pipe names are.
    pipes = {pipe.lower() for pipe in host.pipes()}
    return {
        "binary": binary,
        "service": service,
        "companions": [{"name": c["name"], "status": c["status"]}
                       for c in sorted(companions.values(), key=lambda c: c["name"].lower())],
        "data_dirs_present": [d for d in params.get("DataDirs") or [] if host.exists(d) or host.list_tree(d)],
        "staged_archives": _staged(host, params.get("ArtifactDir"), params["ArtifactFilter"]),
        "config": config,
        "machine_path": host.path_entries(),
        "defender_exclusions": exclusions,
        "defender_status": defender_status,
        "defender_error": defender_error,
        "archive_sha256": host.file(archive)["sha256"] if archive and host.file(archive) else None,
        "pipe_ready": bool(params.get("PipeName")) and params["PipeName"].lower() in pipes,
        "pipes_present": [name for name in params.get("OtherPipes") or [] if name.lower() in pipes],
        "process_counts": {name: len(host.processes(name)) for name in params.get("ProcessNames") or []},
    }
