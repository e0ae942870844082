# Copyright (c) wcow.buildkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Worker check after a start: buildctl's JSON, as the simulated buildctl (built from buildkit's source) prints it."""
from __future__ import annotations

import pathlib
import sys

import pytest

from ansible_collections.wcow.buildkit.plugins.plugin_utils import _buildkitd_verify as bv
from ansible_collections.wcow.buildkit.plugins.plugin_utils._buildkitd_verify import WorkersOutputError

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[3] / "simulated"))
from wcow_sim.buildkitd import buildctl_exe, buildkitd_exe  # noqa: E402
from wcow_sim.host import Host  # noqa: E402
from wcow_sim.state import new_state  # noqa: E402

INSTALL = r"C:\Program Files\buildkit"
CNI = r"C:\Program Files\containerd\cni\conf\0-containerd-nat.conf"


def _daemon(version="0.24.0", cni=False, containerd=True):
    host = Host("win1", new_state())
    exe = INSTALL + r"\bin\buildkitd.exe"
    host.write_file(exe, f"SIMULATED-EXE buildkitd {version}".encode())
    host.write_file(INSTALL + r"\bin\buildctl.exe", f"SIMULATED-EXE buildctl {version}".encode())
    if containerd:
        host.state["services"]["containerd"] = {"name": "containerd", "status": "Running", "pipe": "containerd-containerd",
                                                "command_line": "c.exe", "start_mode": "Automatic", "depends_on": [],
                                                "pid": None}
    if cni:
        host.write_file(CNI, b"{}")
    flags = ["--containerd-cni-config-path", CNI, "--containerd-cni-binary-dir", r"C:\cni\bin"] if cni else []
    buildkitd_exe(host, exe, ["--register-service", *flags])
    host.start_service("buildkitd")
    argv = bv.buildctl_argv(INSTALL)
    rc, out, err = buildctl_exe(host, argv[0], argv[1:])
    return rc, out, err


def test_argv_reaches_the_pipe_by_absolute_path():
    assert bv.buildctl_argv(INSTALL) == [INSTALL + r"\bin\buildctl.exe", "--addr", "npipe:////./pipe/buildkitd",
                                         "--timeout", "10", "debug", "workers", "--format", "{{json .}}"]
    argv = bv.buildctl_argv(INSTALL, "tcp://win1:1234", {"ca": r"C:\t\ca.pem", "cert": r"C:\t\c.pem", "key": r"C:\t\k.pem"})
    assert argv[3:9] == ["--timeout", "10", "--tlscacert", r"C:\t\ca.pem", "--tlscert", r"C:\t\c.pem"]


def test_healthy_daemon_passes():
    rc, out, err = _daemon(cni=True)
    workers = bv.parse_workers(out, rc, err)
    assert bv.check_workers(workers, expect_cni=True, expect_version="0.24.0") == []
    assert bv.worker_facts(workers)[0]["network"] == "cni"


def test_null_network_is_named_when_cni_was_asked():
    rc, out, err = _daemon(cni=False)
    workers = bv.parse_workers(out, rc, err)
    problems = bv.check_workers(workers, expect_cni=True)
    assert len(problems) == 1 and "network 'null', not 'cni'" in problems[0]
    assert bv.check_workers(workers, expect_cni=False) == []


def test_wrong_architecture_and_stale_version_are_named():
    workers = bv.parse_workers(_daemon()[1])
    problems = bv.check_workers(workers, architecture="arm64", expect_version="0.32.2")
    assert "not this host's windows/arm64" in problems[0]
    assert "answers as 0.24.0, but 0.32.2 is installed" in problems[1]


def test_daemon_down_reports_command_and_output():
    rc, out, err = _daemon(containerd=False)  # buildkitd stopped: no worker, no pipe
    with pytest.raises(WorkersOutputError, match=r"could not list the workers.*rc: 1.*stderr: .*pipe\\\\buildkitd"):
        bv.parse_workers(out, rc, err, command="buildctl.exe debug workers")


@pytest.mark.parametrize("stdout, message", [("ID PLATFORMS", "not JSON"), ('{"id": 1}', "not a list of workers")])
def test_unexpected_output_is_refused(stdout, message):
    with pytest.raises(WorkersOutputError, match=message):
        bv.parse_workers(stdout)


def test_no_containerd_worker():
    assert "has no containerd worker (found no worker)" in bv.check_workers(bv.parse_workers("null"))[0]
    oci = bv.parse_workers('[{"id": "x", "labels": {"org.mobyproject.buildkit.worker.executor": "oci"}}]')
    assert "found x (oci)" in bv.check_workers(oci)[0]
