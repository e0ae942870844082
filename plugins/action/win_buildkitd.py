# Copyright (c) wcow.buildkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for wcow.buildkit.win_buildkitd: read, plan, apply (the shared daemon lifecycle).

TLS certificates are made here, on the controller, by `_certs` (the `cryptography` package): the
module, not the role, so one task decides, check mode knows whether a certificate would be issued
or renewed, and the renewal and the restart it needs land in the same plan.
"""

from __future__ import annotations

import ntpath
import os
import pathlib
import re
import typing as t

from ansible.utils.display import Display

from ..plugin_utils import _buildkitd, _buildkitd_config, _buildkitd_flags, _buildkitd_registries, _buildkitd_verify, _certs
from ..plugin_utils._action import ModuleFailure
from ..plugin_utils._host import HostError
from ..plugin_utils._daemon_action import HOST_ARTIFACT_DIR, DaemonAction, daemon_argument_spec

display = Display()

# The option a planner's message starts with: "tcp: ...", "cni config_path: ...", "config.grpc: ...".
_LEADING_OPTION = re.compile(r"^([a-z][a-z0-9_]*)\b")

DEFAULT_TLS_HOST_DIR = r"C:\ProgramData\buildkitd\certs"
DEFAULT_CA_DIR = "~/.local/share/wcow.buildkit/tls"

ARGUMENT_SPEC: dict[str, t.Any] = {
    **daemon_argument_spec(install_dir=r"C:\Program Files\buildkit", service_name="buildkitd",
                           log_file=r"C:\ProgramData\buildkitd\buildkitd.log"),
    "config": {"type": "dict", "default": {}},
    "root": {"type": "str"},
    "debug": {"type": "bool", "default": False},
    "allowed_groups": {"type": "list", "elements": "str", "default": []},
    "tcp": {"type": "str"},
    "tcp_insecure": {"type": "bool", "default": False},
    "tls_generate": {"type": "bool", "default": False},
    "tls_ca_dir": {"type": "path", "default": DEFAULT_CA_DIR},
    "tls_server_dir": {"type": "path"},
    "tls_client_dir": {"type": "path"},
    "tls_renew_days": {"type": "int", "default": _certs.RENEW_DAYS},
    "tls_san": {"type": "list", "elements": "str", "default": []},
    "tls_cert": {"type": "str"},
    "tls_key": {"type": "str", "no_log": True},
    "tls_ca": {"type": "str"},
    "tls_host_dir": {"type": "str", "default": DEFAULT_TLS_HOST_DIR},
    "firewall_remote_addresses": {"type": "list", "elements": "str", "default": ["LocalSubnet"]},
    "containerd_address": {"type": "str", "default": _buildkitd_flags.DEFAULT_CONTAINERD_ADDRESS},
    "containerd_service": {"type": "str"},
    "cni": {"type": "dict", "options": {
        "config_path": {"type": "str", "required": True},
        "binary_dir": {"type": "str", "required": True},
    }},
    "hyperv_isolation": {"type": "bool", "default": False},
    "verify": {"type": "bool", "default": True},
    "registries": {"type": "dict"},
    "registry_certs_dir": {"type": "str", "default": _buildkitd_registries.DEFAULT_CERTS_DIR},
}


# (host files as (path, PEM text), key paths, {cert, key, ca} host paths, certificates still to be made)
_Material = tuple[list[tuple[str, str]], list[str], dict[str, str], bool]


def is_host_path(value: t.Any) -> bool:
    r"""A Windows absolute path (C:\x or C:/x, or UNC \\server\share\x): a file on the host, not PEM text or a
    controller path (no POSIX controller path starts with a drive letter or two backslashes)."""
    text = str(value or "").strip()
    return bool(re.match(r"^[A-Za-z]:[\\/]", text) or text.startswith("\\\\")) and "-----BEGIN " not in text


class _Recording:
    """The host, remembering the steps and answers of its last run (the apply round trip)."""

    def __init__(self, host: t.Any):
        self._host = host
        self.steps: list[t.Any] = []
        self.answers: list[dict[str, t.Any]] = []

    def __getattr__(self, name: str) -> t.Any:
        return getattr(self._host, name)

    def run(self, steps: t.Sequence[t.Any]) -> list[dict[str, t.Any]]:
        answers = self._host.run(steps)
        self.steps, self.answers = list(steps), answers
        return answers


class ActionModule(DaemonAction):
    module_name = "wcow.buildkit.win_buildkitd"
    argument_spec = ARGUMENT_SPEC
    daemon = _buildkitd.BUILDKITD
    config_name = "buildkitd.toml"
    path_options = ("install_dir", "log_file", "config_path", "root", "tls_host_dir", "registry_certs_dir")

    _vars: dict[str, t.Any] = {}
    _tls_result: dict[str, t.Any] | None = None
    _host_tls: tuple[tuple[str, str], ...] = ()
    _endpoint: str = _buildkitd_flags.DEFAULT_PIPE

    def execute(self, args: dict[str, t.Any], host: t.Any, task_vars: dict[str, t.Any]) -> dict[str, t.Any]:
        self._vars = task_vars
        result = super().execute(args, host, task_vars)
        result["endpoint"] = self._endpoint if args["state"] == "present" else None
        if self._tls_result is not None:
            result["tls"] = self._tls_result
        return result

    def fail(self, message: str, option: str | None = None) -> t.NoReturn:
        """Fail naming the option: given, else the one the message starts with ("tcp: ...", "cni config_path: ...",
        "tls_key, tls_ca missing"), so that under the role only that option gets its "(role variable ...)"."""
        if option is None:
            match = _LEADING_OPTION.match(message)
            option = match[1] if match and match[1] in self.argument_spec else None
        raise ModuleFailure(f"{self.module_name}: {message}", option=option)

    # --- reading --------------------------------------------------------------------------------------------

    def state_steps(self, desired: _buildkitd.Desired) -> list[t.Any]:
        return _buildkitd.state_steps(desired, HOST_ARTIFACT_DIR)

    def observe(self, answers: list[dict[str, t.Any]]) -> _buildkitd.Observed:
        return _buildkitd.observe(answers, _buildkitd_flags.version_from_output)

    def plan(self, desired: _buildkitd.Desired, observed: _buildkitd.Observed) -> t.Any:
        missing = observed.missing_host_files(desired) if desired.state == "present" else []
        if missing:
            option, path = missing[0]
            others = "".join(f"; {o}: {p} is missing too" for o, p in missing[1:])
            folder = "registry_certs_dir" if option.startswith("registries.") else "tls_host_dir"
            self.fail(f"{option}: {path} does not exist on the host{others}. Copy it there first, or give the PEM text "
                      f"or a path on the controller instead (uploaded to {folder}).",
                      option=option.split(".", 1)[0])
        if desired.state == "present" and desired.help_flags and observed.help_text is not None \
                and observed.version == desired.version:
            listed = _buildkitd_flags.flags_from_help(observed.help_text)
            lacking = [flag for flag in desired.help_flags if flag not in listed]
            if lacking:
                self.fail(f"hyperv_isolation: the installed buildkit {observed.version} does not list "
                          f"{', '.join(lacking)} in its --help; a release whose help shows it is needed. Leave "
                          "hyperv_isolation false (process isolation), or choose such a version.",
                          option="hyperv_isolation")
        return _buildkitd.plan(desired, observed)

    def warnings(self, desired: _buildkitd.Desired, observed: _buildkitd.Observed) -> list[str]:
        if desired.state != "present":
            return []
        found = []
        if observed.docker_containerd and desired.containerd_pipe != _buildkitd.DOCKER_PIPE:
            found.append("Docker Engine's containerd serves \\\\.\\pipe\\docker-containerd on this host; to build on "
                         "it set containerd_address: '\\\\.\\pipe\\docker-containerd' (its service docker becomes "
                         "buildkitd's dependency).")
        return found

    # --- what is asked --------------------------------------------------------------------------------------

    def desired(self, args: dict[str, t.Any]) -> _buildkitd.Desired:
        common = self.desired_options(args)
        containerd_address = args["containerd_address"]
        containerd_pipe = _buildkitd.pipe_name(containerd_address)
        containerd_service = args["containerd_service"] or (
            _buildkitd.DOCKER_SERVICE if containerd_pipe.lower() == _buildkitd.DOCKER_PIPE else "containerd")
        firewall_name = f"wcow.buildkit-{args['service_name']}-tcp"
        if args["state"] == "absent":
            return _buildkitd.Desired(**common, firewall_name=firewall_name)
        if args["tcp_insecure"] and args["tcp"]:
            display.warning(f"{self.module_name}: tcp_insecure is true: buildkitd listens on {args['tcp']} WITHOUT "
                            "TLS; anyone who reaches the port can run builds as SYSTEM. Use TLS (tls_generate).")
        version = self.resolve_version(args)
        tls_files, tls_keys, host_tls, pending = self.tls(args)
        try:
            # Registry CA and client files ride on the TLS files' plumbing (read with the state, written on change).
            registries = _buildkitd_registries.plan(args["registries"], args["registry_certs_dir"].rstrip("\\"))
            config = _buildkitd_registries.merge(args["config"], registries.table)
        except _buildkitd_registries.RegistryError as exc:
            self.fail(str(exc), option="registries")
        exe = ntpath.join(common["install_dir"], "bin", self.daemon.exe_name)
        options = {
            "exe": exe, "service_name": args["service_name"], "config": common["config_path"],
            "root": args["root"], "log_file": common["log_file"], "debug": args["debug"], "tcp": args["tcp"],
            "tls": host_tls or None, "tcp_insecure": args["tcp_insecure"], "allowed_groups": args["allowed_groups"],
            "containerd_address": containerd_address, "cni": args["cni"],
            "hyperv_isolation": args["hyperv_isolation"],
        }
        # Hyper-V: refused for every captured release (none has the flag); for a newer one the binary decides:
        # its --help in the state read when it is installed, else its own --register-service (rolled back).
        binary_decides = args["hyperv_isolation"] and _buildkitd_flags.hyperv_pending(version)
        assume = frozenset([_buildkitd_flags.HYPERV_FLAG]) if binary_decides else frozenset()
        try:
            argv = _buildkitd_flags.register_argv(version, options, assume=assume)
            rendered = _buildkitd_config.render_config(version, config)
        except (_buildkitd_flags.BuildkitdFlagsError, _buildkitd_config.BuildkitdConfigError) as exc:
            self.fail(str(exc))
        for warning in [*_buildkitd_flags.security_warnings(version), *rendered.warnings,
                        *_buildkitd_config.shadowed_by_flags(args["config"], argv)]:
            display.warning(f"{self.module_name}: {warning}")
        port = None
        if args["tcp"]:
            address = next(a for a in argv if a.startswith("tcp://"))
            port = int(address.rsplit(":", 1)[1])
            self._endpoint = f"tcp://{self._vars.get('ansible_host') or self._vars.get('inventory_hostname')}:{port}"
        data_dirs = [_buildkitd.DEFAULT_DATA_DIR] + ([args["root"]] if args["root"] else [])
        verify = _buildkitd_verify.buildctl_argv(common["install_dir"]) if args["verify"] else []
        return _buildkitd.Desired(
            **{**common, "data_dirs": tuple(data_dirs)},
            version=version,
            config_text=rendered.text,
            archive_path=self.archive_path(version),
            args=tuple(argv[2:]),
            containerd_service=containerd_service,
            containerd_pipe=containerd_pipe,
            groups=tuple(_buildkitd_flags._groups(args["allowed_groups"])),  # pylint: disable=protected-access
            extra_dirs=tuple(d for d in _buildkitd_flags.required_dirs(version, {"log_file": common["log_file"]})
                             if d.lower() != ntpath.dirname(common["log_file"]).lower()),
            tls_files=(*tls_files, *registries.files), tls_keys=(*tls_keys, *registries.keys), tls_pending=pending,
            tls_host_files=(*self._host_tls, *registries.host_files),
            tls_host_keys=tuple(path for option, path in self._host_tls if option == "tls_key"),
            firewall_name=firewall_name, firewall_port=port,
            firewall_addresses=tuple(args["firewall_remote_addresses"] or ["Any"]),
            verify_argv=tuple(verify),
            help_flags=tuple(assume),
        )

    # --- TLS ----------------------------------------------------------------------------------------------------

    def tls(self, args: dict[str, t.Any]) -> _Material:
        """(host files, key paths, {cert, key, ca} host paths, pending) for the TCP listener's mutual TLS."""
        own = [args[k] for k in ("tls_cert", "tls_key", "tls_ca")]
        if not args["tcp"]:
            if args["tls_generate"] or any(own):
                self.fail("tls: TLS applies to the TCP listener only (buildkitd never uses it on the named pipe); "
                          "set tcp as well, or drop tls_generate / tls_cert / tls_key / tls_ca.")
            return [], [], {}, False
        if args["tls_generate"] and any(own):
            self.fail("tls_generate: give either tls_generate: true or your own tls_cert, tls_key and tls_ca, not both.")
        if any(own) and not all(own):
            missing = [k for k, v in zip(("tls_cert", "tls_key", "tls_ca"), own) if not v]
            self.fail(f"{', '.join(missing)} missing: your own PKI needs tls_cert, tls_key and tls_ca (each PEM text, "
                      "a controller path, or a Windows path of a file already on the host).")
        if args["tcp_insecure"] and (args["tls_generate"] or any(own)):
            self.fail("tcp_insecure: it turns TLS off, but TLS material was given; drop one of them.")
        if not args["tls_generate"] and not any(own):
            return [], [], {}, False  # register_argv refuses it unless tcp_insecure
        host_dir = args["tls_host_dir"].rstrip("\\")
        names = (("ca", "ca.pem"), ("cert", "cert.pem"), ("key", "key.pem"))
        paths = {k: ntpath.join(host_dir, name) for k, name in names}
        try:
            if any(own):
                return self._own_material(args, paths)
            return self._generate(args, paths)
        except _certs.CertError as exc:
            self.fail(str(exc))

    def _own_material(self, args: dict[str, t.Any], paths: dict[str, str]) -> _Material:
        """The user's PKI: each of tls_cert/tls_key/tls_ca is PEM text or a controller path (uploaded to
        tls_host_dir), or a Windows absolute path (C:\\... or \\\\server\\share\\...) of a file already on the
        host, used where it is (checked to exist in the state read)."""
        on_host = {k: args[f"tls_{k}"] for k in ("cert", "key", "ca") if is_host_path(args[f"tls_{k}"])}
        pems = {k: _certs.read_material(f"tls_{k}", args[f"tls_{k}"]) for k in ("cert", "key", "ca") if k not in on_host}
        if not on_host:
            problems = _certs.validate_material(pems["cert"], pems["key"], pems["ca"])
            if problems:
                self.fail(" ".join(problems))
        self._tls_result = {"generated": False, "on_host": sorted(f"tls_{k}" for k in on_host)}
        paths = {**paths, **on_host}
        files = [(paths[k], pems[k].decode("ascii", errors="replace")) for k in ("ca", "cert", "key") if k in pems]
        self._host_tls = tuple((f"tls_{k}", on_host[k]) for k in ("cert", "key", "ca") if k in on_host)
        keys = [paths["key"]] if "key" in pems else []
        return files, keys, paths, False

    @staticmethod
    def _files(paths: dict[str, str], pems: dict[str, bytes]) -> list[tuple[str, str]]:
        return [(paths[k], pems[k].decode("ascii", errors="replace")) for k in ("ca", "cert", "key")]

    def _generate(self, args: dict[str, t.Any], paths: dict[str, str]) -> _Material:
        host_name = str(self._vars.get("inventory_hostname") or "")
        addresses = [str(self._vars.get("ansible_host") or ""), *args["tls_san"]]
        dns, ips = _certs.server_names(host_name, None, [a for a in addresses if a])
        ca_dir = pathlib.Path(os.path.expanduser(args["tls_ca_dir"]))
        server_dir = pathlib.Path(args["tls_server_dir"] or ca_dir / "hosts" / host_name)
        client_dir = pathlib.Path(args["tls_client_dir"] or ca_dir / "client")
        self._tls_result = {"generated": True, "ca_dir": str(ca_dir),
                            "server": {"dir": str(server_dir), "dns_names": dns, "ip_addresses": ips},
                            "client": {"ca": str(client_dir / _certs.CA_CERT), "cert": str(client_dir / _certs.CLIENT_CERT),
                                       "key": str(client_dir / _certs.CLIENT_KEY)}}
        if self.check_mode:
            # Nothing is made in check mode: reuse what is there, else report the issue as the change.
            cert, key, ca = server_dir / _certs.SERVER_CERT, server_dir / _certs.SERVER_KEY, ca_dir / _certs.CA_CERT
            if not (cert.exists() and key.exists() and ca.exists()):
                return [(p, "") for p in paths.values()], [paths["key"]], paths, True
            pems = {"cert": cert.read_bytes(), "key": key.read_bytes(), "ca": ca.read_bytes()}
            return self._files(paths, pems), [paths["key"]], paths, False
        ca = _certs.ensure_ca(ca_dir, renew_days=args["tls_renew_days"])
        server = _certs.ensure_server_cert(ca, server_dir, dns, ips, renew_days=args["tls_renew_days"])
        client = _certs.ensure_client_bundle(ca, client_dir, renew_days=args["tls_renew_days"])
        self._tls_result["server"].update(not_after=server.not_after.isoformat(), renewed=server.reason,
                                          cert=str(server.cert_path))
        self._tls_result["client"].update(not_after=client.not_after.isoformat(), renewed=client.reason)
        pems = {"cert": server.cert_path.read_bytes(), "key": server.key_path.read_bytes(),
                "ca": server.ca_path.read_bytes()}
        return self._files(paths, pems), [paths["key"]], paths, False

    # --- after the apply: the worker check ---------------------------------------------------------------------

    def apply(self, args: dict[str, t.Any], host: t.Any, desired: _buildkitd.Desired,
              observed: _buildkitd.Observed, plan: t.Any, result: dict[str, t.Any]) -> dict[str, t.Any]:
        recording = _Recording(host)
        result = super().apply(args, recording, desired, observed, plan, result)
        tails = [a for s, a in zip(recording.steps, recording.answers) if s.script == "file_tail"]
        for step, answer in zip(recording.steps, recording.answers):
            if not _buildkitd.is_verify(step):
                continue
            command = f"{step.params['FilePath']} {step.params['Arguments']}"
            try:
                workers = _buildkitd_verify.parse_workers(str(answer.get("stdout") or ""), int(answer.get("rc") or 0),
                                                          str(answer.get("stderr") or ""), command)
                problems = _buildkitd_verify.check_workers(workers, expect_cni=bool(args["cni"]),
                                                           expect_version=desired.version)
            except _buildkitd_verify.WorkersOutputError as exc:
                problems, workers = [str(exc)], []
            if problems:
                failure = f"buildkitd {desired.version} started but its worker check failed: {' '.join(problems)}"
                log_tail = tails[-1].get("lines") if tails else None
                if plan.rollback:
                    self.roll_back(host, desired, observed, plan.rollback, recording.steps, failure=failure,
                                   log_tail=log_tail)
                try:
                    lines = host.answer_strings(log_tail, "file_tail", "lines")
                except HostError as exc:
                    lines = [f"(log tail not shown: {exc.short_msg})"]
                log = f" Last lines of {desired.log_file}:\n" + "\n".join(lines) if lines else ""
                raise ModuleFailure(f"{self.module_name}: {failure}{log}", changed=True, version=desired.version,
                                    log_tail=lines)
            result["workers"] = _buildkitd_verify.worker_facts(workers)
        # After the worker check: a daemon that died is reported with its log, not as a missing pipe.
        acls = [a for s, a in zip(recording.steps, recording.answers) if s.script == "pipe_acl"]
        if acls:
            result["pipe_access"] = acls[-1].get("access") or []
            problems = _buildkitd.pipe_acl_problems(desired.groups, acls[-1])
            if problems:
                failure = f"buildkitd {desired.version} started but {' '.join(problems)}"
                if plan.rollback:
                    self.roll_back(host, desired, observed, plan.rollback, recording.steps, failure=failure,
                                   log_tail=None)
                raise ModuleFailure(f"{self.module_name}: {failure}", option="allowed_groups", changed=True,
                                    version=desired.version)
        return result
