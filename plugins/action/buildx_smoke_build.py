# Copyright (c) wcow.buildkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for wcow.buildkit.buildx_smoke_build: the hello-world build with `docker buildx build` on a client.

Python decides (which node buildx will pick, so which base image; the argv; when to stop polling; what the output
says); the client runs two small shell scripts: one writes the context to a new temp folder and starts buildx
detached (its progress into a log, its exit code into a file), one waits a little for that file and answers the
log from an offset - so a long base-image pull neither meets a timeout nor blocks the play silently.
A Windows client does the same with the host scripts of win_smoke_build (smoke_build_start.ps1 starts any program
detached through Win32_Process.Create; smoke_build_poll.ps1 answers its log), docker.exe in buildctl's place.
"""

from __future__ import annotations

import json
import ntpath
import re
import typing as t

from ansible.utils.display import Display

from ..plugin_utils import _buildx, _smoke
from ..plugin_utils._action import ModuleFailure, WindowsAction
from ..plugin_utils._host import HostError, PosixHost, Step, WindowsHost
from ..plugin_utils._quote import join_win32

display = Display()

ARGUMENT_SPEC: dict[str, t.Any] = {
    "builder": {"type": "str", "default": "wcow"},
    "platform": {"type": "str", "default": "windows/amd64"},
    "base_image": {"type": "str"},
    "nodes": {"type": "dict", "default": {}},
    "network_url": {"type": "str"},
    "image_name": {"type": "str", "default": ""},
    "docker_cli": {"type": "str", "default": "docker"},
    "docker_config": {"type": "str"},
    "timeout": {"type": "int", "default": 1800},
    "poll_seconds": {"type": "int", "default": 20},
    "keep": {"type": "bool", "default": False},
    "work_dir": {"type": "str", "default": r"C:\ProgramData\wcow.buildkit\buildx-smoke"},
}

# $1 Dockerfile, $2 hello.txt, $3 temp parent ("" = $TMPDIR or /tmp), then the buildx argv; prints the folder.
# nohup + redirected descriptors: the build outlives this command, which returns at once.
START = r'''set -e
parent="${3:-${TMPDIR:-/tmp}}"
d=$(mktemp -d "$parent/wcow-smoke.XXXXXX")
mkdir "$d/context"
printf '%s' "$1" > "$d/context/Dockerfile"
printf '%s' "$2" > "$d/context/hello.txt"
shift 3
cd "$d"
nohup sh -c '"$@" > "$0/build.log" 2>&1; echo $? > "$0/build.rc.tmp"; mv "$0/build.rc.tmp" "$0/build.rc"' \
  "$d" "$@" --metadata-file "$d/metadata.json" "$d/context" </dev/null >/dev/null 2>&1 &
printf '%s\n' "$d"
'''
# $1 folder, $2 byte offset into the log, $3 seconds to wait at most, $4 "remove" to delete the folder when done.
POLL = r'''d="$1"; i=0
while [ ! -f "$d/build.rc" ] && [ "$i" -lt "$3" ]; do sleep 1; i=$((i+1)); done
if [ -f "$d/build.rc" ]; then printf 'rc=%s\n' "$(cat "$d/build.rc")"; else printf 'rc=\n'; fi
if [ -f "$d/build.log" ]; then tail -c "+$(($2 + 1))" "$d/build.log"; fi
if [ -f "$d/build.rc" ]; then
  printf '\n@@wcow.buildkit metadata@@\n'; cat "$d/metadata.json" 2>/dev/null
  if [ "$4" = remove ]; then rm -rf "$d"; fi
fi
'''
MARK = "\n@@wcow.buildkit metadata@@\n"


def choose_node(builder: dict[str, t.Any], platform: str) -> dict[str, t.Any] | None:
    """The node buildx should build on (docker/buildx build/resolver/driver.go picks the first node that serves the
    platform and boots it, with no fallback to another): the first node `ls` lists with that platform (running
    nodes list their daemon's platforms), else node 0. None: the builder has no nodes."""
    nodes = builder.get("Nodes") or []
    if not nodes:
        return None
    return next((n for n in nodes if platform in (n.get("Platforms") or [])), nodes[0])


def node_build(nodes: dict[str, t.Any], name: str) -> tuple[int, str] | None:
    """The Windows build and edition given for a node: {build: 20348, edition: server} (or just the build)."""
    value = nodes.get(name)
    if value is None:
        return None
    if isinstance(value, dict):
        build, edition = value.get("build"), str(value.get("edition") or "server")
    else:
        build, edition = value, "server"
    try:
        return int(str(build).split(".")[2] if str(build).count(".") >= 2 else build), edition
    except (TypeError, ValueError):
        raise ModuleFailure(f"nodes: {name}: '{build}' is not a Windows build number (for example 20348, or the "
                            "host's ansible_facts.distribution_version 10.0.20348.0).", option="nodes") from None


class ActionModule(WindowsAction):
    module_name = "wcow.buildkit.buildx_smoke_build"
    argument_spec = ARGUMENT_SPEC
    posix_become = True  # builders are per user: build as the user whose docker config holds the builder

    def execute(self, args: dict[str, t.Any], host: WindowsHost, task_vars: dict[str, t.Any]) -> dict[str, t.Any]:
        windows = hasattr(getattr(self._connection, "_shell", None), "_encode_script")
        if args["timeout"] < 1 or args["poll_seconds"] < 1:
            raise ModuleFailure("timeout and poll_seconds must be positive numbers of seconds.",
                                option="timeout" if args["timeout"] < 1 else "poll_seconds")
        if not _buildx.NAME.match(args["builder"] or ""):
            raise ModuleFailure(f"builder: '{args['builder']}' is not a valid builder name (buildx: a letter first, "
                                "then letters, digits, '.', '_', '-').", option="builder")
        base, env = _buildx.base_argv(args["docker_cli"], args["docker_config"])
        posix: PosixHost | None = None
        if windows:
            if not re.match(r"^[A-Za-z]:\\", args["docker_cli"]):
                raise ModuleFailure(f"docker_cli: '{args['docker_cli']}': on a Windows client give the full path of "
                                    "docker.exe or buildx.exe (for example C:\\Program Files\\Docker\\Docker\\"
                                    "resources\\bin\\docker.exe); the build runs detached, where PATH cannot be relied "
                                    "on.", option="docker_cli")
            runner = self._windows_runner(host, env)
        else:
            posix = PosixHost(self, task_vars.get("inventory_hostname", "?"), sudoable=True)
            runner = self._posix_runner(posix, env)
        client = _buildx.Client(runner, base)
        try:
            builders = client.ls()
        except _buildx.BuildxError as exc:
            details = {k: v for k, v in exc.to_result().items() if k != "msg"}
            raise ModuleFailure(f"{self.module_name}: {exc.msg}", **details) from None
        if builders is None:
            raise ModuleFailure(f"{self.module_name}: this buildx has no `ls --format json` (buildx < 0.13); upgrade "
                                "it (the wcow.buildkit.buildx_builder role can).", option="docker_cli")
        builder = builders.get(args["builder"])
        if builder is None and self.check_mode:
            # site.yml in check mode: the buildx_builder role reported the builder it would create, and made none.
            return {"changed": False, "builder": args["builder"],
                    "msg": f"check mode: no builder '{args['builder']}' yet; the smoke build would run through it"}
        if builder is None:
            raise ModuleFailure(f"builder: no buildx builder '{args['builder']}' on this client; create it first (the "
                                "wcow.buildkit.buildx_builder role does), or name the one to use.", option="builder")
        node = choose_node(builder, args["platform"])
        image, build = self._base_image(args, node)
        dockerfile = _smoke.dockerfile(image, args["network_url"])
        argv = base + ["build", "--builder", args["builder"], "--platform", args["platform"], "--progress", "plain",
                       # Unnamed, BuildKit's image exporter reports the digest and leaves no image in the builder's
                       # store (exporter/containerimage: images are created only for names): nothing to clean up.
                       "--output", f"type=image,name={args['image_name']}" if args["image_name"] else "type=image"]
        result: dict[str, t.Any] = {"builder": args["builder"], "expected_node": node.get("Name") if node else None,
                                    "endpoint": node.get("Endpoint") if node else None, "base_image": image,
                                    "node_build": build, "dockerfile": dockerfile,
                                    "command": " ".join(argv + ["--metadata-file", "<temp>/metadata.json",
                                                                "<temp>/context"])}
        if self.check_mode:
            return {**result, "changed": False, "msg": "check mode: the smoke build would run"}
        if posix is None:
            return self._finish(args, *self._build_windows(host, args, argv, dockerfile), result)
        return self._finish(args, *self._build(posix, env, args, argv, dockerfile), result)

    @staticmethod
    def _posix_runner(posix: PosixHost, env: dict[str, str]) -> t.Callable[[list[str]], tuple[int, str, str]]:
        def run(argv: list[str]) -> tuple[int, str, str]:
            outcome = posix.run(argv, check=False, env=env or None)
            return outcome["rc"], outcome["stdout"], outcome["stderr"]
        return run

    @staticmethod
    def _windows_runner(host: WindowsHost, env: dict[str, str]) -> t.Callable[[list[str]], tuple[int, str, str]]:
        # The standalone buildx.exe finds its config through DOCKER_CONFIG only (docker.exe takes --config).
        environment = {"Environment": [f"{k}={v}" for k, v in env.items()]} if env else {}

        def run(argv: list[str]) -> tuple[int, str, str]:
            try:
                answer = host.run_one("run_command", {"FilePath": argv[0], "Arguments": join_win32(argv[1:]),
                                                      **environment})
            except HostError as exc:
                return 127, "", exc.stderr or exc.message
            return int(answer.get("rc", 1)), str(answer.get("stdout") or ""), str(answer.get("stderr") or "")
        return run

    def _build_windows(self, host: WindowsHost, args: dict[str, t.Any], argv: list[str],
                       dockerfile: str) -> tuple[str, int | None, int, str, str]:
        """smoke_build_start.ps1 starts docker.exe detached; smoke_build_poll.ps1 answers its log; one last round
        trip reads the metadata file and removes the folder. Answers (log text, rc, polls, metadata, folder)."""
        work = args["work_dir"].rstrip("\\")
        context, metadata = ntpath.join(work, "context"), ntpath.join(work, "metadata.json")
        log, rc_path = ntpath.join(work, "build.log"), ntpath.join(work, "build.rc")
        host.run_one("smoke_build_start", {
            "Context": context, "Dockerfile": dockerfile, "HelloText": _smoke.HELLO_TEXT, "Buildctl": argv[0],
            "Arguments": join_win32(argv[1:] + ["--metadata-file", metadata, context]), "LogPath": log,
            "RcPath": rc_path,
            # cmd.exe sets DOCKER_CONFIG for the detached process (which gets none of this session's environment):
            # the standalone buildx.exe reads its builders there (empty: %USERPROFILE%\.docker, buildx's default).
            "DockerConfig": args["docker_config"] or ""})
        text, offset, polls, waited = "", 0, 0, 0
        answer: dict[str, t.Any] = {}
        while True:
            answer = host.run_one("smoke_build_poll", {"LogPath": log, "RcPath": rc_path, "Offset": offset,
                                                       "WaitSeconds": args["poll_seconds"]})
            polls += 1
            text += str(answer.get("text") or "")
            offset = int(answer.get("offset") or offset)
            self._show(host.host, text)
            waited += args["poll_seconds"]
            if answer.get("done") or waited >= args["timeout"]:
                break
        if not answer.get("done"):
            return text, None, polls, "", work
        steps = [Step("file_read", {"Path": metadata})]
        if not args["keep"]:
            steps.append(Step("path_remove", {"Path": [work]}))
        read = host.run(steps)[0]
        return text, answer.get("rc"), polls, str(read.get("content") or ""), work

    def _base_image(self, args: dict[str, t.Any], node: dict[str, t.Any] | None) -> tuple[str, int | None]:
        if args["base_image"]:
            return args["base_image"], None
        if node is None:
            raise ModuleFailure(f"builder: '{args['builder']}' has no nodes; add the Windows builders to it.",
                                option="builder")
        found = node_build(args["nodes"], node["Name"])
        if found is None:
            known = ", ".join(sorted(args["nodes"])) or "none"
            raise ModuleFailure(f"nodes: buildx will build on node '{node['Name']}' ({node.get('Endpoint')}), whose "
                                f"Windows build is not given (nodes known: {known}); pass its build in nodes, or set "
                                "base_image.", option="nodes")
        try:
            return _smoke.base_image(found[0], found[1]), found[0]
        except _smoke.NoBaseImage as exc:
            raise ModuleFailure(f"node {node['Name']}: {exc}", option="base_image", node_build=found[0]) from None

    def _build(self, posix: PosixHost, env: dict[str, str], args: dict[str, t.Any], argv: list[str],
               dockerfile: str) -> tuple[str, int | None, int, str, str]:
        """The two shell scripts; answers (log text, rc or None when still running, polls, metadata, folder)."""
        start = posix.run(["sh", "-c", START, "sh", dockerfile, _smoke.HELLO_TEXT, "", *argv], env=env or None,
                          check=False)
        folder = start["stdout"].strip().splitlines()[-1] if start["stdout"].strip() else ""
        if start["rc"] != 0 or not folder:
            raise ModuleFailure(f"{self.module_name}: could not start the build on the client: "
                                f"{start['stderr'].strip() or start['stdout'].strip()}")
        text, offset, polls, rc, metadata, waited = "", 0, 0, None, "", 0
        remove = "keep" if args["keep"] else "remove"
        while True:
            answer = posix.run(["sh", "-c", POLL, "sh", folder, str(offset), str(args["poll_seconds"]), remove],
                               check=False)
            polls += 1
            head, _nl, rest = answer["stdout"].partition("\n")
            chunk, mark, metadata = rest.partition(MARK)
            text += chunk
            offset += len(chunk.encode("utf-8"))
            rc = int(head[3:]) if head.startswith("rc=") and head[3:].strip().lstrip("-").isdigit() else None
            self._show(posix.host, text)
            waited += args["poll_seconds"]
            if mark or waited >= args["timeout"]:
                break
        return text, rc, polls, metadata, folder

    def _show(self, name: str, text: str) -> None:
        steps = self._steps(text)
        if steps:
            display.display(f"{name}: buildx smoke build, step {steps[-1]['name']} ({steps[-1]['state']})")

    def _finish(self, args: dict[str, t.Any], text: str, rc: int | None, polls: int, metadata: str, folder: str,
                result: dict[str, t.Any]) -> dict[str, t.Any]:
        outcome = _smoke.parse_progress(text)
        meta = _metadata(metadata)
        ref = str(meta.get("buildx.build.ref") or "")
        result.update(changed=True, polls=polls, rc=rc, steps=self._steps(text),
                      digest=meta.get("containerimage.digest") or outcome["digest"],
                      node=ref.split("/")[1] if ref.count("/") >= 2 else None,
                      log=text.splitlines()[-40:], **({"work_dir": folder} if args["keep"] else {}))
        if rc is None:
            raise ModuleFailure(f"the buildx smoke build did not finish within timeout ({args['timeout']} s); it still "
                                f"runs on the client, its log is in {folder}.", option="timeout", **result)
        if rc != 0:
            failed = outcome["failed_step"]
            error = outcome["error"] or text.strip()[-500:]
            where = f"step {failed['name']} failed: {failed.get('error')}" if failed else f"buildx: {error}"
            hint = ""
            if "context deadline exceeded" in error:
                hint = (f" buildx builds on node {result['expected_node']} ({result['endpoint']}) and does not fall "
                        "back to another node; it did not answer. Likely causes: " +
                        "; ".join(f"({i}) {c}" for i, c in enumerate(_buildx.UNREACHABLE_CAUSES, 1)) + ".")
            # (no option names in the text: the role would name its variable after each)
            raise ModuleFailure(f"the buildx smoke build on {result['base_image']} (node {result['expected_node']}, "
                                f"{result['endpoint']}) failed: {where}.{hint}", failed_step=failed,
                                output_tail=text.splitlines()[-20:], **result)
        return result

    @staticmethod
    def _steps(text: str) -> list[dict[str, t.Any]]:
        """Build steps, without buildx's `#0 building with "<builder>" instance using remote driver` banner."""
        return [s for s in _smoke.parse_progress(text)["steps"] if s["number"] != 0]


def _metadata(text: str) -> dict[str, t.Any]:
    try:
        value = json.loads(text) if text.strip() else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
