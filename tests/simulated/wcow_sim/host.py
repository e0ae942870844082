"""What a host script's simulated contract can touch: files, services, PATH, faults."""

from __future__ import annotations

import base64
import hashlib
import ntpath
import re
import typing as t


class ScriptFailure(Exception):
    """A host script threw: the bootstrap answers failed=true with this message."""


class ServiceStartFailed(Exception):
    """A simulated daemon exits during start; the message goes to its log file."""


# Simulated daemons by executable name: called on service start with (host, service, argv),
# answer the named pipe they serve or raise ServiceStartFailed.
SERVICE_RUNNERS: dict[str, t.Callable[["Host", dict[str, t.Any], list[str]], str | None]] = {}


class ConnectionDropped(Exception):
    """The connection dropped in the middle of a step (fault injection)."""


class OperationHung(ConnectionDropped):
    """A script blocked forever (Stop-Service/Start-Service on a hung pending service).

    On a real host WinRM's operation timeout (or nothing, over PSRP/SSH) ends the task;
    the connection reports it like a dropped connection.
    """


# What Windows answers when a file is the mapped image of a live process.
# DeleteFile (Remove-Item, also inside -Recurse) fails with ERROR_ACCESS_DENIED;
# opening it for writing (Copy-Item/WriteAllBytes over it) with ERROR_SHARING_VIOLATION;
# renaming/moving a folder that holds it (Move-Item, Directory.Move) with ERROR_ACCESS_DENIED.
LOCKED_DELETE = "Cannot remove item {path}: Access to the path '{name}' is denied."
LOCKED_WRITE = "The process cannot access the file '{path}' because it is being used by another process."
LOCKED_MOVE = "Access to the path '{path}' is denied."

# ServiceController.Stop() on a service that is not Running (StartPending/StopPending):
# ControlService fails with ERROR_SERVICE_CANNOT_ACCEPT_CTRL (1061).
CANNOT_ACCEPT_CONTROL = "Cannot stop {name} service on computer '.'. The service cannot accept control messages at this time"

SERVICE_STATES = ("Stopped", "StartPending", "Running", "StopPending")


def key(path: str) -> str:
    """Windows paths are case-insensitive and accept either slash."""
    return ntpath.normcase(ntpath.normpath(path))


# Simulated executables are small text files: "SIMULATED-EXE <program> <version>".
_EXE = re.compile(rb"^SIMULATED-EXE (?P<program>\S+) (?P<version>\S+)")


def exe_identity(data: bytes) -> tuple[str, str] | None:
    match = _EXE.match(data)
    return (match["program"].decode(), match["version"].decode()) if match else None


class Host:
    """One simulated Windows host, backed by a state dict from StateStore."""

    def __init__(self, name: str, state: dict[str, t.Any], faults: dict[str, t.Any] | None = None):
        self.name = name
        self.state = state
        self.faults = faults or {}
        self.process_env: dict[str, str] = {}  # run_command's Environment, while its program runs

    # -- faults -----------------------------------------------------------------
    def fault(self, name: str, default: t.Any = None) -> t.Any:
        return self.faults.get(name, default)

    def service_start_fails(self, service: str, version: str | None) -> bool:
        return self._fault_names("service_start_fails", service, version)

    def _fault_names(self, fault: str, service: str, version: str | None = None) -> bool:
        """A fault given as a list of `name` or `name@version`."""
        for item in self.fault(fault, []) or []:
            name, _at, only_version = str(item).partition("@")
            if name.lower() == service.lower() and (not only_version or only_version == version):
                return True
        return False

    def linger_seconds(self, service: str) -> float:
        """Fault service_exit_lingers {name: seconds}: the process outlives Stopped by that long."""
        lingers = {str(k).lower(): float(v) for k, v in (self.fault("service_exit_lingers", {}) or {}).items()}
        return lingers.get(service.lower(), 0.0)

    # -- time -------------------------------------------------------------------
    # No real sleeping: a bounded wait advances this clock (seconds since the state was made).
    @property
    def clock(self) -> float:
        return float(self.state.get("clock", 0.0))

    def advance(self, seconds: float) -> None:
        self.state["clock"] = self.clock + max(0.0, float(seconds))
        self._reap()

    # -- processes ----------------------------------------------------------------
    # A process record: {pid, name (as Get-Process shows it, no .exe), image (full path), exits_at}.
    # exits_at: clock time the process exits by itself (a stopped service winding down); None = runs on.
    def _reap(self) -> None:
        now = self.clock
        self.state["processes"] = [p for p in self.state.get("processes", [])
                                   if p.get("exits_at") is None or p["exits_at"] > now]

    def processes(self, name: str | None = None) -> list[dict[str, t.Any]]:
        self._reap()
        return [p for p in self.state["processes"] if name is None or p["name"].lower() == name.lower()]

    def process(self, pid: int | None) -> dict[str, t.Any] | None:
        return next((p for p in self.processes() if p["pid"] == pid), None) if pid else None

    def spawn(self, image: str) -> dict[str, t.Any]:
        """A new process running `image`; its image file is locked until it exits."""
        pid = int(self.state.get("next_pid", 4000)) + 4
        self.state["next_pid"] = pid
        record = {"pid": pid, "name": ntpath.splitext(ntpath.basename(image))[0], "image": image, "exits_at": None}
        self.state["processes"].append(record)
        return record

    def kill_process(self, pid: int) -> bool:
        """TerminateProcess: the process is gone at once; a service it ran is Stopped for the SCM."""
        record = self.process(pid)
        if record is None:
            return False
        self.state["processes"] = [p for p in self.state["processes"] if p["pid"] != pid]
        self.event("process_kill", record["name"], pid)
        for service in self.state["services"].values():
            if service.get("pid") == pid:
                service.update(status="Stopped", pipe=None, pid=None)
        return True

    def wait_for_exit(self, pid: int | None, timeout: float) -> bool:
        """Process.WaitForExit(ms): True once it has exited, False when the timeout elapsed first."""
        record = self.process(pid)
        if record is None:
            return True
        exits_at = record.get("exits_at")
        if exits_at is not None and exits_at <= self.clock + timeout:
            self.advance(exits_at - self.clock)
            return True
        self.advance(timeout)
        return False

    # -- file locks ---------------------------------------------------------------
    def lock_blocker(self, path: str) -> dict[str, t.Any] | None:
        """The live process whose image is this file (Windows keeps a running image locked)."""
        wanted = key(path)
        return next((p for p in self.processes() if key(p["image"]) == wanted), None)

    def locked_under(self, root: str) -> list[str]:
        """Images of live processes inside a folder tree."""
        prefix = key(root).rstrip("\\") + "\\"
        return sorted(p["image"] for p in self.processes() if key(p["image"]).startswith(prefix))

    def check_delete(self, path: str) -> None:
        if self.lock_blocker(path):
            raise ScriptFailure(LOCKED_DELETE.format(path=path, name=ntpath.basename(path)))

    def check_write(self, path: str) -> None:
        if self.file(path) is not None and self.lock_blocker(path):
            raise ScriptFailure(LOCKED_WRITE.format(path=path))

    def event(self, *words: t.Any) -> None:
        """Record what happened, in order, for tests to assert on."""
        self.state.setdefault("events", []).append(" ".join(str(w) for w in words))

    # -- files ------------------------------------------------------------------
    def file(self, path: str) -> dict[str, t.Any] | None:
        return self.state["files"].get(key(path))

    def read_bytes(self, path: str) -> bytes:
        entry = self.file(path)
        if entry is None:
            raise ScriptFailure(f"Cannot find path '{path}' because it does not exist.")
        return base64.b64decode(entry["content"])

    def read_text(self, path: str) -> str:
        """What .NET's File.ReadAllText answers: the encoding comes from a BOM (dropped), else UTF-8."""
        return dotnet_decode(self.read_bytes(path))

    def write_file(self, path: str, data: bytes) -> dict[str, t.Any]:
        self.check_write(path)
        entry = {
            "path": path,
            "sha256": hashlib.sha256(data).hexdigest(),
            "size": len(data),
            "content": base64.b64encode(data).decode("ascii"),
        }
        self.state["files"][key(path)] = entry
        self.make_dir(ntpath.dirname(path))
        return entry

    def remove_file(self, path: str) -> bool:
        if self.file(path) is not None:
            self.check_delete(path)
        return self.state["files"].pop(key(path), None) is not None

    # -- what refuses a delete (besides running images) --------------------------------------------------------
    def acl_blocker(self, path: str) -> str | None:
        """A file whose ACL denies Administrators (layer files owned by TrustedInstaller/SYSTEM): File.Delete's text."""
        entry = self.file(path)
        if entry and (entry.get("acl") or {}).get("deny_administrators"):
            return f"Access to the path '{path}' is denied."
        return None

    def open_handle_blocker(self, path: str) -> str | None:
        """A file some process holds open without FILE_SHARE_DELETE (entry `open_by`): a sharing violation."""
        entry = self.file(path)
        if entry and entry.get("open_by"):
            return f"The process cannot access the file '{path}' because it is being used by another process."
        return None

    def take_over(self, path: str) -> bool:
        """takeown /A then icacls /grant Administrators:F: an elevated administrator always can, unless modelled not to."""
        entry = self.file(path)
        acl = (entry or {}).get("acl") or {}
        if not entry or acl.get("takeown_refused"):
            return False
        entry["acl"] = {"owner": "BUILTIN\\Administrators"}
        self.event("take_over", path)
        return True

    def exists(self, path: str) -> bool:
        return key(path) in self.state["files"] or key(path) in self.state["dirs"]

    def is_dir(self, path: str) -> bool:
        return key(path) in self.state["dirs"]

    def make_dir(self, path: str) -> None:
        while path and key(path) not in self.state["dirs"] and ntpath.dirname(path) != path:
            self.state["dirs"].append(key(path))
            path = ntpath.dirname(path)

    def list_tree(self, root: str) -> list[str]:
        prefix = key(root).rstrip("\\") + "\\"
        return sorted(entry["path"] for k, entry in self.state["files"].items() if k.startswith(prefix))

    def remove_tree(self, root: str) -> int:
        """Remove-Item -Recurse -Force under ErrorActionPreference Stop.

        PowerShell deletes a folder's subfolders (depth first), then its files, and only then
        the folder. A locked image raises at that file: what came before it is already gone,
        the rest (and every folder above it) stays.
        """
        prefix = key(root).rstrip("\\") + "\\"
        removed = 0
        for k in self._removal_order(key(root).rstrip("\\")):
            entry = self.state["files"][k]
            self.check_delete(entry["path"])
            del self.state["files"][k]
            removed += 1
        self.state["dirs"] = [d for d in self.state["dirs"] if not (d == key(root) or d.startswith(prefix))]
        return removed

    def _removal_order(self, folder: str) -> list[str]:
        prefix = folder + "\\"
        inside = [k for k in self.state["files"] if k.startswith(prefix)]
        subfolders = sorted({k[len(prefix):].split("\\", 1)[0] for k in inside if "\\" in k[len(prefix):]})
        order: list[str] = []
        for sub in subfolders:
            order.extend(self._removal_order(prefix + sub))
        order.extend(sorted(k for k in inside if "\\" not in k[len(prefix):]))
        return order

    def move_tree(self, source: str, target: str) -> None:
        if self.exists(target):
            raise ScriptFailure(f"Cannot create a file when that file already exists: '{target}'")
        if self.locked_under(source):
            raise ScriptFailure(LOCKED_MOVE.format(path=source))
        src = key(source).rstrip("\\")
        for k in [k for k in self.state["files"] if k.startswith(src + "\\")]:
            entry = self.state["files"].pop(k)
            entry["path"] = target.rstrip("\\") + entry["path"][len(source.rstrip("\\")):]
            self.state["files"][key(entry["path"])] = entry
        self.state["dirs"] = [d for d in self.state["dirs"] if not (d == src or d.startswith(src + "\\"))]
        self.make_dir(target)

    def exe_version(self, path: str) -> str | None:
        entry = self.file(path)
        if entry is None:
            return None
        identity = exe_identity(base64.b64decode(entry["content"]))
        return identity[1] if identity else None

    # -- services ---------------------------------------------------------------
    def service(self, name: str) -> dict[str, t.Any] | None:
        return self.state["services"].get(name.lower())

    def register_service(self, name: str, command_line: str, **extra: t.Any) -> dict[str, t.Any]:
        if self.service(name):
            raise ScriptFailure(f"The specified service already exists: {name}")
        service = {
            "name": name,
            "display_name": extra.pop("display_name", name),
            "command_line": command_line,
            "status": "Stopped",
            "start_mode": "Automatic",
            "depends_on": [],
            "pid": None,
        }
        service.update(extra)
        self.state["services"][name.lower()] = service
        self.event("service_register", name)
        return service

    def unregister_service(self, name: str) -> None:
        service = self.service(name)
        if service is None:
            raise ScriptFailure(f"Cannot find any service with service name '{name}'.")
        if service["status"] != "Stopped":
            raise ScriptFailure(f"Service '{name}' must be stopped before it is removed")
        del self.state["services"][name.lower()]
        self.event("service_unregister", name)

    def start_service(self, name: str) -> bool:
        """StartService and what follows; False when it is not Running (fault, missing binary, bad config).

        A service that hangs in StartPending (fault service_start_hangs) has a live process
        (its image locked) but never reports Running and serves no pipe.
        """
        service = self.service(name)
        if service is None:
            raise ScriptFailure(f"Cannot find any service with service name '{name}'.")
        if service["status"] == "Running":
            return True
        if service["status"] != "Stopped":
            # StartService on a pending service: ERROR_SERVICE_ALREADY_RUNNING (1056).
            return False
        self.event("service_start", name)
        argv = split_win32(service["command_line"])
        version = self.exe_version(argv[0])
        runner = SERVICE_RUNNERS.get(ntpath.basename(argv[0]).lower())
        try:
            if version is None:
                raise ServiceStartFailed(f"{argv[0]}: The system cannot find the file specified.")
            if self.service_start_fails(name, version):
                raise ServiceStartFailed(f"{name} {version} exited right after start (simulated fault)")
            if self._fault_names("service_start_hangs", name, version):
                service.update(status="StartPending", pipe=None, pid=self.spawn(argv[0])["pid"])
                self.event("service_start_pending", name)
                return False
            service["pipe"] = runner(self, service, argv) if runner else None
        except ServiceStartFailed as exc:
            service["status"] = "Stopped"
            service["pipe"] = None
            self.event("service_start_failed", name)
            self.append_log(argv, f'level=fatal msg="{exc}"')
            return False
        service["status"] = "Running"
        service["running_version"] = version
        service["pid"] = self.spawn(argv[0])["pid"]
        self.append_log(argv, f'level=info msg="{name} successfully booted" version={version}')
        return True

    def append_log(self, argv: list[str], line: str) -> None:
        """Append to the service's --log-file, as the real daemons do."""
        if "--log-file" in argv and argv.index("--log-file") + 1 < len(argv):
            path = argv[argv.index("--log-file") + 1]
            if not self.is_dir(ntpath.dirname(path)):  # opening a file never creates its folder
                return
            before = self.read_bytes(path) if self.file(path) else b""
            self.write_file(path, before + line.encode() + b"\r\n")

    def dependents(self, name: str) -> list[dict[str, t.Any]]:
        return [s for s in self.state["services"].values()
                if name.lower() in [d.lower() for d in s.get("depends_on", [])]]

    def pipes(self) -> list[str]:
        return [s["pipe"] for s in self.state["services"].values() if s["status"] == "Running" and s.get("pipe")]

    def request_stop(self, name: str) -> None:
        """ControlService(SERVICE_CONTROL_STOP), as ServiceController.Stop() sends it (no waiting).

        Only a Running service accepts it. With the fault service_stop_hangs the service goes
        StopPending and its process ignores the request until it is killed. With
        service_exit_lingers {name: seconds} the SCM reports Stopped at once but the process
        (and the lock on its image) lives on for that long.
        """
        service = self.service(name)
        if service is None:
            raise ScriptFailure(f"Cannot find any service with service name '{name}'.")
        if service["status"] == "Stopped":
            return
        if service["status"] != "Running":
            raise ScriptFailure(CANNOT_ACCEPT_CONTROL.format(name=name))
        self.event("service_stop", name)
        if self._fault_names("service_stop_hangs", name):
            service["status"] = "StopPending"
            self.event("service_stop_pending", name)
            return
        pid = service.get("pid")
        service.update(status="Stopped", pipe=None, pid=None)
        record = self.process(pid)
        if record is not None:
            linger = self.linger_seconds(name)
            if linger > 0:
                record["exits_at"] = self.clock + linger
            else:
                self.state["processes"] = [p for p in self.state["processes"] if p["pid"] != pid]

    def power_off(self) -> None:
        """A reboot ends every process: services are Stopped, no image stays locked."""
        for service in self.state["services"].values():
            service.update(status="Stopped", pipe=None, pid=None)
        self.state["processes"] = []

    # -- Windows Defender ---------------------------------------------------------
    def defender_status(self) -> str:
        """'running' (default), 'missing' (Server Core without Defender: no Mp* cmdlets) or 'off'
        (cmdlets present, service stopped or disabled: each Mp* call throws 0x800106ba)."""
        status = str(self.fault("defender", "running"))
        if status not in ("running", "missing", "off"):
            raise ValueError(f"sim_faults.defender must be running, missing or off, not {status!r}")
        return status

    def mp_call(self, cmdlet: str) -> None:
        """What calling a Defender cmdlet does before it touches anything."""
        status = self.defender_status()
        if status == "missing":
            raise ScriptFailure(f"The term '{cmdlet}' is not recognized as the name of a cmdlet, function, script file, "
                                "or operable program.")
        if status == "off":
            target = " Operation: MpPreference. Target: ConfigListExtension." if cmdlet != "Get-MpPreference" else ""
            raise ScriptFailure(f"{cmdlet} : Operation failed with the following error: 0x800106ba.{target}")

    def mp_exclusion_processes(self) -> list[str]:
        """(Get-MpPreference).ExclusionProcess: exclusions set by policy replace the local list."""
        self.mp_call("Get-MpPreference")
        policy = self.fault("defender_policy_exclusions")
        return list(policy) if policy is not None else list(self.state["defender_exclusions"]["processes"])

    def mp_set_exclusion_processes(self, cmdlet: str, processes: list[str]) -> None:
        """Add-/Remove-MpPreference: succeeds, but under policy the effective list does not change."""
        self.mp_call(cmdlet)
        self.state["defender_exclusions"]["processes"] = list(processes)

    # -- registry and the machine environment --------------------------------------
    def registry_value(self, key_path: str, name: str) -> dict[str, t.Any] | None:
        """{kind, value} of a registry value (key and value names are case-insensitive), or None."""
        values = self.state.setdefault("registry", {}).get(key_path.lower(), {})
        return next((v for n, v in values.items() if n.lower() == name.lower()), None)

    def set_registry_value(self, key_path: str, name: str, kind: str, value: t.Any) -> None:
        if kind not in REGISTRY_KINDS:
            raise ScriptFailure(f"The specified RegistryValueKind is an invalid value ({kind})")
        values = self.state.setdefault("registry", {}).setdefault(key_path.lower(), {})
        for existing in [n for n in values if n.lower() == name.lower() and n != name]:
            del values[existing]  # RegistryKey.SetValue keeps the name's first spelling; close enough
        values[name] = {"kind": kind, "value": value}

    def expand(self, text: str) -> str:
        """ExpandEnvironmentStrings with the machine's variables: unknown %names% stay as written."""
        variables = {k.lower(): v for k, v in MACHINE_VARIABLES.items()}
        return re.sub(r"%([^%;]+)%", lambda m: variables.get(m[1].lower(), m[0]), text)

    def machine_path_value(self) -> dict[str, t.Any]:
        """The raw Path value of the machine environment: {kind, value}."""
        value = self.registry_value(ENVIRONMENT_KEY, "Path")
        return value or {"kind": "REG_EXPAND_SZ", "value": ""}

    def machine_path_raw(self) -> str:
        """RegistryKey.GetValue('Path', $null, DoNotExpandEnvironmentNames): the value as stored."""
        return str(self.machine_path_value()["value"])

    def machine_path_expanded(self) -> str:
        """[Environment]::GetEnvironmentVariable('Path', 'Machine'): REG_EXPAND_SZ comes back expanded."""
        value = self.machine_path_value()
        return self.expand(value["value"]) if value["kind"] == "REG_EXPAND_SZ" else str(value["value"])

    def path_entries(self) -> list[str]:
        """Machine PATH entries as a reader that expands (GetEnvironmentVariable) sees them."""
        return [e for e in self.machine_path_expanded().split(";") if e]


ENVIRONMENT_KEY = r"HKLM\SYSTEM\CurrentControlSet\Control\Session Manager\Environment"
REGISTRY_KINDS = {"REG_SZ", "REG_EXPAND_SZ", "REG_MULTI_SZ", "REG_DWORD", "REG_QWORD", "REG_BINARY"}
# Machine variables ExpandEnvironmentStrings knows on a default install.
MACHINE_VARIABLES = {
    "SystemRoot": r"C:\Windows", "windir": r"C:\Windows", "SystemDrive": "C:",
    "ProgramFiles": r"C:\Program Files", "ProgramData": r"C:\ProgramData",
    "ProgramFiles(x86)": r"C:\Program Files (x86)", "ALLUSERSPROFILE": r"C:\ProgramData",
}


def dotnet_decode(data: bytes) -> str:
    """File.ReadAllText(path): BOM detection (UTF-32 LE, UTF-8, UTF-16 LE/BE), BOM dropped; else UTF-8,
    invalid bytes becoming U+FFFD."""
    for bom, codec in ((b"\xff\xfe\x00\x00", "utf-32-le"), (b"\xef\xbb\xbf", "utf-8"),
                       (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be")):
        if data.startswith(bom):
            return data[len(bom):].decode(codec, errors="replace")
    return data.decode("utf-8", errors="replace")


def split_win32(command_line: str) -> list[str]:
    """CommandLineToArgvW: split a Win32 command line into argv."""
    args: list[str] = []
    current: list[str] = []
    in_quotes = False
    has_arg = False
    i = 0
    text = command_line
    while i < len(text):
        char = text[i]
        if char == "\\":
            run = 0
            while i < len(text) and text[i] == "\\":
                run += 1
                i += 1
            if i < len(text) and text[i] == '"':
                current.append("\\" * (run // 2))
                if run % 2:
                    current.append('"')
                    i += 1
                has_arg = True
            else:
                current.append("\\" * run)
                has_arg = True
            continue
        if char == '"':
            if in_quotes and i + 1 < len(text) and text[i + 1] == '"':
                current.append('"')
                i += 2
                continue
            in_quotes = not in_quotes
            has_arg = True
            i += 1
            continue
        if char in " \t" and not in_quotes:
            if has_arg:
                args.append("".join(current))
                current, has_arg = [], False
            i += 1
            continue
        current.append(char)
        has_arg = True
        i += 1
    if has_arg:
        args.append("".join(current))
    return args


def escape_arg(arg: str) -> str:
    """Go's syscall.EscapeArg, which the daemons use to freeze their service command line."""
    if arg == "":
        return '""'
    if not any(c in arg for c in ' \t"'):
        return arg
    out, slashes = ['"'], 0
    for char in arg:
        if char == "\\":
            slashes += 1
            out.append(char)
            continue
        if char == '"':
            out.append("\\" * slashes + '\\"')
        else:
            out.append(char)
        slashes = 0
    out.append("\\" * slashes + '"')
    return "".join(out)


def join_args(argv: list[str]) -> str:
    return " ".join(escape_arg(a) for a in argv)
