"""`make demo`: run site.yml twice against fresh simulated Windows hosts and show what happened
(containerd, then buildkitd behind it, then the smoke build; the second run is changed=0 and builds nothing).

The buildx client is this machine, through a STAND-IN docker CLI (tests/fixtures/docker_cli, not Docker): its
docker config, the TLS bundle and its temp folder live under build/demo/ with the simulated hosts' state, never in
your ~/.docker. The builders listen on TCP 1234 with mutual TLS (buildkitd_tcp, buildkitd_tls_generate) so the
client reaches them; the stand-in finds the simulated hosts through WCOW_SIM_STATE_DIR.

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
import typing as t

REPO = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "fixtures"))

import fake_github  # noqa: E402

sys.path.insert(0, str(REPO / "tests" / "fixtures" / "docker_cli"))
from buildx_standin import install_docker  # noqa: E402

DEMO_DIR = REPO / "build" / "demo"
STATE_DIR = DEMO_DIR / "state"
DOCKER_CONFIG = DEMO_DIR / "docker-config"
INVENTORY = REPO / "tests" / "simulated" / "inventory" / "hosts.yml"
CLIENT = "local-buildx-client"


def demo_inventory() -> pathlib.Path:
    """The simulated builders of tests/simulated/inventory/hosts.yml plus this machine as the buildx client."""
    import yaml  # pylint: disable=import-outside-toplevel
    data = yaml.safe_load(INVENTORY.read_text())
    data["all"]["children"]["buildx_clients"] = {"hosts": {CLIENT: {
        "ansible_connection": "local", "ansible_shell_type": "sh", "ansible_python_interpreter": sys.executable}}}
    path = DEMO_DIR / "inventory.json"
    path.write_text(json.dumps(data, indent=1))
    return path


def _playbook(extra_vars: dict[str, str], env: dict[str, str]) -> None:
    cmd = [str(pathlib.Path(sys.executable).parent / "ansible-playbook"), "-i", str(demo_inventory()),
           str(REPO / "site.yml"), "-e", json.dumps(extra_vars)]
    subprocess.run(cmd, cwd=REPO, env=env, check=True)


def client_vars() -> dict[str, t.Any]:
    """TCP + mutual TLS on the builders, and the client's builder in build/demo's docker config."""
    return {"buildkitd_tcp": "0.0.0.0:1234", "buildkitd_tls_generate": True, "buildkitd_tls_ca_dir": str(DEMO_DIR / "pki"),
            "buildx_builder_docker_config": str(DOCKER_CONFIG), "buildx_builder_install": False}


def client_env(env: dict[str, str]) -> dict[str, str]:
    """The stand-in docker first on PATH; its config and temp folder under build/demo."""
    (DEMO_DIR / "client-tmp").mkdir(parents=True, exist_ok=True)
    return {**env, "PATH": f"{install_docker(DEMO_DIR / 'bin')}{os.pathsep}{env.get('PATH', '')}",
            "DOCKER_CONFIG": str(DOCKER_CONFIG), "TMPDIR": str(DEMO_DIR / "client-tmp")}


def client_summary() -> None:
    print(f"{CLIENT} (this machine; docker is the STAND-IN CLI of tests/fixtures/docker_cli, config {DOCKER_CONFIG}):")
    path = DOCKER_CONFIG / "buildx" / "instances" / "wcow"
    if not path.is_file():
        print("  no buildx builder")
        return
    inst = json.loads(path.read_text())
    for node in inst["Nodes"]:
        print(f"  buildx builder {inst['Name']} ({inst['Driver']}): node {node['Name']} -> {node['Endpoint']} "
              f"(mutual TLS: {', '.join(sorted(k for k in node.get('DriverOpts') or {} if k in ('cacert', 'cert', 'key')))})")
    for state_file in sorted(STATE_DIR.glob("*.json")):
        state = json.loads(state_file.read_text())
        for service in state["services"].values():
            digest = ((service.get("buildkitd") or {}).get("images") or {}).get("wcow-smoke:buildx")
            if digest:
                print(f"  smoke build (role smoke_test, docker buildx build from this client): built on "
                      f"{state_file.stem}, image wcow-smoke:buildx {digest}")


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
                    how = "docker buildx build from a client" if image == "wcow-smoke:buildx" else "buildctl on the host"
                    print(f"  smoke build (role smoke_test, {how}): image {image} {digest}")
        for service in state["services"].values():
            for listener in (service.get("buildkitd") or {}).get("listeners") or []:
                if service["status"] == "Running":
                    print(f"  buildkitd also listens on {listener['address']} "
                          f"({'mutual TLS' if (listener.get('tls') or {}).get('cacert') else 'no TLS'}): "
                          f"endpoint tcp://{path.stem}:{listener['address'].rsplit(':', 1)[1]}")
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
    shutil.rmtree(DEMO_DIR, ignore_errors=True)
    DEMO_DIR.mkdir(parents=True)
    env = client_env(simulated_env(STATE_DIR))
    server = fake_github.start()
    try:
        extra_vars = {**release_vars(server, REPO / ".cache" / "demo-downloads"), **client_vars()}
        print(f"== Simulated Windows hosts; releases served by a fake GitHub at {server.base_url}")
        print("== First run: the Containers feature (one reboot), containerd, buildkitd, then the smoke build")
        print(f"== The buildx client is this machine with a STAND-IN docker CLI (not Docker; state in {DEMO_DIR})")
        _playbook(extra_vars, env)
        print("== Second run: nothing left to do (changed=0)")
        _playbook(extra_vars, env)
    finally:
        server.stop()
    summary(STATE_DIR)
    client_summary()
    return 0


if __name__ == "__main__":
    sys.exit(main())
