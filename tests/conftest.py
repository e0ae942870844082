"""Shared pytest set-up: run ansible-playbook against the simulated Windows host."""

from __future__ import annotations

import atexit
import dataclasses
import json
import os
import pathlib
import re
import subprocess
import sys
import threading
import typing as t

import pytest

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "simulated"))
CONNECTION_PLUGINS = REPO / "tests" / "simulated" / "plugins" / "connection"
CALLBACK_PLUGINS = REPO / "tests" / "simulated" / "plugins" / "callback"
_RECAP = re.compile(r"^(?P<host>\S+)\s*:\s*ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+unreachable=(?P<unreachable>\d+)"
                    r"\s+failed=(?P<failed>\d+)\s+skipped=(?P<skipped>\d+)", re.M)


@dataclasses.dataclass
class PlaybookRun:
    rc: int
    stdout: str
    stderr: str
    state_dir: pathlib.Path
    tree_dir: pathlib.Path

    @property
    def recap(self) -> dict[str, dict[str, int]]:
        return {m["host"]: {k: int(m[k]) for k in ("ok", "changed", "unreachable", "failed", "skipped")}
                for m in _RECAP.finditer(self.stdout)}

    def state(self, host: str) -> dict[str, t.Any]:
        return json.loads((self.state_dir / f"{host}.json").read_text())

    def result(self, host: str = "sim-host") -> dict[str, t.Any]:
        """The host's last task result (written by the last_result callback)."""
        return json.loads((self.tree_dir / host).read_text())


class _ForkServer:
    """One tests/tools/playbook_forkserver.py per test process, started on first use.

    It forks each ansible-playbook run from a process that already imported the libraries every
    run imports, instead of starting Python anew (WCOW_TEST_FORKSERVER=0 runs a new process each time).
    """

    def __init__(self) -> None:
        self.enabled = os.environ.get("WCOW_TEST_FORKSERVER", "1") != "0"
        self._proc: subprocess.Popen[str] | None = None
        self._lock = threading.Lock()

    def run(self, cmd: list[str], env: dict[str, str], prefix: pathlib.Path, timeout: float) -> tuple[int, str, str]:
        out, err = prefix.with_suffix(".stdout"), prefix.with_suffix(".stderr")
        request = {"argv": cmd, "env": env, "cwd": str(REPO), "stdout": str(out), "stderr": str(err),
                   "timeout": timeout}
        with self._lock:
            if self._proc is None or self._proc.poll() is not None:
                self._proc = subprocess.Popen(  # pylint: disable=consider-using-with
                    [sys.executable, str(REPO / "tests" / "tools" / "playbook_forkserver.py")],
                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=REPO)
            assert self._proc.stdin is not None and self._proc.stdout is not None
            self._proc.stdin.write(json.dumps(request) + "\n")
            self._proc.stdin.flush()
            answer = self._proc.stdout.readline()
        if not answer:
            raise RuntimeError("tests/tools/playbook_forkserver.py ended without answering")
        rc = json.loads(answer)["rc"]
        if rc == -9:
            raise subprocess.TimeoutExpired(cmd, timeout)
        return rc, out.read_text(), err.read_text()

    def stop(self) -> None:
        """End the server (its stdin closes) and reap it."""
        if self._proc is not None:
            assert self._proc.stdin is not None
            self._proc.stdin.close()
            self._proc.wait(timeout=60)
            self._proc = None


_FORKSERVER = _ForkServer()
atexit.register(_FORKSERVER.stop)


class Simulator:
    """Runs playbooks against simulated hosts whose state lives in one temp folder."""

    def __init__(self, root: pathlib.Path):
        self.root = root
        self.state_dir = root / "state"
        self.state_dir.mkdir()
        self.runs = 0
        # Variables of every host: the Containers feature is on, as containers_feature leaves it, so the daemon
        # modules' tests start where site.yml reaches them. Tests of the feature itself clear this.
        self.host_vars: dict[str, t.Any] = {"sim_features": {"Containers": "Enabled"}}

    def inventory(self, hosts: dict[str, dict[str, t.Any]], group: str = "windows_builders") -> pathlib.Path:
        data = {"all": {"children": {group: {"hosts": hosts}},
                        "vars": {"ansible_connection": "simulated_windows", "ansible_shell_type": "powershell",
                                 **self.host_vars}}}
        path = self.root / "inventory.json"
        path.write_text(json.dumps(data))
        return path

    def playbook(self, text: str, name: str = "play.yml") -> pathlib.Path:
        path = self.root / name
        path.write_text(text)
        return path

    def run(self, playbook: str | os.PathLike, hosts: dict[str, dict[str, t.Any]] | None = None,
            *args: str, check: bool = False,
            env: dict[str, str] | None = None) -> PlaybookRun:
        inventory = self.inventory(hosts or {"sim-host": {}})
        cmd = [str(pathlib.Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory), str(playbook), *args]
        if check:
            cmd.append("--check")
        self.runs += 1
        tree_dir = self.root / f"results-{self.runs}"
        full_env = dict(os.environ)
        full_env.update({
            "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
            "ANSIBLE_CONNECTION_PLUGINS": str(CONNECTION_PLUGINS),
            "WCOW_SIM_STATE_DIR": str(self.state_dir),
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_FORCE_COLOR": "0",
            "ANSIBLE_LOCAL_TEMP": str(self.root / "tmp"),
            "ANSIBLE_HOME": str(self.root / "ansible-home"),
            "ANSIBLE_CALLBACK_PLUGINS": str(CALLBACK_PLUGINS),
            "ANSIBLE_CALLBACKS_ENABLED": "last_result",
            "WCOW_RESULTS_DIR": str(tree_dir),
        })
        full_env.update(env or {})
        if _FORKSERVER.enabled:
            rc, stdout, stderr = _FORKSERVER.run(cmd, full_env, self.root / f"output-{self.runs}", timeout=600)
            return PlaybookRun(rc, stdout, stderr, self.state_dir, tree_dir)
        proc = subprocess.run(cmd, cwd=REPO, env=full_env, capture_output=True, text=True, timeout=600, check=False)
        return PlaybookRun(proc.returncode, proc.stdout, proc.stderr, self.state_dir, tree_dir)

    def state(self, host: str = "sim-host") -> dict[str, t.Any]:
        return json.loads((self.state_dir / f"{host}.json").read_text())

    def write_state(self, state: dict[str, t.Any], host: str = "sim-host") -> None:
        (self.state_dir / f"{host}.json").write_text(json.dumps(state))


@pytest.fixture
def simulator(tmp_path: pathlib.Path) -> Simulator:
    return Simulator(tmp_path)
