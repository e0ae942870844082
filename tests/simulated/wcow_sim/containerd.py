"""The simulated containerd.exe and its service, and sc.exe (containerd's host state: daemon_state in common.py)."""

from __future__ import annotations

import ntpath
import tomllib
import typing as t

from .host import SERVICE_RUNNERS, Host, ServiceStartFailed, join_args
from .registry import program

DEFAULT_PIPE = "containerd-containerd"
_COMMITS = {"1": "442cb34bda9a6a0fed82a2ca7cade05c5c749582", "2": "fcd43222d6b07379a4be9786bda52438f0dd16a1"}


def version_output(version: str) -> str:
    """What `containerd.exe --version` prints (module path gains /v2 from 2.0)."""
    module = "github.com/containerd/containerd" + ("/v2" if not version.startswith("1.") else "")
    return f"containerd {module} v{version} {_COMMITS['1' if version.startswith('1.') else '2']}"


def _option(argv: list[str], name: str, default: str | None = None) -> str | None:
    return argv[argv.index(name) + 1] if name in argv and argv.index(name) + 1 < len(argv) else default


DEFAULT_CONFIG = r"C:\Program Files\containerd\config.toml"
DEFAULT_ROOT = r"C:\ProgramData\containerd\root"
DEFAULT_STATE = r"C:\ProgramData\containerd\state"

# Top-level fields of containerd's Config struct (cmd/containerd/server/config/config.go) and their TOML kinds.
_FIELDS: dict[str, t.Any] = {
    "version": ("Version", int), "root": ("Root", str), "state": ("State", str), "temp": ("TempDir", str),
    "plugin_dir": ("PluginDir", str), "oom_score": ("OOMScore", int), "imports": ("Imports", list),
    "disabled_plugins": ("DisabledPlugins", list), "required_plugins": ("RequiredPlugins", list),
    "plugins": ("Plugins", dict),
    "grpc": ("GRPC", {"address": str, "tcp_address": str, "uid": int, "gid": int,
                      "max_recv_message_size": int, "max_send_message_size": int}),
    "ttrpc": ("TTRPC", {"address": str, "uid": int, "gid": int}),
    "debug": ("Debug", {"address": str, "uid": int, "gid": int, "level": str, "format": str}),
    "metrics": ("Metrics", {"address": str, "grpc_histogram": bool}),
}
_TOML_KINDS = {bool: "boolean", int: "integer", float: "float", str: "string", list: "array", dict: "table"}
_GO_TYPES = {str: "string", int: "int", bool: "bool", list: "[]string", dict: "map[string]interface {}"}


class ConfigRejected(Exception):
    """containerd.exe refused its config, with the text the real binary prints."""


def _max_config_version(version: str) -> int:
    """1.7 reads up to version 2, 2.0-2.2 up to 3, 2.3 and later up to 4."""
    major, minor = (int(p) for p in version.split(".")[:2])
    return 2 if major < 2 else 3 if (major, minor) < (2, 3) else 4


def _check_types(table: dict[str, t.Any], fields: dict[str, t.Any], struct: str) -> None:
    for name, value in table.items():
        if name not in fields:
            continue  # 2.x logs "Ignoring unknown key", 1.7 says nothing: neither refuses
        go_name, kind = fields[name] if isinstance(fields[name], tuple) else (name.title().replace("_", ""), fields[name])
        if isinstance(kind, dict):
            if not isinstance(value, dict):
                raise ConfigRejected(f"toml: cannot decode TOML {_TOML_KINDS[type(value)]} into struct field "
                                     f"{struct}.{go_name} of type config.{go_name}Config")
            _check_types(value, kind, f"config.{go_name}Config")
        elif not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise ConfigRejected(f"toml: cannot decode TOML {_TOML_KINDS.get(type(value), 'value')} into struct field "
                                 f"{struct}.{go_name} of type {_GO_TYPES[kind]}")


def load_config(host: Host, version: str, config_path: str | None) -> dict[str, t.Any]:
    """What containerd does first on every start, --register-service, --unregister-service and `config dump`.

    Only an explicit --config must exist; the default path is read when present. Raises ConfigRejected.
    """
    path = config_path or DEFAULT_CONFIG
    if not host.file(path):
        if config_path:
            raise ConfigRejected(f"open {path}: The system cannot find the file specified.")
        return {"version": 1, "root": DEFAULT_ROOT, "state": DEFAULT_STATE}
    try:
        # Go reads bytes: go-toml skips a UTF-8 BOM and rejects anything that is not UTF-8 (UTF-16 included).
        config = tomllib.loads(host.read_bytes(path).decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise ConfigRejected(f"failed to load TOML from {path}: toml: invalid UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigRejected(f"failed to load TOML from {path}: {exc}") from None
    _check_types(config, _FIELDS, "config.Config")
    found, highest = config.get("version", 1), _max_config_version(version)
    if found > highest:
        if version.startswith("1."):
            raise ConfigRejected(f"failed to load TOML from {path}: unsupported config version `{found}`")
        raise ConfigRejected(f"failed to load TOML from {path}: expected containerd config version equal to or "
                             f"less than `{highest}`, got `{found}`")
    for field, what in (("disabled_plugins", "disabled"), ("required_plugins", "required")):
        for name in config.get(field) or []:
            if "." not in name or (version.startswith("1.") and found >= 2 and not name.startswith("io.containerd.")):
                raise ConfigRejected(f'failed to load TOML from {path}: invalid {what} plugin URI "{name}" '
                                     "expect io.containerd.x.vx")
    if version.startswith("1.") and found >= 2:  # 1.7's ValidateV2 wants full plugin URIs
        for name in config.get("plugins") or {}:
            if not name.startswith("io.containerd.") or len(name.split(".", 3)) < 4:
                raise ConfigRejected(f'failed to load TOML from {path}: invalid plugin key URI "{name}" '
                                     "expect io.containerd.x.vx")
    return {"root": DEFAULT_ROOT, "state": DEFAULT_STATE, **config}


def _create_top_level_dirs(host: Host, config: dict[str, t.Any]) -> None:
    """server.CreateTopLevelDirectories: runs before (un)registration and on every start."""
    host.make_dir(config["root"])
    host.make_dir(config["state"])


def run_daemon(host: Host, service: dict[str, t.Any], argv: list[str]) -> str:
    """containerd started as a service: loads its config, creates root and state, opens --log-file, serves its pipe."""
    try:
        config = load_config(host, host.exe_version(argv[0]) or "0.0", _option(argv, "--config"))
    except ConfigRejected as exc:
        raise ServiceStartFailed(str(exc)) from None
    _create_top_level_dirs(host, config)
    version, config_path = host.exe_version(argv[0]) or "0.0", _option(argv, "--config") or DEFAULT_CONFIG
    found = config.get("version", 1)
    if not version.startswith("1.") and host.file(config_path) and found < _max_config_version(version):
        # 2.x migrates an older file in memory at every start and says so; the file is never rewritten.
        host.append_log(argv, f'level=warning msg="Configuration migrated from version {found}, '
                              'use `containerd config migrate` to avoid migration"')
    log_file = _option(argv, "--log-file")
    if log_file and not host.is_dir(ntpath.dirname(log_file)):
        # os.OpenFile(O_CREATE) makes the file, never its folder. The error goes to stderr, which a service
        # does not have: nothing is logged anywhere, the service just stops.
        host.event("service_log_open_failed", log_file)
        raise ServiceStartFailed(f'open log file "{log_file}": open {log_file}: The system cannot find the path specified.',
                                 )
    # Config version 4 (containerd 2.3) keeps the listener in the grpc server plugin; older versions at
    # top-level [grpc], which 2.3 migrates there at start (so a version 3 file's address still counts).
    if config.get("version") == 4:
        server = ((config.get("plugins") or {}).get("io.containerd.server.v1.grpc") or {})
    else:
        server = config.get("grpc") or {}
    address = server.get("address") or r"\\.\pipe\containerd-containerd"
    return address.rsplit("\\", 1)[-1]


SERVICE_RUNNERS["containerd.exe"] = run_daemon


@program("containerd.exe")
def containerd_exe(host: Host, path: str, argv: list[str]) -> tuple[int, str, str]:
    version = host.exe_version(path)
    if "--version" in argv or "-v" in argv:
        return 0, version_output(version) + "\n", ""
    name = _option(argv, "--service-name", "containerd")
    config_path = _option(argv, "--config")
    if argv[-2:] == ["config", "dump"]:
        try:
            # 2.x dumps the defaults for a missing file (os.IsNotExist); 1.7 wraps that error and so fails.
            missing = bool(config_path) and not host.file(config_path) and not version.startswith("1.")
            config = {"root": DEFAULT_ROOT, "state": DEFAULT_STATE} if missing else load_config(host, version, config_path)
        except ConfigRejected as exc:
            return 1, "", f"containerd: {exc}\n"
        return 0, f"version = {config.get('version', 1)}\nroot = {config['root']!r}\nstate = {config['state']!r}\n", ""
    if "--register-service" in argv or "--unregister-service" in argv:
        try:  # main.go: load the config and create root/state before (un)registering
            _create_top_level_dirs(host, load_config(host, version, config_path))
        except ConfigRejected as exc:
            return 1, "", f"containerd: {exc}\n"
    if "--register-service" in argv:
        if host.service(name):
            return 1, "", f'time="2024-01-01T00:00:00Z" level=fatal msg="service {name} already exists"\n'
        frozen = [a for a in argv if a != "--register-service"]
        host.register_service(name, join_args([path, "--run-service", *frozen]),
                              display_name="Containerd", failure_actions="restart/15000/restart/15000")
        return 0, "", ""
    if "--unregister-service" in argv:
        if not host.service(name):
            return 1, "", ('time="2024-01-01T00:00:00Z" level=fatal '
                           'msg="The specified service does not exist as an installed service."\n')
        host.unregister_service(name)
        return 0, "", ""
    return 1, "", f"containerd: simulated with arguments {argv!r} is not supported"


@program("sc.exe")
def sc_exe(host: Host, path: str, argv: list[str]) -> tuple[int, str, str]:
    """sc.exe delete NAME: DeleteService. A running service is only marked; it goes once stopped."""
    if len(argv) != 2 or argv[0].lower() != "delete":
        return 1, "", f"sc.exe: simulated with arguments {argv!r} is not supported"
    service = host.service(argv[1])
    if service is None:
        return 1060, ("[SC] OpenService FAILED 1060:\r\n\r\n"
                      "The specified service does not exist as an installed service.\r\n\r\n"), ""
    if service.get("delete_pending"):
        return 1072, "[SC] DeleteService FAILED 1072:\r\n\r\nThe specified service has been marked for deletion.\r\n", ""
    if service["status"] != "Stopped":
        service["delete_pending"] = True
    else:
        host.unregister_service(argv[1])
    return 0, "[SC] DeleteService SUCCESS\r\n", ""
