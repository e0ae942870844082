"""Contracts of the general-purpose host scripts (bootstrap.ps1 runs them all)."""

from __future__ import annotations

import ntpath
import typing as t

from .host import Host, ScriptFailure, split_win32
from .registry import PROGRAMS, script


@script("run_command")
def run_command(host: Host, params: dict[str, t.Any]) -> dict[str, t.Any]:
    file_path = params["FilePath"]
    argv = split_win32(params.get("Arguments") or "")
    system_program = file_path.lower().startswith("c:\\windows\\")
    if not system_program and not host.exists(file_path):
        raise ScriptFailure(f"Exception calling \"Start\": \"The system cannot find the file specified\" ({file_path})")
    handler = PROGRAMS.get(ntpath.basename(file_path).lower())
    if handler is None:
        return {"rc": 1, "stdout": "", "stderr": f"The term '{file_path}' is not recognized (not simulated)"}
    rc, stdout, stderr = handler(host, file_path, argv)
    return {"rc": rc, "stdout": stdout, "stderr": stderr}
