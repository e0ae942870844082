"""directory_remove_empty: our scratch folders go once empty, never with anything in them (twin and script)."""

from __future__ import annotations

import pathlib
import sys

from wcow_sim.common import directory_remove_empty
from wcow_sim.host import Host
from wcow_sim.state import new_state

REPO = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "unit"))

from test_host_scripts_windows_apis import code  # noqa: E402  pylint: disable=wrong-import-position

ARTIFACTS = r"C:\ProgramData\wcow.buildkit\artifacts"
OURS = r"C:\ProgramData\wcow.buildkit"


def _host() -> Host:
    return Host("h", new_state())


def test_the_child_then_its_parent_go_when_the_child_was_the_last_thing_in_it():
    host = _host()
    host.make_dir(ARTIFACTS)
    answer = directory_remove_empty(host, {"Path": [ARTIFACTS, OURS]})
    assert answer == {"path": [ARTIFACTS, OURS], "removed": [ARTIFACTS, OURS], "kept": [], "changed": True}
    assert not host.exists(OURS) and host.is_dir(r"C:\ProgramData")


def test_a_file_inside_keeps_the_folder_and_every_folder_above_it():
    host = _host()
    host.write_file(ARTIFACTS + r"\containerd-2.1.5-windows-amd64.tar.gz", b"archive")
    answer = directory_remove_empty(host, {"Path": [ARTIFACTS, OURS]})
    assert answer["removed"] == [] and answer["changed"] is False
    assert answer["kept"] == [f"{ARTIFACTS}: not empty", f"{OURS}: not empty"]
    assert host.is_dir(ARTIFACTS) and host.file(ARTIFACTS + r"\containerd-2.1.5-windows-amd64.tar.gz")


def test_an_empty_subfolder_is_something_inside():
    host = _host()
    host.make_dir(OURS + r"\smoke")
    answer = directory_remove_empty(host, {"Path": [ARTIFACTS, OURS]})
    assert answer["kept"] == [f"{OURS}: not empty"] and host.is_dir(OURS + r"\smoke")


def test_missing_folders_and_files_are_left_alone():
    host = _host()
    host.write_file(OURS, b"a file where a folder was expected")
    answer = directory_remove_empty(host, {"Path": [ARTIFACTS, OURS]})
    assert answer == {"path": [ARTIFACTS, OURS], "removed": [], "kept": [], "changed": False}
    assert host.file(OURS)


def test_the_script_deletes_without_recursion_and_looks_inside_first():
    text = code("directory_remove_empty")
    # Directory.Delete(path, $false) is what refuses a folder that is not empty; never Remove-Item -Recurse.
    assert "[System.IO.Directory]::Delete($item, $false)" in text
    assert "-Recurse" not in text and "Remove-Item" not in text
    assert "GetFileSystemEntries($item)" in text  # hidden and system entries are listed too
