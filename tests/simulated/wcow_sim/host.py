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

    # -- faults -----------------------------------------------------------------
    def fault(self, name: str, default: t.Any = None) -> t.Any:
        return self.faults.get(name, default)

    def service_start_fails(self, service: str, version: str | None) -> bool:
        for item in self.fault("service_start_fails", []) or []:
            name, _at, only_version = str(item).partition("@")
            if name.lower() == service.lower() and (not only_version or only_version == version):
                return True
        return False

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
        return self.state["files"].pop(key(path), None) is not None

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
        prefix = key(root).rstrip("\\") + "\\"
        doomed = [k for k in self.state["files"] if k.startswith(prefix)]
        for k in doomed:
            del self.state["files"][k]
        self.state["dirs"] = [d for d in self.state["dirs"] if not (d == key(root) or d.startswith(prefix))]
        return len(doomed)

    def move_tree(self, source: str, target: str) -> None:
        if self.exists(target):
            raise ScriptFailure(f"Cannot create a file when that file already exists: '{target}'")
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
        """Start a service; False when it does not stay running (fault, missing binary, bad config)."""
        service = self.service(name)
        if service is None:
            raise ScriptFailure(f"Cannot find any service with service name '{name}'.")
        if service["status"] == "Running":
            return True
        self.event("service_start", name)
        argv = split_win32(service["command_line"])
        version = self.exe_version(argv[0])
        runner = SERVICE_RUNNERS.get(ntpath.basename(argv[0]).lower())
        try:
            if version is None:
                raise ServiceStartFailed(f"{argv[0]}: The system cannot find the file specified.")
            if self.service_start_fails(name, version):
                raise ServiceStartFailed(f"{name} {version} exited right after start (simulated fault)")
            service["pipe"] = runner(self, service, argv) if runner else None
        except ServiceStartFailed as exc:
            service["status"] = "Stopped"
            service["pipe"] = None
            self.event("service_start_failed", name)
            self.append_log(argv, f'level=fatal msg="{exc}"')
            return False
        service["status"] = "Running"
        service["running_version"] = version
        self.append_log(argv, f'level=info msg="{name} successfully booted" version={version}')
        return True

    def append_log(self, argv: list[str], line: str) -> None:
        """Append to the service's --log-file, as the real daemons do."""
        if "--log-file" in argv and argv.index("--log-file") + 1 < len(argv):
            path = argv[argv.index("--log-file") + 1]
            before = self.read_bytes(path) if self.file(path) else b""
            self.write_file(path, before + line.encode() + b"\r\n")

    def dependents(self, name: str) -> list[dict[str, t.Any]]:
        return [s for s in self.state["services"].values()
                if name.lower() in [d.lower() for d in s.get("depends_on", [])]]

    def pipes(self) -> list[str]:
        return [s["pipe"] for s in self.state["services"].values() if s["status"] == "Running" and s.get("pipe")]

    def stop_service(self, name: str) -> None:
        service = self.service(name)
        if service is None:
            raise ScriptFailure(f"Cannot find any service with service name '{name}'.")
        if service["status"] != "Stopped":
            self.event("service_stop", name)
        service["status"] = "Stopped"
        service["pipe"] = None

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
