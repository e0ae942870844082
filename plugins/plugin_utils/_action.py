# Copyright (c) wcow.buildkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The shape every wcow.buildkit action plugin shares (internal).

Validate the task's arguments against a real argument spec (same defaults, type
conversion and messages as a module), hand the validated values to the plugin's
`execute`, and turn our errors into failed results.  Connection failures are
left to propagate so Ansible reports the host as unreachable.
"""

from __future__ import annotations

import re
import typing as t
import urllib.parse

from ansible.errors import AnsibleActionFail
from ansible.executor.module_common import _apply_action_arg_defaults
from ansible.module_utils.common.parameters import remove_values
from ansible.plugins.action import ActionBase

from ._host import HostError, WindowsHost

NO_LOG_MASK = "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"
# The variable a role's task hands an option: "{{ containerd_install_dir | default(omit) }}".
_TEMPLATE_VARIABLE = re.compile(r"^\s*\{\{\s*([A-Za-z_][A-Za-z0-9_]*)")


class ModuleFailure(Exception):
    """A failure the user can act on: the message names the option and the fix."""

    def __init__(self, msg: str, *, option: str | None = None, **result: t.Any):
        super().__init__(msg)
        self.msg = msg
        self.option = option  # the option the message is about, so a role's variable can be named too
        self.result = result


class WindowsAction(ActionBase):
    """Base for our action plugins that manage a Windows host."""

    # put_file targets absolute paths we choose, so no remote temp dir (and no extra round trip).
    TRANSFERS_FILES = False
    module_name = ""
    argument_spec: dict[str, t.Any] = {}
    argument_constraints: dict[str, t.Any] = {}
    # Modules that also manage POSIX clients (buildx) may run there as the become user: builders are per user.
    posix_become = False

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
        windows_shell = hasattr(getattr(self._connection, "_shell", None), "_encode_script")
        if self._play_context.become and (windows_shell or not self.posix_become):
            result.update(failed=True, msg=(
                f"{self.module_name}: become is not supported: the module runs as the connection user and needs "
                "that user to be an administrator. Remove become from this task and connect as an administrator "
                "(an ansible_user in the local Administrators group)."))
            return result
        self._task.args = self._with_module_defaults()
        try:
            validation, args = self.validate_argument_spec(
                argument_spec=self.argument_spec, **self.argument_constraints
            )
        except AnsibleActionFail as exc:
            result.update(exc.result)
            result.setdefault("failed", True)
            result["msg"] = self._name_role_variables(f"{self.module_name}: {result.get('msg') or exc.message}")
            return remove_values(result, _url_passwords(self._task.args))
        host = WindowsHost(self._connection, task_vars.get("inventory_hostname", "?"), self.module_name)
        try:
            result.update(self.execute(args, host, task_vars))
        except HostError as exc:
            result.update(exc.to_result())
            if exc.steps_done:  # the host changed before the failure: say so, and what ran
                result.update(changed=True, steps_done=exc.steps_done)
        except ModuleFailure as exc:
            result.update(exc.result)
            result.update(failed=True, msg=self._name_role_variables(exc.msg, exc.option))
        result["invocation"] = {"module_args": self._masked(args)}
        # Like a module: no value of a no_log option (nor a password inside a URL option) anywhere in the result.
        return remove_values(result, set(validation._no_log_values) | _url_passwords(args))

    def _with_module_defaults(self) -> dict[str, t.Any]:
        """The task's args, with module_defaults for every option the task left out.

        ansible-core drops a module_defaults value when the task's own value is `omit` (its
        ChainTemplar: "omit == obliterate"), so a role that passes `x: "{{ role_x | default(omit) }}"`
        would hide `module_defaults: group/wcow.buildkit.buildkit`. Apply them again, as ansible's
        own package/service action plugins do for the modules they call.
        """
        action = self._task.resolved_action or self.module_name
        return _apply_action_arg_defaults(action, self._task, dict(self._task.args), self._templar)

    def _role_variables(self) -> dict[str, str]:
        """option -> the role variable a role's task passes into it (``x: "{{ role_x | default(omit) }}"``).

        Read from the task as written (its data structure, before templating); empty outside a role.
        """
        if getattr(self._task, "_role", None) is None:
            return {}
        written = self._task.get_ds()
        args = written.get(self._task.action) if isinstance(written, dict) else None
        if not isinstance(args, dict):
            return {}
        found = {}
        for option, value in args.items():
            match = _TEMPLATE_VARIABLE.match(value) if isinstance(value, str) else None
            if match and match[1] != option:
                found[str(option)] = match[1]
        return found

    def _name_role_variables(self, msg: str, option: str | None = None) -> str:
        """Add "(role variable X)" after the option a message names, so a role's user finds what they set.

        With ``option`` only that option; otherwise (argument-spec messages) every option the message names,
        once each, up to ansible's list of supported parameters.
        """
        variables = self._role_variables()
        names = [option] if option else sorted(variables, key=len, reverse=True)
        head, sep, tail = msg.partition("Supported parameters include")
        for name in names:
            if name in variables:
                # The option, or a key path inside it (config.plugins."x".y), then the variable.
                head = re.sub(rf"(?<![\w.]){re.escape(name)}(?:\.\S+)?(?![\w])",
                              lambda m, v=variables[name]: _after_path(m[0], f" (role variable {v})"), head, count=1)
        return head + sep + tail

    def _masked(self, args: dict[str, t.Any]) -> dict[str, t.Any]:
        secret = {name for name, spec in self.argument_spec.items() if spec.get("no_log")}
        return {k: (NO_LOG_MASK if k in secret and v else v) for k, v in args.items()}


def _after_path(path: str, note: str) -> str:
    """Put ``note`` after a path that a sentence's punctuation may follow ("config.sandbox." -> before the dot)."""
    bare = path.rstrip(".,;:")
    return bare + note + path[len(bare):]


def _url_passwords(args: t.Mapping[str, t.Any]) -> set[str]:
    """Passwords inside URL-valued options (e.g. a proxy `http://user:secret@proxy:3128`)."""
    found = set()
    for value in args.values():
        if isinstance(value, str) and "@" in value:
            try:
                password = urllib.parse.urlsplit(value).password
            except ValueError:
                continue
            if password:
                found |= {password, urllib.parse.unquote(password)}
    return found
