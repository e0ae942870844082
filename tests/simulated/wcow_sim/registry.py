"""Where simulated contracts register: host scripts, native programs, ansible.windows modules."""

from __future__ import annotations

import typing as t

from .host import Host

ScriptHandler = t.Callable[[Host, dict[str, t.Any]], dict[str, t.Any]]
ProgramHandler = t.Callable[[Host, str, list[str]], tuple[int, str, str]]
ModuleHandler = t.Callable[[Host, dict[str, t.Any], bool], dict[str, t.Any]]

SCRIPTS: dict[str, ScriptHandler] = {}
PROGRAMS: dict[str, ProgramHandler] = {}
MODULES: dict[str, ModuleHandler] = {}


def script(name: str) -> t.Callable[[ScriptHandler], ScriptHandler]:
    """Register the simulated contract of `<name>.ps1`."""
    def register(func: ScriptHandler) -> ScriptHandler:
        SCRIPTS[name] = func
        return func
    return register


def program(name: str) -> t.Callable[[ProgramHandler], ProgramHandler]:
    """Register a simulated native program by file name (e.g. `containerd.exe`)."""
    def register(func: ProgramHandler) -> ProgramHandler:
        PROGRAMS[name.lower()] = func
        return func
    return register


def module(name: str) -> t.Callable[[ModuleHandler], ModuleHandler]:
    """Register a stand-in for an ansible.windows module (short name)."""
    def register(func: ModuleHandler) -> ModuleHandler:
        MODULES[name] = func
        return func
    return register
