"""What every wcow.buildkit action plugin shares: become, no_log masking, module_defaults through roles."""

from __future__ import annotations

import json

MODULE = "wcow.buildkit.win_containerd"


def _play(task, **play):
    return json.dumps([{"hosts": "windows_builders", "gather_facts": False, **play, "tasks": [task]}])


def test_become_fails_clearly_and_touches_nothing(simulator, fake_github, tmp_path):
    task = {MODULE: fake_github.options(cache_dir=str(tmp_path / "cache"), version="2.1.5"), "become": True,
            "become_method": "runas", "become_user": "SYSTEM"}
    run = simulator.run(simulator.playbook(_play(task)))
    assert run.rc != 0
    result = run.result()
    assert "become is not supported" in result["msg"]
    assert "connect as an administrator" in result["msg"]
    assert not (simulator.state_dir / "sim-host.json").exists()  # the host was never contacted


def test_a_password_in_download_proxy_never_reaches_the_result(simulator, fake_github, tmp_path):
    """The proxy is not a no_log option, but the password inside its URL is masked wherever it shows."""
    proxy = f"http://builder:s3cr3t-pw@{fake_github.base_url.split('://', 1)[1]}"
    options = fake_github.options(cache_dir=str(tmp_path / "cache"), version="2.1.5", source="host",
                                  download_proxy=proxy)
    run = simulator.run(simulator.playbook(_play({MODULE: options})), None, "-vvv")
    assert run.rc == 0, run.stdout
    result = run.result()
    assert any(r.proxied for r in fake_github.requests)  # the host really went through the proxy
    assert "s3cr3t-pw" not in json.dumps(result)
    assert result["invocation"]["module_args"]["download_proxy"] == proxy.replace("s3cr3t-pw", "********")


def test_module_defaults_reach_win_containerd_through_the_role(simulator, fake_github, tmp_path):
    play = json.dumps([{
        "hosts": "windows_builders", "gather_facts": False,
        "module_defaults": {"group/wcow.buildkit.buildkit": {
            **fake_github.options(cache_dir=str(tmp_path / "cache")), "version": "1.7.29", "log_level": "debug"}},
        "roles": [{"role": "wcow.buildkit.containerd", "vars": {"containerd_start_timeout": 30}}],
    }])
    run = simulator.run(simulator.playbook(play))
    assert run.rc == 0, run.stdout
    result = run.result()
    assert result["version"] == "1.7.29"
    assert result["invocation"]["module_args"]["start_timeout"] == 30  # role variables still win
    assert "--log-level debug" in simulator.state()["services"]["containerd"]["command_line"]
