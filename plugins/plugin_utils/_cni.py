# Copyright (c) wcow.buildkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Container networking on a Windows host: the CNI plugins, the HNS ``nat`` network and the CNI conf (internal).

Pure functions fed what the state read observed; the action plugin runs what ``plan`` decides.

The conf is rendered from one template with ``@SUBNET@`` and ``@GATEWAY@`` placeholders, by the
controller here and by the boot task on the host (``cni_boot.ps1``), so both write the same bytes
and a converged host compares equal.  cniVersion 1.0.0 is what buildkit's Windows documentation
uses with the plugins from 0.3.0 on (older plugin releases are refused by the artifact package).
"""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import ntpath
import typing as t

DEFAULT_BIN_DIR = r"C:\Program Files\containerd\cni\bin"
DEFAULT_CONF_DIR = r"C:\Program Files\containerd\cni\conf"
CONF_NAME = "0-containerd-nat.conf"
NETWORK_NAME = "nat"
CNI_VERSION = "1.0.0"
DEFAULT_SUBNET = "172.20.0.0/16"
DEFAULT_GATEWAY = "172.20.0.1"
BOOT_TASK = "wcow.buildkit nat network"
BUILD_WS2019 = 17763
ISSUE_5668 = ("Windows build 17763 (Windows Server 2019): a second networked RUN step in one build is known to "
              "fail (buildkit issue 5668, open); use Windows Server 2022 or newer for builds that need network")


class CniError(Exception):
    """Bad input: the message names the option and the fix."""

    def __init__(self, msg: str, option: str | None = None):
        super().__init__(msg)
        self.option = option


def template(name: str = NETWORK_NAME) -> str:
    """The conf with placeholders for the live network's subnet and gateway."""
    conf = {
        "cniVersion": CNI_VERSION,
        "name": name,
        "type": "nat",
        "master": "Ethernet",
        "ipam": {"subnet": "@SUBNET@", "routes": [{"gateway": "@GATEWAY@"}]},
        "capabilities": {"portMappings": True, "dns": True},
    }
    return json.dumps(conf, indent=4) + "\n"


def render(subnet: str, gateway: str, name: str = NETWORK_NAME) -> str:
    """The conf for a network, as cni_boot.ps1 renders it from the same template."""
    return template(name).replace("@SUBNET@", subnet).replace("@GATEWAY@", gateway)


def conf_network(text: str | None) -> dict[str, str] | None:
    """The subnet and gateway a conf file names (None when absent or not ours to read)."""
    if not text:
        return None
    try:
        conf = json.loads(text)
        ipam = conf.get("ipam") or {}
        return {"subnet": str(ipam.get("subnet") or ""), "gateway": str((ipam.get("routes") or [{}])[0].get("gateway") or "")}
    except (ValueError, AttributeError, IndexError, TypeError):
        return None


def check_network(subnet: str, gateway: str) -> None:
    """The subnet must be a network in CIDR form, and the gateway an address inside it."""
    try:
        net = ipaddress.ip_network(subnet, strict=True)
    except ValueError as exc:
        raise CniError(f"nat_subnet={subnet!r} is not a network in CIDR form ({exc}): give one such as "
                       f"{DEFAULT_SUBNET}", option="nat_subnet") from None
    try:
        address = ipaddress.ip_address(gateway)
    except ValueError:
        raise CniError(f"nat_gateway={gateway!r} is not an IP address: give one inside nat_subnet, such as "
                       f"{next(net.hosts(), net.network_address)}", option="nat_gateway") from None
    if address not in net or address in (net.network_address, net.broadcast_address):
        raise CniError(f"nat_gateway={gateway} is not a host address inside nat_subnet={subnet}: give one such as "
                       f"{next(net.hosts(), net.network_address)}", option="nat_gateway")


@dataclasses.dataclass(frozen=True)
class Desired:
    state: str
    mode: str  # "nat" or "off"
    bin_dir: str
    conf_dir: str
    subnet: str
    gateway: str
    boot_task: bool
    buildkitd_service: str

    @property
    def conf_path(self) -> str:
        return ntpath.join(self.conf_dir, CONF_NAME)

    def archive_path(self, artifact_dir: str) -> str:
        """The staged plugins release in the host's artifact folder. One name for every release: the module keeps
        it as its record of what is installed (compared by digest), an upgrade overwrites it, and state=absent,
        which resolves no version, still knows what to delete."""
        return ntpath.join(artifact_dir, STAGED_ZIP)

    @property
    def boot_dir(self) -> str:
        return ntpath.join(ntpath.dirname(self.conf_dir.rstrip("\\")), "boot")

    @property
    def boot_script(self) -> str:
        return ntpath.join(self.boot_dir, "cni_boot.ps1")

    @property
    def template_path(self) -> str:
        return ntpath.join(self.boot_dir, CONF_NAME + ".template")

    @property
    def boot_log(self) -> str:
        return ntpath.join(self.boot_dir, "cni_boot.log")

    def boot_argument(self) -> str:
        """The task's powershell.exe arguments (paths quoted: they hold spaces)."""
        return (f'-NoProfile -NonInteractive -ExecutionPolicy Bypass -File "{self.boot_script}" -Name {NETWORK_NAME} '
                f'-TemplatePath "{self.template_path}" -ConfPath "{self.conf_path}" -Subnet {self.subnet} '
                f'-Gateway {self.gateway} -ServiceName "{self.buildkitd_service}" -LogFile "{self.boot_log}"')


STAGED_ZIP = "windows-container-networking-cni.zip"
POWERSHELL = r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe"


@dataclasses.dataclass(frozen=True)
class Observed:
    network: dict[str, t.Any]
    conf_text: str | None
    plugins_present: bool
    archive_current: bool
    task_command: str | None
    template_text: str | None
    boot_script_text: str | None
    buildkitd_status: str | None
    build: int | None = None
    archive_present: bool = False


@dataclasses.dataclass
class Plan:
    install_plugins: bool = False
    create_network: bool = False
    conf_text: str | None = None  # write this conf
    remove_conf: bool = False
    remove_paths: list[str] = dataclasses.field(default_factory=list)  # absent: boot files, plugins
    restart_buildkitd: bool = False
    boot_task: str = "keep"  # keep, present, absent
    reasons: list[str] = dataclasses.field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.install_plugins or self.create_network or self.conf_text is not None or self.remove_conf
                    or self.restart_buildkitd or self.boot_task != "keep" or self.remove_paths)


def expected_network(desired: Desired, observed: Observed) -> tuple[str, str]:
    """The subnet and gateway the conf must name: the live network's, or the ones nat will be created with."""
    net = observed.network
    if net.get("exists"):
        return str(net.get("subnet") or ""), str(net.get("gateway") or "")
    return desired.subnet, desired.gateway


def plan(desired: Desired, observed: Observed, boot_script: str, artifact_dir: str = "") -> Plan:
    """What to change so the host matches desired."""
    result = Plan()
    if desired.state == "absent" or desired.mode == "off":
        if observed.conf_text is not None:
            result.remove_conf = True
            result.reasons.append(f"{desired.conf_path} removed (networking {'off' if desired.mode == 'off' else 'absent'})")
        if observed.task_command is not None:
            result.boot_task = "absent"
            result.reasons.append("boot task removed")
        if desired.state == "absent":
            gone = [p for p, there in ((desired.boot_dir, observed.boot_script_text is not None),
                                       (desired.bin_dir, observed.plugins_present),
                                       (desired.archive_path(artifact_dir), observed.archive_present)) if there]
            result.remove_paths = gone
            result.reasons += [f"{p} removed" for p in gone]
        if result.remove_conf and observed.buildkitd_status == "Running":
            result.restart_buildkitd = True  # a running buildkitd keeps the CNI network until it restarts
        return result
    if not observed.plugins_present or not observed.archive_current:
        result.install_plugins = True
        result.reasons.append("CNI plugins installed")
    net = observed.network
    if not net.get("exists"):
        result.create_network = True
        result.reasons.append(f"HNS network {NETWORK_NAME} created ({desired.subnet}, gateway {desired.gateway})")
    elif str(net.get("type") or "").lower() != "nat":
        raise CniError(f"the HNS network named {NETWORK_NAME} has type {net.get('type')!r}, not nat: remove it on the "
                       "host (it was made by something else) or set mode: off")
    subnet, gateway = expected_network(desired, observed)
    wanted = render(subnet, gateway)
    if observed.conf_text != wanted:
        result.conf_text = wanted
        before = conf_network(observed.conf_text)
        result.reasons.append(f"{desired.conf_path} rendered for {subnet}" + (
            f" (was {before['subnet']})" if before and before["subnet"] != subnet else ""))
        # buildkitd reads the conf when it starts: a running one keeps the old network until restarted.
        if observed.buildkitd_status == "Running":
            result.restart_buildkitd = True
    task_wanted = f"{POWERSHELL} {desired.boot_argument()}"
    if desired.boot_task:
        if (observed.task_command != task_wanted or observed.template_text != template()
                or observed.boot_script_text != boot_script):
            result.boot_task = "present"
            result.reasons.append("boot task installed")
    elif observed.task_command is not None:
        result.boot_task = "absent"
        result.reasons.append("boot task removed")
    return result


def warnings(desired: Desired, build: int | None) -> list[str]:
    if desired.state == "present" and desired.mode == "nat" and build == BUILD_WS2019:
        return [ISSUE_5668]
    return []
