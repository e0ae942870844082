# Copyright (c) wcow.buildkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for wcow.buildkit.win_containerd: read, plan, apply."""

from __future__ import annotations

import ntpath
import re
import typing as t

from ansible.utils.display import Display

from ..plugin_utils import _artifacts, _containerd, _containerd_config
from ..plugin_utils._action import ModuleFailure, WindowsAction
from ..plugin_utils._host import HostError, Step, WindowsHost

display = Display()

HOST_ARTIFACT_DIR = r"C:\ProgramData\wcow.buildkit\artifacts"
_ABSOLUTE_WINDOWS_PATH = re.compile(r"^[A-Za-z]:\\")

ARGUMENT_SPEC: dict[str, t.Any] = {
    "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
    "install_dir": {"type": "str", "default": r"C:\Program Files\containerd"},
    "config": {"type": "dict", "default": {}},
    "config_path": {"type": "str"},
    "service_name": {"type": "str", "default": "containerd"},
    "log_file": {"type": "str", "default": r"C:\ProgramData\containerd\containerd.log"},
    "log_level": {"type": "str", "default": "info",
                  "choices": ["trace", "debug", "info", "warn", "error", "fatal", "panic"]},
    "defender_exclusion": {"type": "bool", "default": False},
    "purge": {"type": "bool", "default": False},
    "start_timeout": {"type": "int", "default": 60},
    **_artifacts.ARTIFACT_ARGUMENT_SPEC,
}


class ActionModule(WindowsAction):
    module_name = "wcow.buildkit.win_containerd"
    argument_spec = ARGUMENT_SPEC

    def execute(self, args: dict[str, t.Any], host: WindowsHost, task_vars: dict[str, t.Any]) -> dict[str, t.Any]:
        desired = self._desired(args)
        read = [Step("containerd_state", {
            "InstallDir": desired.install_dir,
            "ServiceName": desired.service_name,
            "ConfigPath": desired.config_path,
            "ArchivePath": desired.archive_path,
            "PipeName": desired.pipe_name,
            "DataDirs": list(desired.data_dirs),
            "ArtifactDir": HOST_ARTIFACT_DIR,
        })]
        if desired.state == "present" and not self.check_mode:
            # put_file cannot create folders, and a fourth round trip just for one would break the budget:
            # make sure our scratch folder exists while reading (a no-op once it does).
            read.insert(0, Step("directory_ensure", {"Path": HOST_ARTIFACT_DIR}))
        answer = host.run(read)[-1]
        observed = _containerd.observe(answer, _containerd_config.parse_version_output)
        plan = _containerd.plan(desired, observed)
        result = self._result(desired, observed, plan)
        if observed.docker_containerd and desired.state == "present":
            display.warning(f"{host.host}: Docker Engine runs its own containerd (pipe docker-containerd); "
                            "this standalone containerd is managed separately.")
        if desired.state == "present" and not args["verify_checksum"] and (self.check_mode or not plan.needs_archive):
            # prepare() warns when it fetches; warn on runs that fetch nothing as well.
            display.warning(f"{self.module_name}: verify_checksum is false: containerd archives are installed "
                            "WITHOUT checksum verification; remove verify_checksum: false to verify them")
        if not plan.changed or self.check_mode:
            return result
        return self._apply(args, host, desired, observed, plan, result)

    def _desired(self, args: dict[str, t.Any]) -> _containerd.Desired:
        for option in ("install_dir", "log_file", "config_path"):
            value = args.get(option)
            if value and not _ABSOLUTE_WINDOWS_PATH.match(value):
                raise ModuleFailure(f"{self.module_name}: {option} must be an absolute Windows path such as "
                                    rf"C:\Program Files\containerd, got {value!r}")
        if args["start_timeout"] < 1:
            raise ModuleFailure(f"{self.module_name}: start_timeout must be at least 1 second")
        install_dir = args["install_dir"].rstrip("\\")
        common = {
            "state": args["state"],
            "install_dir": install_dir,
            "config_path": args["config_path"] or ntpath.join(install_dir, "config.toml"),
            "service_name": args["service_name"],
            "log_file": args["log_file"],
            "log_level": args["log_level"],
            "defender_exclusion": args["defender_exclusion"],
            "purge": args["purge"],
            "start_timeout": args["start_timeout"],
        }
        if args["state"] == "absent":
            return _containerd.Desired(**common)
        version = self._resolve_version(args)
        try:  # render refuses keys of the other schema and unsupported versions, naming the fix
            config_text = _containerd_config.render(version, args["config"])
            merged = _containerd_config.merge(_containerd_config.default_config(version), args["config"])
        except _containerd_config.ContainerdConfigError as exc:
            raise ModuleFailure(f"{self.module_name}: {exc}") from None
        return _containerd.Desired(
            **common,
            version=version,
            config_text=config_text,
            archive_path=ntpath.join(HOST_ARTIFACT_DIR, _artifacts.PROJECTS["containerd"].asset_name(version)),
            pipe_address=(merged.get("grpc") or {}).get("address") or _containerd.DEFAULT_PIPE,
        )

    def _resolve_version(self, args: dict[str, t.Any]) -> str:
        try:
            version = _artifacts.resolve_version("containerd", args)
            _artifacts.PROJECTS["containerd"].check_minimum(version)
            return version
        except _artifacts.ArtifactError as exc:
            raise ModuleFailure(f"{self.module_name}: {exc}") from None

    def _result(self, desired: _containerd.Desired, observed: _containerd.Observed,
                plan: _containerd.Plan) -> dict[str, t.Any]:
        present = desired.state == "present"
        service = None
        if present:
            service = {
                "name": desired.service_name,
                "status": "Running" if plan.changed else (observed.service or {}).get("status"),
                "start_mode": "Automatic",
                "command_line": desired.command_line(),
            }
        result: dict[str, t.Any] = {
            "changed": plan.changed,
            "changes": plan.changes,
            "version": desired.version if present else None,
            "previous_version": observed.version,
            "service": service,
            "config_path": desired.config_path,
        }
        if self.diff_mode and plan.changed:
            result["diff"] = {
                "before_header": desired.config_path,
                "after_header": desired.config_path,
                "before": observed.config_text or "",
                "after": desired.config_text or "",
                "prepared": "\n".join(f"- {change}" for change in plan.changes) + "\n",
            }
        return result

    def _apply(self, args: dict[str, t.Any], host: WindowsHost, desired: _containerd.Desired,
               observed: _containerd.Observed, plan: _containerd.Plan, result: dict[str, t.Any]) -> dict[str, t.Any]:
        steps = list(plan.steps)
        if plan.needs_archive:
            try:
                artifact = _artifacts.prepare("containerd", {**args, "version": desired.version},
                                              download=True, warn=display.warning)
                staging, _transferred = _artifacts.stage(host, artifact, desired.archive_path, observed.archive_sha256)
            except _artifacts.ArtifactError as exc:
                raise ModuleFailure(f"{self.module_name}: {exc}") from None
            steps = staging + steps
        try:
            answers = host.run(steps)
        except HostError as exc:
            ran = steps[:len(exc.steps_done)]
            undo = _containerd.recovery(desired, observed, ran)
            if not undo:
                raise
            return self._roll_back(host, desired, observed, result, undo, ran, failure=exc.short_msg, log_tail=[])
        started = [a for s, a in zip(steps, answers)
                   if s.script == "service_start" and s.params["Name"] == desired.service_name]
        if plan.rollback and started and not started[-1].get("started"):
            tail = _containerd.as_list(started[-1].get("log_tail"))
            return self._roll_back(host, desired, observed, result, plan.rollback, steps,
                                   failure=f"containerd {desired.version} did not start "
                                           f"(service status {started[-1].get('status')})", log_tail=tail)
        if started:
            result["service"]["status"] = started[-1].get("status", "Running")
        return result

    def _roll_back(self, host: WindowsHost, desired: _containerd.Desired, observed: _containerd.Observed,
                   result: dict[str, t.Any], undo: list[Step], ran: list[Step], *, failure: str,
                   log_tail: list[str]) -> dict[str, t.Any]:
        """Undo what ran, then fail naming the failure (and the rollback's own failure, if any)."""
        done = [step.script for step in ran]
        log = f" Last lines of {desired.log_file}:\n" + "\n".join(log_tail) if log_tail else ""
        try:
            host.run(undo)
        except HostError as exc:
            raise ModuleFailure(
                f"{self.module_name}: {failure}; "
                f"{f'restoring {observed.version}' if observed.version else 'undoing it'} failed too: {exc.short_msg}. "
                f"The previous binaries and config are in {desired.backup_dir}.{log}",
                changed=True, rolled_back=False, attempted_version=desired.version, log_tail=log_tail,
                steps_done=done, rollback_steps_done=exc.steps_done,
                cmd=exc.command, rc=exc.rc, stderr=exc.stderr,
            ) from None
        back = (f"rolled back to {observed.version}" if observed.version else "rolled back")
        running = ", which is running again" if (observed.service or {}).get("status") == "Running" else ""
        raise ModuleFailure(
            f"{self.module_name}: {failure}; {back}{running}.{log}",
            changed=True,
            rolled_back=True,
            version=observed.version,
            previous_version=observed.version,
            attempted_version=desired.version,
            log_tail=log_tail,
            steps_done=done,
            config_path=desired.config_path,
        )
