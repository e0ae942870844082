# Copyright (c) wcow.buildkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for wcow.buildkit.win_containerd: read, plan, apply (the shared daemon lifecycle)."""

from __future__ import annotations

import re
import typing as t

from ansible.utils.display import Display

from ..plugin_utils import _containerd, _containerd_config
from ..plugin_utils._action import ModuleFailure
from ..plugin_utils._daemon_action import DaemonAction, daemon_argument_spec

display = Display()
_WINDOWS_ABSOLUTE = re.compile(r"^([A-Za-z]:\\|\\\\)")

ARGUMENT_SPEC: dict[str, t.Any] = {
    **daemon_argument_spec(install_dir=r"C:\Program Files\containerd", service_name="containerd",
                           log_file=r"C:\ProgramData\containerd\containerd.log"),
    "config": {"type": "dict", "default": {}},
    "config_extra_keys": {"type": "list", "elements": "str", "default": []},
    "cni": {"type": "dict", "options": {
        "bin_dir": {"type": "str"},
        "conf_dir": {"type": "str"},
    }},
    "log_level": {"type": "str", "default": "info",
                  "choices": ["trace", "debug", "info", "warn", "error", "fatal", "panic"]},
}


class ActionModule(DaemonAction):
    module_name = "wcow.buildkit.win_containerd"
    argument_spec = ARGUMENT_SPEC
    daemon = _containerd.CONTAINERD

    def observe(self, answers: list[dict[str, t.Any]]) -> _containerd.Observed:
        return _containerd.observe(answers[-1], _containerd_config.parse_version_output)

    def warnings(self, desired: _containerd.Desired, observed: _containerd.Observed) -> list[str]:
        if observed.docker_containerd and desired.state == "present":
            return ["Docker Engine runs its own containerd (pipe docker-containerd); "
                    "this standalone containerd is managed separately."]
        return []

    def desired(self, args: dict[str, t.Any]) -> _containerd.Desired:
        common = {**self.desired_options(args), "log_level": args["log_level"]}
        if args["state"] == "absent":
            return _containerd.Desired(**common)
        version = self.resolve_version(args)
        cni = args["cni"] or {}
        for name in ("bin_dir", "conf_dir"):
            if cni.get(name) and not _WINDOWS_ABSOLUTE.match(cni[name]):
                raise ModuleFailure(f"{self.module_name}: cni.{name} must be an absolute Windows path such as "
                                    f"C:\\Program Files\\containerd\\cni\\{name[:-4]}, got {cni[name]!r}",
                                    option="cni")
        # The CNI folders in this series' own keys; a setting the user wrote in config wins over them.
        config = _containerd_config.merge(
            _containerd_config.cni_config(version, cni.get("bin_dir"), cni.get("conf_dir")), args["config"])
        try:  # render refuses keys of the other schema and unsupported versions, naming the fix
            config_text = _containerd_config.render(version, config, args["config_extra_keys"])
            merged = _containerd_config.merge(_containerd_config.default_config(version), config)
        except _containerd_config.ContainerdConfigError as exc:
            raise ModuleFailure(f"{self.module_name}: {exc}", option="config") from None
        for warning in [_containerd_config.newer_series_warning(version),
                        *_containerd_config.config_warnings(version, config)]:
            if warning:
                display.warning(f"{self.module_name}: {warning}")
        return _containerd.Desired(
            **common,
            version=version,
            config_text=config_text,
            archive_path=self.archive_path(version),
            pipe_address=_containerd_config.grpc_address(merged, version) or _containerd.DEFAULT_PIPE,
        )
