# Copyright (c) wcow.buildkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""buildkitd.exe command-line flags by release, and the frozen service argv (internal).

``buildkitd.exe --register-service`` freezes every argument it is given into the
service's ImagePath, so the argv is decided here, on the controller, from the
version being installed.  ``FLAGS`` is read off the real ``buildkitd.exe --help``
of 0.13.2, 0.18.2, 0.20.2, 0.24.0 and 0.32.2 (tests/unit/plugins/plugin_utils/
test__buildkitd_flags.py checks the table against each capture).  A flag is
passed only to a version that has it; a request a version cannot honour raises
``BuildkitdVersionError`` naming the version found and the one needed, before
anything changes on the host.

Decisions written down once:

* CDI (0.20+): buildkitd warns at every start unless its spec folder exists
  (buildkit issue 6084).  CDI injects devices into Linux containers; a Windows
  build has no use for it, so ``--cdi-disabled`` is always passed to a release
  that has it (win_buildkitd has no option to keep CDI on).
* CNI defaults moved in 0.22 (``C:\\ProgramData\\buildkitd\\{cni.json,bin}`` ->
  ``C:\\Program Files\\containerd\\cni\\{conf\\0-containerd-nat.conf,bin}``): paths
  are always passed explicitly when networking is configured.
* Hyper-V isolation: no release up to 0.32.2 has a flag.  For a newer release
  (``hyperv_pending``) the flag is assumed and the binary decides: the installed
  one's ``--help`` (read in the state read), else its own ``--register-service``.
"""

from __future__ import annotations

import ntpath
import re
import typing as t
from collections.abc import Mapping

Version = tuple[int, int, int]


class BuildkitdFlagsError(ValueError):
    """A request for buildkitd's command line that cannot be honoured; the message names the fix."""


class BuildkitdVersionError(BuildkitdFlagsError):
    """The version being installed lacks what was asked for: names the version found and the one needed."""


# Releases whose real --help is captured (tests compare FLAGS with each one).
KNOWN_VERSIONS = ("0.13.2", "0.18.2", "0.20.2", "0.24.0", "0.32.2")
# The first release with Windows builds and --register-service.
MINIMUM_VERSION = "0.13.0"
NEWEST_KNOWN = KNOWN_VERSIONS[-1]

DEFAULT_PIPE = "npipe:////./pipe/buildkitd"
DEFAULT_CONTAINERD_ADDRESS = r"\\.\pipe\containerd-containerd"
DEFAULT_CONFIG = r"C:\ProgramData\buildkitd\buildkitd.toml"
DEFAULT_ROOT = r"C:\ProgramData\buildkitd\.buildstate"
HYPERV_FLAG = "--containerd-worker-hyperv-isolation"

# flag -> (first release that has it, first release without it or None).  Where a change falls between
# two captures, "since" is the capture that first shows it unless the changelog dates it (noted).
FLAGS: Mapping[str, tuple[str, str | None]] = {
    **{flag: ("0.13.0", None) for flag in (
        "--rootless", "--config", "--debug", "--root", "--addr", "--log-format", "--group", "--debugaddr",
        "--tlscert", "--tlskey", "--tlscacert", "--allow-insecure-entitlement", "--otel-socket-path",
        "--containerd-worker", "--containerd-worker-addr", "--containerd-worker-labels",
        "--containerd-worker-net", "--containerd-cni-config-path", "--containerd-cni-binary-dir",
        "--containerd-cni-pool-size", "--containerd-worker-snapshotter",
        "--containerd-worker-apparmor-profile", "--containerd-worker-selinux", "--containerd-worker-rootless",
        "--containerd-worker-gc", "--containerd-worker-gc-keepstorage", "--service-name",
        "--register-service", "--unregister-service", "--log-file", "--help", "--version")},
    "--trace": ("0.13.0", "0.32.0"),  # gone in the 0.32.2 help, present in 0.24.0
    "--cdi-disabled": ("0.20.0", None),  # CDI arrived in v0.20.0 (changelog)
    "--cdi-spec-dir": ("0.20.0", None),
    "--save-cache-debug": ("0.24.0", None),
    "--containerd-max-parallelism": ("0.24.0", None),
    "--log-level": ("0.32.0", None),
    "--proxy-network": ("0.32.0", None),
}

# What a flag's value means changed without the flag changing name (version -> meaning).
# --group: before 0.13.2 the Windows build ignored it (pipe open to all authenticated users, buildkit
# PR 4875); from 0.13.2 each group gets read/write on the named pipe and must exist at start.
GROUP_ON_PIPE_SINCE = "0.13.2"
CNI_DEFAULTS_MOVED_IN = "0.22.0"
GC_SPACE_KEYS_SINCE = "0.17.0"

# Published security fixes that matter to Windows builders: (what, fixed versions by series, reference).
# An install older than the fix of its series (or of the next series that has one) is warned about.
SECURITY_FIXES: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("cache mounts on Windows can follow a junction out of the build (RUN --mount=type=cache)",
     ("0.31.2", "0.32.0"), "moby/buildkit PR 6962"),
)

_VERSION = re.compile(r"v?(\d+)\.(\d+)\.(\d+)(?:[-+][0-9A-Za-z.+-]*)?")
_VERSION_LINE = re.compile(r"^\s*buildkitd\s+\S+\s+v?(\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.+-]*)?)(?:\s|$)", re.M)
# One option line of urfave/cli help: "   --name value", "   --name string [ --name string ]", "--help, -h".
_HELP_FLAG = re.compile(r"^\s{2,}(--[a-z0-9][a-z0-9-]*)\b", re.M)


def parse_version(version: str) -> Version:
    """'0.13.2', 'v0.13.2' or '0.20.0-rc1' -> (0, 13, 2); anything else raises BuildkitdFlagsError."""
    match = _VERSION.fullmatch(str(version).strip())
    if not match:
        raise BuildkitdFlagsError(f"buildkit version {version!r} is not a version number; give it like '0.20.2'.")
    return int(match[1]), int(match[2]), int(match[3])


def version_from_output(text: str) -> str | None:
    """`buildkitd.exe --version` ("buildkitd github.com/moby/buildkit v0.13.2 <commit>") -> '0.13.2'."""
    match = _VERSION_LINE.search(text or "")
    return match[1] if match else None


def _at_least(version: str, needed: str) -> bool:
    return parse_version(version) >= parse_version(needed)


def flags_from_help(text: str) -> frozenset[str]:
    """The long flags a real `buildkitd.exe --help` lists."""
    return frozenset(_HELP_FLAG.findall(text))


def available_flags(version: str, help_text: str | None = None) -> frozenset[str]:
    """Flags of ``version``: from its own --help when given (authoritative), else from FLAGS."""
    if help_text:
        return flags_from_help(help_text)
    found = parse_version(version)
    return frozenset(flag for flag, (since, until) in FLAGS.items()
                     if found >= parse_version(since) and (until is None or found < parse_version(until)))


def check_supported(version: str) -> None:
    """Refuse a release without Windows service support."""
    if not _at_least(version, MINIMUM_VERSION):
        raise BuildkitdVersionError(
            f"version: buildkit {version} cannot run as a Windows service; {MINIMUM_VERSION} or later is needed "
            f"(newest known {NEWEST_KNOWN}). Choose a newer version.")


def cni_defaults(version: str) -> dict[str, str]:
    """Where ``version`` looks for the CNI config and plugins when no flag says."""
    if _at_least(version, CNI_DEFAULTS_MOVED_IN):
        return {"config_path": r"C:\Program Files\containerd\cni\conf\0-containerd-nat.conf",
                "binary_dir": r"C:\Program Files\containerd\cni\bin"}
    return {"config_path": r"C:\ProgramData\buildkitd\cni.json", "binary_dir": r"C:\ProgramData\buildkitd\bin"}


def security_warnings(version: str) -> list[str]:
    """A warning per published security fix that ``version`` predates, naming the fixed version to install."""
    found = parse_version(version)
    warnings = []
    for what, fixed, reference in SECURITY_FIXES:
        fixes = sorted(parse_version(v) for v in fixed)
        same_series = [f for f in fixes if f[:2] == found[:2]]
        if same_series:
            needed = same_series[0]
        else:
            later = [f for f in fixes if f > found]
            if not later:
                continue
            needed = later[0]
        if found < needed:
            name = ".".join(str(p) for p in needed)
            warnings.append(f"buildkit {version} predates a security fix: {what} ({reference}); "
                            f"fixed in {name} (and {', '.join(v for v in fixed if v != name)}). "
                            f"Install {name} or later.")
    return warnings


def _absolute(option: str, value: t.Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise BuildkitdFlagsError(f"{option}: give an absolute Windows path such as 'C:\\ProgramData\\buildkitd\\x', "
                                  f"not {value!r}.")
    drive, rest = ntpath.splitdrive(value)
    if not (drive and rest.startswith(("\\", "/"))) and not value.startswith("\\\\"):
        raise BuildkitdFlagsError(f"{option}: {value!r} is not an absolute Windows path; give it with its drive, "
                                  "e.g. 'C:\\ProgramData\\buildkitd\\...'.")
    return value


def _need(flags: frozenset[str], flag: str, version: str, needed: str, option: str) -> None:
    if flag not in flags:
        raise BuildkitdVersionError(f"{option}: buildkit {version} has no {flag}; {needed} or later is needed. "
                                    f"Choose version {needed} or newer, or leave {option} unset.")


def _tcp_address(value: t.Any) -> str:
    text = str(value or "").strip()
    match = re.fullmatch(r"(?:tcp://)?(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(?P<port>\d{1,5})", text)
    if not match or not 0 < int(match["port"]) < 65536:
        raise BuildkitdFlagsError(f"tcp: {value!r} is not a listen address; give host:port such as '0.0.0.0:1234'.")
    return f"tcp://{match['host']}:{match['port']}"


def _groups(value: t.Any) -> list[str]:
    if value in (None, "", []):
        return []
    items = value if isinstance(value, list) else [value]
    groups = []
    for item in items:
        name = str(item).strip() if isinstance(item, str) else ""
        if not name or "," in name or any(c in name for c in '"/[]:;|=+*?<>'):
            raise BuildkitdFlagsError(f"allowed_groups: {item!r} is not a local group name; give names such as "
                                      "'docker-users' (no commas or the characters \"/[]:;|=+*?<>).")
        if name.lower() not in (g.lower() for g in groups):
            groups.append(name)
    return groups


def hyperv_pending(version: str) -> bool:
    """True when only the binary can say whether ``version`` has HYPERV_FLAG: a release newer than every
    captured --help (for those, the captures say it has none)."""
    return parse_version(version) > parse_version(NEWEST_KNOWN)


def register_argv(version: str, options: Mapping[str, t.Any], help_text: str | None = None,
                  assume: frozenset[str] = frozenset()) -> list[str]:
    """The argv of ``buildkitd.exe --register-service`` for ``version`` (argv[0] is the exe itself).

    ``options`` (all optional but ``exe``): exe, service_name, config, root, log_file, debug, tcp (host:port),
    tls ({cert, key, ca} host paths), tcp_insecure, allowed_groups, containerd_address,
    cni ({config_path, binary_dir}), hyperv_isolation.
    ``help_text`` is the installed binary's --help, when known: it decides which flags exist.
    ``assume``: flags taken as present until the binary's own --help (or its registration) says otherwise.
    """
    check_supported(version)
    flags = available_flags(version, help_text) | assume
    argv = [_absolute("install_dir", options.get("exe")), "--register-service",
            "--service-name", str(options.get("service_name") or "buildkitd")]
    argv += ["--config", _absolute("config", options.get("config") or DEFAULT_CONFIG)]
    if options.get("root"):
        argv += ["--root", _absolute("root", options["root"])]
    if options.get("log_file"):
        argv += ["--log-file", _absolute("log_file", options["log_file"])]
    if options.get("debug"):
        argv.append("--debug")

    addresses = [DEFAULT_PIPE]
    for option in ("tls", "cni"):
        if options.get(option) is not None and not isinstance(options[option], Mapping):
            raise BuildkitdFlagsError(f"{option}: give a dictionary (see the module documentation), not "
                                      f"{type(options[option]).__name__}.")
    tls = {k: v for k, v in (options.get("tls") or {}).items() if v}
    if options.get("tcp"):
        addresses.append(_tcp_address(options["tcp"]))
        if not tls and not options.get("tcp_insecure"):
            raise BuildkitdFlagsError("tcp: a TCP listener needs TLS (tls cert, key and ca) so that only clients "
                                      "with a certificate can build; set tcp_insecure: true to listen without it.")
    elif tls:
        raise BuildkitdFlagsError("tls: TLS applies to the TCP listener only (buildkitd never uses it on the named "
                                  "pipe); set tcp as well, or drop the TLS options.")
    if tls:
        missing = [k for k in ("cert", "key", "ca") if k not in tls]
        if missing:
            raise BuildkitdFlagsError(f"tls: {', '.join(missing)} missing; mutual TLS needs cert, key and ca.")
    for address in addresses:
        argv += ["--addr", address]
    for key, flag in (("cert", "--tlscert"), ("key", "--tlskey"), ("ca", "--tlscacert")):
        if key in tls:
            argv += [flag, _absolute(f"tls {key}", tls[key])]

    groups = _groups(options.get("allowed_groups"))
    if groups:
        if not _at_least(version, GROUP_ON_PIPE_SINCE):
            raise BuildkitdVersionError(
                f"allowed_groups: buildkit {version} does not apply --group to its named pipe; "
                f"{GROUP_ON_PIPE_SINCE} or later is needed. Choose version {GROUP_ON_PIPE_SINCE} or newer.")
        _need(flags, "--group", version, GROUP_ON_PIPE_SINCE, "allowed_groups")
        argv += ["--group", ",".join(groups)]

    argv += ["--containerd-worker-addr", str(options.get("containerd_address") or DEFAULT_CONTAINERD_ADDRESS)]
    cni = options.get("cni") or {}
    if cni:
        if not cni.get("config_path") or not cni.get("binary_dir"):
            raise BuildkitdFlagsError("cni: give both config_path and binary_dir (the defaults moved in buildkit "
                                      f"{CNI_DEFAULTS_MOVED_IN}, so both are always passed).")
        argv += ["--containerd-cni-config-path", _absolute("cni config_path", cni["config_path"]),
                 "--containerd-cni-binary-dir", _absolute("cni binary_dir", cni["binary_dir"])]

    if "--cdi-disabled" in flags:
        argv.append("--cdi-disabled")

    if options.get("hyperv_isolation"):
        if HYPERV_FLAG not in flags:
            raise BuildkitdVersionError(
                f"hyperv_isolation: buildkit {version} has no Hyper-V isolation flag ({HYPERV_FLAG} is in no "
                f"release up to {NEWEST_KNOWN}); a release whose --help lists it is needed. "
                "Leave hyperv_isolation false (process isolation) until then.")
        argv.append(HYPERV_FLAG)
    unknown = [a for a in argv[1:] if a.startswith("--") and a not in flags]
    if unknown:  # a guard for this table, not user input: every flag above is checked against the version
        raise BuildkitdVersionError(f"buildkit {version} lacks {', '.join(unknown)}.")
    return argv


def required_dirs(version: str, options: Mapping[str, t.Any]) -> list[str]:
    """Folders that must exist before buildkitd starts: its log folder (opening the log never creates it)."""
    dirs = []
    if options.get("log_file"):
        dirs.append(ntpath.dirname(_absolute("log_file", options["log_file"])))
    return dirs
