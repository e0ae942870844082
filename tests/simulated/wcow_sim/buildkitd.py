"""The simulated buildkitd.exe and buildctl.exe (tests only).

Modelled on the real Windows binaries and buildkit's source, never on our scripts:

* Flags come from the real ``buildkitd.exe --help`` of each captured release
  (tests/fixtures/buildkitd/); a release between captures uses the newest capture at
  or below it.  Parsing is Go's flag package under urfave/cli: ``--name value``,
  ``--name=value`` or ``-name``; an unknown flag fails with rc 1 and
  ``flag provided but not defined: -name`` (urfave prints "Incorrect Usage" and the help).
* ``--register-service`` (cmd/buildkitd/service_windows.go): loads the config (an
  explicit ``--config`` must exist), creates the root folder, then registers the
  service with the arguments frozen after ``--run-service``; an existing name fails.
* Started as a service: opens ``--log-file`` (never creating its folder), loads the
  config, resolves each ``--group`` to a local group from 0.13.2 (a missing group stops
  the daemon), loads the TLS files, needs containerd's pipe for the containerd worker
  ("no worker found" otherwise), warns about CDI from 0.20 unless disabled or its spec
  folder exists, warns about TCP without TLS, logs "using null network as the default"
  without a CNI config, then serves its named pipe (and TCP listeners).
* ``buildctl.exe debug workers`` answers what the running daemon reports: the table,
  ``-v`` verbose form or ``--format '{{json .}}'`` (cmd/buildctl/debug/workers.go).

The fault ``buildkitd_dies_after_start`` (service names, ``name@version``) makes a daemon that booted
and served its pipe die at the first client connection, logging what a lost containerd looks like.

The fault ``buildkitd_extra_flags`` ({version: [flag, ...]}) adds flags to a release's
help, to stand in for a future release (e.g. one with --containerd-worker-hyperv-isolation).
"""

from __future__ import annotations

import functools
import hashlib
import json
import ntpath
import pathlib
import re
import tomllib
import typing as t

from .host import SERVICE_RUNNERS, Host, ServiceStartFailed, join_args, split_win32
from .local_security import find_group, pipe_acl_of
from .registry import PROGRAMS, program, script

FIXTURES = pathlib.Path(__file__).resolve().parents[2] / "fixtures" / "buildkitd"
CAPTURED = ("0.13.2", "0.18.2", "0.20.2", "0.24.0", "0.32.2")
COMMITS = {"0.13.2": "2e18d709fefdcc2db20853ee241c75b058189d39", "0.18.2": "e4da654b1251f91e914fab18eba33743aefd7080",
           "0.20.2": "97437fdd7e32f29bb80288d800cd4ffcb34e1c15", "0.24.0": "b772c318368090fb2ffc9c0fed92e0a35bf82389",
           "0.32.2": "991535e0973488b6a429096d21fa13f81f2d89d8"}
DEFAULT_CONFIG = r"C:\ProgramData\buildkitd\buildkitd.toml"
DEFAULT_ROOT = r"C:\ProgramData\buildkitd\.buildstate"
DEFAULT_CDI_DIRS = (r"C:\ProgramData\buildkitd\cdi",)
DEFAULT_PIPE_ADDR = "npipe:////./pipe/buildkitd"
LABEL = "org.mobyproject.buildkit.worker."
_HELP_LINE = re.compile(r"^\s{2,}--(?P<name>[a-z0-9][a-z0-9-]*)(?:,\s*-(?P<short>[a-z]))?(?P<type>\s+(?:value|string|int))?",
                        re.M)


def _v(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.match(r"v?(\d+)\.(\d+)\.(\d+)", version).groups())


@functools.lru_cache(maxsize=None)
def help_text(version: str) -> str:
    """What `buildkitd.exe --help` prints: the newest capture at or below ``version``."""
    below = [c for c in CAPTURED if _v(c) <= _v(version)] or [CAPTURED[0]]
    text = (FIXTURES / f"buildkitd-{below[-1]}-help.txt").read_text()
    return re.sub(r"(VERSION:\n\s+)v\S+", lambda m: m[1] + "v" + version, text)


def flag_spec(host: Host, version: str) -> dict[str, bool]:
    """name (no dashes) -> takes a value, from the release's help (plus the hidden --run-service)."""
    spec: dict[str, bool] = {"run-service": False}
    for match in _HELP_LINE.finditer(help_text(version)):
        spec[match["name"]] = bool(match["type"])
        if match["short"]:
            spec[match["short"]] = False
    for flag in ((host.fault("buildkitd_extra_flags") or {}).get(version) or []):
        spec[flag.lstrip("-")] = False
    return spec


def _help_with_extra_flags(host: Host, version: str) -> str:
    """--help of a release the fault buildkitd_extra_flags adds flags to: listed before --help, as urfave does."""
    text = help_text(version)
    extra = (host.fault("buildkitd_extra_flags") or {}).get(version) or []
    if not extra:
        return text
    lines = "".join(f"   {flag:<77}(simulated future flag)\n" for flag in extra)
    return text.replace("   --help, -h", lines + "   --help, -h", 1)


class UsageError(Exception):
    """What Go's flag package reports for a bad command line."""


def parse_flags(spec: dict[str, bool], args: list[str]) -> dict[str, list[str]]:
    """Go flag parsing: every value of every flag given, in order; positional arguments are refused."""
    values: dict[str, list[str]] = {}
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            break
        if not arg.startswith("-") or arg == "-":
            raise UsageError(f'unknown command "{arg}"' if not values else f"unexpected argument {arg!r}")
        name = arg[2:] if arg.startswith("--") else arg[1:]
        name, has_value, inline = name.partition("=")
        if name not in spec:
            raise UsageError(f"flag provided but not defined: -{name}")
        if spec[name]:
            if has_value:
                value = inline
            elif i + 1 < len(args):
                i += 1
                value = args[i]
            else:
                raise UsageError(f"flag needs an argument: -{name}")
        else:
            value = inline if has_value else "true"
            if value.lower() not in ("true", "false", "1", "0", "t", "f"):
                raise UsageError(f'invalid boolean value "{value}" for -{name}: parse error')
        values.setdefault(name, []).append(value)
        i += 1
    return values


def version_output(version: str) -> str:
    return f"buildkitd github.com/moby/buildkit v{version} {COMMITS.get(version, '0' * 40)}"


def _one(values: dict[str, list[str]], name: str, default: str | None = None) -> str | None:
    return values[name][-1] if name in values else default


def _true(values: dict[str, list[str]], name: str) -> bool:
    return (_one(values, name) or "false").lower() in ("true", "1", "t")


def _usage(version: str, message: str) -> tuple[int, str, str]:
    sep = ":" if _v(version) >= (0, 32, 0) else "."  # urfave/cli v3 (0.32) vs v1
    return 1, f"Incorrect Usage{sep} {message}\n\n{help_text(version)}", f"buildkitd: {message}\n"


class ConfigRejected(Exception):
    pass


def load_config(host: Host, values: dict[str, list[str]]) -> dict[str, t.Any]:
    """config.LoadFile: an explicit --config must exist; the default one may be missing."""
    path = _one(values, "config")
    if not host.file(path or DEFAULT_CONFIG):
        if path:
            raise ConfigRejected(f"failed to load config from {path}: open {path}: "
                                 "The system cannot find the file specified.")
        return {}
    try:
        config = tomllib.loads(host.read_bytes(path or DEFAULT_CONFIG).decode("utf-8-sig"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigRejected(f"failed to parse config: {exc}") from None
    address = (config.get("grpc") or {}).get("address")
    if address is not None and not isinstance(address, list):
        raise ConfigRejected("failed to parse config: toml: cannot decode TOML string into struct field "
                             "config.GRPCConfig.Address of type []string")
    return config


def group_exists(host: Host, name: str) -> bool:
    """LookupAccountName for a local group (BUILTIN\\ prefix allowed)."""
    return find_group(host, name) is not None


def _pipe_name(address: str) -> str | None:
    """npipe:////./pipe/NAME or \\\\.\\pipe\\NAME or //./pipe/NAME -> NAME."""
    match = re.fullmatch(r"(?:npipe://)?[\\/]{2}\.[\\/]pipe[\\/](?P<name>[^\\/]+)", address.strip())
    return match["name"] if match else None


def _check_tls(host: Host, values: dict[str, list[str]]) -> dict[str, str] | None:
    files = {k: _one(values, f"tls{k}") for k in ("cert", "key", "cacert")}
    if not any(files.values()):
        return None
    for path in files.values():
        if path and not host.file(path):
            raise ServiceStartFailed(f"failed to load TLS config: open {path}: The system cannot find the file specified.")
    if files["cert"] and files["key"]:
        try:
            from cryptography import x509
            from cryptography.hazmat.primitives import serialization
            cert = x509.load_pem_x509_certificate(host.read_bytes(files["cert"]))
            key = serialization.load_pem_private_key(host.read_bytes(files["key"]), password=None)
        except (ValueError, TypeError):
            raise ServiceStartFailed("failed to load TLS config: tls: failed to find any PEM data in certificate "
                                     "input") from None
        der = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        if cert.public_key().public_bytes(*der) != key.public_key().public_bytes(*der):
            raise ServiceStartFailed("failed to load TLS config: tls: private key does not match public key")
    return {k: v for k, v in files.items() if v}


def _worker(host: Host, version: str, values: dict[str, list[str]], config: dict[str, t.Any],
            network: str) -> dict[str, t.Any]:
    worker_id = hashlib.sha256(f"{host.name}/{_one(values, 'root', DEFAULT_ROOT)}".encode()).hexdigest()
    alphabet = "0123456789abcdefghijklmnopqrstuvwxyz"
    ident = "".join(alphabet[int(worker_id[i:i + 2], 16) % 36] for i in range(0, 50, 2))
    new_gc = _v(version) >= (0, 17, 0)
    policy: dict[str, t.Any] = {"filter": None, "all": True, "keepDuration": 0}
    policy.update({"reservedSpace": 2_000_000_000, "maxUsedSpace": 0, "minFreeSpace": 0} if new_gc
                  else {"keepBytes": 2_000_000_000})
    return {
        "id": ident,
        "labels": {
            LABEL + "executor": "containerd", LABEL + "snapshotter": "windows",
            LABEL + "hostname": host.name.split(".")[0].upper(), LABEL + "network": network,
            LABEL + "containerd.namespace": "buildkit", LABEL + "containerd.uuid": worker_id[:8] + "-" + worker_id[8:12],
            LABEL + "selinux.enabled": "false",
            **dict(item.split("=", 1) for item in values.get("containerd-worker-labels", []) if "=" in item),
        },
        "platforms": [{"architecture": "amd64", "os": "windows"}],  # OS and architecture only
        "gcPolicy": [policy],
        "buildkitVersion": {"package": "github.com/moby/buildkit", "version": f"v{version}",
                            "revision": COMMITS.get(version, "0" * 40)},
    }


def run_daemon(host: Host, service: dict[str, t.Any], argv: list[str]) -> str:
    """buildkitd started by the SCM with its frozen arguments; answers the pipe it serves."""
    version = host.exe_version(argv[0]) or "0.0.0"
    try:
        values = parse_flags(flag_spec(host, version), argv[1:])
    except UsageError as exc:
        raise ServiceStartFailed(str(exc)) from None
    log_file = _one(values, "log-file")
    if log_file and not host.is_dir(ntpath.dirname(log_file)):
        host.event("service_log_open_failed", log_file)
        raise ServiceStartFailed(f"open {log_file}: The system cannot find the path specified.")
    try:
        config = load_config(host, values)
    except ConfigRejected as exc:
        raise ServiceStartFailed(str(exc)) from None
    host.make_dir(_one(values, "root") or config.get("root") or DEFAULT_ROOT)
    groups = [g.strip() for item in values.get("group", []) for g in item.split(",") if g.strip()]
    if _v(version) >= (0, 13, 2):
        for group in groups:
            if not group_exists(host, group):
                raise ServiceStartFailed(f'failed to get group SID for "{group}": lookup account {group}: '
                                         "No mapping between account names and security IDs was done.")
    tls = _check_tls(host, values)
    cdi_off = _true(values, "cdi-disabled") or bool((config.get("cdi") or {}).get("disabled"))
    if _v(version) >= (0, 20, 0) and not cdi_off:
        dirs = values.get("cdi-spec-dir") or (config.get("cdi") or {}).get("specDirs") or list(DEFAULT_CDI_DIRS)
        missing = [d for d in dirs if not host.is_dir(d)]
        if missing:
            host.append_log(argv, f'level=warning msg="CDI setup error {missing[0]}: failed to create watcher: '
                                  'The system cannot find the file specified."')
    worker_addr = _one(values, "containerd-worker-addr") or ((config.get("worker") or {}).get("containerd") or {}).get(
        "address") or r"\\.\pipe\containerd-containerd"
    if _pipe_name(worker_addr) not in host.pipes():
        host.append_log(argv, f'level=warning msg="skipping containerd worker, as \\"{worker_addr}\\" does not exist"')
        raise ServiceStartFailed("no worker found, rebuild the buildkit")
    cni_defaults = ((r"C:\Program Files\containerd\cni\conf\0-containerd-nat.conf") if _v(version) >= (0, 22, 0)
                    else r"C:\ProgramData\buildkitd\cni.json")
    cni_config = _one(values, "containerd-cni-config-path") or cni_defaults
    net_mode = _one(values, "containerd-worker-net") or "auto"
    if net_mode == "host":
        raise ServiceStartFailed("host network mode is not supported on this platform")
    if net_mode in ("auto", "cni") and host.file(cni_config):
        network = "cni"
    elif net_mode == "cni":
        raise ServiceStartFailed(f"failed to create CNI network provider: open {cni_config}: "
                                 "The system cannot find the file specified.")
    else:
        network = ""
        host.append_log(argv, 'level=warning msg="using null network as the default"')
    addresses = values.get("addr") or (config.get("grpc") or {}).get("address") or [DEFAULT_PIPE_ADDR]
    pipe, listeners = None, []
    for address in addresses:
        if address.startswith("tcp://"):
            if not tls:
                host.append_log(argv, f'level=warning msg="TLS is not enabled for {address}. enabling mutual TLS '
                                      'authentication is highly recommended"')
            listeners.append({"address": address, "tls": tls})
        elif _pipe_name(address):
            pipe = pipe or _pipe_name(address)
        else:
            raise ServiceStartFailed(f"address {address} is not supported on Windows")
        host.append_log(argv, f'level=info msg="running server on {address}"')
    service["buildkitd"] = {"version": version, "listeners": listeners,
                            "pipe_acl": pipe_acl_of(host, _v(version), groups),
                            "worker": _worker(host, version, values, config, network),
                            # [registry."host:port"] http / insecure / mirrors: how the worker reaches registries
                            "registry": dict(config.get("registry") or {}),
                            # a release with the flag (none yet: fault buildkitd_extra_flags) runs steps in utility VMs
                            "hyperv_isolation": _true(values, "containerd-worker-hyperv-isolation")}
    return pipe


SERVICE_RUNNERS["buildkitd.exe"] = run_daemon


@program("buildkitd.exe")
def buildkitd_exe(host: Host, path: str, argv: list[str]) -> tuple[int, str, str]:
    version = host.exe_version(path) or "0.0.0"
    try:
        values = parse_flags(flag_spec(host, version), argv)
    except UsageError as exc:
        return _usage(version, str(exc))
    if _true(values, "help") or _true(values, "h"):
        return 0, _help_with_extra_flags(host, version), ""
    if _true(values, "version") or _true(values, "v"):
        return 0, version_output(version) + "\n", ""
    register, unregister = _true(values, "register-service"), _true(values, "unregister-service")
    if not register and not unregister:
        return 1, "", "buildkitd: simulated only for --help, --version, --register-service, --unregister-service\n"
    try:
        config = load_config(host, values)
    except ConfigRejected as exc:
        return 1, "", f"buildkitd: {exc}\n"
    host.make_dir(_one(values, "root") or config.get("root") or DEFAULT_ROOT)
    name = _one(values, "service-name", "buildkitd")
    if register:
        if host.service(name):
            return 1, "", f"buildkitd: service {name} already exists\n"
        frozen = [a for a in argv if a not in ("--register-service", "-register-service")]
        host.register_service(name, join_args([path, "--run-service", *frozen]), display_name="Buildkitd",
                              failure_actions="restart/15000/restart/15000")
        return 0, "", ""
    if not host.service(name):
        return 1, "", "buildkitd: The specified service does not exist as an installed service.\n"
    host.unregister_service(name)
    return 0, "", ""


# -- buildctl.exe ---------------------------------------------------------------------------------------------
_BUILDCTL_GLOBAL = {"debug": False, "addr": True, "log-format": True, "tlsservername": True, "tlscacert": True,
                    "tlscert": True, "tlskey": True, "tlsdir": True, "timeout": True, "wait": False, "help": False,
                    "h": False, "version": False, "v": False}
_WORKERS_FLAGS = {"filter": True, "f": True, "verbose": False, "v": False, "format": True}


def _die(host: Host, service: dict[str, t.Any]) -> None:
    """The daemon exits: its pipe goes, the SCM reports Stopped, and its log says why (as buildkitd logs a lost
    containerd connection: the worker's gRPC client fails, then the process exits with logrus' fatal line)."""
    argv = split_win32(service["command_line"])
    flag = "--containerd-worker-addr"
    address = argv[argv.index(flag) + 1] if flag in argv[:-1] else "\\\\.\\pipe\\containerd-containerd"
    host.append_log(argv, 'level=error msg="failed to list containerd worker state" error="rpc error: code = '
                          'Unavailable desc = connection error: transport: Error while dialing: open '
                          f'{address}: The pipe has been ended."')
    host.append_log(argv, 'level=fatal msg="containerd worker: connection to containerd lost, exiting"')
    service.update(status="Stopped", pipe=None)
    host.event("service_died", service["name"])


def _unavailable(detail: str) -> tuple[int, str, str]:
    return 1, "", (f'error: failed to list workers: Unavailable: connection error: desc = "transport: {detail}"\n')


def _connect(host: Host, values: dict[str, list[str]], read_client: t.Callable[[str], bytes | None] | None = None
             ) -> tuple[dict[str, t.Any] | None, tuple[int, str, str] | None]:
    """The daemon serving values' --addr on host, or buildctl's failure. read_client reads the client's TLS files
    (default: from this host, where buildctl runs; a client on another machine passes its own reader)."""
    address = _one(values, "addr", DEFAULT_PIPE_ADDR)
    for service in host.state["services"].values():
        daemon = service.get("buildkitd")
        if service["status"] != "Running" or not daemon:
            continue
        if host._fault_names("buildkitd_dies_after_start", service["name"], daemon["version"]):  # pylint: disable=protected-access
            _die(host, service)
            continue
        if _pipe_name(address) and service.get("pipe") == _pipe_name(address):
            return daemon, None
        for listener in daemon["listeners"]:
            if address.startswith("tcp://") and address.rsplit(":", 1)[-1] == listener["address"].rsplit(":", 1)[-1]:
                return _tls_handshake(host, values, daemon, listener, read_client)
    if _pipe_name(address):
        pipe = "\\\\.\\pipe\\" + _pipe_name(address)
        return None, _unavailable(f"Error while dialing: open {pipe}: The system cannot find the file specified.")
    return None, _unavailable(f"Error while dialing: dial tcp {address[6:]}: connectex: No connection could be made "
                              "because the target machine actively refused it.")


def _tls_handshake(host: Host, values: dict[str, list[str]], daemon: dict[str, t.Any],
                   listener: dict[str, t.Any], read_client: t.Callable[[str], bytes | None] | None = None
                   ) -> tuple[dict[str, t.Any] | None, tuple[int, str, str] | None]:
    server = listener["tls"]
    read = read_client or (lambda path: host.read_bytes(path) if host.file(path) else None)
    client = {k: _one(values, f"tls{k}") for k in ("cacert", "cert", "key")}
    if not server:
        if any(client.values()):
            return None, _unavailable("authentication handshake failed: tls: first record does not look like a "
                                      "TLS handshake")
        return daemon, None
    if not client["cacert"]:
        return None, _unavailable("authentication handshake failed: tls: failed to verify certificate: x509: "
                                  "certificate signed by unknown authority")
    pems = {k: read(path) if path else None for k, path in client.items()}
    for key, path in client.items():
        if path and pems[key] is None:
            return None, (1, "", f"error: open {path}: The system cannot find the file specified.\n")
    from cryptography import x509
    server_ca = host.read_bytes(server["cacert"]) if server.get("cacert") else None
    server_cert = x509.load_pem_x509_certificate(host.read_bytes(server["cert"]))
    try:
        server_cert.verify_directly_issued_by(x509.load_pem_x509_certificate(pems["cacert"]))
    except Exception:  # noqa: B902 - any failure (bad signature, wrong issuer, not PEM) is an untrusted chain
        return None, _unavailable("authentication handshake failed: tls: failed to verify certificate: x509: "
                                  "certificate signed by unknown authority")
    if server_ca:
        if not client["cert"] or not client["key"]:
            return None, _unavailable("authentication handshake failed: remote error: tls: certificate required")
        try:
            x509.load_pem_x509_certificate(pems["cert"]).verify_directly_issued_by(
                x509.load_pem_x509_certificate(server_ca))
        except Exception:  # noqa: B902
            return None, _unavailable("authentication handshake failed: remote error: tls: bad certificate")
    return daemon, None


def _workers_verbose(worker: dict[str, t.Any]) -> str:
    version = worker["buildkitVersion"]
    lines = [f"ID:\t{worker['id']}", "Platforms:\twindows/amd64",
             f"BuildKit:\t{version['package']} {version['version']} {version['revision']}", "Labels:"]
    lines += [f"\t{k}:\t{v}" for k, v in sorted(worker["labels"].items())]
    for index, rule in enumerate(worker["gcPolicy"]):
        lines += [f"GC Policy rule#{index}:", f"\tAll:\t{str(rule['all']).lower()}"]
    return "\n".join(lines) + "\n\n"


@program("buildctl.exe")
def buildctl_exe(host: Host, path: str, argv: list[str]) -> tuple[int, str, str]:
    version = host.exe_version(path) or "0.0.0"
    if "build" in argv and "debug" not in argv:  # `buildctl build` lives in its own twin file
        return __import__(f"{__package__}.buildctl_build", fromlist=["run"]).run(host, argv)
    if "debug" not in argv:
        if "--version" in argv:
            return 0, f"buildctl github.com/moby/buildkit v{version} {COMMITS.get(version, '0' * 40)}\n", ""
        return 1, "", "buildctl: simulated only for --version and debug workers\n"
    split = argv.index("debug")
    try:
        values = parse_flags(_BUILDCTL_GLOBAL, argv[:split])
        if argv[split + 1:split + 2] != ["workers"]:
            return 1, "", f"buildctl: simulated only for debug workers, not {argv[split + 1:]!r}\n"
        options = parse_flags(_WORKERS_FLAGS, argv[split + 2:])
    except UsageError as exc:
        return 1, f"Incorrect Usage. {exc}\n\n", f"buildctl: {exc}\n"
    daemon, failure = _connect(host, values)
    if failure:
        return failure
    worker = daemon["worker"]
    fmt = _one(options, "format")
    if fmt:
        if fmt.strip() != "{{json .}}":
            return 1, "", f"buildctl: simulated only for --format '{{{{json .}}}}', not {fmt!r}\n"
        # Go marshals struct fields in declaration order and map keys sorted.
        ordered = {**worker, "labels": dict(sorted(worker["labels"].items()))}
        return 0, json.dumps([ordered], separators=(",", ":")) + "\n", ""
    if _true(options, "verbose") or _true(options, "v"):
        return 0, _workers_verbose(worker), ""
    return 0, f"ID\t\t\t\tPLATFORMS\n{worker['id']}\twindows/amd64\n", ""


@script("file_tail")
def file_tail(host: Host, params: dict[str, t.Any]) -> dict[str, t.Any]:
    """Get-Content -Tail: the last lines of a text file (CRLF or LF), missing file answered, not thrown."""
    path = params["Path"]
    if host.file(path) is None:
        return {"path": path, "exists": False, "lines": [], "changed": False}
    count = int(params.get("Lines", 20))
    lines = host.read_text(path).splitlines()
    return {"path": path, "exists": True, "lines": lines[-count:] if count > 0 else [], "changed": False}


@script("exe_help")
def exe_help(host: Host, params: dict[str, t.Any]) -> dict[str, t.Any]:
    """`& $Path --help 2>&1`: the program's own help (through its simulated program), or exists=false."""
    path = params["Path"]
    if not host.exists(path):
        return {"path": path, "exists": False, "rc": None, "help": None, "changed": False}
    handler = PROGRAMS.get(ntpath.basename(path).lower())
    rc, stdout, stderr = handler(host, path, ["--help"]) if handler else (1, "", f"{path}: not simulated")
    text = "\n".join(line for line in (stdout + stderr).splitlines())
    return {"path": path, "exists": True, "rc": rc, "help": text, "changed": False}
