"""The smoke build: base image per host build, the hello-world Dockerfile, and `buildctl build` on the simulated host.

The simulated `buildctl build` (tests/simulated/wcow_sim/buildctl_build.py) refuses what BuildKit on Windows
refuses; the planner (plugins/plugin_utils/_smoke.py) reads its plain progress output.
"""

from __future__ import annotations

import json
import pathlib
import re
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "simulated"))

from ansible_collections.wcow.buildkit.plugins.plugin_utils import _smoke  # noqa: E402
from wcow_sim.buildctl_build import BUILD_FLAGS, OS_MISMATCH  # noqa: E402
from wcow_sim.buildkitd import buildctl_exe, buildkitd_exe  # noqa: E402
from wcow_sim.host import Host  # noqa: E402
from wcow_sim.state import new_state  # noqa: E402

FIXTURES = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "buildkitd"
EXE = r"C:\Program Files\buildkit\bin\buildkitd.exe"
CTL = r"C:\Program Files\buildkit\bin\buildctl.exe"
CONFIG = r"C:\ProgramData\buildkitd\buildkitd.toml"
CNI_CONF = r"C:\Program Files\containerd\cni\conf\0-containerd-nat.conf"
CTX = r"C:\Windows\Temp\wcow-smoke"
META = CTX + r"\metadata.json"


@pytest.mark.parametrize("build, edition, tag", [
    (17763, "server", "ltsc2019"), (20348, "server", "ltsc2022"), (26100, "server", "ltsc2025"),
    (22000, "client", "ltsc2022"), (22631, "client", "ltsc2022"), (26100, "client", "ltsc2025"),
])
def test_base_image_follows_the_host_build(build, edition, tag):
    assert _smoke.base_image(build, edition) == f"mcr.microsoft.com/windows/nanoserver:{tag}"


@pytest.mark.parametrize("build, edition", [(19045, "client"), (14393, "server"), (18363, "client")])
def test_a_build_without_an_image_is_explained(build, edition):
    with pytest.raises(_smoke.NoBaseImage, match=rf"Windows build {build} \({edition}\) has no nanoserver image.*"
                                                 r"Set base_image"):
        _smoke.base_image(build, edition)


def test_dockerfile_is_the_guides_hello_world():
    text = _smoke.dockerfile("mcr.microsoft.com/windows/nanoserver:ltsc2022")
    assert text.splitlines() == ["FROM mcr.microsoft.com/windows/nanoserver:ltsc2022", "USER ContainerAdministrator",
                                 "COPY hello.txt C:/", 'RUN echo "Goodbye!" >> hello.txt',
                                 'CMD ["cmd", "/C", "type C:\\\\hello.txt"]']


def test_build_flags_are_those_of_the_real_help():
    helptext = (FIXTURES / "buildctl-0.24.0-build-help.txt").read_text()
    documented = set(re.findall(r"^   --([a-z-]+)", helptext, re.M)) | set(re.findall(r", -([a-z])\b", helptext))
    assert documented == set(BUILD_FLAGS)


def _host(build: int, cni: bool = False) -> Host:
    host = Host("win1", new_state(build))
    host.write_file(EXE, b"SIMULATED-EXE buildkitd 0.24.0")
    host.write_file(CTL, b"SIMULATED-EXE buildctl 0.24.0")
    host.write_file(CONFIG, b"")
    host.state["services"]["containerd"] = {"name": "containerd", "status": "Running", "pipe": "containerd-containerd",
                                            "command_line": "containerd.exe", "start_mode": "Automatic",
                                            "depends_on": [], "pid": None}
    extra = []
    if cni:
        host.write_file(CNI_CONF, b"{}")
        extra = ["--containerd-cni-config-path", CNI_CONF, "--containerd-cni-binary-dir", r"C:\cni\bin"]
    assert buildkitd_exe(host, EXE, ["--register-service", "--config", CONFIG, *extra])[0] == 0
    assert host.start_service("buildkitd")
    return host


def _build(host: Host, dockerfile: str, *extra: str) -> tuple[int, str, str]:
    host.write_file(CTX + r"\Dockerfile", dockerfile.encode())
    host.write_file(CTX + r"\hello.txt", _smoke.HELLO_TEXT.encode())
    return buildctl_exe(host, CTL, ["build", "--frontend", "dockerfile.v0", "--local", f"context={CTX}",
                                    "--local", f"dockerfile={CTX}", "--output", "type=image,name=wcow-smoke:1",
                                    "--progress", "plain", "--metadata-file", META, *extra])


def test_hello_world_builds_with_steps_and_a_digest():
    host = _host(20348)
    rc, out, err = _build(host, _smoke.dockerfile(_smoke.base_image(20348)))
    assert rc == 0 and out == "", err
    result = _smoke.parse_progress(err)
    names = [s["name"] for s in result["steps"]]
    assert names[-3:] == ["[2/3] COPY hello.txt C:/", '[3/3] RUN echo "Goodbye!" >> hello.txt', "exporting to image"]
    assert all(s["state"] == "done" and s["seconds"] is not None for s in result["steps"])
    assert result["failed_step"] is None and result["error"] is None
    assert result["digest"] == json.loads(host.read_text(META))["containerimage.digest"]


def test_a_base_image_of_another_build_fails_at_the_first_run_step():
    host = _host(20348)
    rc, _out, err = _build(host, _smoke.dockerfile("mcr.microsoft.com/windows/nanoserver:ltsc2019"))
    result = _smoke.parse_progress(err)
    assert rc == 1 and result["digest"] is None and not host.file(META)
    assert result["failed_step"]["name"] == '[3/3] RUN echo "Goodbye!" >> hello.txt'
    assert OS_MISMATCH in result["failed_step"]["error"] and result["error"].startswith("failed to solve: process")


def test_windows_11_runs_ltsc2022_but_not_ltsc2019():
    assert _build(_host(22631), _smoke.dockerfile("mcr.microsoft.com/windows/nanoserver:ltsc2022"))[0] == 0
    assert OS_MISMATCH in _build(_host(22631), _smoke.dockerfile("mcr.microsoft.com/windows/nanoserver:ltsc2019"))[2]


def test_a_networked_run_needs_the_cni_network():
    text = _smoke.dockerfile(_smoke.base_image(20348), network_url="https://mcr.microsoft.com/v2/")
    rc, _out, err = _build(_host(20348), text)
    failed = _smoke.parse_progress(err)["failed_step"]
    assert rc == 1 and failed["error"].endswith("exit code: 6")
    assert "curl: (6) Could not resolve host: mcr.microsoft.com" in failed["output_tail"][-1]
    assert _build(_host(20348, cni=True), text)[0] == 0


def test_refusals_of_the_command_line():
    host = _host(20348)
    assert _build(host, "FROM x\n", "--frontend", "gateway.v0")[2] == "error: invalid frontend: gateway.v0\n"
    rc, _out, err = _build(host, "FROM x\n", "--squash")
    assert rc == 1 and "flag provided but not defined: -squash" in err
    rc, _out, err = _build(host, "FROM mcr.microsoft.com/windows/nanoserver:1809\n")
    assert rc == 1 and "failed to resolve source metadata" in _smoke.parse_progress(err)["failed_step"]["error"]
    host.state["services"]["buildkitd"]["status"] = "Stopped"
    rc, _out, err = _build(host, _smoke.dockerfile(_smoke.base_image(20348)))
    assert rc == 1 and "failed to solve: Unavailable" in err and "pipe\\buildkitd" in err
