# Copyright (c) wcow.buildkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for wcow.buildkit.buildx_install: the buildx binary of a docker/buildx release, verified.

The controller resolves the version (a pin, or `latest` through the releases API once per run), reads the release's
checksums.txt and compares the digest with the file on the client; only a client without the right bytes gets a
download (once, into the controller's cache) and a copy, verified again on the client before it is moved into place.
POSIX clients (local or SSH): 1 command converged, 2 on a change (the bytes travel on the second one's stdin).
Windows hosts: 1 round trip converged, 3 on a change.
"""

from __future__ import annotations

import ntpath
import posixpath
import typing as t

from ansible.utils.display import Display

from ..plugin_utils import _artifacts, _buildx
from ..plugin_utils._action import ModuleFailure, WindowsAction
from ..plugin_utils._host import HostError, PosixHost, Step, WindowsHost
from ..plugin_utils._quote import join_posix, join_win32
from ..plugin_utils._releases import buildx_project

display = Display()

ARGUMENT_SPEC: dict[str, t.Any] = {
    **_artifacts.ARTIFACT_ARGUMENT_SPEC,
    "dest": {"type": "str"},
    "docker_config": {"type": "str"},
    "platform": {"type": "str"},
    "keep_existing": {"type": "bool", "default": False},
    "docker_cli": {"type": "str", "default": "docker"},
}

# `uname -m` -> the architecture in buildx's asset names.
ARCHES = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64", "armv7l": "arm-v7",
          "armv6l": "arm-v6", "ppc64le": "ppc64le", "s390x": "s390x", "riscv64": "riscv64"}

# One command reads everything: where the file goes, the client's OS and architecture, what the file holds now.
OBSERVE = r'''p="$1"
case "$p" in "~/"*) p="$HOME/${p#"~/"}" ;; esac
[ -n "$p" ] || p="${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins/docker-buildx"
printf '%s\n' "$p"; uname -s; uname -m
if [ -f "$p" ]; then
  if command -v sha256sum >/dev/null 2>&1; then sha256sum "$p"; else shasum -a 256 "$p"; fi | cut -d' ' -f1
  if [ -x "$p" ]; then echo executable; else echo not-executable; fi
fi'''

# The bytes arrive on stdin; the copy is checked on the client before it replaces anything (a mismatch leaves the
# old binary in place), then made executable and moved over the old one (atomic within the folder).
FINISH = r'''new="$1.wcow-new"
umask 022 && mkdir -p "$(dirname "$1")" && cat > "$new" || exit 2
if command -v sha256sum >/dev/null 2>&1; then d=$(sha256sum "$new"); else d=$(shasum -a 256 "$new"); fi
d="${d%% *}"
if [ "$d" != "$2" ]; then rm -f "$new"; echo "checksum mismatch for $1: expected sha256 $2, actual $d" >&2; exit 3; fi
chmod 0755 "$new" && mv -f "$new" "$1"'''


class ActionModule(WindowsAction):
    module_name = "wcow.buildkit.buildx_install"
    argument_spec = ARGUMENT_SPEC
    posix_become = True  # on a POSIX client, become runs every command as the user whose docker config it manages

    def execute(self, args: dict[str, t.Any], host: WindowsHost, task_vars: dict[str, t.Any]) -> dict[str, t.Any]:
        windows = hasattr(getattr(self._connection, "_shell", None), "_encode_script")
        cli = args["docker_cli"]
        if not args["dest"] and _buildx.is_standalone(cli) and (posixpath.isabs(cli) or ntpath.isabs(cli)):
            args = {**args, "dest": args["docker_cli"]}  # the standalone binary the builder module will run
        try:
            if args["keep_existing"]:
                found = self._existing(args, host, windows, task_vars)
                if found:
                    return {"changed": False, "version": found, "path": None, "existing": True,
                            "msg": f"kept the buildx {found} that {args['docker_cli']} already runs (keep_existing)"}
            if windows:
                return self._windows(args, host)
            return self._posix(args, PosixHost(self, task_vars.get("inventory_hostname", "?"), sudoable=True))
        except _artifacts.ArtifactError as exc:
            raise ModuleFailure(f"{self.module_name}: {self._explain(exc.msg)}", option=exc.option) \
                from None

    def _existing(self, args: dict[str, t.Any], host: WindowsHost, windows: bool,
                  task_vars: dict[str, t.Any]) -> str | None:
        """The version of a usable buildx (>= 0.13) the client already runs, else None."""
        base, env = _buildx.base_argv(args["docker_cli"], args["docker_config"])
        argv = base + ["version"]
        if windows:
            params: dict[str, t.Any] = {"FilePath": argv[0], "Arguments": join_win32(argv[1:])}
            if env:
                params["Environment"] = [f"{k}={v}" for k, v in sorted(env.items())]
            try:
                answer = host.run_one("run_command", params)
            except HostError:  # no such program
                return None
            rc, out = int(answer.get("rc", 1)), str(answer.get("stdout") or "")
        else:
            posix = PosixHost(self, task_vars.get("inventory_hostname", "?"), sudoable=True)
            outcome = posix.run(argv, env=env or None, check=False)
            rc, out = outcome["rc"], outcome["stdout"]
        found = _buildx.version_tuple(out) if rc == 0 else None
        if found is None or found[:2] < _buildx.NPIPE_MIN:
            return None
        return out.split()[1] if len(out.split()) > 1 else out.strip()

    # -- shared ----------------------------------------------------------------------------------------------
    @staticmethod
    def _explain(msg: str) -> str:
        if "checksums.txt lists no digest" in msg and ("darwin" in msg or "windows" in msg):
            return (f"{msg}. docker/buildx leaves darwin binaries out of checksums.txt since v0.31.0 and windows "
                    "binaries since v0.36.0 (they are signed after the build): set checksum to the digest you "
                    "trust, or pin a version whose checksums.txt lists this platform")
        return msg

    def _project(self, args: dict[str, t.Any], detected: str) -> tuple[_artifacts.Project, str]:
        platform = (args["platform"] or detected).strip().lower()
        os_name, sep, arch = platform.partition("-")
        if not sep or os_name not in ("linux", "darwin", "windows", "freebsd", "openbsd", "netbsd") or not arch:
            raise ModuleFailure(f"{self.module_name}: platform: '{platform}' is not <os>-<arch> as buildx names its "
                                "binaries (for example linux-amd64, darwin-arm64, windows-amd64)", option="platform")
        return buildx_project(os_name, arch), platform

    def _prepare(self, project: _artifacts.Project, args: dict[str, t.Any], download: bool) -> _artifacts.Artifact:
        return _artifacts.prepare(project, args, download=download,
                                  warn=lambda msg: display.warning(f"{self.module_name}: {msg}"))

    def _current(self, project: _artifacts.Project, args: dict[str, t.Any],
                 observed: str | dict[str, t.Any] | None) -> tuple[_artifacts.Artifact, bool]:
        """The artifact, and whether the client already holds its bytes; downloads only when that cannot be
        told from the published digest (verify_checksum: false) and never in check mode."""
        artifact = self._prepare(project, args, download=False)
        if _artifacts.is_current(artifact, observed):
            return artifact, True
        if artifact.sha256 is None and observed and not self.check_mode:
            artifact = self._prepare(project, args, download=True)
            return artifact, _artifacts.is_current(artifact, observed)
        return artifact, False

    @staticmethod
    def _result(artifact: _artifacts.Artifact, path: str, platform: str, changed: bool,
                previous: str | None) -> dict[str, t.Any]:
        return {"changed": changed, "version": artifact.version, "path": path, "platform": platform,
                "sha256": artifact.sha256, "previous_sha256": previous, "checksum_origin": artifact.checksum_origin,
                "file_name": artifact.file_name}

    # -- POSIX clients ---------------------------------------------------------------------------------------
    def _posix(self, args: dict[str, t.Any], posix: PosixHost) -> dict[str, t.Any]:
        if args["source"] == "host":
            raise ModuleFailure(f"{self.module_name}: source: 'host' is for Windows hosts; a POSIX client gets the "
                                "binary from the controller (remove source: host)", option="source")
        dest = args["dest"] or (posixpath.join(args["docker_config"], "cli-plugins", "docker-buildx")
                                if args["docker_config"] else "")
        outcome = posix.run(["sh", "-c", OBSERVE, "sh", dest])
        lines = outcome["stdout"].splitlines()
        if len(lines) < 3:
            raise ModuleFailure(f"{self.module_name}: could not read the client's platform: {outcome['stdout']!r}")
        path, kernel, machine = lines[0], lines[1].strip().lower(), lines[2].strip()
        if not posixpath.isabs(path):
            raise ModuleFailure(f"{self.module_name}: dest: '{path}' is not an absolute path on the client",
                                option="dest")
        detected = f"{kernel}-{ARCHES.get(machine, machine.lower())}"
        project, platform = self._project(args, detected)
        observed = lines[3].strip() if len(lines) > 3 else None
        executable = len(lines) > 4 and lines[4].strip() == "executable"
        artifact, current = self._current(project, args, observed)
        if current and executable:
            return self._result(artifact, path, platform, False, observed)
        if self.check_mode:
            return self._result(artifact, path, platform, True, observed)
        if current:  # the right bytes, not executable
            posix.run(["chmod", "0755", path])
            return self._result(artifact, path, platform, True, observed)
        if not artifact.local_path:
            artifact = self._prepare(project, args, download=True)
        with open(str(artifact.local_path), "rb") as handle:
            data = handle.read()
        outcome = self._low_level_execute_command(join_posix(["sh", "-c", FINISH, "sh", path, str(artifact.sha256)]),
                                                  sudoable=True, in_data=data)
        if outcome.get("rc") != 0:
            raise ModuleFailure(f"{self.module_name}: could not install {artifact.file_name} at {path} "
                                f"(rc={outcome.get('rc')}): {str(outcome.get('stderr') or '').strip()}",
                                option="dest")
        return self._result(artifact, path, platform, True, observed)

    # -- Windows hosts ---------------------------------------------------------------------------------------
    def _windows(self, args: dict[str, t.Any], host: WindowsHost) -> dict[str, t.Any]:
        if args["dest"]:
            path = args["dest"]
        elif args["docker_config"]:
            path = ntpath.join(args["docker_config"], "cli-plugins", "docker-buildx.exe")
        else:
            raise ModuleFailure(f"{self.module_name}: dest: set dest (for example C:\\Tools\\buildx.exe) or "
                                "docker_config (the binary then goes to <docker_config>\\cli-plugins\\"
                                "docker-buildx.exe) on a Windows host", option="dest")
        if not ntpath.isabs(path) or not path[:1].isalpha():
            raise ModuleFailure(f"{self.module_name}: dest: '{path}' is not an absolute Windows path", option="dest")
        project, platform = self._project(args, "windows-amd64")
        # Bad input (version, checksum, mirror) fails here, before the host is touched (answers are cached per run).
        self._prepare(project, args, download=False)
        read = [Step("verify_file", {"Path": path, "Algorithm": "SHA256"})]
        if not self.check_mode:
            # put_file cannot create folders: make sure it exists while reading (a no-op once it does).
            read.insert(0, Step("directory_ensure", {"Path": ntpath.dirname(path)}))
        observed = host.run(read)[-1]
        previous = observed.get("sha256") if observed.get("exists") else None
        artifact, current = self._current(project, args, observed)
        if current or self.check_mode:
            return self._result(artifact, path, platform, not current, previous)
        if artifact.source != "host" and not artifact.local_path:
            artifact = self._prepare(project, args, download=True)
        steps, changed = _artifacts.stage(host, artifact, path, observed)
        if steps:
            host.run(steps)
        return self._result(artifact, path, platform, changed, previous)
