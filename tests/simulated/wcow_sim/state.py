"""A simulated host's state, kept in one JSON file between ansible-playbook runs."""

from __future__ import annotations

import contextlib
import copy
import fcntl
import json
import os
import pathlib
import typing as t

ENVIRONMENT_KEY = r"hklm\system\currentcontrolset\control\session manager\environment"
# The machine Path of a fresh Windows Server 2022 install, as stored: REG_EXPAND_SZ with %SystemRoot% names.
DEFAULT_MACHINE_PATH = (r"%SystemRoot%\system32;%SystemRoot%;%SystemRoot%\System32\Wbem;"
                        "%SYSTEMROOT%\\System32\\WindowsPowerShell\\v1.0\\;%SYSTEMROOT%\\System32\\OpenSSH\\")


def machine_path(state: dict[str, t.Any]) -> dict[str, t.Any]:
    """The machine Path registry value of a state: {kind, value} (value as stored, names unexpanded)."""
    values = state.get("registry", {}).get(ENVIRONMENT_KEY, {})
    return next((v for n, v in values.items() if n.lower() == "path"), {"kind": None, "value": ""})


def machine_path_entries(state: dict[str, t.Any]) -> list[str]:
    """The raw machine PATH entries of a state, in order."""
    return [e for e in str(machine_path(state)["value"]).split(";") if e]


# Builds the simulator knows, with the edition and product name a real host reports.
BUILDS = {
    17763: ("server", "Windows Server 2019 Datacenter"),
    20348: ("server", "Windows Server 2022 Datacenter"),
    26100: ("server", "Windows Server 2025 Datacenter"),
    # Windows 11 21H2, 22H2, 23H2 and 25H2; 24H2 shares 26100 with Windows Server 2025 (sim_edition: client).
    22000: ("client", "Windows 11 Enterprise"),
    22621: ("client", "Windows 11 Enterprise"),
    22631: ("client", "Windows 11 Enterprise"),
    26200: ("client", "Windows 11 Enterprise"),
}
# The client release of a build whose default edition is server.
CLIENT_PRODUCTS = {26100: "Windows 11 Enterprise"}


def edition_of(build: int, edition: str | None = None) -> tuple[str, str]:
    """(edition, product name) of a build; `edition` picks the client or server release of a shared build."""
    default = BUILDS.get(build, ("server", f"Windows Server (build {build})"))
    if edition is None or edition == default[0]:
        return default
    if edition == "client":
        return "client", CLIENT_PRODUCTS.get(build, f"Windows (build {build})")
    return "server", f"Windows Server (build {build})"


def new_state(build: int = 20348, edition: str | None = None) -> dict[str, t.Any]:
    edition, product = edition_of(build, edition)
    return {
        "build": build,
        "edition": edition,
        "product_name": product,
        "boot_id": 1,
        "pending_reboot": False,
        "features": {"Containers": "Available", "Microsoft-Hyper-V": "Available"},
        "files": {},
        # Folders every Windows install has (keys are lower case, as wcow_sim.host.key makes them).
        "dirs": [r"c:\windows", r"c:\windows\system32", r"c:\windows\temp", r"c:\program files",
                 r"c:\programdata", r"c:\users"],
        "services": {},
        "registry": {ENVIRONMENT_KEY: {"Path": {"kind": "REG_EXPAND_SZ", "value": DEFAULT_MACHINE_PATH}}},
        "firewall_rules": {},
        "defender_exclusions": {"processes": [], "paths": []},
        # Live processes: {pid, name, image, exits_at}; their image files are locked (wcow_sim.host).
        "processes": [],
        "next_pid": 4000,
        "clock": 0.0,  # simulated seconds: bounded waits advance it, nothing sleeps
        "hns_networks": {},
        "events": [],
        "stats": {"round_trips": 0, "requests": 0, "bytes_sent": 0, "by_module": {}},
    }


class StateStore:
    """Loads and saves one host's state under an exclusive file lock."""

    def __init__(self, directory: str | os.PathLike, host: str):
        self.directory = pathlib.Path(directory)
        self.path = self.directory / f"{host}.json"

    @contextlib.contextmanager
    def open(self, build: int | None = None, initial: dict[str, t.Any] | None = None) -> t.Iterator[dict[str, t.Any]]:
        """Yield the state for editing; written back when the block ends (even on error)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_suffix(".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if self.path.exists():
                state = json.loads(self.path.read_text())
            else:
                state = new_state(build or 20348)
                for key, value in (initial or {}).items():
                    if isinstance(value, dict) and isinstance(state.get(key), dict):
                        value = {**state[key], **value}  # e.g. features: the ones named, over a new host's
                    state[key] = copy.deepcopy(value)
            try:
                yield state
            finally:
                tmp = self.path.with_suffix(".tmp")
                tmp.write_text(json.dumps(state, indent=1, sort_keys=True))
                os.replace(tmp, self.path)

    def read(self) -> dict[str, t.Any]:
        return json.loads(self.path.read_text()) if self.path.exists() else {}
