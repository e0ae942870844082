# Copyright (c) wcow.buildkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What is particular to containerd in win_containerd's plan (internal).

The lifecycle (install, register, drift, upgrade with rollback, removal, PATH, Defender) is the
one every daemon shares, in `_daemon`; here is what makes it containerd's: its flags, its grpc
pipe and where a config keeps it, `config dump` to try a config, the root and state folders
purge deletes, its shims and Docker Engine's containerd seen on the host.

Pure functions, no I/O. Each step is a host script of the same name in `scripts/`, so "what
happens on the host when the config changes" is two hops: the step name here, then the script.
"""

from __future__ import annotations

import dataclasses
import tomllib
import typing as t

from . import _daemon
from ._daemon import (
    DEFENDER_ADD, DEFENDER_REMOVE, SC_EXE, DaemonSpec, Plan, as_list, plan, plan_absent, plan_present, recovery,
    same_command_line, settle_defender,
)
from ._host import Step

# win_containerd's planner API: the shared lifecycle's functions, with containerd's Desired and Observed.
__all__ = [
    "CONTAINERD", "DEFAULT_PIPE", "DOCKER_PIPE", "SHIM", "DEFENDER_ADD", "DEFENDER_REMOVE", "SC_EXE", "Desired", "Observed", "Plan", "Step",
    "as_list", "data_dirs", "found_pipe", "observe", "plan", "plan_absent", "plan_present", "recovery",
    "same_command_line", "settle_defender",
]

DEFAULT_PIPE = r"\\.\pipe\containerd-containerd"
DEFAULT_DATA_DIR = r"C:\ProgramData\containerd"
DEFAULT_ROOT = DEFAULT_DATA_DIR + r"\root"
DEFAULT_STATE = DEFAULT_DATA_DIR + r"\state"
# Docker Engine's own containerd serves this pipe; ours is managed beside it.
DOCKER_PIPE = "docker-containerd"
# A container's shim: it outlives a containerd restart and keeps the files it runs from locked.
SHIM = "containerd-shim-runhcs-v1"


def _load(config_text: str | None) -> dict[str, t.Any]:
    try:
        return tomllib.loads(config_text or "")
    except tomllib.TOMLDecodeError:
        return {}  # containerd would not start with it either: what it would use by default counts


def found_pipe(config_text: str | None) -> str:
    """The pipe a containerd config serves: version 4 (2.3) keeps it in plugins, older schemas at top-level grpc."""
    found = _load(config_text)
    plugins = found.get("plugins") if isinstance(found.get("plugins"), dict) else {}
    grpc = (plugins.get("io.containerd.server.v1.grpc") if found.get("version") == 4 else found.get("grpc")) or {}
    address = grpc.get("address") if isinstance(grpc, dict) and isinstance(grpc.get("address"), str) else None
    return address or DEFAULT_PIPE


def data_dirs(config_text: str | None) -> list[str]:
    """The `root` and `state` folders a config names (top-level keys in every schema), defaults filled in."""
    if config_text is None:
        return []
    config = _load(config_text)
    folders = []
    for name, default in (("root", DEFAULT_ROOT), ("state", DEFAULT_STATE)):
        value = config.get(name)
        folders.append(value if isinstance(value, str) and value.strip() else default)
    return folders


def config_dump(path: str) -> list[str]:
    """`containerd.exe --config PATH config dump` loads a config exactly as the service and --register-service do."""
    return ["--config", path, "config", "dump"]


CONTAINERD = DaemonSpec(
    name="containerd",
    exe_name="containerd.exe",
    check_config=config_dump,
    found_pipe=found_pipe,
    config_data_dirs=data_dirs,
    # buildkitd uses containerd even when not registered as its dependent.
    companions=("buildkitd",),
    archive_filter="containerd-*-windows-*.tar.gz",
    other_pipes=(DOCKER_PIPE,),
    process_names=(SHIM,),
)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Desired(_daemon.Desired):
    """What the task asks for, with every path resolved."""

    daemon: t.ClassVar[DaemonSpec] = CONTAINERD

    log_level: str
    pipe_address: str = DEFAULT_PIPE
    data_dirs: tuple[str, ...] = (DEFAULT_DATA_DIR,)

    def service_args(self) -> list[str]:
        return ["--service-name", self.service_name, "--config", self.config_path,
                "--log-file", self.log_file, "--log-level", self.log_level]


@dataclasses.dataclass(frozen=True, kw_only=True)
class Observed(_daemon.Observed):
    """What daemon_state.ps1 reported about containerd."""

    docker_containerd: bool
    shim_processes: int


def observe(answer: dict[str, t.Any], parse_version: t.Callable[[str], str | None]) -> Observed:
    fields = _daemon.observed_fields(answer, parse_version)
    return Observed(**fields, docker_containerd=DOCKER_PIPE in fields["pipes_present"],
                    shim_processes=fields["process_counts"].get(SHIM, 0))
