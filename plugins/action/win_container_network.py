# Copyright (c) wcow.buildkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for wcow.buildkit.win_container_network: the CNI plugins, the HNS nat network and the CNI conf.

One round trip reads everything (the nat network, the conf, the staged plugin archive, the boot task,
buildkitd's status); `_cni.plan` decides; check mode and diff stop there. A change costs one transfer
of the plugin archive (only when it changed) and one round trip of steps.
"""

from __future__ import annotations

import ntpath
import re
import typing as t

from ansible.utils.display import Display

from ..plugin_utils import _artifacts, _cni
from ..plugin_utils._action import ModuleFailure, WindowsAction
from ..plugin_utils._daemon_action import HOST_ARTIFACT_DIR
from ..plugin_utils._host import Step, WindowsHost, script_text

display = Display()

_ABSOLUTE = re.compile(r"^[A-Za-z]:\\")

ARGUMENT_SPEC: dict[str, t.Any] = {
    "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
    "mode": {"type": "str", "default": "nat", "choices": ["nat", "off"]},
    "bin_dir": {"type": "str", "default": _cni.DEFAULT_BIN_DIR},
    "conf_dir": {"type": "str", "default": _cni.DEFAULT_CONF_DIR},
    "nat_subnet": {"type": "str", "default": _cni.DEFAULT_SUBNET},
    "nat_gateway": {"type": "str", "default": _cni.DEFAULT_GATEWAY},
    "boot_task": {"type": "bool", "default": False},
    "buildkitd_service_name": {"type": "str", "default": "buildkitd"},
    **_artifacts.ARTIFACT_ARGUMENT_SPEC,
}


class ActionModule(WindowsAction):
    module_name = "wcow.buildkit.win_container_network"
    argument_spec = ARGUMENT_SPEC

    def desired(self, args: dict[str, t.Any]) -> _cni.Desired:
        for option in ("bin_dir", "conf_dir"):
            if not _ABSOLUTE.match(args[option] or ""):
                raise ModuleFailure(f"{self.module_name}: {option} must be an absolute Windows path such as "
                                    f"{ARGUMENT_SPEC[option]['default']}, got {args[option]!r}", option=option)
        try:
            _cni.check_network(args["nat_subnet"], args["nat_gateway"])
        except _cni.CniError as exc:
            raise ModuleFailure(f"{self.module_name}: {exc}", option=exc.option) from None
        return _cni.Desired(
            state=args["state"], mode=args["mode"], bin_dir=args["bin_dir"].rstrip("\\"),
            conf_dir=args["conf_dir"].rstrip("\\"), subnet=args["nat_subnet"], gateway=args["nat_gateway"],
            boot_task=args["boot_task"], buildkitd_service=args["buildkitd_service_name"],
        )

    def artifact(self, args: dict[str, t.Any], download: bool) -> _artifacts.Artifact:
        try:
            return _artifacts.prepare("cni", args, download=download, warn=display.warning)
        except _artifacts.ArtifactError as exc:
            raise ModuleFailure(f"{self.module_name}: {exc}", option=exc.option) from None

    def execute(self, args: dict[str, t.Any], host: WindowsHost, task_vars: dict[str, t.Any]) -> dict[str, t.Any]:
        desired = self.desired(args)
        installing = desired.state == "present" and desired.mode == "nat"
        artifact = self.artifact(args, download=False) if installing else None
        archive = desired.archive_path(HOST_ARTIFACT_DIR)
        nat_exe = ntpath.join(desired.bin_dir, "nat.exe")
        reads: dict[str, Step] = {
            "conf": Step("file_read", {"Path": desired.conf_path}),
            "task": Step("scheduled_task", {"Name": _cni.BOOT_TASK, "State": "query"}),
            "template": Step("file_read", {"Path": desired.template_path}),
            "boot": Step("file_read", {"Path": desired.boot_script}),
            "service": Step("service_status", {"Name": desired.buildkitd_service}),
            "nat_exe": Step("verify_file", {"Path": nat_exe}),
        }
        if artifact:  # HNS only when it is needed: without the Containers feature its DLL is missing
            reads["network"] = Step("hns_network", {"Name": _cni.NETWORK_NAME})
            reads["archive"] = _artifacts.observe_step(artifact, archive)
        elif desired.state == "absent":
            reads["archive"] = Step("verify_file", {"Path": archive})
        scratch = [Step("directory_ensure", {"Path": HOST_ARTIFACT_DIR})] if artifact and not self.check_mode else []
        # put_file cannot create folders: make ours while reading (a no-op once it exists).
        got = dict(zip(reads, host.run(scratch + list(reads.values()))[len(scratch):]))
        network = got.get("network") or {}
        if network.get("available") is False:
            message = (f"the host has no Host Networking Service ({network.get('error')}): the Windows feature "
                       "Containers is not enabled, or waits for a reboot")
            if not self.check_mode:
                raise ModuleFailure(f"{self.module_name}: {message}. Run the wcow.buildkit.containers_feature role "
                                    "first, or set mode: off", option="mode")
            # Check mode after containers_feature's own check-mode run (the feature is not on yet): say what a real
            # run would do once it is, as win_containerd does, instead of failing site.yml --check on a fresh host.
            display.warning(f"{host.host}: {self.module_name}: {message}; check mode assumes the nat network "
                            "is created once it is on.")
            network = {}

        def text(name: str) -> str | None:
            return got[name].get("content") if got[name].get("exists") else None

        observed = _cni.Observed(
            network=network,
            conf_text=text("conf"),
            plugins_present=bool(got["nat_exe"].get("exists")),
            archive_current=_artifacts.is_current(artifact, got["archive"]) if artifact else False,
            archive_present=bool(got.get("archive", {}).get("exists")),
            task_command=got["task"].get("command") if got["task"].get("exists") else None,
            template_text=text("template"),
            boot_script_text=text("boot"),
            buildkitd_status=got["service"].get("status") if got["service"].get("exists") else None,
            build=network.get("build"),
        )
        for warning in _cni.warnings(desired, observed.build):
            display.warning(f"{host.host}: {self.module_name}: {warning}")
        try:
            plan = _cni.plan(desired, observed, script_text("cni_boot"), HOST_ARTIFACT_DIR)
        except _cni.CniError as exc:
            raise ModuleFailure(f"{self.module_name}: {exc}", option=exc.option) from None
        subnet, gateway = _cni.expected_network(desired, observed)
        result: dict[str, t.Any] = {
            "changed": plan.changed,
            "changes": plan.reasons,
            "mode": desired.mode if desired.state == "present" else "off",
            "version": artifact.version if artifact else None,
            "network": ({"name": _cni.NETWORK_NAME, "subnet": subnet, "gateway": gateway, "id": network.get("id")}
                        if installing else None),
            "bin_dir": desired.bin_dir,
            "conf_dir": desired.conf_dir,
            "conf_path": desired.conf_path,
            "buildkitd_restarted": False,
            "build": observed.build,
        }
        if self.diff_mode and plan.changed:
            result["diff"] = {"before_header": desired.conf_path, "after_header": desired.conf_path,
                              "before": observed.conf_text or "",
                              "after": "" if plan.remove_conf else (plan.conf_text or observed.conf_text or ""),
                              "prepared": "\n".join(f"- {r}" for r in plan.reasons) + "\n"}
        if not plan.changed or self.check_mode:
            return result
        apply: list[Step] = []
        if plan.install_plugins and artifact:
            artifact = self.artifact(args, download=True)
            try:
                staged, _moved = _artifacts.stage(host, artifact, archive, got["archive"])
            except _artifacts.ArtifactError as exc:
                raise ModuleFailure(f"{self.module_name}: {exc}", option=exc.option) from None
            apply += staged + [Step("zip_extract", {"Archive": archive, "Destination": desired.bin_dir})]
        if plan.create_network:
            apply.append(Step("hns_network", {"Name": _cni.NETWORK_NAME, "Create": True, "Type": "NAT",
                                              "Subnet": desired.subnet, "Gateway": desired.gateway}))
        if plan.conf_text is not None:
            apply.append(Step("file_write", {"Path": desired.conf_path, "Content": plan.conf_text}))
        if plan.remove_conf:
            apply.append(Step("path_remove", {"Path": desired.conf_path}))
        if plan.remove_paths:
            apply.append(Step("path_remove", {"Path": plan.remove_paths}))
        if plan.boot_task == "present":
            apply += [Step("file_write", {"Path": desired.boot_script, "Content": script_text("cni_boot")}),
                      Step("file_write", {"Path": desired.template_path, "Content": _cni.template()}),
                      Step("scheduled_task", {"Name": _cni.BOOT_TASK, "State": "present", "Execute": _cni.POWERSHELL,
                                              "Argument": desired.boot_argument(),
                                              "Description": "Re-creates the HNS nat network and re-renders the "
                                                             "CNI conf at boot (wcow.buildkit)"})]
        elif plan.boot_task == "absent":
            apply.append(Step("scheduled_task", {"Name": _cni.BOOT_TASK, "State": "absent"}))
        if plan.restart_buildkitd:
            apply += [Step("service_stop", {"Name": desired.buildkitd_service}),
                      Step("service_start", {"Name": desired.buildkitd_service, "Require": False})]
        done = host.run(apply)
        created = [a for s, a in zip(apply, done) if s.script == "hns_network"]
        if created and created[-1].get("exists"):
            result["network"].update(subnet=created[-1].get("subnet"), gateway=created[-1].get("gateway"),
                                     id=created[-1].get("id"))
            if (created[-1].get("subnet"), created[-1].get("gateway")) != (desired.subnet, desired.gateway):
                display.warning(f"{host.host}: {self.module_name}: HNS created nat with {created[-1].get('subnet')} "
                                "instead of the subnet asked; the conf is re-rendered on the next run")
        started = [a for s, a in zip(apply, done) if s.script == "service_start"]
        if started:
            result["buildkitd_restarted"] = True
            if not started[-1].get("started"):
                display.warning(f"{host.host}: {self.module_name}: {desired.buildkitd_service} did not come back "
                                f"after the CNI conf changed (status {started[-1].get('status')})")
        return result
