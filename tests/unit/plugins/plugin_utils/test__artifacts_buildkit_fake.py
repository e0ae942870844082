"""The fake buildkit release archive has the real one's shape (bin/buildctl.exe, bin/buildkitd.exe) and, padded,
a realistic size, so the bench's byte counts for win_buildkitd mean something."""

from __future__ import annotations

import io
import tarfile

from fake_github import buildkit_archive, release_files


def _members(data: bytes) -> dict[str, int]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        return {m.name: m.size for m in archive.getmembers() if m.isfile()}


def test_archive_holds_the_two_programs_under_bin():
    assert sorted(_members(buildkit_archive("0.24.0"))) == ["bin/buildctl.exe", "bin/buildkitd.exe"]


def test_padding_makes_the_archive_as_large_as_asked_and_stays_deterministic():
    padded = buildkit_archive("0.24.0", 2_000_000)
    assert len(padded) > 2_000_000 and padded == buildkit_archive("0.24.0", 2_000_000)
    members = _members(padded)
    assert members["padding/filler.bin"] == 2_000_000
    assert {"bin/buildctl.exe", "bin/buildkitd.exe"} <= set(members)


def test_release_item_padding_reaches_the_published_archive():
    files = release_files("buildkit", {"version": "0.24.0", "padding": 1_000_000})
    assert len(files["buildkit-v0.24.0.windows-amd64.tar.gz"]) > 1_000_000
