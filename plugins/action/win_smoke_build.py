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
}


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
                image = _smoke.base_image(build, edition)
            except _smoke.NoBaseImage as exc:
                raise ModuleFailure(str(exc), option="base_image", host_build=build) from None
        dockerfile = _smoke.dockerfile(image, args["network_url"])
        context = ntpath.join(args["work_dir"], "context")
        log_path = ntpath.join(args["work_dir"], "build.log")
        rc_path = ntpath.join(args["work_dir"], "build.rc")
        metadata = ntpath.join(args["work_dir"], "metadata.json")
        argv = ["--addr", args["address"], "build", "--frontend", "dockerfile.v0",
                "--local", f"context={context}", "--local", f"dockerfile={context}",
                "--output", f"type=image,name={args['image_name']}", "--progress", "plain",
                "--metadata-file", metadata]
        base = {"base_image": image, "host_build": build, "dockerfile": dockerfile, "command": argv}
        if self.check_mode:
            return {**base, "changed": False, "msg": "check mode: the smoke build would run"}
        started = time.monotonic()
        start = host.run_one("smoke_build_start", {
            "Context": context, "Dockerfile": dockerfile, "HelloText": _smoke.HELLO_TEXT,
            "Buildctl": args["buildctl"], "Arguments": join_win32(argv), "LogPath": log_path, "RcPath": rc_path})
        text, offset, polls, answer = "", 0, 0, {}
        while True:
            answer = host.run_one("smoke_build_poll", {
                "LogPath": log_path, "RcPath": rc_path, "Offset": offset, "WaitSeconds": args["poll_seconds"],
                "DaemonLog": args["daemon_log"]})
            polls += 1
            text += str(answer.get("text") or "")
            offset = int(answer.get("offset") or offset)
            steps = _smoke.parse_progress(text)["steps"]
            if steps:
                display.display(f"{host.host}: smoke build, step {steps[-1]['name']} ({steps[-1]['state']})")
            if answer.get("done") or time.monotonic() - started > args["timeout"]:
                break
        outcome = _smoke.parse_progress(text)
        result = {**base, "changed": True, "pid": start.get("pid"), "polls": polls, "rc": answer.get("rc"),
                  "steps": outcome["steps"], "digest": outcome["digest"], "log": text.splitlines()[-40:]}
        if not answer.get("done"):
            raise ModuleFailure(f"the smoke build did not finish within timeout ({args['timeout']} s); it still runs "
                                f"on the host (pid {start.get('pid')}), its log is {log_path}.", option="timeout",
                                **result)
        if not args["keep"]:
            host.run([Step("path_remove", {"Path": [args["work_dir"]]})])
        if answer.get("rc") != 0:
            failed = outcome["failed_step"]
            where = f"step {failed['name']} failed: {failed.get('error')}" if failed else \
                f"buildctl exited {answer.get('rc')}: {outcome['error'] or text.strip()[-500:]}"
            raise ModuleFailure(f"the smoke build on {image} failed: {where}", failed_step=failed,
                                daemon_log_tail=str(answer.get("daemon_log_tail") or "").splitlines()[-20:],
                                **result)
        return result
