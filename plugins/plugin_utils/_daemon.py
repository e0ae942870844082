# Copyright (c) wcow.buildkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lifecycle every daemon we run as a Windows service shares: observed + desired -> plan (internal).

containerd and buildkitd are installed the same way: the release archive is staged and verified,
extracted into the install folder (the old one backed up beside it when the version changes),
registered as a service with its arguments frozen (`<exe> --register-service ...`), re-registered
when the frozen arguments drifted, started behind the log folder it needs, put back from the
backup when an upgrade fails (`recovery`), and removed with an optional purge. The machine PATH
and the Windows Defender process exclusion of its exe follow the same rules for both.

Pure functions, no I/O. Each step is a host script of the same name in `scripts/`, so "what
happens on the host when the config changes" is two hops: the step name here, then the script.

How a second daemon plugs in (what to provide):

1. A `DaemonSpec`: its name (artifact project, words of the change reasons), its exe in
   `<install_dir>\\bin`, and, when it has them, the argv that loads a config file the way the
   service does (`check_config`), the pipe a config found on the host serves (`found_pipe`)
   and the data folders a config names (`config_data_dirs`, deleted by purge).
2. A `Desired` subclass whose class attribute `daemon` is that spec and whose `service_args()`
   answers the arguments frozen into the service after the exe (the daemon's own flags); when
   a registration needs more than `--register-service` (a dependency on containerd), its
   `after_register()` steps, and when a start needs something first (containerd's pipe, a
   local group), its `before_start()` steps.
3. Nothing for reading the host: `state_step` sends `daemon_state.ps1` the spec's names and
   `observe` reads its answer. A daemon with more to read adds its own steps to the same round
   trip, and an `Observed` subclass for what they report.
Then `plan()` and `recovery()` work as they do for containerd, and `_daemon_action.DaemonAction`
runs read -> plan -> apply -> roll back for the action plugin.
"""

from __future__ import annotations

import dataclasses
import hashlib
import ntpath
import typing as t

from ._host import Step
from ._quote import join_win32, split_win32

SC_EXE = r"C:\Windows\System32\sc.exe"
DEFENDER_ADD = "add Windows Defender process exclusions"
DEFENDER_REMOVE = "remove Windows Defender process exclusions"


def _nothing_found(config_text: str | None) -> None:
    del config_text


def _no_data_dirs(config_text: str | None) -> list[str]:
    del config_text
    return []


@dataclasses.dataclass(frozen=True)
class DaemonSpec:
    """What one daemon is: the facts the shared lifecycle needs that differ from daemon to daemon."""

    # Artifact project (_artifacts.PROJECTS) and the word in change reasons ("install containerd 2.1.5").
    name: str
    # The service's exe, in <install_dir>\bin.
    exe_name: str
    # Arguments after the exe that load a config file exactly as the service would, failing on one it rejects;
    # None when the daemon has no such check (the config is then only tried by starting the service).
    check_config: t.Callable[[str], list[str]] | None = None
    # The pipe a config found on the host makes the daemon serve (None: the default); used to start it as found.
    found_pipe: t.Callable[[str | None], str | None] = _nothing_found
    # The data folders a config names (defaults filled in), deleted by purge with the folders found.
    config_data_dirs: t.Callable[[str | None], list[str]] = _no_data_dirs
    # Services started again after this one restarts (they hold a connection to it), even when not dependents.
    companions: tuple[str, ...] = ()
    # Release archives of this daemon in the host's artifact folder (Get-ChildItem -Filter), deleted once unused.
    archive_filter: str = "*.tar.gz"
    # Other daemons' pipes worth knowing about (Docker Engine's containerd), answered in `pipes_present`.
    other_pipes: tuple[str, ...] = ()
    # Processes (Get-Process names) the daemon leaves running, counted in `process_counts` (containerd's shims).
    process_names: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True, kw_only=True)
class Desired:
    """What the task asks for, with every path resolved. Subclass per daemon: set `daemon`, define service_args()."""

    daemon: t.ClassVar[DaemonSpec]

    state: str
    install_dir: str
    config_path: str
    service_name: str
    log_file: str
    # None (unset) changes no exclusion; True adds ours, False removes ours.
    defender_exclusion: bool | None
    purge: bool
    version: str | None = None
    config_text: str | None = None
    archive_path: str | None = None
    # The pipe the service serves once ready (empty: do not wait for a pipe).
    pipe_address: str = ""
    data_dirs: tuple[str, ...] = ()
    start_timeout: int = 60

    @property
    def bin_dir(self) -> str:
        return ntpath.join(self.install_dir, "bin")

    @property
    def exe(self) -> str:
        return ntpath.join(self.bin_dir, self.daemon.exe_name)

    @property
    def backup_dir(self) -> str:
        return self.install_dir.rstrip("\\") + ".previous"

    @property
    def config_sha256(self) -> str | None:
        """Digest of the exact bytes file_write puts on the host (UTF-8, no BOM)."""
        return None if self.config_text is None else hashlib.sha256(self.config_text.encode("utf-8")).hexdigest()

    @property
    def pipe_name(self) -> str:
        return self.pipe_address.rsplit("\\", 1)[-1]

    def service_args(self) -> list[str]:
        """Arguments frozen into the service at registration (after the exe)."""
        raise NotImplementedError

    def command_line(self) -> str:
        """The ImagePath `<exe> --register-service` writes for these arguments."""
        return join_win32([self.exe, "--run-service", *self.service_args()])

    def after_register(self) -> list[Step]:
        """Steps that complete every registration of the service, e.g. `service_configure` with DependsOn."""
        return []

    def before_start(self) -> list[Step]:
        """Steps every start of the service needs first (after its log folder), e.g. waiting for another pipe."""
        return []


@dataclasses.dataclass(frozen=True, kw_only=True)
class Observed:
    """What the daemon's state step reported."""

    version: str | None
    binary_exists: bool
    service: dict[str, t.Any] | None
    companions: tuple[dict[str, t.Any], ...]
    data_dirs_present: tuple[str, ...]
    staged_archives: tuple[str, ...]
    config_text: str | None
    machine_path: tuple[str, ...]
    defender_exclusions: tuple[str, ...] | None
    archive_sha256: str | None
    pipe_ready: bool
    # Digest of the config file's bytes; drift is decided on it (config_text is for the diff only).
    config_sha256: str | None = None
    # 'running', 'missing' (no Defender cmdlets) or 'off' (cmdlets throw; defender_error says why).
    defender_status: str = "running"
    defender_error: str | None = None
    # Which of the spec's other_pipes exist, and how many of each of its process_names run.
    pipes_present: tuple[str, ...] = ()
    process_counts: dict[str, int] = dataclasses.field(default_factory=dict)

    @property
    def running_companions(self) -> list[str]:
        return [c["name"] for c in self.companions if c.get("status") == "Running"]


def as_list(value: t.Any) -> list[t.Any]:
    """PowerShell collapses one-element arrays to a scalar in JSON; undo that."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def observed_fields(answer: dict[str, t.Any], parse_version: t.Callable[[str], str | None]) -> dict[str, t.Any]:
    """The shared Observed fields from a state step's answer (for a subclass to add its own to)."""
    binary = answer.get("binary") or {}
    exclusions = answer.get("defender_exclusions")
    counts = answer.get("process_counts")
    return {
        "version": parse_version(binary.get("version_output") or "") if binary.get("exists") else None,
        "binary_exists": bool(binary.get("exists")),
        "service": answer.get("service") or None,
        "companions": tuple(as_list(answer.get("companions"))),
        "data_dirs_present": tuple(as_list(answer.get("data_dirs_present"))),
        "staged_archives": tuple(as_list(answer.get("staged_archives"))),
        "config_text": (answer.get("config") or {}).get("content"),
        "config_sha256": ((answer.get("config") or {}).get("sha256") or "").lower() or None,
        "defender_status": answer.get("defender_status") or ("running" if exclusions is not None else "missing"),
        "defender_error": answer.get("defender_error"),
        "machine_path": tuple(as_list(answer.get("machine_path"))),
        "defender_exclusions": None if exclusions is None else tuple(as_list(exclusions)),
        "archive_sha256": answer.get("archive_sha256"),
        "pipe_ready": bool(answer.get("pipe_ready")),
        "pipes_present": tuple(as_list(answer.get("pipes_present"))),
        # An empty hashtable may come back as an empty list from other serialisers: anything not a dict is none.
        "process_counts": {str(k): int(v or 0) for k, v in counts.items()} if isinstance(counts, dict) else {},
    }


def observe(answer: dict[str, t.Any], parse_version: t.Callable[[str], str | None]) -> Observed:
    return Observed(**observed_fields(answer, parse_version))


def state_step(desired: Desired, artifact_dir: str) -> Step:
    """daemon_state: everything the plan decides on, read in one step (it changes nothing)."""
    spec = desired.daemon
    return Step("daemon_state", {
        "InstallDir": desired.install_dir,
        "ExeName": spec.exe_name,
        "ServiceName": desired.service_name,
        "ConfigPath": desired.config_path,
        "ArchivePath": desired.archive_path,
        "PipeName": desired.pipe_name,
        "OtherPipes": list(spec.other_pipes),
        "CompanionServices": list(spec.companions),
        "ProcessNames": list(spec.process_names),
        "DataDirs": list(desired.data_dirs),
        "ArtifactDir": artifact_dir,
        "ArtifactFilter": spec.archive_filter,
    })


@dataclasses.dataclass
class Plan:
    """The steps of the apply round trip, and what to tell the user."""

    changes: list[str] = dataclasses.field(default_factory=list)
    steps: list[Step] = dataclasses.field(default_factory=list)
    needs_archive: bool = False
    rollback: list[Step] = dataclasses.field(default_factory=list)
    warnings: list[str] = dataclasses.field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.changes)

    def add(self, reason: str, *steps: Step) -> None:
        if reason not in self.changes:
            self.changes.append(reason)
        self.steps.extend(steps)


def same_command_line(observed: str | None, desired: str) -> bool:
    """Compare service command lines as argv: quoting may differ, the exe path's case may too."""
    if not observed:
        return False
    have, want = split_win32(observed), split_win32(desired)
    return bool(have) and have[0].lower() == want[0].lower() and have[1:] == want[1:]


def _path_has(entries: t.Iterable[str], entry: str) -> bool:
    return any(e.rstrip("\\").lower() == entry.rstrip("\\").lower() for e in entries)


def _register(desired: Desired) -> list[Step]:
    return [Step("run_command", {
        "FilePath": desired.exe,
        "Arguments": join_win32(["--register-service", *desired.service_args()]),
        "FailOnError": True,
    }), *desired.after_register()]


def _unregister(desired: Desired) -> list[Step]:
    # sc.exe, not `<exe> --unregister-service`: containerd loads its config (the default path) before it
    # unregisters, so a config it rejects, or a missing or foreign binary, would make the service impossible to remove.
    return [Step("run_command", {"FilePath": SC_EXE, "Arguments": join_win32(["delete", desired.service_name]),
                                 "FailOnError": True}),
            Step("service_wait_gone", {"Name": desired.service_name, "TimeoutSeconds": desired.start_timeout})]


def _is_unregister(step: Step) -> bool:
    return step.script == "run_command" and step.params.get("FilePath") == SC_EXE \
        and str(step.params.get("Arguments", "")).startswith("delete ")


def is_register(step: Step) -> bool:
    """A `<exe> --register-service ...` step."""
    return step.script == "run_command" and str(step.params.get("Arguments", "")).startswith("--register-service")


def _register_observed(desired: Desired, observed: Observed) -> list[Step]:
    """Register the service again exactly as it was found (its own exe and frozen arguments)."""
    argv = split_win32((observed.service or {}).get("command_line") or "")
    if not argv:
        return []
    return [Step("run_command", {"FilePath": argv[0],
                                 "Arguments": join_win32(["--register-service", *[a for a in argv[1:] if a != "--run-service"]]),
                                 "FailOnError": True}), *desired.after_register()]


def recovery(desired: Desired, observed: Observed, ran: t.Sequence[Step]) -> list[Step]:
    """What puts the host back as it was found, after the steps in `ran` completed and the next one failed.

    Binaries and config come back from the backup (when install_backup ran); a registration that was removed
    (and maybe replaced) is put back as observed; then the services that were running are started again.
    Empty when nothing that ran needs undoing.
    """
    if desired.state != "present":  # removal goes forward: a failure is reported, nothing is put back
        return []
    backed_up = any(step.script == "install_backup" for step in ran)
    unregistered = observed.service is not None and any(_is_unregister(step) for step in ran)
    # Stopped, but nothing it runs was replaced yet: starting it again is enough. Once the binaries or the
    # config were replaced without a backup, starting would only repeat the failure.
    replaced = any(step.script == "archive_extract"
                   or (step.script == "file_write" and step.params.get("Path") == desired.config_path) for step in ran)
    stopped = any(step.script == "service_stop" for step in ran) and (backed_up or not replaced)
    if not (backed_up or unregistered or stopped):
        return []
    dependents = observed.running_companions
    # install_restore replaces bin: whatever still runs from it (the new version's shims) must end first.
    steps = _stop(desired, dependents, binaries=backed_up)
    if backed_up:
        steps.append(Step("install_restore", {"InstallDir": desired.install_dir, "ConfigPath": desired.config_path,
                                              "BackupDir": desired.backup_dir}))
    if unregistered:
        after = list(ran)[[_is_unregister(step) for step in ran].index(True):]
        if any(is_register(step) for step in after):  # the new registration replaced the old one
            steps.extend(_unregister(desired))
        steps.extend(_register_observed(desired, observed))
    if (observed.service or {}).get("status") == "Running":
        steps.extend(_start(as_found(desired, observed), dependents, require=True))
    return steps


def as_found(desired: Desired, observed: Observed) -> Desired:
    """The service as it ran before: its pipe (from the config found) and its log file (from its command line)."""
    argv = split_win32((observed.service or {}).get("command_line") or "")
    log_file = argv[argv.index("--log-file") + 1] if "--log-file" in argv[:-1] else desired.log_file
    found = desired.daemon.found_pipe(observed.config_text)
    pipe = desired.pipe_address if found is None else found
    return dataclasses.replace(desired, pipe_address=pipe, log_file=log_file)


def _check_config(desired: Desired, path: str) -> list[Step]:
    """The daemon loads the config at `path` as its service would (nothing when it has no such check)."""
    if desired.daemon.check_config is None:
        return []
    return [Step("run_command", {"FilePath": desired.exe, "Arguments": join_win32(desired.daemon.check_config(path)),
                                 "FailOnError": True})]


def _stop(desired: Desired, companions: list[str], binaries: bool = False) -> list[Step]:
    """Stop companions, then the service; with binaries, also end what still runs from bin.

    service_stop waits (bounded) until each service's own process has exited, ending it when
    it outlives the wait: Windows keeps a running image locked. Child processes (containerd's
    shims) only go when bin is replaced or deleted - a plain restart leaves running containers alone.
    """
    # Companions first: they hold the daemon's pipe (buildkitd holds containerd's, and its shims).
    steps = [Step("service_stop", {"Name": name, "TimeoutSeconds": desired.start_timeout})
             for name in [*companions, desired.service_name]]
    return steps + (_end_bin_processes(desired) if binaries else [])


def _end_bin_processes(desired: Desired) -> list[Step]:
    """End every process whose image is in our bin (shims, a ctr.exe), not another install's of the same name."""
    return [Step("process_stop", {"Directory": desired.bin_dir, "TimeoutSeconds": desired.start_timeout})]


def _start(desired: Desired, dependents: list[str], require: bool) -> list[Step]:
    steps = [Step("service_start", {
        "Name": desired.service_name, "PipeName": desired.pipe_name, "LogFile": desired.log_file,
        "Require": require, "TimeoutSeconds": desired.start_timeout,
    })]
    # A restarted daemon leaves what used it (buildkitd's containerd worker) stale: restart what depended on it.
    steps += [Step("service_start", {"Name": name, "OnlyIfRunning": desired.service_name, "Require": False,
                                     "TimeoutSeconds": desired.start_timeout}) for name in dependents]
    return steps


def plan_present(desired: Desired, observed: Observed) -> Plan:
    plan = Plan()
    name = desired.daemon.name
    if not desired.version or desired.config_text is None:
        raise AssertionError("plan_present needs a resolved version and a rendered config")
    installing = observed.version is None
    switching = not installing and observed.version != desired.version
    # ReadAllText hides a BOM or UTF-16 (which containerd rejects): compare the bytes' digests.
    config_differs = observed.config_sha256 != desired.config_sha256
    service = observed.service
    drift = service is not None and not same_command_line(service.get("command_line"), desired.command_line())
    dependents = observed.running_companions
    # A reinstall over an unreadable binary replaces bin under a service that may be running.
    restart = service is not None and (installing or switching or config_differs or drift)
    plan.needs_archive = installing or switching
    replacing = plan.needs_archive and (observed.binary_exists or service is not None)

    # A daemon that loads its config on start and on --register-service (containerd) must have a config it
    # rejects caught while the old service is still registered (and, when the binary stays, still running). With
    # the same binary, try the new config as a candidate file before stopping anything; a new binary can only try
    # it once extracted, before the registration is touched, and a failure then rolls back from the backup.
    candidate = desired.config_path + ".new"
    checks = _check_config(desired, candidate)
    if not plan.needs_archive and (config_differs or drift) and checks:
        plan.steps.extend([Step("file_write", {"Path": candidate, "Content": desired.config_text}),
                           *checks, Step("path_remove", {"Path": candidate})])
    if restart:
        plan.steps.extend(_stop(desired, dependents, binaries=replacing))
    elif replacing:
        plan.steps.extend(_end_bin_processes(desired))
    if switching:
        direction = "upgrade" if version_key(desired.version) > version_key(observed.version) else "downgrade"
        plan.add(f"{direction} {name} {observed.version} -> {desired.version}",
                 Step("install_backup", {"InstallDir": desired.install_dir, "ConfigPath": desired.config_path,
                                         "BackupDir": desired.backup_dir}))
    if plan.needs_archive:
        if installing:
            plan.add(f"install {name} {desired.version}")
        plan.steps.append(Step("archive_extract", {"Archive": desired.archive_path, "InstallDir": desired.install_dir}))
        # Archives of other versions staged earlier are no longer needed (rollback uses the backup folder).
        plan.steps.extend(Step("path_remove", {"Path": path}) for path in observed.staged_archives
                          if path.lower() != (desired.archive_path or "").lower())
    if config_differs:
        plan.add(f"write {desired.config_path}",
                 Step("file_write", {"Path": desired.config_path, "Content": desired.config_text}))
    if not _path_has(observed.machine_path, desired.bin_dir):
        plan.add(f"add {desired.bin_dir} to the machine PATH",
                 Step("machine_path", {"Entry": desired.bin_dir, "State": "present"}))
    _add_defender_steps(plan, desired, observed)
    if plan.needs_archive:
        plan.steps.extend(_check_config(desired, desired.config_path))
    if service is None:
        plan.add(f"register service {desired.service_name}", *_register(desired))
    elif drift:
        plan.add(f"re-register service {desired.service_name}: command line differs",
                 *_unregister(desired), *_register(desired))
    elif service.get("start_mode") != "Automatic":
        plan.add(f"set service {desired.service_name} to start automatically",
                 Step("service_configure", {"Name": desired.service_name, "StartMode": "Automatic"}))
    if service is None or restart or service.get("status") != "Running" or not observed.pipe_ready:
        if service is not None and not restart:
            plan.add(f"start service {desired.service_name}")
        # The daemons open --log-file without creating its folder: without it the service stops at once.
        plan.steps.append(Step("directory_ensure", {"Path": ntpath.dirname(desired.log_file)}))
        plan.steps.extend(desired.before_start())
        # After a version switch the controller decides on rollback, so a failed start answers, not throws.
        plan.steps.extend(_start(desired, dependents, require=not switching))
    if switching:
        plan.rollback = recovery(desired, observed, plan.steps)
    return plan


def _add_defender_steps(plan: Plan, desired: Desired, observed: Observed) -> None:
    """Only our exe's exclusion, and only when asked: an administrator's own exclusions stay.

    present: unset changes nothing, true adds ours, false removes ours. absent: ours is removed
    (the binary it names is deleted), whatever the option says.
    """
    if desired.state == "present" and desired.defender_exclusion is None:
        return
    wanted = desired.state == "present" and bool(desired.defender_exclusion)
    if observed.defender_exclusions is None:
        if desired.defender_exclusion is not None:
            why = ("not installed (no Defender cmdlets)" if observed.defender_status == "missing"
                   else f"not running ({observed.defender_error or 'its cmdlets fail'})")
            plan.warnings.append(f"defender_exclusion: Windows Defender is {why}; no process exclusion to "
                                 f"{'add' if wanted else 'remove'} for {desired.exe}")
        return
    present = {e.lower() for e in observed.defender_exclusions}
    if wanted and desired.exe.lower() not in present:
        plan.add(DEFENDER_ADD, Step("defender_exclusion", {"Processes": [desired.exe], "State": "present"}))
    elif not wanted and desired.exe.lower() in present:
        plan.add(DEFENDER_REMOVE, Step("defender_exclusion", {"Processes": [desired.exe], "State": "absent"}))


def settle_defender(steps: t.Sequence[Step], answers: t.Sequence[dict[str, t.Any]],
                    changes: list[str]) -> list[str]:
    """After apply: a defender step that changed nothing (policy-managed, Defender off) is no change.

    Drops its reason from `changes` (in place) and answers the warnings to show.
    """
    warnings: list[str] = []
    for step, answer in zip(steps, answers):
        if step.script != "defender_exclusion":
            continue
        note = answer.get("warning") or answer.get("skipped")
        if note:
            warnings.append(f"defender_exclusion: {note}")
        if not answer.get("changed"):
            reason = DEFENDER_ADD if step.params.get("State") == "present" else DEFENDER_REMOVE
            if reason in changes:
                changes.remove(reason)
    return warnings


def plan_absent(desired: Desired, observed: Observed) -> Plan:
    plan = Plan()
    if observed.service is not None:
        plan.add(f"remove service {desired.service_name}",
                 *_stop(desired, observed.running_companions), *_unregister(desired))
    if _path_has(observed.machine_path, desired.bin_dir):
        plan.add(f"remove {desired.bin_dir} from the machine PATH",
                 Step("machine_path", {"Entry": desired.bin_dir, "State": "absent"}))
    _add_defender_steps(plan, desired, observed)
    # Child processes (containerd's shims) keep running after the service stops; they lock bin and hold data open.
    end_processes = _end_bin_processes(desired) if observed.binary_exists else []
    if desired.purge:
        doomed = purge_paths(desired, observed)
        if doomed:
            # Before the config goes: if something is left, the next run still knows where the data is.
            # One step for all of them: it deletes what it can everywhere, then names whatever is left.
            plan.add(f"purge {', '.join(doomed)}", *end_processes, Step("path_remove", {"Path": doomed}))
            end_processes = []
    if observed.binary_exists or observed.config_text is not None:
        plan.add(f"delete {desired.install_dir}", *end_processes,
                 Step("path_remove", {"Path": desired.install_dir}),
                 Step("path_remove", {"Path": desired.backup_dir}))
    if observed.staged_archives:
        plan.add(f"delete staged {desired.daemon.name} archives",
                 *(Step("path_remove", {"Path": path}) for path in observed.staged_archives))
    return plan


def purge_paths(desired: Desired, observed: Observed) -> list[str]:
    """What purge deletes: the data folders found plus those the installed config names.

    A folder inside another one on the list goes with it.
    """
    candidates = [*observed.data_dirs_present, *desired.daemon.config_data_dirs(observed.config_text)]
    doomed: list[str] = []
    for path in sorted(candidates, key=lambda p: len(p.rstrip("\\"))):
        folder = path.rstrip("\\")
        if not any(folder.lower() == d.lower() or folder.lower().startswith(d.lower() + "\\") for d in doomed):
            doomed.append(folder)
    return doomed


def plan(desired: Desired, observed: Observed) -> Plan:
    return plan_present(desired, observed) if desired.state == "present" else plan_absent(desired, observed)


def version_key(version: str | None) -> tuple[int, ...]:
    """A release version as numbers, for ordering (a pre-release suffix is ignored)."""
    return tuple(int(part) for part in (version or "0").split("-")[0].split(".") if part.isdigit())
