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
        return self.read_bytes(path).decode("utf-8")

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
            if not self.is_dir(ntpath.dirname(path)):  # opening a file never creates its folder
                return
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

    # -- machine PATH -------------------------------------------------------------
    def path_entries(self) -> list[str]:
        return list(self.state["machine_path"])


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
