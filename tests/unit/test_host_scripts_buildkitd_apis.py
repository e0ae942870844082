"""Static rules for the buildkitd host scripts: Windows behaviour their twins cannot observe.

Comments are blanked with the real PowerShell grammar first (test_host_scripts_windows_apis.code).
"""

from __future__ import annotations

import re

from test_host_scripts_windows_apis import code


def test_pipe_acl_lists_pipes_and_never_opens_one():
    text = code("pipe_acl")
    # Test-Path / Get-Item / Get-Acl on \\.\pipe\x connect to the pipe and take a server instance.
    assert not re.search(r"\b(Test-Path|Get-Item|Get-Acl|Get-ChildItem)\b", text, re.I)
    assert "[System.IO.Directory]::EnumerateFiles('\\\\.\\pipe\\')" in text
    assert "catch [System.ArgumentException]" in text  # .NET Framework throws on some pipe names
    assert "[System.IO.Directory]::GetAccessControl($path)" in text


def test_private_key_acl_is_protected_and_names_only_system_and_administrators():
    text = code("file_acl_private")
    assert "'D:PAI(A;;FA;;;SY)(A;;FA;;;BA)'" in text  # P: inherited entries dropped
    assert "AreAccessRulesProtected" in text and "Set-Acl" not in text  # Set-Acl also rewrites the owner


def test_firewall_rule_is_found_by_its_unique_name():
    text = code("firewall_rule")
    assert re.search(r"Get-NetFirewallRule -Name \$Name", text)
    assert not re.search(r"-DisplayName \$Name\b.*Get-NetFirewallRule", text)
    assert "Get-NetFirewallAddressFilter -AssociatedNetFirewallRule $rule" in text


def test_local_groups_are_created_with_the_local_accounts_cmdlets():
    text = code("local_group_ensure")
    assert "Get-LocalGroup -Name" in text and "New-LocalGroup -Name $name" in text
    assert "Add-LocalGroupMember" not in text  # members are the user's business
