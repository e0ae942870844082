"""docker.exe / docker-buildx on the simulated Windows host: the same buildx behaviour as the POSIX stand-in.

The behaviour lives in tests/fixtures/docker_cli/buildx_standin.py (shared); here only the file system
(the host's simulated files, Windows paths) and what "answers" differ: an npipe:// endpoint answers when
a running service serves that pipe on this host (buildx on Windows dials the pipe; `npipe` is accepted
only on a Windows client, as the field notes measured); a tcp:// endpoint naming a simulated host goes through
the simulator bridge (tests/fixtures/docker_cli/sim_bridge.py), this host included.
"""

from __future__ import annotations

import ntpath
import pathlib
import sys
import typing as t
import urllib.parse

from .host import Host
from .registry import program

_STANDIN = pathlib.Path(__file__).resolve().parents[2] / "fixtures" / "docker_cli"
if str(_STANDIN) not in sys.path:
    sys.path.insert(0, str(_STANDIN))

import buildx_standin  # noqa: E402  pylint: disable=wrong-import-position

HOME = "C:\\Users\\Administrator"


class HostFiles:
    """The simulated host's files under Windows paths."""

    sep = "\\"

    def __init__(self, host: Host):
        self.host = host

    def join(self, *parts: str) -> str:
        return ntpath.join(*parts)

    def read(self, path: str) -> str | None:
        return self.host.read_text(path) if self.host.file(path) is not None else None

    def read_bytes(self, path: str) -> bytes | None:
        return self.host.read_bytes(path) if self.host.file(path) is not None else None

    def is_dir(self, path: str) -> bool:
        return self.host.is_dir(path)

    def isabs(self, path: str) -> bool:
        return bool(ntpath.isabs(path) and ntpath.splitdrive(path)[0])

    def cwd(self) -> str:
        return HOME

    def write(self, path: str, text: str) -> None:
        self.host.write_file(path, text.encode("utf-8"))

    def remove(self, path: str) -> None:
        self.host.remove_file(path)

    def names(self, folder: str) -> list[str]:
        return sorted(ntpath.basename(p) for p in self.host.list_tree(folder)
                      if ntpath.dirname(p).lower() == folder.lower().rstrip("\\"))


class WindowsBuildx(buildx_standin.Buildx):
    host: Host

    def probe(self, endpoint: str) -> dict[str, t.Any] | None:
        url = urllib.parse.urlsplit(endpoint)
        if url.scheme != "npipe":
            return super().probe(endpoint)
        pipe = ntpath.basename(url.path.replace("/", "\\"))
        if pipe not in self.host.pipes():
            return None
        return {"version": self.host.state.get("buildkitd_version", ""), "platforms": ["windows/amd64"]}


def _factory(host: Host) -> t.Callable[..., buildx_standin.Buildx]:
    def factory(config: str, env_: t.Mapping[str, str], platform: str, files_: t.Any) -> buildx_standin.Buildx:
        bx = WindowsBuildx(config, env_, platform, files_)
        bx.host = host
        return bx
    return factory


@program("docker.exe")
def docker_exe(host: Host, path: str, argv: list[str]) -> tuple[int, str, str]:
    env = {**(host.state.get("docker_env") or {}), **host.process_env}
    return buildx_standin.run(argv, env, "windows", HOME, HostFiles(host), factory=_factory(host))


@program("buildx.exe")
@program("docker-buildx.exe")
def buildx_exe(host: Host, path: str, argv: list[str]) -> tuple[int, str, str]:
    """The standalone buildx binary on a build host with no docker CLI (config from DOCKER_CONFIG only)."""
    env = {**(host.state.get("docker_env") or {}), **host.process_env}
    return buildx_standin.run_standalone(argv, env, "windows", HOME, HostFiles(host), factory=_factory(host))
