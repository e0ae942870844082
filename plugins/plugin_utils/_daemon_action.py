# Copyright (c) wcow.buildkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The action plugin of a daemon run as a Windows service: read -> plan -> apply -> roll back (internal).

One round trip reads the whole state (the daemon's state steps); `_daemon.plan` (or the plugin's
`plan`) decides; check mode and diff stop there. Otherwise the archive is prepared and staged when
the plan needs it, the plan's steps run in one round trip, and a failure (or a new version that
does not start) is undone with `_daemon.recovery` / the plan's rollback, then reported.

A plugin for another daemon subclasses `DaemonAction` and provides:
- `module_name`, `argument_spec` (`daemon_argument_spec(...)` plus its own options);
- `desired(args)`: its `_daemon.Desired` subclass, from `desired_options(args)` and `resolve_version(args)`;
- `observe(answers)`: what daemon_state (and any steps it adds in `state_steps(desired)`) answered;
- optionally `plan(desired, observed)` to add its own steps, and `warnings(desired, observed)`.
"""

from __future__ import annotations

import ntpath
import re
import typing as t

from ansible.utils.display import Display

from . import _artifacts, _daemon
from ._action import ModuleFailure, WindowsAction
from ._host import HostError, Step, WindowsHost

display = Display()

HOST_DIR = r"C:\ProgramData\wcow.buildkit"
HOST_ARTIFACT_DIR = ntpath.join(HOST_DIR, "artifacts")
CONTAINERS_FEATURE = "Containers"  # the DISM name on Windows Server and client alike
_ABSOLUTE_WINDOWS_PATH = re.compile(r"^[A-Za-z]:\\")


def daemon_argument_spec(*, install_dir: str, service_name: str, log_file: str) -> dict[str, t.Any]:
    """The options every daemon module has, with that daemon's defaults."""
    return {
        "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
        "install_dir": {"type": "str", "default": install_dir},
        "config_path": {"type": "str"},
        "service_name": {"type": "str", "default": service_name},
        "log_file": {"type": "str", "default": log_file},
        # No default: unset leaves every Defender exclusion as it is (an administrator's own included).
        "defender_exclusion": {"type": "bool"},
        "purge": {"type": "bool", "default": False},
        "start_timeout": {"type": "int", "default": 60},
        "require_containers_feature": {"type": "bool", "default": True},
        **_artifacts.ARTIFACT_ARGUMENT_SPEC,
    }


class DaemonAction(WindowsAction):
    """Base of the action plugins that install and run a daemon as a Windows service."""

    daemon: _daemon.DaemonSpec
    # Where config_path defaults to, in install_dir.
    config_name = "config.toml"
    # Options that name a file or folder on the host: each must be an absolute Windows path.
    path_options: tuple[str, ...] = ("install_dir", "log_file", "config_path")

    # --- what a daemon provides ---------------------------------------------------------------------------------

    def desired(self, args: dict[str, t.Any]) -> _daemon.Desired:
        raise NotImplementedError

    def state_steps(self, desired: _daemon.Desired) -> list[Step]:
        """The steps that read everything the plan decides on (they change nothing): daemon_state, and
        whatever else the daemon needs read in the same round trip."""
        return [_daemon.state_step(desired, HOST_ARTIFACT_DIR)]

    def observe(self, answers: list[dict[str, t.Any]]) -> _daemon.Observed:
        """The state steps' answers, in order -> what was found."""
        raise NotImplementedError

    def plan(self, desired: _daemon.Desired, observed: _daemon.Observed) -> _daemon.Plan:
        return _daemon.plan(desired, observed)

    def warnings(self, desired: _daemon.Desired, observed: _daemon.Observed) -> list[str]:
        """Warnings about the host found, shown with the host's name."""
        del desired, observed
        return []

    def check_containers_feature(self, host_name: str, args: dict[str, t.Any], answer: dict[str, t.Any]) -> None:
        """Refuse a host whose Containers feature is off (a warning in check mode, or when the user allows it)."""
        state = answer.get("state")
        if answer.get("skipped") or state == "Enabled":
            return
        if state == "EnablePending":
            found = f"the Windows feature {CONTAINERS_FEATURE} is enabled but waits for a reboot"
        else:
            found = f"the Windows feature {CONTAINERS_FEATURE} is {state or 'not present'} on this host"
        message = (f"{found}: {self.daemon.name} would install, but no container can run until the feature is on. "
                   "Run the wcow.buildkit.containers_feature role first (it enables the feature and reboots when "
                   "needed), or set require_containers_feature: false to install anyway")
        if args["require_containers_feature"] and not self.check_mode:
            raise ModuleFailure(f"{self.module_name}: {message}.", containers_feature=state)
        display.warning(f"{host_name}: {self.module_name}: {message}.")

    # --- helpers for desired() -----------------------------------------------------------------------------------

    def desired_options(self, args: dict[str, t.Any]) -> dict[str, t.Any]:
        """The shared Desired fields, checked: absolute paths, a positive start_timeout."""
        for option in self.path_options:
            value = args.get(option)
            if value and not _ABSOLUTE_WINDOWS_PATH.match(value):
                example = self.argument_spec["install_dir"]["default"]
                raise ModuleFailure(f"{self.module_name}: {option} must be an absolute Windows path such as "
                                    f"{example}, got {value!r}", option=option)
        if args["start_timeout"] < 1:
            raise ModuleFailure(f"{self.module_name}: start_timeout must be at least 1 second, got "
                                f"{args['start_timeout']}", option="start_timeout")
        install_dir = args["install_dir"].rstrip("\\")
        return {
            "state": args["state"],
            "install_dir": install_dir,
            "config_path": args["config_path"] or ntpath.join(install_dir, self.config_name),
            "service_name": args["service_name"],
            "log_file": args["log_file"],
            "defender_exclusion": args["defender_exclusion"],
            "purge": args["purge"],
            "start_timeout": args["start_timeout"],
        }

    def resolve_version(self, args: dict[str, t.Any]) -> str:
        """The version to install (a pin, or what `latest` is now), at least the oldest one supported."""
        try:
            version = _artifacts.resolve_version(self.daemon.name, args)
            _artifacts.PROJECTS[self.daemon.name].check_minimum(version)
            return version
        except _artifacts.ArtifactError as exc:
            raise ModuleFailure(f"{self.module_name}: {exc}", option=exc.option) from None

    def archive_path(self, version: str) -> str:
        """Where the release archive of `version` is staged on the host."""
        return ntpath.join(HOST_ARTIFACT_DIR, _artifacts.PROJECTS[self.daemon.name].asset_name(version))

    # --- the lifecycle -------------------------------------------------------------------------------------------

    def execute(self, args: dict[str, t.Any], host: WindowsHost, task_vars: dict[str, t.Any]) -> dict[str, t.Any]:
        desired = self.desired(args)
        read = self.state_steps(desired)
        scratch = []
        if desired.state == "present" and not self.check_mode:
            # put_file cannot create folders, and a fourth round trip just for one would break the budget:
            # make sure our scratch folder exists while reading (a no-op once it does).
            scratch = [Step("directory_ensure", {"Path": HOST_ARTIFACT_DIR})]
        feature = []
        if desired.state == "present":
            # Read in the same round trip; a running service of ours proves the feature and skips DISM's seconds.
            feature = [Step("optional_feature_state", {"Name": CONTAINERS_FEATURE,
                                                       "SkipIfServiceRunning": desired.service_name})]
        answers = host.run(scratch + feature + read)[len(scratch):]
        if feature:
            self.check_containers_feature(host.host, args, answers.pop(0))
        observed = self.observe(answers)
        plan = self.plan(desired, observed)
        if desired.state == "absent" and plan.changed:
            # Our scratch folder, then ours above it, go with the last file of ours in them (another daemon's staged
            # archive keeps them); same round trip as the removal, and never a change of its own.
            plan.steps.append(Step("directory_remove_empty", {"Path": [HOST_ARTIFACT_DIR, HOST_DIR]}))
        result = self.result(desired, observed, plan)
        for warning in [*plan.warnings, *self.warnings(desired, observed)]:
            display.warning(f"{host.host}: {self.module_name}: {warning}")
        if desired.state == "present" and not args["verify_checksum"] and (self.check_mode or not plan.needs_archive):
            # prepare() warns when it fetches; warn on runs that fetch nothing as well.
            display.warning(f"{self.module_name}: verify_checksum is false: {self.daemon.name} archives are installed "
                            "WITHOUT checksum verification; remove verify_checksum: false to verify them")
        if not plan.changed or self.check_mode:
            return result
        return self.apply(args, host, desired, observed, plan, result)

    def result(self, desired: _daemon.Desired, observed: _daemon.Observed, plan: _daemon.Plan) -> dict[str, t.Any]:
        present = desired.state == "present"
        service = None
        if present:
            # What the host reported; an apply updates it from the step answers (service_after).
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

    def apply(self, args: dict[str, t.Any], host: WindowsHost, desired: _daemon.Desired,
              observed: _daemon.Observed, plan: _daemon.Plan, result: dict[str, t.Any]) -> dict[str, t.Any]:
        steps = list(plan.steps)
        if plan.needs_archive:
            try:
                artifact = _artifacts.prepare(self.daemon.name, {**args, "version": desired.version},
                                              download=True, warn=display.warning)
                staging, _transferred = _artifacts.stage(host, artifact, desired.archive_path, observed.archive_sha256)
            except _artifacts.ArtifactError as exc:
                raise ModuleFailure(f"{self.module_name}: {exc}", option=exc.option) from None
            steps = staging + steps
        try:
            answers = host.run(steps)
        except HostError as exc:
            ran = steps[:len(exc.steps_done)]
            undo = _daemon.recovery(desired, observed, ran)
            if not undo:
                raise
            return self.roll_back(host, desired, observed, undo, ran, failure=exc.short_msg, log_tail=[])
        service_after(result, desired, steps, answers)
        report_killed(result, host.host, steps, answers)
        for warning in _daemon.settle_defender(steps, answers, result["changes"]):
            # Exclusions managed by policy do not change: say so, and do not count it as a change.
            display.warning(f"{host.host}: {self.module_name}: {warning}")
        result["changed"] = bool(result["changes"])
        started = [a for s, a in zip(steps, answers)
                   if s.script == "service_start" and s.params["Name"] == desired.service_name]
        if plan.rollback and started and not started[-1].get("started"):
            return self.roll_back(host, desired, observed, plan.rollback, steps,
                                  failure=f"{self.daemon.name} {desired.version} did not start "
                                          f"(service status {started[-1].get('status')})",
                                  log_tail=started[-1].get("log_tail"))
        if started:
            result["service"]["status"] = started[-1].get("status", "Running")
        return result

    def roll_back(self, host: WindowsHost, desired: _daemon.Desired, observed: _daemon.Observed,
                  undo: list[Step], ran: list[Step], *, failure: str, log_tail: t.Any) -> t.NoReturn:
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


def service_after(result: dict[str, t.Any], desired: _daemon.Desired, steps: list[Step],
                  answers: list[dict[str, t.Any]]) -> None:
    """Update result.service with what the applied steps made true (not what the plan hoped for)."""
    service = result.get("service")
    if service is None:
        return
    for step, answer in zip(steps, answers):
        own = step.params.get("Name") == desired.service_name
        if _daemon.is_register(step):
            # <exe> --register-service creates an automatic-start service, stopped.
            service.update(status="Stopped", start_mode="Automatic", command_line=desired.command_line())
        elif step.script == "service_configure" and own:
            service["start_mode"] = answer.get("start_mode")
        elif step.script in ("service_stop", "service_start") and own and answer.get("status"):
            service["status"] = answer["status"]


def report_killed(result: dict[str, t.Any], host_name: str, steps: list[Step],
                  answers: list[dict[str, t.Any]]) -> None:
    """Say which service processes service_stop had to end (a hung stop, a process outliving Stopped)."""
    killed: list[dict[str, t.Any]] = []
    for step, answer in zip(steps, answers):
        if step.script != "service_stop":
            continue
        # service_stop answers the dependents it stopped as one flat list, then the service itself.
        for stopped in [*_daemon.as_list(answer.get("dependents")), answer]:
            if isinstance(stopped, dict) and stopped.get("killed"):
                killed.append({"service": stopped.get("name"), "pid": stopped.get("pid"),
                               "reason": stopped.get("reason")})
    for item in killed:
        display.warning(f"{host_name}: ended process {item['pid']} of service {item['service']}: {item['reason']}")
    if killed:
        result["killed"] = killed
