"""site.yml for real with a local buildx client (the stand-in docker CLI, first on PATH) and two simulated Windows
builders serving TCP with mutual TLS: the client play creates the builder, the client smoke build lands on a
builder through the simulator bridge and reports its digest; a converged run is changed=0; a wrong client
certificate fails as buildx does; check mode builds nothing."""

from __future__ import annotations

import json
import os
import pathlib
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "fixtures" / "docker_cli"))
if str(REPO / ".collections") not in sys.path:
    sys.path.insert(0, str(REPO / ".collections"))  # the collection as ansible_collections.wcow.buildkit (make setup)

from buildx_standin import install_docker  # noqa: E402

SITE = REPO / "playbooks" / "site.yml"
VERSIONS = {"containerd_version": "2.1.5", "buildkitd_version": "0.24.0"}
BUILDERS = {"win1": {"sim_build": 20348}, "win2": {"sim_build": 26100}}


class Site:
    """site.yml against the simulated builders plus `client`, a local buildx client with its own docker config."""

    def __init__(self, simulator, fake_github, tmp_path: pathlib.Path):
        self.simulator, self.tmp = simulator, tmp_path
        self.config = tmp_path / "docker-config"
        values = dict(VERSIONS, buildkitd_tcp="0.0.0.0:1234", buildkitd_tls_generate=True,
                      buildkitd_tls_ca_dir=str(tmp_path / "pki"), buildx_builder_docker_config=str(self.config),
                      buildx_builder_install=False)
        for role in ("containerd", "networking", "buildkitd"):
            values.update({f"{role}_{k}": v for k, v in fake_github.options(cache_dir=str(tmp_path / "cache")).items()})
        self.extra = values
        self.env = {"PATH": f"{install_docker(tmp_path / 'bin')}{os.pathsep}{os.environ['PATH']}",
                    "DOCKER_CONFIG": str(self.config), "WCOW_FAKE_BUILDX_TIMEOUT": "0.2",
                    "TMPDIR": str(tmp_path / "client-tmp")}
        (tmp_path / "client-tmp").mkdir()
        client = {"ansible_connection": "local", "ansible_shell_type": "sh",
                  "ansible_python_interpreter": sys.executable}
        simulator.inventory = lambda hosts, group="windows_builders": self._inventory(hosts, client)

    def _inventory(self, hosts, client, name: str = "client") -> pathlib.Path:
        data = {"all": {"children": {"windows_builders": {"hosts": hosts},
                                     "buildx_clients": {"hosts": {name: client}}},
                        "vars": {"ansible_connection": "simulated_windows", "ansible_shell_type": "powershell",
                                 **self.simulator.host_vars}}}
        path = self.tmp / "inventory.json"
        path.write_text(json.dumps(data))
        return path

    def run(self, *args: str, check: bool = False, **more):
        return self.simulator.run(SITE, BUILDERS, "-e", json.dumps({**self.extra, **more}), *args, check=check,
                                  env=self.env)


def _solved(state: dict) -> list[str]:
    """Digests of the images this builder's buildkitd solved without naming them (the client's smoke builds)."""
    return [e.split()[1] for e in state.get("events", []) if e.startswith("buildkit_solved ") and e.endswith(" -")]


def _images(state: dict) -> dict:
    """Image name -> digest in containerd's store, namespace buildkit (where buildkitd's containerd worker keeps them)."""
    return {k: v["digest"] for k, v in state.get("containerd_images", {}).get("buildkit", {}).items()}


def test_site_builds_from_the_client_through_the_remote_builder_then_costs_nothing(simulator, fake_github, tmp_path):
    site = Site(simulator, fake_github, tmp_path)
    first = site.run()
    assert first.rc == 0, first.stdout + first.stderr
    inst = json.loads((site.config / "buildx" / "instances" / "wcow").read_text())
    assert [(n["Name"], n["Endpoint"]) for n in inst["Nodes"]] == [("win1", "tcp://win1:1234"),
                                                                   ("win2", "tcp://win2:1234")]
    result = first.result("client")
    # The first node serving windows/amd64 builds (buildx's resolver): win1, Windows Server 2022.
    assert result["expected_node"] == result["node"] == "win1"
    assert result["base_image"] == "mcr.microsoft.com/windows/nanoserver:ltsc2022" and result["node_build"] == 20348
    assert result["digest"].startswith("sha256:") and result["changed"] is True
    # Solved on win1, not win2, and left no image in either store (unnamed: BuildKit creates no image record).
    assert _solved(first.state("win1")) == [result["digest"]] and _solved(first.state("win2")) == []
    assert _images(first.state("win1")) == _images(first.state("win2")) == {}
    names = [s["name"] for s in result["steps"]]
    assert names[-4:] == ["[2/4] COPY hello.txt C:/", '[3/4] RUN echo "Goodbye!" >> hello.txt',
                          "[4/4] RUN curl.exe --fail --silent --show-error --head --max-time 60 "
                          "https://www.microsoft.com/", "exporting to image"]
    assert all(isinstance(s["seconds"], float) for s in result["steps"]) and result["polls"] >= 1
    assert "client: buildx smoke build, step exporting to image (done)" in first.stdout
    assert not list((tmp_path / "client-tmp").glob("wcow-smoke.*"))  # the temp context is gone
    # The builders' own smoke builds ran too (buildctl on the host), and removed their image afterwards.
    assert first.result("win2")["digest"].startswith("sha256:")
    assert "wcow-smoke:latest" not in _images(first.state("win2"))

    second = site.run()
    assert second.rc == 0, second.stdout + second.stderr
    assert all(second.recap[h]["changed"] == 0 for h in ("win1", "win2", "client")), second.stdout
    assert "buildx smoke build, step" not in second.stdout

    # Check mode on the converged site, asked to build: the client says where and on what, and builds nothing.
    check = site.run(check=True, smoke_test_when="always")
    assert check.rc == 0, check.stdout
    planned = check.result("client")
    assert (planned["expected_node"], planned["base_image"], planned["changed"]) == (
        "win1", "mcr.microsoft.com/windows/nanoserver:ltsc2022", False)
    assert "steps" not in planned and "buildx smoke build, step" not in check.stdout


def test_a_change_on_a_builder_alone_makes_the_client_build_again(simulator, fake_github, tmp_path):
    site = Site(simulator, fake_github, tmp_path)
    assert site.run().rc == 0
    again = site.run(buildkitd_debug=True)  # buildkitd on both builders changes; the client itself does not
    assert again.rc == 0, again.stdout
    assert again.recap["client"]["changed"] == 1 and again.result("client")["digest"].startswith("sha256:")


def test_a_wrong_client_certificate_fails_as_buildx_does(simulator, fake_github, tmp_path):
    site = Site(simulator, fake_github, tmp_path)
    assert site.run().rc == 0
    # A client bundle of another CA: buildx creates the nodes (it never dials at create), the build cannot connect.
    from ansible_collections.wcow.buildkit.plugins.plugin_utils import _certs  # pylint: disable=import-outside-toplevel
    other = _certs.ensure_client_bundle(_certs.ensure_ca(tmp_path / "other-ca"), tmp_path / "other-client")
    tls = {"cacert": str(other.ca_path), "cert": str(other.cert_path), "key": str(other.key_path)}
    simulator.host_vars = {**simulator.host_vars, "buildkitd_client_tls": tls}
    run = site.run()
    assert run.rc != 0
    result = run.result("client")
    assert ("(node win1, tcp://win1:1234) failed: step [internal] waiting for connection failed: context deadline "
            "exceeded." in result["msg"]), result["msg"]
    assert "does not fall back to another node" in result["msg"] and "tls.cacert" in result["msg"]
    assert result["output_tail"][-1] == "ERROR: failed to build: context deadline exceeded"


def test_check_mode_on_fresh_hosts_builds_nothing(simulator, fake_github, tmp_path):
    site = Site(simulator, fake_github, tmp_path)
    run = site.run(check=True)
    assert run.rc == 0, run.stdout + run.stderr
    assert not (site.config / "buildx" / "instances" / "wcow").exists()
    assert not _images(run.state("win1"))
    assert run.result("client")["msg"] == "check mode: no builder 'wcow' yet; the smoke build would run through it"


# docker.exe on a Windows workstation; the standalone buildx.exe on a build host without docker, in a config folder
# that is not the default: the detached process gets none of the session's environment, so cmd.exe sets
# DOCKER_CONFIG for it, without which buildx.exe would not find the builder the role made there.
WINDOWS_CLIENTS = {
    "docker.exe": ("C:\\Program Files\\Docker\\docker.exe", "C:\\Users\\builder\\.docker", b"SIMULATED-EXE docker 1"),
    "standalone buildx.exe": ("C:\\Tools\\buildx.exe", "C:\\ci\\docker-config", b"SIMULATED-EXE buildx 0.36.1"),
}


@pytest.mark.parametrize("kind", sorted(WINDOWS_CLIENTS))
def test_a_windows_client_builds_through_the_remote_builder(simulator, fake_github, tmp_path, kind):
    """A simulated Windows client: the same build, started detached by smoke_build_start.ps1 (the client's program
    in buildctl's place) and polled; the folder is gone afterwards."""
    import base64  # pylint: disable=import-outside-toplevel
    import hashlib  # pylint: disable=import-outside-toplevel
    from wcow_sim.state import new_state  # pylint: disable=import-outside-toplevel
    docker, config, data = WINDOWS_CLIENTS[kind]
    state = new_state(22631)
    state["files"][docker.lower()] = {"path": docker, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data),
                                      "content": base64.b64encode(data).decode()}
    simulator.write_state(state, "wclient")
    site = Site(simulator, fake_github, tmp_path)
    client = {"buildx_builder_docker_cli": docker, "buildx_builder_docker_config": config}
    simulator.inventory = lambda hosts, group="windows_builders": site._inventory(  # pylint: disable=protected-access
        hosts, client, "wclient")
    extra = {k: v for k, v in site.extra.items() if k != "buildx_builder_docker_config"}
    run = simulator.run(SITE, {"win1": {"sim_build": 20348}}, "-e", json.dumps(extra), env=site.env)
    assert run.rc == 0, run.stdout + run.stderr
    result = run.result("wclient")
    assert result["node"] == "win1" and result["base_image"] == "mcr.microsoft.com/windows/nanoserver:ltsc2022"
    assert result["digest"] in _solved(run.state("win1")) and _images(run.state("win1")) == {}
    assert not [f for f in run.state("wclient")["files"] if "buildx-smoke" in f]
    events = run.state("wclient")["events"]
    assert any(e.startswith("smoke_build_start ") and e.endswith(docker) for e in events), events
    # ls, start, the polls, metadata + cleanup: each one round trip
    trips = run.state("wclient")["stats"]["by_module"]["wcow.buildkit.buildx_smoke_build"]["round_trips"]
    assert trips == 3 + result["polls"], (trips, result["polls"])


def test_upgrade_builds_once_from_the_client_after_the_rollout(simulator, fake_github, tmp_path):
    site = Site(simulator, fake_github, tmp_path)
    assert site.run().rc == 0
    values = {**site.extra, "containerd_version": "2.2.7"}
    run = simulator.run(REPO / "playbooks" / "upgrade.yml", BUILDERS, "-e", json.dumps(values), env=site.env)
    assert run.rc == 0, run.stdout + run.stderr
    batches, _sep, after = run.stdout.partition("PLAY [Prove each buildx client builds through the upgraded builders]")
    assert batches.count("PLAY [Upgrade the Windows builders one at a time]") == 2  # serial: 1, kept
    assert "client: buildx smoke build" not in batches and "client: buildx smoke build, step" in after
    result = run.result("client")
    assert result["node"] == "win1" and _solved(run.state("win1"))[-1] == result["digest"]
    assert run.recap["client"]["changed"] == 1
