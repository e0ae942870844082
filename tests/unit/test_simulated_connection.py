"""The simulated connection counts traffic as ansible's winrm plugin sends it."""

from __future__ import annotations

import json
import pathlib

import pytest
from ansible.errors import AnsibleError
from ansible.playbook.play_context import PlayContext
from ansible.plugins.loader import connection_loader

REPO = pathlib.Path(__file__).resolve().parents[2]
connection_loader.add_directory(str(REPO / "tests" / "simulated" / "plugins" / "connection"))


@pytest.fixture
def connection(tmp_path):
    context = PlayContext()
    context.remote_addr = "win1"
    conn = connection_loader.get("simulated_windows", context)
    conn.set_options(var_options={"sim_state_dir": str(tmp_path)})
    conn._last_caller = "wcow.buildkit.win_containerd"
    return conn


def _stats(tmp_path):
    return json.loads((tmp_path / "win1.json").read_text())["stats"]["by_module"]["wcow.buildkit.win_containerd"]


# Requests as the wire counts them (tests/wire): Command + the manifest Send + one Send per chunk + Receive + Signal.
@pytest.mark.parametrize("size, requests, wire", [
    (0, 4 + 1, 0),
    (10, 4 + 1, 16 + 2),
    (250_000, 4 + 1, 333_336 + 2),
    (250_001, 4 + 2, 333_336 + 2 + 4 + 2),
    (600_000, 4 + 3, 2 * (333_336 + 2) + 133_336 + 2),
])
def test_put_file_sends_250000_byte_chunks_each_a_request(connection, tmp_path, size, requests, wire):
    source = tmp_path / "archive.tar.gz"
    source.write_bytes(b"\x01" * size)
    connection.put_file(str(source), r"C:\Windows\Temp\archive.tar.gz")
    assert _stats(tmp_path) == {"round_trips": 1, "requests": requests, "bytes_sent": wire}


def test_put_file_needs_the_folder(connection, tmp_path):
    source = tmp_path / "a"
    source.write_bytes(b"x")
    with pytest.raises(AnsibleError, match="Could not find a part of the path"):
        connection.put_file(str(source), r"C:\missing\a")
