# Test double: never shipped (galaxy.yml build_ignore keeps tests/ out).
"""Connection plugin for the simulated Windows host."""

from __future__ import annotations

DOCUMENTATION = r"""
name: simulated_windows
short_description: A simulated Windows host for wcow.buildkit tests
description:
  - Behaves like the winrm connection (PowerShell shell, pipelined modules) but runs
    nothing. Each command is routed to the simulated contract of the host script,
    ansible.windows module or win_reboot command it carries.
  - Host state lives in C(<state_dir>/<inventory_hostname>.json) between runs.
options:
  state_dir:
    description: Folder of the state files.
    default: .sim
    vars:
      - name: sim_state_dir
    env:
      - name: WCOW_SIM_STATE_DIR
  build:
    description: Windows build number (17763, 20348, 26100 server; 22000, 22621, 22631, 26200 Windows 11).
    type: int
    default: 20348
    vars:
      - name: sim_build
  edition:
    description:
      - V(client) or V(server) for a build both editions share (26100 is Windows Server 2025, or with V(client)
        Windows 11 24H2); empty for the build's usual edition.
    type: str
    default: ""
    vars:
      - name: sim_edition
  faults:
    description:
      - Faults to inject, by name.
      - C(service_start_fails) list of C(service) or C(service@version) that stop right after start.
      - C(service_stop_hangs) list of C(service) or C(service@version) that stay StopPending after a stop request;
        their process ignores it until killed.
      - C(service_start_hangs) list of C(service) or C(service@version) that stay StartPending (process alive,
        image locked, no pipe).
      - C(service_exit_lingers) dict C(service) -> seconds the process outlives the SCM's Stopped (its image stays
        locked until it exits).
      - C(step_fails) list of host script names; every step of those scripts fails.
      - C(drop_connection) names a host script; the connection drops when it is about to run.
      - C(corrupt_download) bool; files the host downloads itself get wrong bytes.
      - C(pending_reboot) bool; a new host starts with a reboot pending.
      - C(feature_rollback) list of feature names that a reboot undoes instead of completing.
    type: dict
    default: {}
    vars:
      - name: sim_faults
  features:
    description:
      - Windows features of a new host and their DISM state (V(Enabled), V(EnablePending), V(Available)), over the
        default of every feature V(Available).
    type: dict
    default: {}
    vars:
      - name: sim_features
  latency_ms:
    description: Milliseconds each request takes (a put_file sends one request per 250,000-byte chunk).
    type: float
    default: 0
    vars:
      - name: sim_latency_ms
"""

import base64
import json
import ntpath
import os
import sys
import time
import typing as t

from ansible.errors import AnsibleConnectionFailure, AnsibleError
from ansible.plugins.connection import ConnectionBase

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from wcow_sim import dispatch  # noqa: E402
from wcow_sim.host import ConnectionDropped, Host  # noqa: E402
from wcow_sim.state import StateStore, edition_of  # noqa: E402


PUT_FILE_CHUNK = 250000  # ansible-core winrm.py: _put_file_stdin_iterator(buffer_size=250000)
STDIN_CHUNK = 200000  # ansible-core winrm.py: _wrapper_payload_stream(buffer_size=200000)
# Measured on the loopback WinRS listener (tests/wire): every command costs Command + Receive + Signal
# (ansible's cleanup_command) plus one Send per stdin chunk; put_file adds a Send for its manifest.
COMMAND_REQUESTS = 3


class Connection(ConnectionBase):
    """Routes WinRM-shaped traffic to the simulated host."""

    transport = "simulated_windows"
    module_implementation_preferences = (".ps1", ".exe", "")
    allow_executable = False
    has_pipelining = True
    allow_extras = True

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        self.always_pipeline_modules = True
        self.has_native_async = False
        self._shell_type = "powershell"
        super().__init__(*args, **kwargs)

    def _connect(self) -> "Connection":
        self._connected = True
        return self

    def _open(self, caller: str, sent: int, requests: int = 1) -> t.Any:
        """One round trip (a command or a transfer) made of `requests` WS-Management requests.

        The module budget counts round trips; the wire cost is the requests, each paying the latency.
        """
        store = StateStore(self.get_option("state_dir"), self._play_context.remote_addr)
        faults = self.get_option("faults") or {}
        initial = {"pending_reboot": bool(faults.get("pending_reboot"))}
        if self.get_option("features"):
            initial["features"] = self.get_option("features")
        if self.get_option("edition"):
            edition = edition_of(int(self.get_option("build")), self.get_option("edition"))
            initial["edition"], initial["product_name"] = edition
        latency = float(self.get_option("latency_ms") or 0)
        if latency:
            time.sleep(latency * requests / 1000.0)
        context = store.open(build=int(self.get_option("build")), initial=initial)
        state = context.__enter__()
        stats = state["stats"]
        per = stats["by_module"].setdefault(caller, {"round_trips": 0, "requests": 0, "bytes_sent": 0})
        for counts in (stats, per):
            counts["round_trips"] += 1
            counts["requests"] = counts.get("requests", 0) + requests
            counts["bytes_sent"] += sent
        return context, Host(self._play_context.remote_addr, state, faults)

    def exec_command(self, cmd: str, in_data: bytes | None = None, sudoable: bool = True) -> tuple[int, bytes, bytes]:
        super().exec_command(cmd, in_data=in_data, sudoable=sudoable)
        in_data = in_data or b""
        script = dispatch.decode_command(cmd)
        module = dispatch.parse_module_payload(in_data)
        payload = json.loads(in_data) if dispatch.is_bootstrap(script) else None
        if payload is not None:
            caller = payload.get("caller", "unknown")
        elif module is not None:
            caller = f"ansible.windows.{module[0]}"
        else:
            caller = "raw"
        self._last_caller = caller
        sends = -(-len(in_data) // STDIN_CHUNK)
        context, host = self._open(caller, len(cmd) + len(in_data), requests=COMMAND_REQUESTS + sends)
        try:
            return dispatch.run_command(host, script, payload, module)
        except ConnectionDropped as exc:
            raise AnsibleConnectionFailure(f"simulated host {host.name}: {exc}") from None
        finally:
            context.__exit__(None, None, None)

    def put_file(self, in_path: str, out_path: str) -> None:
        super().put_file(in_path, out_path)
        with open(in_path, "rb") as source:
            data = source.read()
        # As ansible's winrm plugin sends it (_put_file_stdin_iterator): 250,000-byte chunks, each
        # base64-encoded plus CRLF in its own request. A transfer belongs to the module call that asked for it.
        chunks = [data[i:i + PUT_FILE_CHUNK] for i in range(0, len(data), PUT_FILE_CHUNK)] or [b""]
        wire = sum(len(base64.b64encode(chunk)) + 2 for chunk in chunks if chunk)
        context, host = self._open(getattr(self, "_last_caller", "put_file"), wire,
                                   requests=COMMAND_REQUESTS + 1 + len(chunks))
        try:
            # Like ansible's winrm/psrp put_file ([IO.File]::Create): the folder must already exist.
            if not host.is_dir(ntpath.dirname(out_path)):
                raise AnsibleError(f"failed to transfer file to {out_path}: Could not find a part of the path "
                                   f"'{out_path}'.")
            host.write_file(out_path, data)
            host.event("put_file", out_path)
        finally:
            context.__exit__(None, None, None)

    def fetch_file(self, in_path: str, out_path: str) -> None:
        super().fetch_file(in_path, out_path)
        context, host = self._open("fetch_file", 0)
        try:
            data = host.read_bytes(in_path)
        finally:
            context.__exit__(None, None, None)
        with open(out_path, "wb") as target:
            target.write(data)

    def reset(self) -> None:
        self._connected = False

    def close(self) -> None:
        self._connected = False
