# Copyright (c) wcow.buildkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Start `ansible-playbook` runs by forking a process that already imported their libraries (tests only).

A run of ansible-playbook against the simulated host spends most of its CPU starting Python
and importing; the third-party libraries it imports (PyYAML, Jinja2, cryptography, pywinrm and
requests, which ansible-core's winrm connection plugin imports on every run) do not depend on
the run's environment. This server imports those once, then forks one child per run; the child
takes the run's argv, environment, working folder and output files and executes the
ansible-playbook entry point exactly as the console script does (`ansible.cli.playbook.main`),
importing ansible-core's configuration, CLI and plugins afresh, so every ANSIBLE_* setting is
read from the run's own environment as in a new process.

Protocol: one JSON object a line on stdin {"argv", "env", "cwd", "stdout", "stderr", "timeout"};
one JSON object a line on stdout {"rc"} (rc -9 when the timeout killed the run).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time

# What ansible-playbook imports anyway and reads no configuration or environment from at import time:
# third-party libraries, and ansible-core's module_utils (code written to run on targets, where no
# ansible configuration exists; importing them loads `ansible` itself, which only sets up its
# vendored folder and version). ansible.constants, the config manager and the plugin loaders are
# NOT preloaded: each run imports them in its own environment.
PRELOAD = ("yaml", "jinja2", "markupsafe", "packaging.version", "cryptography.hazmat.primitives.serialization",
           "requests", "winrm", "distro", "resolvelib", "json", "multiprocessing", "ssl", "http.client",
           "ansible.module_utils._internal._messages", "ansible.module_utils._internal._datatag",
           "ansible.module_utils.common.text.converters", "ansible.module_utils.six")


def _preload() -> None:
    for name in PRELOAD:
        try:
            __import__(name)
        except ImportError:
            pass
    assert "ansible.constants" not in sys.modules, "a preloaded module imported ansible's configuration"


def _child(request: dict) -> None:
    """In the forked child: become `ansible-playbook <args>` and exit with its status."""
    code = 1
    try:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        stdin = os.open(os.devnull, os.O_RDONLY)
        out = os.open(request["stdout"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        err = os.open(request["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(stdin, 0)
        os.dup2(out, 1)
        os.dup2(err, 2)
        for fd in (stdin, out, err):
            os.close(fd)
        sys.stdin = open(0, encoding="utf-8", closefd=False)  # pylint: disable=consider-using-with
        sys.stdout = open(1, "w", encoding="utf-8", closefd=False)  # pylint: disable=consider-using-with
        sys.stderr = open(2, "w", encoding="utf-8", closefd=False)  # pylint: disable=consider-using-with
        script = request["argv"][0]
        sys.argv = list(request["argv"])
        sys.path[0] = os.path.dirname(script)  # as for the console script: its own folder first
        import random  # pylint: disable=import-outside-toplevel
        random.seed()  # the forked generator state is the server's: reseed as a new process would
        try:
            from ansible.cli.playbook import main  # pylint: disable=import-outside-toplevel
            code = main()
        except SystemExit as exc:
            code = exc.code
        except BaseException:  # pylint: disable=broad-exception-caught
            import traceback  # pylint: disable=import-outside-toplevel
            traceback.print_exc()
            code = 1
        import atexit  # pylint: disable=import-outside-toplevel
        atexit._run_exitfuncs()  # pylint: disable=protected-access
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            if code is None:
                code = 0
            elif not isinstance(code, int):
                print(code, file=sys.stderr)
                code = 1
            os._exit(code & 0xFF)


def _wait(pid: int, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return -9
        time.sleep(0.01)


def serve() -> int:
    _preload()
    requests_in = sys.stdin
    answers = os.fdopen(os.dup(1), "w", encoding="utf-8")
    for line in requests_in:
        request = json.loads(line)
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            _child(request)
        rc = _wait(pid, float(request.get("timeout", 600)))
        answers.write(json.dumps({"rc": rc}) + "\n")
        answers.flush()
    return 0


if __name__ == "__main__":
    sys.exit(serve())
