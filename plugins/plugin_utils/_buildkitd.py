# Copyright (c) wcow.buildkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What is particular to buildkitd in win_buildkitd's plan (internal).

The lifecycle (install, register, drift, upgrade with rollback, removal, PATH, Defender) is the
shared one in `_daemon`; here is what makes it buildkitd's:

- its frozen flags (`_buildkitd_flags.register_argv`, minus the exe and `--register-service`);
- every registration is completed by `service_configure` with `DependsOn` (sc.exe config depend=
  containerd), so the SCM starts containerd first and win_containerd's restarts reach buildkitd;
- every start first ensures the `--group` groups exist (buildkitd refuses to start otherwise), the
  CDI folder when CDI is on, and starts containerd's service waiting for its pipe;
- TLS files for the TCP listener written to the host (keys SYSTEM/Administrators only), a change
  restarts the service once;
- one scoped firewall rule for the TCP port, removed with the service;
- `buildctl.exe debug workers` through the pipe after every start, checked by `_buildkitd_verify`, then
  the tail of buildkitd's log (`file_tail`), so a daemon that started and then died is reported with it.

Pure functions, no I/O. Each step is a host script of the same name in `scripts/`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import ntpath
import typing as t

from . import _daemon
from ._daemon import DaemonSpec, Plan
from ._host import Step
from ._quote import join_win32

DEFAULT_PIPE = r"\\.\pipe\buildkitd"
DEFAULT_DATA_DIR = r"C:\ProgramData\buildkitd"
CONTAINERD_PIPE = "containerd-containerd"
DOCKER_PIPE = "docker-containerd"
DOCKER_SERVICE = "docker"

BUILDKITD = DaemonSpec(
    name="buildkit",
    exe_name="buildkitd.exe",
    archive_filter="buildkit-v*.windows-*.tar.gz",
    other_pipes=(CONTAINERD_PIPE, DOCKER_PIPE),
)


def pipe_name(address: str) -> str:
    r"""`\\.\pipe\NAME`, `//./pipe/NAME` or `npipe:////./pipe/NAME` -> NAME."""
    return address.replace("/", "\\").rstrip("\\").rsplit("\\", 1)[-1]


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclasses.dataclass(frozen=True, kw_only=True)
class Desired(_daemon.Desired):
    """What the task asks for, with every path resolved and the service argv decided for the version."""

    daemon: t.ClassVar[DaemonSpec] = BUILDKITD

    pipe_address: str = DEFAULT_PIPE
    data_dirs: tuple[str, ...] = (DEFAULT_DATA_DIR,)
    # The arguments frozen after the exe (register_argv without the exe and --register-service).
    args: tuple[str, ...] = ()
    # The service containerd runs as (the dependency), and the pipe it serves (waited for before a start).
    containerd_service: str | None = "containerd"
    containerd_pipe: str = CONTAINERD_PIPE
    groups: tuple[str, ...] = ()
    extra_dirs: tuple[str, ...] = ()
    # (host path, PEM text) of the TLS files; the keys among them get a private ACL.
    tls_files: tuple[tuple[str, str], ...] = ()
    tls_keys: tuple[str, ...] = ()
    # (option, path) of TLS files the user keeps on the host (tls_cert: 'C:\\pki\\cert.pem'): never uploaded,
    # checked to exist in the state read; the keys among them (tls_host_keys) get the private ACL too.
    tls_host_files: tuple[tuple[str, str], ...] = ()
    tls_host_keys: tuple[str, ...] = ()
    # Certificates not made yet (check mode without a CA on the controller): the change is only reported.
    tls_pending: bool = False
    firewall_name: str = "wcow.buildkit-buildkitd-tcp"
    # Port and remote addresses of the TCP listener's rule; None: no rule (removed when found).
    firewall_port: int | None = None
    firewall_addresses: tuple[str, ...] = ()
    # Flags the installed binary's --help must list (read in the state read with exe_help), e.g. Hyper-V's.
    help_flags: tuple[str, ...] = ()
    # buildctl.exe argv (absolute exe first) that lists the workers after a start; empty: no check.
    verify_argv: tuple[str, ...] = ()

    def service_args(self) -> list[str]:
        return list(self.args)

    def after_register(self) -> list[Step]:
        if not self.containerd_service:
            return []
        return [Step("service_configure", {"Name": self.service_name, "StartMode": "Automatic",
                                           "DependsOn": [self.containerd_service]})]

    def before_start(self) -> list[Step]:
        steps = [Step("directory_ensure", {"Path": path}) for path in self.extra_dirs]
        if self.groups:
            steps.append(Step("local_group_ensure", {"Names": list(self.groups)}))
        if self.containerd_service:
            # Starts containerd when it is stopped and waits for its pipe: buildkitd without it has no worker.
            steps.append(Step("service_start", {"Name": self.containerd_service, "PipeName": self.containerd_pipe,
                                                "Require": True, "TimeoutSeconds": self.start_timeout}))
        return steps

    def firewall_step(self, check_only: bool = False) -> Step:
        if self.state == "present" and self.firewall_port:
            params: dict[str, t.Any] = {"Name": self.firewall_name, "State": "present", "Port": self.firewall_port,
                                        "RemoteAddresses": list(self.firewall_addresses),
                                        "DisplayName": f"buildkitd ({self.service_name}) TCP {self.firewall_port}"}
        else:
            params = {"Name": self.firewall_name, "State": "absent"}
        if check_only:
            params["CheckOnly"] = True
        return Step("firewall_rule", params)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Observed(_daemon.Observed):
    """daemon_state's answer plus the firewall rule check and the TLS files' digests."""

    firewall_changes: bool = False
    firewall_before: dict[str, t.Any] | None = None
    tls_sha256: dict[str, str | None] = dataclasses.field(default_factory=dict)
    # Host key files (tls_host_keys) whose ACL is not yet SYSTEM + Administrators only.
    tls_acl_stale: tuple[str, ...] = ()
    # The installed binary's --help (exe_help), when it was read and the binary ran; else None.
    help_text: str | None = None

    def missing_host_files(self, desired: Desired) -> list[tuple[str, str]]:
        """(option, path) of the user's host TLS files the state read did not find."""
        return [(option, path) for option, path in desired.tls_host_files if not self.tls_sha256.get(path.lower())]

    @property
    def docker_containerd(self) -> bool:
        return DOCKER_PIPE in self.pipes_present

    @property
    def containerd_pipe_present(self) -> bool:
        return CONTAINERD_PIPE in self.pipes_present


def state_steps(desired: Desired, artifact_dir: str) -> list[Step]:
    """Everything the plan decides on, in one round trip: daemon_state, the rule (CheckOnly), the TLS files."""
    steps = [_daemon.state_step(desired, artifact_dir), desired.firewall_step(check_only=True),
             *(Step("verify_file", {"Path": path}) for path, _content in desired.tls_files),
             *(Step("verify_file", {"Path": path}) for _option, path in desired.tls_host_files)]
    if desired.tls_host_keys:
        steps.append(Step("file_acl_private", {"Path": list(desired.tls_host_keys), "CheckOnly": True}))
    if desired.help_flags:
        steps.append(Step("exe_help", {"Path": ntpath.join(desired.install_dir, "bin", desired.daemon.exe_name)}))
    return steps


def observe(answers: list[dict[str, t.Any]], parse_version: t.Callable[[str], str | None]) -> Observed:
    fields = _daemon.observed_fields(answers[0], parse_version)
    firewall = answers[1] if len(answers) > 1 else {}
    files = [a for a in answers[2:] if "sha256" in a or ("exists" in a and "help" not in a)]
    acl = [a for a in answers[2:] if "updated" in a]  # file_acl_private's CheckOnly answer
    helps = [a for a in answers[2:] if "help" in a and a.get("exists") and a.get("rc") == 0]
    digests = {str(a.get("path") or "").lower(): (a.get("sha256") if a.get("exists") else None) for a in files}
    stale = tuple(str(p) for p in (acl[0].get("updated") or [])) if acl else ()
    return Observed(**fields, firewall_changes=bool(firewall.get("changed")),
                    firewall_before=firewall.get("before") or None, tls_sha256=digests, tls_acl_stale=stale,
                    help_text=str(helps[0].get("help") or "") if helps else None)


def _starts(desired: Desired, steps: list[Step]) -> bool:
    return any(s.script == "service_start" and s.params.get("Name") == desired.service_name for s in steps)


def plan(desired: Desired, observed: Observed) -> Plan:
    if desired.state != "present":
        result = _daemon.plan_absent(desired, observed)
        if observed.firewall_changes:
            result.add(f"remove firewall rule {desired.firewall_name}", desired.firewall_step())
        return result
    result = _daemon.plan_present(desired, observed)
    service = observed.service

    stale = [(path, content) for path, content in desired.tls_files
             if observed.tls_sha256.get(path.lower()) != sha256(content)]
    if desired.tls_pending:
        result.add("issue TLS certificates for the TCP listener")
    elif stale:
        # In ProgramData, outside what an install replaces: written first, read by the next start.
        writes = [Step("file_write", {"Path": path, "Content": content}, secrets=("Content",) if path in
                       desired.tls_keys else ()) for path, content in stale]
        keys = [path for path, _content in desired.tls_files if path in desired.tls_keys]
        writes += [Step("file_acl_private", {"Path": keys})] if keys else []
        result.add(f"write TLS files {', '.join(path for path, _content in stale)}")
        result.steps[:0] = writes
        if service is not None and not _starts(desired, result.steps):
            result.add(f"restart service {desired.service_name}: TLS files changed",
                       Step("service_stop", {"Name": desired.service_name, "TimeoutSeconds": desired.start_timeout}),
                       *desired.before_start(),
                       Step("service_start", {"Name": desired.service_name, "PipeName": desired.pipe_name,
                                              "LogFile": desired.log_file, "Require": True,
                                              "TimeoutSeconds": desired.start_timeout}))
    if observed.tls_acl_stale:
        # The user's own key on the host: readable by SYSTEM and Administrators only, as a key we write is.
        # First, so that buildkitd never starts while the key is readable by others.
        result.add(f"restrict the ACL of {', '.join(observed.tls_acl_stale)} to SYSTEM and Administrators")
        result.steps[:0] = [Step("file_acl_private", {"Path": list(observed.tls_acl_stale)})]
    if observed.firewall_changes:
        what = "configure" if desired.firewall_port else "remove"
        result.add(f"{what} firewall rule {desired.firewall_name}", desired.firewall_step())
    if desired.verify_argv and _starts(desired, result.steps):
        # The log's tail, read right after the check in the same round trip: a failed check reports it.
        # With allowed_groups, the pipe's DACL as buildkitd made it (read, never opening the pipe), checked after.
        acl = [Step("pipe_acl", {"Name": desired.pipe_name})] if desired.groups else []
        result.steps += [*acl, verify_step(desired), log_tail_step(desired)]
    return result


def pipe_acl_problems(groups: t.Sequence[str], answer: t.Mapping[str, t.Any]) -> list[str]:
    """Groups the pipe's DACL (pipe_acl's answer) does not allow to read and write, as messages."""
    if not answer.get("exists"):
        return [f"allowed_groups: the pipe \\\\.\\pipe\\{answer.get('name')} was not found to read its access list."]
    access = [r for r in answer.get("access") or [] if isinstance(r, t.Mapping) and r.get("type") == "Allow"]
    problems = []
    for group in groups:
        rights = [str(r.get("rights") or "") for r in access
                  if str(r.get("identity") or "").rsplit("\\", 1)[-1].lower() == group.rsplit("\\", 1)[-1].lower()]
        if not any(("Read" in r and "Write" in r) or "FullControl" in r for r in rights):
            found = "; ".join(f"{r.get('identity')}: {r.get('rights')}" for r in access) or "no allow rule"
            problems.append(f"allowed_groups: the pipe \\\\.\\pipe\\{answer.get('name')} does not let {group} read and "
                            f"write (its DACL: {found}).")
    return problems


def log_tail_step(desired: Desired) -> Step:
    return Step("file_tail", {"Path": desired.log_file, "Lines": 20})


def verify_step(desired: Desired) -> Step:
    return Step("run_command", {"FilePath": desired.verify_argv[0], "Arguments": join_win32(desired.verify_argv[1:]),
                                "FailOnError": False})


def is_verify(step: Step) -> bool:
    return step.script == "run_command" and str(step.params.get("FilePath", "")).lower().endswith("buildctl.exe")
