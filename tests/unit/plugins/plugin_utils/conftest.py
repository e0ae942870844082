# Copyright (c) wcow.buildkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures for the plugin_utils unit tests: the fake GitHub and an in-process simulated host."""

from __future__ import annotations

import json
import pathlib
import sys
import typing as t

import pytest
from ansible.plugins.loader import shell_loader

TESTS = pathlib.Path(__file__).resolve().parents[3]
for folder in (TESTS / "fixtures", TESTS / "simulated"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from fake_github import fake_github, fake_github_tree  # noqa: E402,F401  pylint: disable=unused-import
from wcow_sim import dispatch  # noqa: E402
from wcow_sim.host import Host  # noqa: E402
from wcow_sim.state import new_state  # noqa: E402

from ansible_collections.wcow.buildkit.plugins.plugin_utils._host import WindowsHost  # noqa: E402


class InProcessConnection:
    """The connection surface WindowsHost uses, answered by the simulator in this process."""

    def __init__(self, host: Host):
        self.host = host
        self._shell = shell_loader.get("powershell")  # what the winrm/psrp connections carry
        self.round_trips = 0
        self.transfers: list[str] = []

    def exec_command(self, cmd: str, in_data: bytes | None = None, sudoable: bool = True) -> tuple[int, bytes, bytes]:
        self.round_trips += 1
        script = dispatch.decode_command(cmd)
        assert dispatch.is_bootstrap(script), "WindowsHost must ship bootstrap.ps1"
        rc, answer = dispatch.run_steps(self.host, json.loads(in_data or b"{}"))
        return rc, json.dumps(answer).encode(), b""

    def put_file(self, in_path: str, out_path: str) -> None:
        self.round_trips += 1
        self.transfers.append(out_path)
        self.host.write_file(out_path, pathlib.Path(in_path).read_bytes())
        self.host.event("put_file", out_path)


class SimulatedWindows(t.NamedTuple):
    host: Host
    connection: InProcessConnection
    windows: WindowsHost


@pytest.fixture
def sim_windows() -> SimulatedWindows:
    """A fresh simulated Windows Server 2022 reached through the real WindowsHost/bootstrap path."""
    host = Host("sim-host", new_state(20348), {})
    connection = InProcessConnection(host)
    return SimulatedWindows(host, connection, WindowsHost(connection, "sim-host", "test"))


@pytest.fixture
def artifact_options(fake_github, tmp_path, monkeypatch) -> dict[str, t.Any]:
    """Options pointing at the fake GitHub with a private cache, and a run of our own."""
    monkeypatch.setenv("WCOW_BUILDKIT_RUN_ID", f"test-{tmp_path.name}")
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    return fake_github.options(cache_dir=str(tmp_path / "cache"))
