"""buildx_remote_builder against what real buildx refuses (stand-in docker CLI, ansible_connection=local)."""

from __future__ import annotations

import pytest

from test_buildx_remote_builder import Client


@pytest.fixture
def client(tmp_path):
    return Client(tmp_path)


def test_dropping_every_driver_option_converges(client):
    """An update without --driver-opt keeps the old options in buildx: the module recreates the node instead."""
    proc, result = client.run({"name": "b", "endpoint": "tcp://127.0.0.1:9", "tls": {"cacert": "/etc/ca.pem"},
                               "use": True})
    assert proc.returncode == 0, proc.stdout
    proc, result = client.run({"name": "b", "endpoint": "tcp://127.0.0.1:9", "use": True})
    assert proc.returncode == 0, proc.stdout
    assert result["changed"] is True
    row = client.builders()["b"]
    assert "DriverOpts" not in row["Nodes"][0] and row["Current"] is True
    proc, result = client.run({"name": "b", "endpoint": "tcp://127.0.0.1:9", "use": True})
    assert proc.returncode == 0 and result["changed"] is False


def test_node_names_in_capitals_converge_and_the_last_node_leaving_removes_the_builder(client):
    proc, _result = client.run({"name": "b", "endpoint": "tcp://127.0.0.1:9", "node": "Win1", "append": True})
    assert proc.returncode == 0, proc.stdout
    assert [n["Name"] for n in client.builders()["b"]["Nodes"]] == ["win1"]
    proc, result = client.run({"name": "b", "endpoint": "tcp://127.0.0.1:9", "node": "Win1", "append": True})
    assert proc.returncode == 0 and result["changed"] is False, proc.stdout
    proc, result = client.run({"name": "b", "state": "absent", "node": "Win1", "append": True})
    assert proc.returncode == 0, proc.stdout
    assert result["changed"] is True and "b" not in client.builders()
