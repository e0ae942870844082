"""Benchmark: WinRM round trips per host of the whole site.yml, fresh and converged (prints figures, asserts nothing).

One simulated Windows host per build site.yml supports (Server 2019, 2022, 2025 and Windows 11), each fresh: the
Containers feature off. site.yml runs twice: the first run enables the feature (one reboot), installs containerd,
the CNI plugins and nat network, buildkitd, and proves each builder with the smoke build; the second run finds
everything converged. For each run and host it prints the round trips each module cost (a round trip is one
command or one file transfer on the connection: what WinRM latency multiplies) and the host's total, read from the
simulated host's own counters. Releases come from the fake GitHub on 127.0.0.1; no client group, so the buildx
play is skipped (its clients are Linux/macOS machines, not counted here).
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

SITE = REPO / "playbooks" / "site.yml"
HOSTS = {"ws2019": {"sim_build": 17763}, "ws2022": {"sim_build": 20348}, "ws2025": {"sim_build": 26100},
         "win11": {"sim_build": 22631}}
VERSIONS = {"containerd_version": "2.1.5", "buildkitd_version": "0.24.0"}


def _trips(sim: Simulator, host: str) -> dict[str, int]:
    """Round trips so far per module (ansible.windows modules included), from the host's counters."""
    path = sim.state_dir / f"{host}.json"
    if not path.exists():
        return {}
    by_module = json.loads(path.read_text())["stats"]["by_module"]
    return {name: record.get("round_trips", 0) for name, record in by_module.items()}


def _run(sim: Simulator, extra: dict[str, str], latency_ms: float) -> tuple[dict[str, dict[str, int]], float, dict]:
    before = {host: _trips(sim, host) for host in HOSTS}
    hosts = {name: {**variables, "sim_latency_ms": latency_ms} for name, variables in HOSTS.items()}
    started = time.perf_counter()
    run = sim.run(SITE, hosts, "-e", json.dumps(extra))
    seconds = time.perf_counter() - started
    if run.rc != 0:
        raise RuntimeError(f"site.yml failed:\n{run.stdout}\n{run.stderr}")
    cost = {}
    for host in HOSTS:
        after = _trips(sim, host)
        cost[host] = {m: n - before[host].get(m, 0) for m, n in after.items() if n - before[host].get(m, 0)}
    return cost, seconds, run.recap


def _print(title: str, cost: dict[str, dict[str, int]], seconds: float, recap: dict) -> None:
    modules = sorted({m for per_host in cost.values() for m in per_host})
    print(f"== {title}: {seconds:.1f} s wall for {len(cost)} hosts in parallel")
    print(f"{'module':42}" + "".join(f"{h:>9}" for h in cost))
    for module in modules:
        print(f"{module.replace('wcow.buildkit.', ''):42}" + "".join(f"{cost[h].get(module, 0):>9}" for h in cost))
    print(f"{'total round trips':42}" + "".join(f"{sum(cost[h].values()):>9}" for h in cost))
    print(f"{'changed tasks (recap)':42}" + "".join(f"{recap.get(h, {}).get('changed', '?'):>9}" for h in cost))
    print()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--latency-ms", type=float, default=0.0, help="simulated network delay per request")
    args = parser.parse_args()
    server = fake_github.start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            sim = Simulator(pathlib.Path(tmp))
            sim.host_vars = {}  # fresh hosts: the Containers feature is off, as Windows ships
            extra = dict(VERSIONS)
            for role in ("containerd", "networking", "buildkitd"):
                extra.update({f"{role}_{k}": v for k, v in server.options(cache_dir=str(pathlib.Path(tmp) / "cache")).items()})
            print(f"site.yml on simulated hosts (builds {', '.join(str(v['sim_build']) for v in HOSTS.values())}), "
                  f"containerd {VERSIONS['containerd_version']}, buildkitd {VERSIONS['buildkitd_version']}, "
                  f"{args.latency_ms:.0f} ms per request; round trips per module and host\n")
            _print("fresh hosts", *_run(sim, extra, args.latency_ms))
            _print("converged (second run)", *_run(sim, extra, args.latency_ms))
            print("raw: commands outside any module, i.e. win_reboot's (boot time, shutdown.exe, the checks after the "
                  "reboot); ansible.windows.*: that collection's modules, one round trip per call; converged budget: "
                  "1 per module call")
    except RuntimeError as exc:
        print(exc)
        return 1
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
