# Copyright (c) wcow.buildkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""win_buildkitd's registries option: buildkitd.toml registry tables and the CA/client files they name."""
from __future__ import annotations

import pytest

from ansible_collections.wcow.buildkit.plugins.plugin_utils import _buildkitd_config, _certs
from ansible_collections.wcow.buildkit.plugins.plugin_utils import _buildkitd_registries as reg
from ansible_collections.wcow.buildkit.plugins.plugin_utils._buildkitd_registries import RegistryError

CERTS = r"C:\ProgramData\buildkitd\certs.d"


@pytest.fixture(name="pki", scope="module")
def fixture_pki(tmp_path_factory):
    root = tmp_path_factory.mktemp("pki")
    ca = _certs.ensure_ca(root / "ca")
    client = _certs.ensure_client_bundle(ca, root / "client")
    other = _certs.ensure_client_bundle(_certs.ensure_ca(root / "other-ca"), root / "other")
    return {"ca": ca.cert_path.read_text(), "ca_path": str(ca.cert_path),
            "cert": client.cert_path.read_text(), "key": (root / "client" / _certs.CLIENT_KEY).read_text(),
            "other_key": (root / "other" / _certs.CLIENT_KEY).read_text()}


def test_ca_and_client_pair_become_files_in_the_hosts_folder_and_the_table_names_them(pki):
    settings = {"ca": pki["ca_path"], "client_cert": pki["cert"], "client_key": pki["key"]}
    got = reg.plan({"registry.example.com:5000": settings}, CERTS)
    folder = CERTS + r"\registry.example.com_5000"  # ':' cannot be in a Windows file name
    assert got.table == {"registry.example.com:5000": {
        "ca": [folder + r"\ca.crt"], "keypair": [{"cert": folder + r"\client.cert", "key": folder + r"\client.key"}]}}
    assert dict(got.files) == {folder + r"\ca.crt": pki["ca"], folder + r"\client.cert": pki["cert"],
                               folder + r"\client.key": pki["key"]}
    assert got.keys == (folder + r"\client.key",) and got.host_files == ()


def test_mirrors_http_insecure_render_into_buildkitd_toml_for_the_target_version():
    got = reg.plan({"docker.io": {"mirrors": ["mirror.example.com", "harbor.example.com/proxy.docker.io"]},
                    "mirror.example.com": {"http": True}, "registry.local:5000": {"insecure": True}}, CERTS)
    config = reg.merge({"worker": {"containerd": {"gc": True}}}, got.table)
    text = _buildkitd_config.render_config("0.24.0", config).text
    assert '[registry."docker.io"]\nmirrors = [\n    "mirror.example.com",\n    "harbor.example.com/proxy.docker.io",\n]' \
        in text, text
    assert '[registry."mirror.example.com"]\nhttp = true' in text and '[registry."registry.local:5000"]\ninsecure = true' in text
    assert got.files == ()


def test_a_windows_path_is_a_file_already_on_the_host(pki):
    got = reg.plan({"r.example.com": {"ca": [r"C:\pki\r-ca.pem", pki["ca"]]}}, CERTS)
    assert got.table["r.example.com"]["ca"] == [r"C:\pki\r-ca.pem", CERTS + r"\r.example.com\ca-2.crt"]
    assert got.host_files == (("registries.r.example.com.ca", r"C:\pki\r-ca.pem"),)


@pytest.mark.parametrize("value, message", [
    ({"https://r.example.com": {}}, "'https://r.example.com' is a URL; key each registry by its host (and port) only, "
                                    "e.g. 'r.example.com'"),
    ({"r.example.com/path": {}}, "is not a registry host"),
    ({"r.example.com": {"mirror": ["m.example.com"]}}, "unknown key 'mirror'; did you mean mirrors?"),
    ({"r.example.com": {"mirrors": ["https://m.example.com"]}},
     "registries.r.example.com.mirrors: 'https://m.example.com': give host[:port][/path] without a scheme"),
    ({"r.example.com": {"http": "yes please"}}, "registries.r.example.com.http must be true or false"),
    ({"r.example.com": {"ca": "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n"}},
     "registries.r.example.com.ca: not a PEM certificate"),
    ({"r.example.com": {"ca": "/nonexistent/ca.pem"}}, "registries.r.example.com.ca: cannot read /nonexistent/ca.pem"),
    ({"r.example.com": {"client_cert": "C:\\pki\\c.pem"}}, "registries.r.example.com.client_key missing"),
])
def test_bad_values_are_refused_naming_the_key_and_the_fix(value, message):
    with pytest.raises(RegistryError) as caught:
        reg.plan(value, CERTS)
    assert message in str(caught.value) and str(caught.value).startswith("registries")


def test_a_client_key_of_another_certificate_is_refused(pki):
    with pytest.raises(RegistryError, match="client_key does not belong to registries.r.example.com.client_cert"):
        reg.plan({"r.example.com": {"client_cert": pki["cert"], "client_key": pki["other_key"]}}, CERTS)


def test_a_host_in_both_registries_and_config_registry_is_refused():
    table = reg.plan({"docker.io": {"mirrors": ["m.example.com"]}}, CERTS).table
    with pytest.raises(RegistryError, match="docker.io is also under config.registry"):
        reg.merge({"registry": {"docker.io": {"http": True}}}, table)
    assert reg.merge({"registry": {"ghcr.io": {"http": True}}}, table)["registry"] == {
        "ghcr.io": {"http": True}, "docker.io": {"mirrors": ["m.example.com"]}}
    assert reg.merge(None, {}) is None and reg.plan(None).table == {}
