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
    "config_extra_keys": {"type": "list", "elements": "str", "default": []},
    "config_path": {"type": "str"},
    "service_name": {"type": "str", "default": "containerd"},
    "log_file": {"type": "str", "default": r"C:\ProgramData\containerd\containerd.log"},
    "log_level": {"type": "str", "default": "info",
                  "choices": ["trace", "debug", "info", "warn", "error", "fatal", "panic"]},
    # No default: unset leaves every Defender exclusion as it is (an administrator's own included).
    "defender_exclusion": {"type": "bool"},
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
        for warning in plan.warnings:
            display.warning(f"{host.host}: {self.module_name}: {warning}")
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
            config_text = _containerd_config.render(version, args["config"], args["config_extra_keys"])
            merged = _containerd_config.merge(_containerd_config.default_config(version), args["config"])
        except _containerd_config.ContainerdConfigError as exc:
            raise ModuleFailure(f"{self.module_name}: {exc}") from None
        for warning in [_containerd_config.newer_series_warning(version),
                        *_containerd_config.config_warnings(version, args["config"])]:
            if warning:
                display.warning(f"{self.module_name}: {warning}")
        return _containerd.Desired(
            **common,
            version=version,
            config_text=config_text,
            archive_path=ntpath.join(HOST_ARTIFACT_DIR, _artifacts.PROJECTS["containerd"].asset_name(version)),
            pipe_address=_containerd_config.grpc_address(merged, version) or _containerd.DEFAULT_PIPE,
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
            # What the host reported; an apply updates it from the step answers (_service_after).
            seen = observed.service or {}
            service = {
                "name": desired.service_name,
                "status": seen.get("status"),
                "start_mode": seen.get("start_mode"),
                "command_line": seen.get("command_line"),
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
        _service_after(result, desired, steps, answers)
        _report_killed(result, host.host, steps, answers)
        self._settle_defender(host, steps, answers, result)
        started = [a for s, a in zip(steps, answers)
                   if s.script == "service_start" and s.params["Name"] == desired.service_name]
        if plan.rollback and started and not started[-1].get("started"):
            return self._roll_back(host, desired, observed, result, plan.rollback, steps,
                                   failure=f"containerd {desired.version} did not start "
                                           f"(service status {started[-1].get('status')})",
                                   log_tail=started[-1].get("log_tail"))
        if started:
            result["service"]["status"] = started[-1].get("status", "Running")
        return result

    def _settle_defender(self, host: WindowsHost, steps: list[Step], answers: list[dict[str, t.Any]],
                         result: dict[str, t.Any]) -> None:
        """Exclusions managed by policy do not change: say so, and do not count it as a change."""
        for warning in _containerd.settle_defender(steps, answers, result["changes"]):
            display.warning(f"{host.host}: {self.module_name}: {warning}")
        result["changed"] = bool(result["changes"])

    def _roll_back(self, host: WindowsHost, desired: _containerd.Desired, observed: _containerd.Observed,
                   result: dict[str, t.Any], undo: list[Step], ran: list[Step], *, failure: str,
                   log_tail: t.Any) -> dict[str, t.Any]:
        """Undo what ran, then fail naming the failure (and the rollback's own failure, if any)."""
        done = [step.script for step in ran]
        undo_error = None
        try:
            host.run(undo)
        except HostError as exc:
            undo_error = exc
        # Only after the restore: a malformed answer must never keep the previous version from coming back.
        try:
            log_tail = host.answer_strings(log_tail, "service_start", "log_tail")
        except HostError as exc:
            log_tail = [f"(log tail not shown: {exc.short_msg})"]
        log = f" Last lines of {desired.log_file}:\n" + "\n".join(log_tail) if log_tail else ""
        if undo_error is not None:
            raise ModuleFailure(
                f"{self.module_name}: {failure}; "
                f"{f'restoring {observed.version}' if observed.version else 'undoing it'} failed too: "
                f"{undo_error.short_msg}. The previous binaries and config are in {desired.backup_dir}.{log}",
                changed=True, rolled_back=False, attempted_version=desired.version, log_tail=log_tail,
                steps_done=done, rollback_steps_done=undo_error.steps_done,
                cmd=undo_error.command, rc=undo_error.rc, stderr=undo_error.stderr,
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


def _service_after(result: dict[str, t.Any], desired: _containerd.Desired, steps: list[Step],
                   answers: list[dict[str, t.Any]]) -> None:
    """Update result.service with what the applied steps made true (not what the plan hoped for)."""
    service = result.get("service")
    if service is None:
        return
    for step, answer in zip(steps, answers):
        own = step.params.get("Name") == desired.service_name
        arguments = str(step.params.get("Arguments") or "")
        if step.script == "run_command" and arguments.startswith("--register-service"):
            # containerd.exe --register-service creates an automatic-start service, stopped.
            service.update(status="Stopped", start_mode="Automatic", command_line=desired.command_line())
        elif step.script == "service_configure" and own:
            service["start_mode"] = answer.get("start_mode")
        elif step.script in ("service_stop", "service_start") and own and answer.get("status"):
            service["status"] = answer["status"]


def _report_killed(result: dict[str, t.Any], host_name: str, steps: list[Step],
                   answers: list[dict[str, t.Any]]) -> None:
    """Say which service processes service_stop had to end (a hung stop, a process outliving Stopped)."""
    killed: list[dict[str, t.Any]] = []
    for step, answer in zip(steps, answers):
        if step.script != "service_stop":
            continue
        # service_stop answers the dependents it stopped as one flat list, then the service itself.
        for stopped in [*_containerd.as_list(answer.get("dependents")), answer]:
            if isinstance(stopped, dict) and stopped.get("killed"):
                killed.append({"service": stopped.get("name"), "pid": stopped.get("pid"),
                               "reason": stopped.get("reason")})
    for item in killed:
        display.warning(f"{host_name}: ended process {item['pid']} of service {item['service']}: {item['reason']}")
    if killed:
        result["killed"] = killed
