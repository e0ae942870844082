"""`make demo` end to end (tests/tools/demo.py in a temporary folder): complete builders, a quiet second run."""

from __future__ import annotations

import os
import pathlib
import re
import subprocess
import sys

REPO = pathlib.Path(__file__).resolve().parents[2]


def test_demo_builds_complete_builders_then_changes_nothing(tmp_path):
    proc = subprocess.run([sys.executable, str(REPO / "tests" / "tools" / "demo.py")], cwd=REPO,
                          env={**os.environ, "WCOW_DEMO_DIR": str(tmp_path / "demo")},
                          capture_output=True, text=True, timeout=600, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    recaps = re.findall(r"^(\S+)\s+: ok=\d+\s+changed=(\d+)", proc.stdout, re.M)
    hosts = {"sim-win11", "sim-ws2022", "local-buildx-client"}
    assert {h for h, _c in recaps} == hosts and len(recaps) == 6, recaps
    second = dict(recaps[3:])
    assert set(second.values()) == {"0"}, second
    # Nothing for the user to worry about in a demo: no warnings, no deprecations.
    assert "[WARNING]" not in out and "DEPRECATION" not in out, out
    summary = proc.stdout.split("== What the simulated hosts look like now", 1)[1]
    for host in ("sim-win11", "sim-ws2022"):
        block = summary.split(f"{host} (", 1)[1].split("\n", 1)[1].split("\nsim-", 1)[0]
        assert "service containerd: Running" in block and "service buildkitd: Running" in block, block
        assert "network cni" in block and "HNS network nat" in block, block
        assert re.search(r"smoke build, first run \(buildctl on the host, through the pipe\): "
                         r"mcr\.microsoft\.com/windows/nanoserver:ltsc2022, \d+ steps .* image sha256:[0-9a-f]{64}", block)
    assert re.search(r"smoke build, first run \(docker buildx build through builder wcow\): \S+ on node sim-\S+, "
                     r"\d+ steps .* image sha256:[0-9a-f]{64}", summary), summary
    assert "STAND-IN" in proc.stdout
    for host in ("sim-win11", "sim-ws2022"):
        assert "[plugins" in (tmp_path / "demo" / "files" / host / "config.toml").read_text()
