"""Benchmark: WinRM round trips, bytes and wall time per win_containerd and win_buildkitd call (prints figures,
asserts nothing).

Budget: a converged host costs one round trip (a command or a transfer) per module call, a
change at most three. On the wire a transfer is one request per 250,000-byte chunk, as
ansible's winrm plugin sends it, so `requests` shows what the archive push really costs.
Each request is given `--latency-ms` of simulated network delay, as a WAN link would add.
The fake releases carry incompressible filler so each containerd archive is about
`--archive-mb` MB, like the real Windows releases (tens of MB); the host extracts only `bin/`.
Every scenario runs `--samples` times on fresh hosts; seconds print as min and median.
"""

from __future__ import annotations

import argparse
import copy
import json
import pathlib
import statistics
import sys
import tempfile
import time

REPO = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "tests" / "fixtures"))

import fake_github  # noqa: E402
from conftest import Simulator  # noqa: E402

MODULE = "wcow.buildkit.win_containerd"
BIGGER_GRPC_MESSAGES = {"grpc": {"max_recv_message_size": 33554432}}
SCENARIOS = [
    ("fresh install 1.7.29", {"version": "1.7.29"}),
    ("converged", {"version": "1.7.29"}),
    ("config change", {"version": "1.7.29", "config": BIGGER_GRPC_MESSAGES}),
    ("upgrade 1.7.29 -> 2.1.5", {"version": "2.1.5", "config": BIGGER_GRPC_MESSAGES}),
    ("converged after upgrade", {"version": "2.1.5", "config": BIGGER_GRPC_MESSAGES}),
    ("check mode, converged", {"version": "2.1.5", "config": BIGGER_GRPC_MESSAGES, "_check": True}),
    ("remove", {"state": "absent"}),
]
# win_buildkitd runs after win_containerd in each play (containerd's calls are counted apart, under its own module).
BUILDKITD = "wcow.buildkit.win_buildkitd"
GC = {"worker": {"containerd": {"reservedSpace": "20GB"}}}
BUILDKITD_SCENARIOS = [
    ("fresh install 0.20.2", {"version": "0.20.2"}),
    ("converged", {"version": "0.20.2"}),
    ("config change", {"version": "0.20.2", "config": GC}),
    ("upgrade 0.20.2 -> 0.24.0", {"version": "0.24.0", "config": GC}),
    ("converged after upgrade", {"version": "0.24.0", "config": GC}),
    ("check mode, converged", {"version": "0.24.0", "config": GC, "_check": True}),
    ("remove", {"state": "absent"}),
]


def _releases(archive_bytes: int) -> dict:
    spec = copy.deepcopy(fake_github.DEFAULT_RELEASES)
    for entry in spec["containerd"] + spec["buildkit"]:
        if entry["version"] in ("1.7.29", "2.1.5", "0.20.2", "0.24.0"):
            entry["padding"] = archive_bytes
    return spec


def _sample(server: fake_github.FakeGitHub, latency_ms: float, module: str = MODULE,
            scenarios: list | None = None) -> list[tuple[str, int, int, int, float, bool]]:
    scenarios = SCENARIOS if scenarios is None else scenarios
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        sim = Simulator(pathlib.Path(tmp))
        for name, options in scenarios:
            options = dict(options)
            check = options.pop("_check", False)
            common = server.options(cache_dir=str(pathlib.Path(tmp) / "cache"))
            tasks = [{module: {**common, **options}}]
            if module == BUILDKITD and options.get("state") != "absent":
                tasks.insert(0, {MODULE: {**common, "version": "2.1.5"}})
            play = sim.playbook(json.dumps([{"hosts": "windows_builders", "gather_facts": False, "tasks": tasks}]))
            before = _stats(sim, module)
            started = time.perf_counter()
            run = sim.run(play, {"sim-host": {"sim_latency_ms": latency_ms}}, check=check)
            seconds = time.perf_counter() - started
            after = _stats(sim, module)
            if run.rc != 0:
                raise RuntimeError(f"{name} failed:\n{run.stdout}\n{run.stderr}")
            rows.append((name, *(a - b for a, b in zip(after, before)), seconds, run.result()["changed"]))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--samples", type=int, default=3)
    parser.add_argument("--archive-mb", type=float, default=30.0)
    args = parser.parse_args()
    server = fake_github.start(_releases(int(args.archive_mb * 1_000_000)))
    try:
        tables = [(module, [_sample(server, args.latency_ms, module, scenarios)
                            for _sample_number in range(max(1, args.samples))])
                  for module, scenarios in ((MODULE, SCENARIOS), (BUILDKITD, BUILDKITD_SCENARIOS))]
    except RuntimeError as exc:
        print(exc)
        return 1
    finally:
        server.stop()
    for module, samples in tables:
        _print(module, samples, args)
    return 0


def _print(module: str, samples: list, args: argparse.Namespace) -> None:
    print(f"{module.rsplit('.', 1)[-1]} on a simulated host: {args.latency_ms:.0f} ms per request, archives "
          f"~{args.archive_mb:.0f} MB, {len(samples)} sample(s)")
    print(f"{'scenario':28} {'round trips':>11} {'requests':>8} {'KiB sent':>9} {'s min':>7} {'s median':>8}  changed")
    for index, (name, trips, requests, sent, _seconds, changed) in enumerate(samples[0]):
        times = [sample[index][4] for sample in samples]
        steady = all(sample[index][1:4] == (trips, requests, sent) for sample in samples)
        print(f"{name:28} {trips:>11} {requests:>8} {sent / 1024:>9.1f} {min(times):>7.2f} "
              f"{statistics.median(times):>8.2f}  {changed}{'' if steady else '  (counts varied between samples)'}")


def _stats(sim: Simulator, module_name: str = MODULE) -> tuple[int, int, int]:
    path = sim.state_dir / "sim-host.json"
    if not path.exists():
        return 0, 0, 0
    module = json.loads(path.read_text())["stats"]["by_module"].get(module_name, {})
    return module.get("round_trips", 0), module.get("requests", 0), module.get("bytes_sent", 0)


if __name__ == "__main__":
    sys.exit(main())
