# Copyright (c) wcow.buildkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one way our action plugins reach a host (internal).

Windows hosts: every call ships `bootstrap.ps1` as the (short, encoded) command
and sends the steps to run on stdin as one JSON line: each step is a script
from `scripts/` plus its parameters.  Parameters are data, never spliced into
script text, and large ones never touch the command line (WinRM caps it).  One
call is one round trip however many steps it carries.

POSIX hosts (buildx clients on Linux/macOS): argv lists, quoted here.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import pathlib
import typing as t

from ansible.errors import AnsibleConnectionFailure, AnsibleError
from ansible.utils.display import Display

from ._quote import join_posix

display = Display()

SCRIPT_DIR = pathlib.Path(__file__).resolve().parent / "scripts"
MASK = "********"


@functools.lru_cache(maxsize=None)
def script_text(name: str) -> str:
    """The text of a shipped host script, by name (without `.ps1`)."""
    path = SCRIPT_DIR / f"{name}.ps1"
    if not path.is_file():
        raise AnsibleError(f"internal error: host script '{name}.ps1' is not shipped in {SCRIPT_DIR}")
    return path.read_text(encoding="utf-8")


def encode_command(shell: t.Any, script: str, caller: str) -> str:
    """The command line that runs `script`, encoded by the connection's shell plugin as ansible.windows does.

    Comment lines are dropped first: WinRM caps a command line at 8191 characters.
    """
    if shell is None or not hasattr(shell, "_encode_script"):
        raise AnsibleError(
            f"{caller} manages Windows hosts through PowerShell, but this host's shell is "
            f"'{getattr(shell, '_load_name', shell)}': set ansible_shell_type to powershell for it"
        )
    lines = [line for line in script.splitlines() if line.strip() and not line.strip().startswith("#")]
    # strict_mode off: our scripts target plain 5.1 semantics; preserve_rc off: the bootstrap sets its exit code.
    return shell._encode_script("\n".join(lines), as_list=False, strict_mode=False, preserve_rc=False)


@dataclasses.dataclass(frozen=True)
class Step:
    """One host script to run, with its parameters and the names of secret ones."""

    script: str
    params: dict[str, t.Any] = dataclasses.field(default_factory=dict)
    secrets: tuple[str, ...] = ()

    def payload(self) -> dict[str, t.Any]:
        return {"name": self.script, "script": script_text(self.script), "params": self.params}

    def masked_params(self) -> dict[str, t.Any]:
        return {k: (MASK if k in self.secrets and v else v) for k, v in self.params.items()}

    def secret_values(self) -> list[str]:
        return [str(self.params[k]) for k in self.secrets if self.params.get(k)]


class HostError(AnsibleError):
    """A script or command failed on the host; carries what a user needs to debug it."""

    def __init__(self, msg: str, *, host: str, command: str, rc: int | None = None,
                 stdout: str = "", stderr: str = "", secrets: t.Sequence[str] = (),
                 steps_done: t.Sequence[str] = ()):
        self.host = host
        # Steps that completed before the failing one (the host is changed when this is not empty).
        self.steps_done = list(steps_done)
        self.command = _mask(command, secrets)
        self.rc = rc
        self.stdout = _mask(stdout, secrets)
        self.stderr = _mask(stderr, secrets)
        msg = _mask(msg, secrets)
        detail = f"{msg} (host {host}, {self.command}, rc={rc})"
        if self.stderr.strip():
            detail += f": {self.stderr.strip()}"
        super().__init__(detail)
        self.short_msg = msg

    def to_result(self) -> dict[str, t.Any]:
        """Fields for a failed task result."""
        return {
            "failed": True,
            "msg": self.message,
            "cmd": self.command,
            "rc": self.rc,
            "stdout": self.stdout,
            "stderr": self.stderr,
        }


def _mask(text: str, secrets: t.Sequence[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, MASK)
    return text


def _text(value: bytes | str | None) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return value


def _parse_answer(stdout: str) -> dict[str, t.Any] | None:
    """The single JSON object a script answers; tolerate banner lines before it."""
    text = stdout.strip()
    candidates = [text] + [line for line in reversed(text.splitlines()) if line.startswith("{")]
    for candidate in candidates:
        try:
            answer = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(answer, dict):
            return answer
    return None


class WindowsHost:
    """Runs shipped PowerShell scripts on a Windows host through the task's connection."""

    def __init__(self, connection: t.Any, host: str, caller: str):
        self._connection = connection
        self.host = host
        self.caller = caller

    def run_one(self, script: str, params: dict[str, t.Any] | None = None,
                secrets: tuple[str, ...] = ()) -> dict[str, t.Any]:
        """Run one script; return its JSON answer."""
        return self.run([Step(script, params or {}, secrets)])[0]

    def run(self, steps: t.Sequence[Step]) -> list[dict[str, t.Any]]:
        """Run steps in order in one round trip; return each step's answer.

        Stops at the first failing step and raises HostError naming it.
        """
        secrets = [value for step in steps for value in step.secret_values()]
        names = ", ".join(step.script for step in steps)
        command = f"scripts [{names}]"
        display.vvv(
            f"wcow.buildkit: {self.caller} runs {json.dumps([[s.script, s.masked_params()] for s in steps])}",
            host=self.host,
        )
        payload = json.dumps({"caller": self.caller, "steps": [step.payload() for step in steps]})
        encoded = encode_command(getattr(self._connection, "_shell", None), script_text("bootstrap"), self.caller)
        try:
            rc, stdout, stderr = self._connection.exec_command(encoded, in_data=payload.encode("utf-8") + b"\n",
                                                               sudoable=False)
        except OSError as exc:
            raise _dropped(self.host, f"running {names}", exc) from None
        stdout, stderr = _text(stdout), _text(stderr)
        answer = _parse_answer(stdout)
        if answer is None:
            raise HostError(
                "the host did not answer with a JSON object", host=self.host, command=command,
                rc=rc, stdout=stdout, stderr=stderr, secrets=secrets,
            )
        if answer.get("failed") or rc != 0:
            step = answer.get("step") or names
            msg = answer.get("msg") or "the script failed"
            raise HostError(
                f"{step}.ps1 failed: {msg}", host=self.host, command=f"script {step}",
                rc=rc, stdout=stdout, stderr=stderr or answer.get("error", ""), secrets=secrets,
                steps_done=[str(item.get("name")) for item in answer.get("steps") or [] if isinstance(item, dict)],
            )
        results = answer.get("steps") or []
        if len(results) != len(steps):
            raise HostError(
                f"expected {len(steps)} step answers, got {len(results)}", host=self.host,
                command=command, rc=rc, stdout=stdout, stderr=stderr, secrets=secrets,
            )
        return [item.get("result") if isinstance(item.get("result"), dict) else {"value": item.get("result")}
                for item in results]

    def answer_strings(self, value: t.Any, script: str, field: str) -> list[str]:
        """A list-of-strings answer field; PowerShell's JSON turns a one-item array into the item.

        Raises HostError naming the script when an item is not a string (a script that returned
        raw cmdlet output, e.g. 5.1's decorated Get-Content lines), rather than joining objects.
        """
        items = [] if value is None else value if isinstance(value, list) else [value]
        odd = [item for item in items if not isinstance(item, str)]
        if odd:
            raise HostError(
                f"{script}.ps1 answered {field} with {len(odd)} item(s) that are not strings "
                f"(first: {json.dumps(odd[0])[:200]}); this is a defect of the collection's host script",
                host=self.host, command=f"script {script}",
            )
        return items

    def put_file(self, local_path: str, remote_path: str) -> None:
        """Copy a controller file to the host (one round trip)."""
        display.vvv(f"wcow.buildkit: {self.caller} puts {local_path} -> {remote_path}", host=self.host)
        try:
            self._connection.put_file(local_path, remote_path)
        except OSError as exc:
            raise _dropped(self.host, f"copying {remote_path}", exc) from None


def _dropped(host: str, doing: str, exc: OSError) -> AnsibleConnectionFailure:
    """A transport error as what it is: the host unreachable (ansible-core's winrm plugin turns only a
    requests Timeout into AnsibleConnectionFailure; a ConnectionError, an OSError, would read as a task failure)."""
    return AnsibleConnectionFailure(f"{host}: the connection dropped while {doing}: {exc}. What ran before the "
                                    "drop may have changed the host; run again to converge.")


class PosixHost:
    """Runs argv commands on a POSIX host (a buildx client) through the action's shell."""

    def __init__(self, action: t.Any, host: str, sudoable: bool = False):
        self._action = action
        self.host = host
        # True only for modules that allow become on POSIX clients (the commands then run as the become user).
        self.sudoable = sudoable

    def run(self, argv: t.Sequence[str], *, stdin: str | None = None,
            env: dict[str, str] | None = None, secrets: t.Sequence[str] = (),
            check: bool = True) -> dict[str, t.Any]:
        """Run argv; environment values travel in an `env` prefix, input on stdin."""
        words = [str(a) for a in argv]
        if env:
            words = ["env"] + [f"{k}={v}" for k, v in sorted(env.items())] + ["--"] + words
        command = join_posix(words)
        display.vvv(f"wcow.buildkit: runs {_mask(command, secrets)}", host=self.host)
        result = self._action._low_level_execute_command(
            command, sudoable=self.sudoable, in_data=stdin.encode("utf-8") if stdin is not None else None
        )
        rc = result.get("rc")
        stdout, stderr = _text(result.get("stdout")), _text(result.get("stderr"))
        if check and rc != 0:
            raise HostError(
                f"{words[0]} exited with {rc}", host=self.host, command=command,
                rc=rc, stdout=stdout, stderr=stderr, secrets=secrets,
            )
        return {"rc": rc, "stdout": _mask(stdout, secrets), "stderr": _mask(stderr, secrets), "cmd": _mask(command, secrets)}
