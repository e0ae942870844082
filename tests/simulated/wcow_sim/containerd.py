"""Contracts of containerd_state.ps1 and the simulated containerd.exe."""

from __future__ import annotations

import fnmatch
import ntpath
import tomllib
import typing as t

from .host import SERVICE_RUNNERS, Host, ServiceStartFailed, join_args
from .registry import program, script

DEFAULT_PIPE = "containerd-containerd"
_COMMITS = {"1": "442cb34bda9a6a0fed82a2ca7cade05c5c749582", "2": "fcd43222d6b07379a4be9786bda52438f0dd16a1"}


def version_output(version: str) -> str:
    """What `containerd.exe --version` prints (module path gains /v2 from 2.0)."""
    module = "github.com/containerd/containerd" + ("/v2" if not version.startswith("1.") else "")
    return f"containerd {module} v{version} {_COMMITS['1' if version.startswith('1.') else '2']}"


def _option(argv: list[str], name: str, default: str | None = None) -> str | None:
    return argv[argv.index(name) + 1] if name in argv and argv.index(name) + 1 < len(argv) else default


def _pipe_from_config(host: Host, config_path: str | None) -> str:
    if not config_path or not host.file(config_path):
        return DEFAULT_PIPE
    try:
        config = tomllib.loads(host.read_text(config_path))
    except tomllib.TOMLDecodeError as exc:
        raise ServiceStartFailed(f"failed to load TOML from {config_path}: {exc}") from None
    address = config.get("grpc", {}).get("address") or r"\\.\pipe\containerd-containerd"
    return address.rsplit("\\", 1)[-1]


def run_daemon(host: Host, service: dict[str, t.Any], argv: list[str]) -> str:
    """containerd started as a service: loads its config, serves its pipe."""
    return _pipe_from_config(host, _option(argv, "--config"))


SERVICE_RUNNERS["containerd.exe"] = run_daemon


@program("containerd.exe")
def containerd_exe(host: Host, path: str, argv: list[str]) -> tuple[int, str, str]:
    version = host.exe_version(path)
    if "--version" in argv or "-v" in argv:
        return 0, version_output(version) + "\n", ""
    name = _option(argv, "--service-name", "containerd")
    if "--register-service" in argv:
        if host.service(name):
            return 1, "", f'containerd: service "{name}" already exists'
        frozen = [a for a in argv if a != "--register-service"]
        host.register_service(name, join_args([path, "--run-service", *frozen]),
                              display_name="containerd", failure_actions="restart/15000/restart/15000")
        return 0, "", ""
    if "--unregister-service" in argv:
        if not host.service(name):
            return 1, "", f'containerd: service "{name}" does not exist'
        host.unregister_service(name)
        return 0, "", ""
    return 1, "", f"containerd: simulated with arguments {argv!r} is not supported"


def _staged(host: Host, folder: str | None, pattern: str) -> list[str]:
    """Get-ChildItem -Filter: the files directly in folder whose name matches (case-insensitive)."""
    if not folder:
        return []
    return [p for p in host.list_tree(folder)
            if ntpath.dirname(p).lower() == folder.rstrip("\\").lower()
            and fnmatch.fnmatch(ntpath.basename(p).lower(), pattern.lower())]


@script("containerd_state")
def containerd_state(host: Host, params: dict[str, t.Any]) -> dict[str, t.Any]:
    exe = ntpath.join(params["InstallDir"], "bin", "containerd.exe")
    binary = {"path": exe, "exists": host.file(exe) is not None, "version_output": None}
    if binary["exists"]:
        version = host.exe_version(exe)
        binary["version_output"] = version_output(version) if version else "not a valid Win32 application"
    service = None
    svc = host.service(params["ServiceName"])
    if svc:
        service = {
            "name": svc["name"],
            "status": svc["status"],
            "start_mode": svc["start_mode"],
            "command_line": svc["command_line"],
        }
    companions = {d["name"].lower(): d for d in host.dependents(params["ServiceName"])}
    for name in params.get("CompanionServices", ["buildkitd"]) or []:
        if host.service(name):
            companions[name.lower()] = host.service(name)
    config = None
    if host.file(params["ConfigPath"]):
        config = {"sha256": host.file(params["ConfigPath"])["sha256"], "content": host.read_text(params["ConfigPath"])}
    archive = params.get("ArchivePath")
    return {
        "binary": binary,
        "service": service,
        "companions": [{"name": c["name"], "status": c["status"]} for c in sorted(companions.values(), key=lambda c: c["name"].lower())],
        "data_dirs_present": [d for d in params.get("DataDirs") or [] if host.exists(d) or host.list_tree(d)],
        "staged_archives": _staged(host, params.get("ArtifactDir"), params.get("ArtifactFilter") or "containerd-*-windows-*.tar.gz"),
        "config": config,
        "machine_path": host.path_entries(),
        "defender_exclusions": list(host.state["defender_exclusions"]["processes"]),
        "archive_sha256": host.file(archive)["sha256"] if archive and host.file(archive) else None,
        "pipe_ready": params.get("PipeName", DEFAULT_PIPE) in host.pipes(),
        "docker_containerd": "docker-containerd" in host.pipes(),
        "shim_processes": sum(1 for p in host.state["processes"] if p.lower() == "containerd-shim-runhcs-v1"),
    }


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
