# Copyright (c) wcow.buildkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for wcow.buildkit.win_smoke_build: the hello-world build with buildctl.exe on the host.

Python decides (base image from the host build, arguments, when to stop polling, what the output says);
the host starts buildctl detached (smoke_build_start.ps1) and answers the log in short round trips
(smoke_build_poll.ps1), so a long base-image pull never meets WinRM's timeouts.
"""

from __future__ import annotations

import ntpath
import time
import typing as t

from ansible.utils.display import Display

from ..plugin_utils import _smoke
from ..plugin_utils._action import ModuleFailure, WindowsAction
from ..plugin_utils._host import Step, WindowsHost
from ..plugin_utils._quote import join_win32

# cmd.exe reads these as syntax inside the detached command line (smoke_build_start.ps1 refuses them too).
_CMD_SYNTAX = '"!%^&'

display = Display()

ARGUMENT_SPEC: dict[str, t.Any] = {
    "base_image": {"type": "str"},
    "network_url": {"type": "str"},
    "buildctl": {"type": "str", "default": r"C:\Program Files\buildkit\bin\buildctl.exe"},
    "address": {"type": "str", "default": "npipe:////./pipe/buildkitd"},
    "work_dir": {"type": "str", "default": r"C:\ProgramData\wcow.buildkit\smoke"},
    "image_name": {"type": "str", "default": "wcow-smoke:latest"},
    "daemon_log": {"type": "str", "default": r"C:\ProgramData\buildkitd\buildkitd.log"},
    "timeout": {"type": "int", "default": 1800},
    "poll_seconds": {"type": "int", "default": 20},
    "keep": {"type": "bool", "default": False},
    "push": {"type": "str"},
    "registry_username": {"type": "str"},
    "registry_password": {"type": "str", "no_log": True},
    "docker_config": {"type": "str"},
    "ctr": {"type": "str", "default": r"C:\Program Files\containerd\bin\ctr.exe"},
    "hyperv_isolation": {"type": "bool", "default": False},
}
# buildkitd's containerd worker keeps what it exports in this containerd namespace.
BUILDKIT_NAMESPACE = "buildkit"


def host_build(task_vars: dict[str, t.Any]) -> tuple[int, str]:
    """The host's Windows build and edition from gathered facts (ansible.windows.setup, subset distribution)."""
    facts = task_vars.get("ansible_facts") or {}
    version = str(facts.get("distribution_version") or "")
    parts = version.split(".")
    if len(parts) < 3 or not parts[2].isdigit():
        raise ModuleFailure("the host's Windows build is unknown: gather facts first (ansible.windows.setup with "
                            "gather_subset distribution; the smoke_test role does it), or set base_image.")
    edition = "client" if str(facts.get("os_product_type") or "").lower() == "workstation" else "server"
    return int(parts[2]), edition


class ActionModule(WindowsAction):
    module_name = "wcow.buildkit.win_smoke_build"
    argument_spec = ARGUMENT_SPEC

    def execute(self, args: dict[str, t.Any], host: WindowsHost, task_vars: dict[str, t.Any]) -> dict[str, t.Any]:
        if args["timeout"] < 1 or args["poll_seconds"] < 1:
            raise ModuleFailure("timeout and poll_seconds must be positive numbers of seconds.",
                                option="timeout" if args["timeout"] < 1 else "poll_seconds")
        if args["base_image"]:
            image, build, edition = args["base_image"], None, None
        else:
            build, edition = host_build(task_vars)
            try:
                image = _smoke.base_image(build, edition, hyperv=args["hyperv_isolation"])
            except _smoke.NoBaseImage as exc:
                raise ModuleFailure(str(exc), option="base_image", host_build=build) from None
        push = self._push_settings(args)
        registry = _smoke.registry_of(args["push"])[0] if push else None
        name = args["push"] or args["image_name"]
        dockerfile = _smoke.dockerfile(image, args["network_url"])
        context = ntpath.join(args["work_dir"], "context")
        log_path = ntpath.join(args["work_dir"], "build.log")
        rc_path = ntpath.join(args["work_dir"], "build.rc")
        metadata = ntpath.join(args["work_dir"], "metadata.json")
        output = f"type=image,name={name}" + (",push=true" if args["push"] else "")
        argv = ["--addr", args["address"], "build", "--frontend", "dockerfile.v0",
                "--local", f"context={context}", "--local", f"dockerfile={context}",
                "--output", output, "--progress", "plain", "--metadata-file", metadata]
        base = {"base_image": image, "host_build": build, "dockerfile": dockerfile, "command": argv, "image": name,
                "isolation": "hyperv" if args["hyperv_isolation"] else "process"}
        if self.check_mode:
            return {**base, "changed": False, "msg": "check mode: the smoke build would run"
                    + (f" and push {args['push']}" if args["push"] else "")}
        started = time.monotonic()
        steps = []
        if push:
            # Same round trip as the start: the credentials go into the user's docker config, never a command line.
            steps.append(Step("docker_config_auth", push, secrets=("Password",)))
        steps.append(Step("smoke_build_start", {
            "Context": context, "Dockerfile": dockerfile, "HelloText": _smoke.HELLO_TEXT,
            "Buildctl": args["buildctl"], "Arguments": join_win32(argv), "LogPath": log_path, "RcPath": rc_path,
            "DockerConfig": args["docker_config"] or ""}))
        answers = host.run(steps)
        auth, start = (answers[0] if push else {}), answers[-1]
        text, offset, polls, answer = "", 0, 0, {}
        while True:
            answer = host.run_one("smoke_build_poll", {
                "LogPath": log_path, "RcPath": rc_path, "Offset": offset, "WaitSeconds": args["poll_seconds"],
                "DaemonLog": args["daemon_log"]})
            polls += 1
            text += str(answer.get("text") or "")
            offset = int(answer.get("offset") or offset)
            steps_seen = _smoke.parse_progress(text)["steps"]
            if steps_seen:
                display.display(f"{host.host}: smoke build, step {steps_seen[-1]['name']} ({steps_seen[-1]['state']})")
            if answer.get("done") or time.monotonic() - started > args["timeout"]:
                break
        outcome = _smoke.parse_progress(text)
        result = {**base, "changed": True, "pid": start.get("pid"), "polls": polls, "rc": answer.get("rc"),
                  "steps": outcome["steps"], "digest": outcome["digest"], "log": text.splitlines()[-40:]}
        if push:
            result.update(docker_config=auth.get("path"), pushed=(outcome["pushed"] or [None])[-1])
        if not answer.get("done"):
            raise ModuleFailure(f"the smoke build did not finish within timeout ({args['timeout']} s); it still runs "
                                f"on the host (pid {start.get('pid')}), its log is {log_path}.", option="timeout",
                                **result)
        if not args["keep"]:
            result.update(self._clean_up(host, args, name))
        if answer.get("rc") != 0:
            failed = outcome["failed_step"]
            where = f"step {failed['name']} failed: {failed.get('error')}" if failed else \
                f"buildctl exited {answer.get('rc')}: {outcome['error'] or text.strip()[-500:]}"
            hint = ""
            if push and "401 Unauthorized" in where:
                hint = (f" The registry refused the credentials buildctl found in {auth.get('path')} for "
                        f"{registry}: set registry_username and registry_password"
                        + (" (none are stored there yet)." if not auth.get("has_auth") else " to the right ones."))
            elif push and "server gave HTTP response to HTTPS client" in where:
                hint = (f" The registry {registry} speaks plain HTTP: allow it in buildkitd.toml with "
                        f'[registry."{registry}"] http = true (the buildkitd role\'s config).')
            # The option the message is about: BuildKit's own words ("failed to push") must not be taken for ours.
            option = "registry_username" if push and "401 Unauthorized" in where else "base_image"
            raise ModuleFailure(f"the smoke build on {image} failed: {where}{hint}", option=option, failed_step=failed,
                                daemon_log_tail=str(answer.get("daemon_log_tail") or "").splitlines()[-20:],
                                **result)
        return result

    @staticmethod
    def _push_settings(args: dict[str, t.Any]) -> dict[str, t.Any] | None:
        """docker_config_auth's parameters for a push, or None; refuses credentials that could not be used."""
        user, password = args["registry_username"], args["registry_password"]
        if (user or password) and not args["push"]:
            raise ModuleFailure("registry_username and registry_password are for the push: set push to the image "
                                "reference to push to, or leave them out.", option="registry_username")
        if bool(user) != bool(password):
            raise ModuleFailure("registry_username and registry_password go together: set both, or neither to use "
                                "what the building user's docker config already holds.",
                                option="registry_password" if user else "registry_username")
        folder = args["docker_config"]
        if folder and (not ntpath.isabs(folder) or any(c in folder for c in _CMD_SYNTAX)):
            raise ModuleFailure(f"docker_config must be an absolute Windows folder without any of {_CMD_SYNTAX} "
                                f"(cmd.exe syntax), got {folder!r}.", option="docker_config")
        if not args["push"]:
            return None
        try:
            key = _smoke.registry_of(args["push"])[1]
        except _smoke.BadReference as exc:
            raise ModuleFailure(f"push: {exc}", option="push") from None
        params: dict[str, t.Any] = {"Folder": folder or "", "Registry": key}
        if user:
            params.update(Username=user, Password=password)
        return params

    @staticmethod
    def _clean_up(host: WindowsHost, args: dict[str, t.Any], name: str) -> dict[str, t.Any]:
        """One round trip: the work folder, then the built image in buildkitd's containerd namespace (`ctr images rm`;
        a pushed image stays in its registry). Nothing else: buildkitd's build cache is the user's to keep."""
        ctr = Step("run_command", {"FilePath": args["ctr"],
                                   "Arguments": join_win32(["-n", BUILDKIT_NAMESPACE, "images", "rm", name])})
        removed = host.run([Step("path_remove", {"Path": [args["work_dir"]]}), ctr])[1]
        deleted = name in str(removed.get("stdout") or "").splitlines()
        result: dict[str, t.Any] = {"image_removed": deleted}
        if removed.get("rc") != 0:
            result["warnings"] = [f"the image {name} may remain in containerd's namespace {BUILDKIT_NAMESPACE}: "
                                  f"{args['ctr']} exited {removed.get('rc')}: {str(removed.get('stderr')).strip()}"]
        return result
