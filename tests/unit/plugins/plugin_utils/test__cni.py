"""The networking planner: conf rendering, input checks and what a state read leads to."""

from __future__ import annotations

import dataclasses
import json

import pytest

from ansible_collections.wcow.buildkit.plugins.plugin_utils import _cni

LIVE = {"exists": True, "name": "nat", "type": "NAT", "subnet": "172.23.64.0/20", "gateway": "172.23.64.1",
        "id": "A", "build": 20348}
DESIRED = _cni.Desired(state="present", mode="nat", bin_dir=_cni.DEFAULT_BIN_DIR, conf_dir=_cni.DEFAULT_CONF_DIR,
                       subnet="172.20.0.0/16", gateway="172.20.0.1", boot_task=False, buildkitd_service="buildkitd")
BOOT = "# boot script\n"


def observed(**changes):
    base = _cni.Observed(network=dict(LIVE), conf_text=_cni.render("172.23.64.0/20", "172.23.64.1"),
                         plugins_present=True, archive_current=True, task_command=None, template_text=None,
                         boot_script_text=None, buildkitd_status="Running", build=20348)
    return dataclasses.replace(base, **changes)


def test_conf_is_a_nat_network_of_the_live_subnet_with_a_cni_version_the_plugins_accept():
    conf = json.loads(_cni.render("10.1.0.0/16", "10.1.0.1"))
    assert conf["type"] == "nat" and conf["name"] == "nat" and conf["cniVersion"] == "1.0.0"
    assert conf["ipam"] == {"subnet": "10.1.0.0/16", "routes": [{"gateway": "10.1.0.1"}]}
    assert _cni.conf_network(_cni.render("10.1.0.0/16", "10.1.0.1")) == {"subnet": "10.1.0.0/16",
                                                                         "gateway": "10.1.0.1"}


def test_the_boot_script_fills_the_same_template_the_controller_renders():
    """cni_boot.ps1 replaces @SUBNET@ and @GATEWAY@: same bytes, so a converged host stays converged."""
    assert _cni.template().replace("@SUBNET@", "1.2.0.0/16").replace("@GATEWAY@", "1.2.0.1") == \
        _cni.render("1.2.0.0/16", "1.2.0.1")


def test_converged_host_plans_nothing():
    plan = _cni.plan(DESIRED, observed(), BOOT)
    assert not plan.changed and plan.reasons == []


def test_conf_of_another_subnet_is_rerendered_and_a_running_buildkitd_restarted():
    plan = _cni.plan(DESIRED, observed(conf_text=_cni.render("172.29.0.0/16", "172.29.0.1")), BOOT)
    assert plan.conf_text == _cni.render("172.23.64.0/20", "172.23.64.1") and plan.restart_buildkitd
    assert "was 172.29.0.0/16" in plan.reasons[0]


def test_a_stopped_or_missing_buildkitd_is_not_restarted():
    for status in ("Stopped", None):
        plan = _cni.plan(DESIRED, observed(conf_text=None, buildkitd_status=status), BOOT)
        assert plan.conf_text is not None and not plan.restart_buildkitd


def test_missing_nat_is_created_with_the_configured_subnet_and_the_conf_names_it():
    plan = _cni.plan(DESIRED, observed(network={"exists": False}, conf_text=None), BOOT)
    assert plan.create_network
    assert _cni.conf_network(plan.conf_text) == {"subnet": "172.20.0.0/16", "gateway": "172.20.0.1"}


def test_a_nat_named_network_of_another_type_is_refused():
    with pytest.raises(_cni.CniError, match="type 'l2bridge', not nat"):
        _cni.plan(DESIRED, observed(network={**LIVE, "type": "l2bridge"}), BOOT)


def test_missing_plugins_or_another_release_reinstall():
    assert _cni.plan(DESIRED, observed(plugins_present=False), BOOT).install_plugins
    assert _cni.plan(DESIRED, observed(archive_current=False), BOOT).install_plugins


def test_boot_task_is_installed_then_kept_and_reinstalled_when_its_script_changes():
    wanted = dataclasses.replace(DESIRED, boot_task=True)
    assert _cni.plan(wanted, observed(), BOOT).boot_task == "present"
    done = observed(task_command=f"{_cni.POWERSHELL} {wanted.boot_argument()}", template_text=_cni.template(),
                    boot_script_text=BOOT)
    assert not _cni.plan(wanted, done, BOOT).changed
    assert _cni.plan(wanted, done, "# newer boot script\n").boot_task == "present"
    assert _cni.plan(DESIRED, done, BOOT).boot_task == "absent"


def test_mode_off_removes_conf_and_task_and_restarts_buildkitd_onto_the_null_network():
    off = dataclasses.replace(DESIRED, mode="off")
    plan = _cni.plan(off, observed(task_command="x"), BOOT)
    assert plan.remove_conf and plan.boot_task == "absent" and plan.restart_buildkitd
    assert not plan.install_plugins and not plan.remove_paths
    assert not _cni.plan(off, observed(conf_text=None), BOOT).changed


def test_absent_removes_the_plugins_and_boot_files_too():
    gone = dataclasses.replace(DESIRED, state="absent")
    plan = _cni.plan(gone, observed(boot_script_text=BOOT), BOOT)
    assert plan.remove_paths == [gone.boot_dir, gone.bin_dir]


@pytest.mark.parametrize("subnet,gateway,option", [
    ("172.20.0.0/33", "172.20.0.1", "nat_subnet"),
    ("172.20.0.1/16", "172.20.0.1", "nat_subnet"),  # host bits set: not a network
    ("172.20.0.0/16", "172.21.0.1", "nat_gateway"),
    ("172.20.0.0/16", "172.20.0.0", "nat_gateway"),
    ("172.20.0.0/16", "gateway", "nat_gateway"),
])
def test_bad_networks_name_the_option(subnet, gateway, option):
    with pytest.raises(_cni.CniError) as caught:
        _cni.check_network(subnet, gateway)
    assert caught.value.option == option and str(caught.value).startswith(option)


def test_only_build_17763_is_warned_about_issue_5668():
    assert "5668" in _cni.warnings(DESIRED, 17763)[0] and "Windows Server 2022" in _cni.warnings(DESIRED, 17763)[0]
    assert _cni.warnings(DESIRED, 20348) == [] and _cni.warnings(dataclasses.replace(DESIRED, mode="off"), 17763) == []


def test_boot_task_arguments_quote_paths_with_spaces():
    argument = DESIRED.boot_argument()
    assert f'-File "{DESIRED.boot_script}"' in argument and f'-ConfPath "{DESIRED.conf_path}"' in argument
