# Copyright (c) wcow.buildkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Checking a started buildkitd through the shipped buildctl.exe (internal).

After a start, win_buildkitd runs ``buildctl.exe --addr <pipe> debug workers
--format "{{json .}}"`` on the host (one run_command step) and hands the answer to
``check_workers``: buildctl prints a JSON array of client.WorkerInfo
(``id``, ``labels``, ``platforms`` [{os, architecture}], ``gcPolicy``,
``buildkitVersion`` {package, version, revision}; cmd/buildctl/debug/workers.go).
The daemon must have its containerd worker, a platform of the host's OS and
architecture, the network ``cni`` when networking was configured, and be the
version just installed.  Everything here is pure: it builds argv and reads text.
"""

from __future__ import annotations

import dataclasses
import json
import ntpath
import typing as t
from collections.abc import Mapping

LABEL = "org.mobyproject.buildkit.worker."
EXECUTOR = LABEL + "executor"
NETWORK = LABEL + "network"
SNAPSHOTTER = LABEL + "snapshotter"


class WorkersOutputError(ValueError):
    """buildctl answered something that is not the worker list; the message carries the command and output."""


@dataclasses.dataclass(frozen=True)
class Worker:
    id: str
    labels: Mapping[str, str]
    platforms: tuple[str, ...]  # "os/architecture"
    version: str | None  # "0.24.0"

    @property
    def executor(self) -> str | None:
        return self.labels.get(EXECUTOR)

    @property
    def network(self) -> str:
        return self.labels.get(NETWORK, "")


def buildctl_argv(install_dir: str, address: str = "npipe:////./pipe/buildkitd",
                  tls: Mapping[str, str] | None = None, timeout: int = 10) -> list[str]:
    """argv of the worker check (argv[0] is buildctl.exe beside buildkitd.exe, by absolute path)."""
    argv = [ntpath.join(install_dir, "bin", "buildctl.exe"), "--addr", address, "--timeout", str(int(timeout))]
    for key, flag in (("ca", "--tlscacert"), ("cert", "--tlscert"), ("key", "--tlskey")):
        if (tls or {}).get(key):
            argv += [flag, tls[key]]
    return argv + ["debug", "workers", "--format", "{{json .}}"]


def _fail(message: str, command: str, rc: int, stdout: str, stderr: str) -> WorkersOutputError:
    return WorkersOutputError(f"{message}; command: {command}; rc: {rc}; stdout: {stdout.strip()[:2000]!r}; "
                              f"stderr: {stderr.strip()[:2000]!r}")


def parse_workers(stdout: str, rc: int = 0, stderr: str = "", command: str = "buildctl debug workers") -> list[Worker]:
    """The workers buildctl reported; raises WorkersOutputError (with command, rc and output) otherwise."""
    if rc != 0:
        raise _fail("buildctl could not list the workers (is buildkitd serving its pipe?)", command, rc, stdout, stderr)
    try:
        data = json.loads(stdout)
    except ValueError:
        raise _fail("buildctl's answer is not JSON", command, rc, stdout, stderr) from None
    if data is None:
        data = []  # Go marshals an empty slice it never filled as null
    if not isinstance(data, list) or not all(isinstance(w, dict) for w in data):
        raise _fail("buildctl's answer is not a list of workers", command, rc, stdout, stderr)
    workers = []
    for item in data:
        platforms = tuple(f"{p.get('os')}/{p.get('architecture')}" for p in item.get("platforms") or []
                          if isinstance(p, dict))
        version = str((item.get("buildkitVersion") or {}).get("version") or "").lstrip("v") or None
        labels = {str(k): str(v) for k, v in (item.get("labels") or {}).items()}
        workers.append(Worker(str(item.get("id") or ""), labels, platforms, version))
    return workers


def check_workers(workers: list[Worker], architecture: str = "amd64", expect_cni: bool = False,
                  expect_version: str | None = None) -> list[str]:
    """Problems with a started daemon's workers, each naming what was expected and found (empty: healthy)."""
    containerd = [w for w in workers if w.executor == "containerd"]
    if not containerd:
        found = ", ".join(f"{w.id} ({w.executor or 'no executor label'})" for w in workers) or "no worker"
        return [f"buildkitd has no containerd worker (found {found}); check containerd_address and the log."]
    worker = containerd[0]
    problems = []
    wanted = f"windows/{architecture}"
    if wanted not in worker.platforms:
        problems.append(f"buildkitd's worker {worker.id} builds for {', '.join(worker.platforms) or 'no platform'}, "
                        f"not this host's {wanted}.")
    if expect_cni and worker.network != "cni":
        problems.append(f"buildkitd's worker {worker.id} has network {worker.network or 'null'!r}, not 'cni': RUN steps "
                        "get no network. Check that the cni config_path file exists on the host and matches the "
                        "'nat' network.")
    if expect_version and worker.version and worker.version != expect_version.lstrip("v"):
        problems.append(f"buildkitd answers as {worker.version}, but {expect_version} is installed: the old daemon "
                        "still runs; restart the service.")
    return problems


def worker_facts(workers: list[Worker]) -> list[dict[str, t.Any]]:
    """The workers as plain data for the module's result."""
    return [{"id": w.id, "executor": w.executor, "network": w.network, "platforms": list(w.platforms),
             "version": w.version} for w in workers]
