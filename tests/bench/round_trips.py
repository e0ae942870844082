"""Benchmark: WinRM round trips, bytes and wall time per win_containerd call (prints figures, asserts nothing).

Budget: a converged host costs one round trip per module call, a change at most three.
Each round trip is given `--latency-ms` of simulated network delay, as a WAN link would add.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
import tempfile
import time

REPO = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "tests" / "fixtures"))

import fake_github  # noqa: E402
from conftest import Simulator  # noqa: E402

MODULE = "wcow.buildkit.win_containerd"
SCENARIOS = [
    ("fresh install 1.7.29", {"version": "1.7.29"}),
    ("converged", {"version": "1.7.29"}),
    ("config change", {"version": "1.7.29", "log_level": "debug"}),
    ("upgrade 1.7.29 -> 2.1.5", {"version": "2.1.5", "log_level": "debug"}),
    ("converged after upgrade", {"version": "2.1.5", "log_level": "debug"}),
    ("check mode, converged", {"version": "2.1.5", "log_level": "debug", "_check": True}),
    ("remove", {"state": "absent"}),
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    args = parser.parse_args()
    server = fake_github.start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            sim = Simulator(pathlib.Path(tmp))
            print(f"win_containerd on a simulated host, {args.latency_ms:.0f} ms per round trip")
            print(f"{'scenario':28} {'round trips':>11} {'KiB sent':>9} {'seconds':>8}  changed")
            for name, options in SCENARIOS:
                options = dict(options)
                check = options.pop("_check", False)
                task = {MODULE: {**server.options(cache_dir=str(pathlib.Path(tmp) / "cache")), **options}}
                play = sim.playbook(json.dumps([{"hosts": "windows_builders", "gather_facts": False, "tasks": [task]}]))
                before = _stats(sim)
                started = time.perf_counter()
                run = sim.run(play, {"sim-host": {"sim_latency_ms": args.latency_ms}}, check=check)
                seconds = time.perf_counter() - started
                after = _stats(sim)
                if run.rc != 0:
                    print(run.stdout, run.stderr)
                    return 1
                print(f"{name:28} {after[0] - before[0]:>11} {(after[1] - before[1]) / 1024:>9.1f} {seconds:>8.2f}  "
                      f"{run.result()['changed']}")
    finally:
        server.stop()
    return 0


def _stats(sim: Simulator) -> tuple[int, int]:
    path = sim.state_dir / "sim-host.json"
    if not path.exists():
        return 0, 0
    module = json.loads(path.read_text())["stats"]["by_module"].get(MODULE, {})
    return module.get("round_trips", 0), module.get("bytes_sent", 0)


if __name__ == "__main__":
    sys.exit(main())
