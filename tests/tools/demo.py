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

# WCOW_DEMO_DIR moves it (the demo's own test runs it in a temporary folder).
DEMO_DIR = pathlib.Path(os.environ.get("WCOW_DEMO_DIR") or REPO / "build" / "demo")
STATE_DIR = DEMO_DIR / "state"
DOCKER_CONFIG = DEMO_DIR / "docker-config"
RESULTS = DEMO_DIR / "results"
INVENTORY = REPO / "tests" / "simulated" / "inventory" / "hosts.yml"
CLIENT = "local-buildx-client"
# The tests' release set plus buildkit's newest real release, so `latest` in the demo (and in `make try`) is a
# buildkit without the Windows cache-mount security warning the older fake releases rightly draw.
RELEASES = {**fake_github.DEFAULT_RELEASES, "buildkit": [
    *fake_github.DEFAULT_RELEASES["buildkit"], {"version": "0.32.2", "created_at": "2026-10-20T00:00:00Z"}]}


def demo_inventory() -> pathlib.Path:
    """The simulated builders of tests/simulated/inventory/hosts.yml plus this machine as the buildx client."""
    import yaml  # pylint: disable=import-outside-toplevel
    data = yaml.safe_load(INVENTORY.read_text())
    data["all"]["children"]["buildx_clients"] = {"hosts": {CLIENT: {
        "ansible_connection": "local", "ansible_shell_type": "sh", "ansible_python_interpreter": sys.executable}}}
    path = DEMO_DIR / "inventory.json"
    path.write_text(json.dumps(data, indent=1))
    return path


def _playbook(extra_vars: dict[str, str], env: dict[str, str], results: pathlib.Path) -> None:
    """site.yml once; each host's last task result (skipped tasks aside) lands in results/<host>."""
    cmd = [str(pathlib.Path(sys.executable).parent / "ansible-playbook"), "-i", str(demo_inventory()),
           str(REPO / "site.yml"), "-e", json.dumps(extra_vars)]
    subprocess.run(cmd, cwd=REPO, check=True, env={
        **env, "ANSIBLE_CALLBACK_PLUGINS": str(REPO / "tests" / "simulated" / "plugins" / "callback"),
        "ANSIBLE_CALLBACKS_ENABLED": "last_result", "WCOW_RESULTS_DIR": str(results)})


def smoke_line(result_file: pathlib.Path) -> str | None:
    """The smoke build a host ran (its last task result in that run), in one line; None when it ran none."""
    if not result_file.is_file():
        return None
    result = json.loads(result_file.read_text())
    if "base_image" not in result or "steps" not in result:
        return None
    if result.get("failed"):
        return f"FAILED: {result.get('msg')}"
    seconds = sum(s.get("seconds") or 0 for s in result["steps"])
    where = f" on node {result['node']}" if result.get("node") else ""
    return (f"{result['base_image']}{where}, {len(result['steps'])} steps in {seconds:.1f} s (simulated), "
            f"image {result.get('digest')}")


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
    line = smoke_line(RESULTS / "first" / CLIENT)
    print(f"  smoke build, first run (docker buildx build through builder wcow): {line or 'none'}")


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
        for service in state["services"].values():
            for listener in (service.get("buildkitd") or {}).get("listeners") or []:
                if service["status"] == "Running":
                    print(f"  buildkitd also listens on {listener['address']} "
                          f"({'mutual TLS' if (listener.get('tls') or {}).get('cacert') else 'no TLS'}): "
                          f"endpoint tcp://{path.stem}:{listener['address'].rsplit(':', 1)[1]}")
        for config in (r"c:\program files\containerd\config.toml", r"c:\program files\buildkit\buildkitd.toml"):
            if config in state["files"]:
                out = DEMO_DIR / "files" / path.stem / config.rsplit("\\", 1)[1]
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_bytes(base64.b64decode(state["files"][config]["content"]))
        for name, net in sorted((state.get("hns_networks") or {}).items()):
            print(f"  HNS network {net.get('name', name)} ({net.get('type')}): {net.get('subnet')} via {net.get('gateway')}")
        line = smoke_line(RESULTS / "first" / path.stem)
        print(f"  smoke build, first run (buildctl on the host, through the pipe): {line or 'none'}"
              f"{'; second run: none (nothing changed, smoke_test_when: changed)' if line else ''}")
        trips = {k: v["round_trips"] for k, v in sorted(state["stats"]["by_module"].items())}
        print(f"  round trips, both runs, per module: {trips}")


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
    server = fake_github.start(RELEASES)
    try:
        extra_vars = {**release_vars(server, REPO / ".cache" / "demo-downloads"), **client_vars()}
        print(f"== Simulated Windows hosts; releases served by a fake GitHub at {server.base_url}")
        print("== First run: the Containers feature (one reboot), containerd, buildkitd, then the smoke build")
        print(f"== The buildx client is this machine with a STAND-IN docker CLI (not Docker; state in {DEMO_DIR})")
        _playbook(extra_vars, env, RESULTS / "first")
        print("== Second run: nothing left to do (changed=0)")
        _playbook(extra_vars, env, RESULTS / "second")
    finally:
        server.stop()
    summary(STATE_DIR)
    client_summary()
    explain()
    return 0


def explain() -> None:
    print(f"""== How to read this
- Each simulated host is one JSON file in {STATE_DIR}: services, files (config.toml, buildkitd.toml, the CNI
  conf), registry, HNS networks, events. `make try PLAYBOOK=...` runs your own playbook against such hosts.
- A round trip is one WinRM request and answer (a command, or one chunk of a file transfer). Each of our modules
  costs 1 on a converged host and at most 3 when it changes something; `raw` is win_reboot's own commands
  (the reboot after enabling Containers), the ansible.windows entries are its modules.
- containerd's config.toml is containerd's own defaults for its version with your containerd_config merged
  over them; each host's config.toml and buildkitd.toml are copied out to {DEMO_DIR / "files"}/<host>/.
- The buildx client is this machine with a stand-in docker CLI, not Docker: nothing was built for real.""")


if __name__ == "__main__":
    sys.exit(main())
