"""Benchmark: win_containerd fresh and converged through the connection double and through real WinRM.

The wire column runs ansible-core's `winrm` connection plugin and pywinrm (NTLM, message encryption
over HTTP) against the loopback WinRS listener in tests/wire, which hands every command to the same
simulated host. Prints figures, asserts nothing.

- requests: HTTP requests of the module call (the double computes them, the wire counts them; they
  agree because the double's accounting was calibrated on the wire).
- KiB sent: the double counts the command and stdin (put_file: base64 text); the wire counts HTTP
  bodies after SOAP, base64 and encryption, so it is about 4/3 of the double's for a transfer (stdin is
  base64 again inside each Send) plus the envelopes; KiB back is only measured on the wire.
- controller CPU: user+system seconds of ansible-playbook and its workers (the wire adds XML, base64
  and NTLM sealing for every byte of the archive; the double instead runs the simulated host in-process).
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import resource
import sys
import tempfile

REPO = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "tests" / "fixtures"))
sys.path.append(str(REPO / "tests" / "wire"))

import fake_github  # noqa: E402
import winrm_endpoint  # noqa: E402
from conftest import Simulator  # noqa: E402

MODULE = "wcow.buildkit.win_containerd"
SCENARIOS = ("fresh install 2.1.5", "converged")


def _cpu(who: int = resource.RUSAGE_CHILDREN) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def _runs(server: fake_github.FakeGitHub, wire: bool) -> list[tuple[int, float, float, float, float]]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = pathlib.Path(tmp)
        sim = Simulator(root)
        hostvars: dict = {}
        endpoint = None
        if wire:
            os.environ["NTLM_USER_FILE"] = winrm_endpoint.ntlm_user_file(root, {"vagrant": "vagrant"})
            endpoint = winrm_endpoint.Endpoint(sim.state_dir).start()
            hostvars = endpoint.hostvars()
        task = {MODULE: {**server.options(cache_dir=str(root / "cache")), "version": "2.1.5"}}
        play = sim.playbook(json.dumps([{"hosts": "windows_builders", "gather_facts": False, "tasks": [task]}]))
        try:
            before = (0, 0, 0)
            for name in SCENARIOS:
                started, started_here = _cpu(), _cpu(resource.RUSAGE_SELF)
                run = sim.run(play, {"sim-host": hostvars})
                cpu, here = _cpu() - started, _cpu(resource.RUSAGE_SELF) - started_here
                if run.rc != 0:
                    raise RuntimeError(f"{name} failed:\n{run.stdout}\n{run.stderr}")
                if endpoint is not None:
                    counts = endpoint.counts.module(MODULE)
                    now = (counts["requests"], counts["bytes_in"], counts["bytes_out"])
                else:
                    counts = sim.state()["stats"]["by_module"][MODULE]
                    now = (counts["requests"], counts["bytes_sent"], 0)
                requests, sent, back = (a - b for a, b in zip(now, before))
                before = now
                rows.append((requests, sent / 1024, back / 1024, cpu, here))
        finally:
            if endpoint is not None:
                endpoint.stop()
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--archive-mb", type=float, default=30.0)
    args = parser.parse_args()
    spec = fake_github.DEFAULT_RELEASES
    spec = {**spec, "containerd": [dict(e, padding=int(args.archive_mb * 1_000_000)) if e["version"] == "2.1.5"
                                   else e for e in spec["containerd"]]}
    server = fake_github.start(spec)
    try:
        double, wire = _runs(server, wire=False), _runs(server, wire=True)
    except RuntimeError as exc:
        print(exc)
        return 1
    finally:
        server.stop()
    print(f"win_containerd, double vs wire (winrm plugin + pywinrm, NTLM + encryption), archive ~{args.archive_mb:.0f} MB")
    print(f"{'scenario':22} {'requests':>17} {'KiB sent':>21} {'KiB back':>9} {'controller CPU s':>19} "
          f"{'listener CPU s':>14}")
    print(f"{'':22} {'double':>8} {'wire':>8} {'double':>10} {'wire':>10} {'wire':>9} {'double':>9} {'wire':>9} "
          f"{'wire':>14}")
    for name, (d_req, d_sent, _d_back, d_cpu, _d_here), (w_req, w_sent, w_back, w_cpu, w_here) in zip(
            SCENARIOS, double, wire):
        print(f"{name:22} {d_req:>8} {w_req:>8} {d_sent:>10.1f} {w_sent:>10.1f} {w_back:>9.1f} {d_cpu:>9.2f} "
              f"{w_cpu:>9.2f} {w_here:>14.2f}")
    print("The double's controller CPU includes the simulated host (it runs inside ansible-playbook); on the wire the\n"
          "simulated host, the listener's XML/NTLM work and the fake GitHub run in this process (listener CPU).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
