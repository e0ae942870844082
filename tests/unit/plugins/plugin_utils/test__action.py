"""The shared action plugin shape: which values are masked in results."""

from __future__ import annotations

import pytest
from ansible.module_utils.common.parameters import remove_values

from ansible_collections.wcow.buildkit.plugins.plugin_utils._action import _url_passwords


@pytest.mark.parametrize("args, expected", [
    ({"download_proxy": "http://user:secret@proxy:3128"}, {"secret"}),
    ({"download_proxy": "http://user:p%40ss@proxy:3128"}, {"p%40ss", "p@ss"}),
    ({"download_proxy": "http://proxy:3128"}, set()),
    ({"download_proxy": "http://user@proxy:3128"}, set()),
    ({"download_proxy": None, "version": "2.1.5", "config": {"a": "http://u:x@h"}}, set()),
])
def test_passwords_inside_url_options(args, expected):
    assert _url_passwords(args) == expected


def test_a_proxy_password_is_masked_in_nested_values():
    result = {"msg": "download via http://user:secret@proxy:3128 failed",
              "steps": [{"params": {"Proxy": "http://user:secret@proxy:3128"}}]}
    masked = remove_values(result, _url_passwords({"download_proxy": "http://user:secret@proxy:3128"}))
    assert "secret" not in str(masked)
    assert masked["steps"][0]["params"]["Proxy"] == "http://user:********@proxy:3128"
