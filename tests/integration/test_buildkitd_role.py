"""The buildkitd role: wraps win_buildkitd and publishes what a buildx client needs, per host."""

from __future__ import annotations

import json
import pathlib


def _play(fake_github, tmp_path, role_vars):
    common = {**fake_github.options(cache_dir=str(tmp_path / "cache"))}
    return json.dumps([{
        "hosts": "windows_builders", "gather_facts": False,
        "roles": [
            {"role": "wcow.buildkit.containerd",
             "vars": {"containerd_version": "2.1.5", **{f"containerd_{k}": v for k, v in common.items()}}},
            {"role": "wcow.buildkit.buildkitd",
             "vars": {"buildkitd_version": "0.24.0", **{f"buildkitd_{k}": v for k, v in common.items()}, **role_vars}},
        ],
        "post_tasks": [{"name": "show facts", "ansible.builtin.debug": {"msg": {
            "endpoint": "{{ buildkitd_endpoint }}", "cert": "{{ buildkitd_client_cert | default('') }}"}}}],
    }])


def test_role_publishes_the_pipe_endpoint(simulator, fake_github, tmp_path):
    run = simulator.run(simulator.playbook(_play(fake_github, tmp_path, {})))
    assert run.rc == 0, run.stdout
    assert run.result()["msg"] == {"endpoint": "npipe:////./pipe/buildkitd", "cert": ""}


def test_role_publishes_the_tcp_endpoint_and_client_bundle(simulator, fake_github, tmp_path):
    pki = tmp_path / "pki"
    run = simulator.run(simulator.playbook(_play(fake_github, tmp_path, {
        "buildkitd_tcp": "0.0.0.0:1234", "buildkitd_tls_generate": True, "buildkitd_tls_ca_dir": str(pki)})))
    assert run.rc == 0, run.stdout
    facts = run.result()["msg"]
    assert facts["endpoint"] == "tcp://sim-host:1234"
    assert pathlib.Path(facts["cert"]) == pki / "client" / "cert.pem" and pathlib.Path(facts["cert"]).is_file()


def test_role_errors_name_the_role_variable(simulator, fake_github, tmp_path):
    """win_buildkitd's own refusals name the option and, under the role, the variable the user set."""
    run = simulator.run(simulator.playbook(_play(fake_github, tmp_path, {"buildkitd_tcp": "0.0.0.0:1234"})))
    assert run.rc != 0 and "Traceback" not in run.stdout
    msg = run.result()["msg"]
    assert "tcp (role variable buildkitd_tcp):" in msg, msg
    # only the option the error is about: the fix it names (tcp_insecure) was not set by the user
    assert "buildkitd_tcp_insecure" not in msg, msg
    assert "buildkitd" not in simulator.state()["services"]


def test_role_version_refusal_names_the_role_variable(simulator, fake_github, tmp_path):
    run = simulator.run(simulator.playbook(_play(fake_github, tmp_path, {"buildkitd_hyperv_isolation": True})))
    assert run.rc != 0
    msg = run.result()["msg"]
    assert "hyperv_isolation (role variable buildkitd_hyperv_isolation):" in msg and "0.24.0" in msg, msg
