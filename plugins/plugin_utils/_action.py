# Copyright (c) wcow.buildkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The shape every wcow.buildkit action plugin shares (internal).

Validate the task's arguments against a real argument spec (same defaults, type
conversion and messages as a module), hand the validated values to the plugin's
`execute`, and turn our errors into failed results.  Connection failures are
left to propagate so Ansible reports the host as unreachable.
"""

from __future__ import annotations

import typing as t

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ._host import HostError, WindowsHost

NO_LOG_MASK = "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"


class ModuleFailure(Exception):
    """A failure the user can act on: the message names the option and the fix."""

    def __init__(self, msg: str, **result: t.Any):
        super().__init__(msg)
        self.msg = msg
        self.result = result


class WindowsAction(ActionBase):
    """Base for our action plugins that manage a Windows host."""

    # put_file targets absolute paths we choose, so no remote temp dir (and no extra round trip).
    TRANSFERS_FILES = False
    module_name = ""
    argument_spec: dict[str, t.Any] = {}
    argument_constraints: dict[str, t.Any] = {}

    def execute(self, args: dict[str, t.Any], host: WindowsHost, task_vars: dict[str, t.Any]) -> dict[str, t.Any]:
        raise NotImplementedError

    @property
    def check_mode(self) -> bool:
        return bool(self._task.check_mode)

    @property
    def diff_mode(self) -> bool:
        return bool(self._task.diff)

    def run(self, tmp: t.Any = None, task_vars: dict[str, t.Any] | None = None) -> dict[str, t.Any]:
        self._supports_check_mode = True
        self._supports_async = False
        result = super().run(tmp, task_vars)
        task_vars = task_vars or {}
        try:
            validation, args = self.validate_argument_spec(
                argument_spec=self.argument_spec, **self.argument_constraints
            )
        except AnsibleActionFail as exc:
            result.update(exc.result)
            result.setdefault("failed", True)
            result["msg"] = f"{self.module_name}: {result.get('msg') or exc.message}"
            return result
        host = WindowsHost(self._connection, task_vars.get("inventory_hostname", "?"), self.module_name)
        try:
            result.update(self.execute(args, host, task_vars))
        except HostError as exc:
            result.update(exc.to_result())
            if exc.steps_done:  # the host changed before the failure: say so, and what ran
                result.update(changed=True, steps_done=exc.steps_done)
        except ModuleFailure as exc:
            result.update(exc.result)
            result.update(failed=True, msg=exc.msg)
        result["invocation"] = {"module_args": self._masked(args)}
        return result

    def _masked(self, args: dict[str, t.Any]) -> dict[str, t.Any]:
        secret = {name for name, spec in self.argument_spec.items() if spec.get("no_log")}
        return {k: (NO_LOG_MASK if k in secret and v else v) for k, v in args.items()}
