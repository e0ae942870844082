# Copyright (c) wcow.buildkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for wcow.buildkit.buildx_remote_builder: validate, read, plan, apply."""

from __future__ import annotations

import hashlib
import typing as t

from ..plugin_utils import _buildx
from ..plugin_utils._action import ModuleFailure, WindowsAction
from ..plugin_utils._host import HostError, PosixHost, Step, WindowsHost
from ..plugin_utils._quote import join_posix, join_win32

ARGUMENT_SPEC: dict[str, t.Any] = {
    "name": {"type": "str", "required": True},
    "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
    "endpoint": {"type": "str"},
    "tls": {"type": "dict", "default": {}, "options": {
        "cacert": {"type": "str", "no_log": False},
        "cert": {"type": "str", "no_log": False},
        "key": {"type": "str", "no_log": True},
        "servername": {"type": "str"},
    }},
    "use": {"type": "bool", "default": False},
    "node": {"type": "str"},
    "append": {"type": "bool", "default": False},
    "platforms": {"type": "list", "elements": "str", "default": []},
    "bootstrap": {"type": "bool", "default": False},
    "keep_unreachable": {"type": "bool", "default": False},
    "docker_cli": {"type": "str", "default": "docker"},
    "docker_config": {"type": "str"},
}


class ActionModule(WindowsAction):
    module_name = "wcow.buildkit.buildx_remote_builder"
    argument_spec = ARGUMENT_SPEC
    posix_become = True  # on a POSIX client, become runs every command as the user whose docker config it manages

    def execute(self, args: dict[str, t.Any], host: WindowsHost, task_vars: dict[str, t.Any]) -> dict[str, t.Any]:
        windows = hasattr(getattr(self._connection, "_shell", None), "_encode_script")
        try:
            _buildx.validate(args, "windows" if windows else "posix")
        except _buildx.InputError as exc:
            raise ModuleFailure(f"{self.module_name}: {exc}") from None
        tls = {k: v for k, v in (args["tls"] or {}).items() if v}
        secrets = [v for v in tls.values() if _buildx.is_pem(v)]
        if windows and secrets and not args["docker_config"]:
            raise ModuleFailure(f"{self.module_name}: docker_config: needed with PEM contents in tls on a Windows "
                                "client (the files go to <docker_config>\\wcow.buildkit\\tls); set it to the user's "
                                "docker config folder, for example C:\\Users\\builder\\.docker.")
        base, env = _buildx.base_argv(args["docker_cli"], args["docker_config"])
        posix: PosixHost | None = None
        pending: list[Step] = []  # Windows: steps that ride along with the next buildx command
        if windows:
            runner = self._windows_runner(host, env, pending)
        else:
            posix = PosixHost(self, task_vars.get("inventory_hostname", "?"), sudoable=True)
            runner = self._posix_runner(posix, secrets, env)
        client = _buildx.Client(runner, base, secrets)
        try:
            return self._converge(args, client, tls, windows, posix, pending)
        except _buildx.BuildxError as exc:
            raise ModuleFailure(f"{self.module_name}: {exc.msg}", commands=client.commands,
                                **{k: v for k, v in exc.to_result().items() if k != "msg"}) from None
        except _buildx.InputError as exc:
            raise ModuleFailure(f"{self.module_name}: {exc}", commands=client.commands) from None

    def _converge(self, args: dict[str, t.Any], client: _buildx.Client, tls: dict[str, str], windows: bool,
                  posix: PosixHost | None, pending: list[Step]) -> dict[str, t.Any]:
        builders = client.ls()
        # `ls --format json` arrived in buildx 0.13, as did npipe support: a listing proves both are there.
        if builders is None:  # buildx older than 0.13: no JSON listing
            found, _have = client.version()
            if windows or str(args["endpoint"] or "").startswith("npipe:"):
                raise ModuleFailure(f"{self.module_name}: buildx {found} is too old: npipe:// endpoints and Windows "
                                    f"clients need buildx >= {'.'.join(map(str, _buildx.NPIPE_MIN))}; upgrade the "
                                    "buildx plugin (the wcow.buildkit.buildx_builder role can).")
            builders = self._instance_file(posix, args)
        observed = builders.get(args["name"])
        opts = dict(tls)
        files: dict[str, str] = {}
        for key in _buildx.TLS_KEYS:
            value = opts.get(key)
            if value and _buildx.is_pem(value):
                digest = hashlib.sha256(value.encode()).hexdigest()[:16]
                sep = "\\" if windows else "/"
                files[key] = f"{self._secret_dir(args, posix, windows)}{sep}{args['name']}-{key}-{digest}.pem"
                opts[key] = files[key]
        # buildx keeps node names lower-cased (store/util.go ValidateName): compare and ask for them that way.
        node = (args["node"] or "").lower() or None
        desired = _buildx.Desired(name=args["name"], state=args["state"], endpoint=args["endpoint"],
                                  driver_opts=opts, node=node, append=args["append"], use=args["use"],
                                  platforms=tuple(args["platforms"]))
        actions = _buildx.plan(desired, observed)
        result: dict[str, t.Any] = {"changed": bool(actions), "actions": [" ".join(a) for a in actions]}
        if self.diff_mode:
            result["diff"] = {"before": _buildx.builder_result(observed), "after": {
                "name": desired.name, "state": desired.state, "endpoint": desired.endpoint,
                "driver_opts": opts, "node": desired.node}}
        if self.check_mode or not actions:
            result.update(builder=_buildx.builder_result(observed), commands=client.commands)
            return self._bootstrap(args, client, result, created=False) if actions == [] else result
        if files and any(a[0] in ("create", "update", "append") for a in actions):
            if posix is not None:
                self._write_secrets(posix, files, tls)
            else:
                # Windows: the files travel as steps in the round trip of the first writing buildx command.
                pending.extend(Step("file_write", {"Path": path, "Content": tls[key]}, ("Content",))
                               for key, path in files.items())
                pending.append(Step("file_acl_private", {"Path": list(files.values())}))
        created = False
        writes = [a for a in actions if a[0] in ("create", "update", "append")]
        # `create --use` selects the builder in the same command: one command (one round trip) fewer.
        fold_use = bool(writes) and ("use",) in actions
        for action in actions:
            if action[0] == "rm":
                client.rm(desired.name)
            elif action[0] == "leave":
                client.leave(desired.name, action[1])
            elif action[0] == "create":
                client.create(desired, opts, node=desired.node, use=fold_use)
                created = True
            elif action[0] == "update":
                client.create(desired, opts, node=action[1], use=fold_use)
            elif action[0] == "append":
                client.create(desired, opts, node=action[1], append=True, use=fold_use)
            elif action[0] == "use" and not fold_use:
                client.use(desired.name)
        if args["bootstrap"] and desired.state == "present":
            result["commands"] = client.commands  # the bootstrap reads the builder afterwards
            return self._bootstrap(args, client, result, created=created)
        after = (client.ls() or {}).get(desired.name)
        result.update(builder=_buildx.builder_result(after), commands=client.commands)
        return result

    def _bootstrap(self, args: dict[str, t.Any], client: _buildx.Client, result: dict[str, t.Any],
                   created: bool) -> dict[str, t.Any]:
        if not args["bootstrap"] or args["state"] == "absent" or self.check_mode:
            return result
        ok, detail = client.bootstrap(args["name"])
        if not ok:
            removed = created and not args["keep_unreachable"]
            if removed:
                client.rm(args["name"])
            raise ModuleFailure(_buildx.unreachable_message(args["name"], args["endpoint"], detail, removed),
                                changed=result["changed"] and not removed, commands=client.commands,
                                builder={} if removed else result.get("builder"))
        result["builder"] = _buildx.builder_result((client.ls() or {}).get(args["name"]))
        return result

    def _instance_file(self, posix: PosixHost | None, args: dict[str, t.Any]) -> dict[str, dict[str, t.Any]]:
        """Without `ls --format json`: the builder's instance file, as buildx keeps it (one command)."""
        if posix is None:
            raise ModuleFailure(f"{self.module_name}: internal error: instance file read needs a POSIX client")
        script = ('d="${1:-${DOCKER_CONFIG:-$HOME/.docker}}/buildx"; '
                  'if [ -f "$d/instances/$2" ]; then cat "$d/instances/$2"; echo; cat "$d/current" 2>/dev/null; fi')
        outcome = posix.run(["sh", "-c", script, "sh", args["docker_config"] or "", args["name"]], check=False)
        lines = [line for line in outcome["stdout"].splitlines() if line.strip()]
        if outcome["rc"] != 0 or not lines:
            return {}
        current = _buildx.json_name(lines[1]) if len(lines) > 1 else None
        return {args["name"]: _buildx.from_instance_file(lines[0], current == args["name"])}

    def _secret_dir(self, args: dict[str, t.Any], posix: PosixHost | None, windows: bool = False) -> str:
        # buildx needs absolute paths: without docker_config, ask the client where docker keeps its config, as docker
        # itself decides ($DOCKER_CONFIG, else $HOME/.docker) - one more command, only when PEM contents are given.
        base = args["docker_config"]
        if windows:
            # readable by SYSTEM and Administrators only (file_acl_private); the module runs as an administrator
            return f"{str(base).rstrip(chr(92))}\\wcow.buildkit\\tls"
        if not base and posix is not None:
            outcome = posix.run(["sh", "-c", 'printf "%s" "${DOCKER_CONFIG:-$HOME/.docker}"'])
            base = outcome["stdout"].strip()
        return f"{str(base).rstrip('/')}/wcow.buildkit/tls"

    def _write_secrets(self, posix: PosixHost, files: dict[str, str], tls: dict[str, str]) -> None:
        """PEM contents go to files only the user can read; the contents travel on stdin, never argv."""
        for key, path in files.items():
            folder = path.rsplit("/", 1)[0]
            script = ('umask 077 && mkdir -p "$1" && chmod 700 "$1" && cat > "$2" && chmod 600 "$2"')
            command = ["sh", "-c", script, "sh", folder, path]
            outcome = self._low_level_execute_command(join_posix(command), sudoable=True, in_data=tls[key].encode())
            if outcome.get("rc") != 0:
                raise ModuleFailure(f"{self.module_name}: tls.{key}: could not write {path}: "
                                    f"{outcome.get('stderr', '')}")

    @staticmethod
    def _posix_runner(posix: PosixHost, secrets: list[str],
                      env: dict[str, str]) -> t.Callable[[list[str]], tuple[int, str, str]]:
        def run(argv: list[str]) -> tuple[int, str, str]:
            outcome = posix.run(argv, check=False, secrets=secrets, env=env or None)
            return outcome["rc"], outcome["stdout"], outcome["stderr"]
        return run

    @staticmethod
    def _windows_runner(host: WindowsHost, env: dict[str, str],
                        pending: list[Step]) -> t.Callable[[list[str]], tuple[int, str, str]]:
        """Each buildx command is one run_command step; steps queued in `pending` (the TLS files) ride along in
        the same round trip, before it."""
        def run(argv: list[str]) -> tuple[int, str, str]:
            params: dict[str, t.Any] = {"FilePath": argv[0], "Arguments": join_win32(argv[1:])}
            if env:
                params["Environment"] = [f"{k}={v}" for k, v in sorted(env.items())]
            steps = pending + [Step("run_command", params)]
            pending.clear()
            try:
                answer = host.run(steps)[-1]
            except HostError as exc:
                if exc.command != "script run_command":
                    raise  # a TLS file step failed: the host's own message says why
                return 127, "", exc.stderr or exc.message
            return int(answer.get("rc", 1)), str(answer.get("stdout") or ""), str(answer.get("stderr") or "")
        return run
