"""`make demo`: run site.yml twice against fresh simulated Windows hosts and show what happened
(containerd, then buildkitd behind it, then the smoke build; the second run is changed=0 and builds nothing).

Release downloads come from a fake GitHub on 127.0.0.1 (the same one the tests
use), so the demo needs no network and touches no real machine.
"""

from __future__ import annotations

import base64
import json
import os
import pathlib
import shutil
import subprocess
import sys

REPO = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "fixtures"))

import fake_github  # noqa: E402

STATE_DIR = REPO / ".sim" / "demo"
INVENTORY = REPO / "tests" / "simulated" / "inventory" / "hosts.yml"


def _playbook(extra_vars: dict[str, str], env: dict[str, str]) -> None:
    cmd = [str(pathlib.Path(sys.executable).parent / "ansible-playbook"), "-i", str(INVENTORY),
           str(REPO / "site.yml"), "-e", json.dumps(extra_vars)]
    subprocess.run(cmd, cwd=REPO, env=env, check=True)


def summary(state_dir: pathlib.Path) -> None:
    print("== What the simulated hosts look like now")
    for path in sorted(state_dir.glob("*.json")):
        state = json.loads(path.read_text())
        print(f"{path.stem} (build {state['build']}, {state['edition']}, boots {state['boot_id']}):")
        enabled = [name for name, status in state["features"].items() if status == "Enabled"]
        print(f"  features enabled: {', '.join(enabled) or 'none'}")
        for service in state["services"].values():
            print(f"  service {service['name']}: {service['status']}, {service['start_mode']}, "
                  f"version {service.get('running_version')}")
            print(f"    {service['command_line']}")
        exe = state["files"].get(r"c:\program files\containerd\bin\containerd.exe")
        if exe:
            print(f"  containerd.exe: {base64.b64decode(exe['content']).decode().strip()}")
        exe = state["files"].get(r"c:\program files\buildkit\bin\buildkitd.exe")
        if exe:
            print(f"  buildkitd.exe: {base64.b64decode(exe['content']).decode().strip()}")
        for service in state["services"].values():
            daemon = service.get("buildkitd")
            if daemon and service["status"] == "Running":
                worker = daemon["worker"]
                print(f"  buildkitd serves npipe:////./pipe/buildkitd behind {', '.join(service.get('depends_on') or [])}: "
                      f"worker {worker['id'][:12]} "
                      f"({worker['labels'].get('org.mobyproject.buildkit.worker.executor')}, "
                      f"{', '.join(p['os'] + '/' + p['architecture'] for p in worker['platforms'])}, "
                      f"network {worker['labels'].get('org.mobyproject.buildkit.worker.network') or 'null'})")
                for image, digest in sorted((daemon.get("images") or {}).items()):
                    print(f"  smoke build (role smoke_test, buildctl on the host): image {image} {digest}")
        trips = {k: v["round_trips"] for k, v in sorted(state["stats"]["by_module"].items())}
        print(f"  round trips so far, per module: {trips}")


def simulated_env(state_dir: pathlib.Path) -> dict[str, str]:
    """The environment that points ansible-playbook at the simulated hosts whose state lives in state_dir."""
    env = dict(os.environ)
    env.update({
        "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
        "ANSIBLE_CONNECTION_PLUGINS": str(REPO / "tests" / "simulated" / "plugins" / "connection"),
        "WCOW_SIM_STATE_DIR": str(state_dir),
    })
    return env


def release_vars(server: fake_github.FakeGitHub, cache_dir: pathlib.Path) -> dict[str, str]:
    """Role variables that take every release download from the fake GitHub (and cache it in cache_dir)."""
    out = {}
    for role in ("containerd", "networking", "buildkitd"):
        out.update({
            f"{role}_github_api_url": server.api_url,
            f"{role}_download_base_url": server.base_url,
            f"{role}_cache_dir": str(cache_dir),
        })
    return out


def main() -> int:
    shutil.rmtree(STATE_DIR, ignore_errors=True)
    env = simulated_env(STATE_DIR)
    server = fake_github.start()
    try:
        extra_vars = release_vars(server, REPO / ".cache" / "demo-downloads")
        print(f"== Simulated Windows hosts; releases served by a fake GitHub at {server.base_url}")
        print("== First run: the Containers feature (one reboot), containerd, buildkitd, then the smoke build")
        _playbook(extra_vars, env)
        print("== Second run: nothing left to do (changed=0)")
        _playbook(extra_vars, env)
    finally:
        server.stop()
    summary(STATE_DIR)
    return 0


if __name__ == "__main__":
    sys.exit(main())
