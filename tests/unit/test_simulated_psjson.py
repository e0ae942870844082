"""The simulator answers what Windows PowerShell 5.1's ConvertTo-Json -Depth N sends (defect 1)."""

from __future__ import annotations

import pytest

from wcow_sim import dispatch, psjson
from wcow_sim.host import Host
from wcow_sim.state import new_state

from ansible_collections.wcow.buildkit.plugins.plugin_utils._host import script_text


@pytest.mark.parametrize("value, depth, expected", [
    ({"a": {"b": "c"}}, 1, {"a": {"b": "c"}}),
    ({"a": {"b": {"c": 1}}}, 1, {"a": {"b": "System.Collections.Hashtable"}}),
    ({"a": [1, "x", True, None]}, 0, {"a": "1 x True "}),
    ({"a": [{"b": 1}, [1, 2]]}, 0, {"a": "System.Collections.Hashtable System.Object[]"}),
    ({"a": [{"b": 1}]}, 1, {"a": ["System.Collections.Hashtable"]}),
    ({"a": [{"b": 1}]}, 2, {"a": [{"b": 1}]}),
    ({"a": [{"b": {"c": 1}}]}, 2, {"a": [{"b": "System.Collections.Hashtable"}]}),
    ({"s": "deep strings", "n": 3, "f": False, "z": None}, 0, {"s": "deep strings", "n": 3, "f": False, "z": None}),
])
def test_values_deeper_than_depth_become_their_string(value, depth, expected):
    assert psjson.convert(value, depth) == expected


def test_depth_is_read_from_the_shipped_bootstrap():
    assert psjson.bootstrap_depth() == psjson.bootstrap_depth(script_text("bootstrap"))
    assert psjson.bootstrap_depth("ConvertTo-Json -InputObject $x -Compress") == psjson.DEFAULT_DEPTH
    with pytest.raises(ValueError, match="different depths"):
        psjson.bootstrap_depth("ConvertTo-Json $a -Depth 3\nConvertTo-Json $b -Depth 4")


def _deepest_answer(monkeypatch, depth=None):
    host = Host("h", new_state(20348), {})
    host.register_service("containerd", r'"C:\Program Files\containerd\bin\containerd.exe" --run-service')
    host.register_service("buildkitd", r'"C:\Program Files\buildkit\bin\buildkitd.exe" --run-service')
    if depth is not None:
        monkeypatch.setattr(psjson, "bootstrap_depth", lambda text=None: depth)
    step = {"name": "daemon_state", "script": script_text("daemon_state"),
            "params": {"InstallDir": r"C:\Program Files\containerd", "ExeName": "containerd.exe",
                       "ServiceName": "containerd", "ConfigPath": r"C:\Program Files\containerd\config.toml",
                       "ArtifactFilter": "containerd-*.tar.gz", "CompanionServices": ["buildkitd"]}}
    rc, answer = dispatch.run_steps(host, {"caller": "t", "steps": [step]})
    assert rc == 0, answer
    return answer["steps"][0]["result"]


def test_the_shipped_depth_carries_the_deepest_answer(monkeypatch):
    """daemon_state's companions (a list of hashtables in the answer) are the deepest values."""
    assert _deepest_answer(monkeypatch)["companions"] == [{"name": "buildkitd", "status": "Stopped"}]


def test_the_shipped_depth_is_no_larger_than_needed(monkeypatch):
    """One level less and 5.1 would send the companions as strings: the depth is as small as it can be."""
    shallower = _deepest_answer(monkeypatch, psjson.bootstrap_depth() - 1)
    assert shallower["companions"] == ["System.Collections.Hashtable"]
