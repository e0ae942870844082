# Copyright (c) wcow.buildkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The controller cache across processes: one download, no half-written reads, one API call per run."""

from __future__ import annotations

import hashlib
import multiprocessing
import pathlib
import threading
import time
import typing as t

import fake_github as fg
import pytest

from ansible_collections.wcow.buildkit.plugins.plugin_utils._artifacts import prepare
from ansible_collections.wcow.buildkit.plugins.plugin_utils._cache import DownloadCache, once_per_run
from ansible_collections.wcow.buildkit.plugins.plugin_utils._checksums import Checksum
from ansible_collections.wcow.buildkit.plugins.plugin_utils._releases import ArtifactError

FORKS = 20
CONTAINERD = "containerd-2.3.4-windows-amd64.tar.gz"  # what `latest` resolves to on the fake GitHub


def _prepare_in_child(options: dict[str, t.Any], barrier: t.Any, results: t.Any) -> None:
    barrier.wait()
    try:
        artifact = prepare("containerd", options, warn=lambda message: None)
        data = pathlib.Path(artifact.local_path).read_bytes()
        results.put(("ok", artifact.local_path, artifact.sha256, hashlib.sha256(data).hexdigest()))
    except BaseException as exc:  # noqa: BLE001 (reported to the parent)
        results.put(("error", repr(exc), "", ""))


def _run_forks(options: dict[str, t.Any], count: int) -> tuple[list[tuple[str, str, str, str]], float]:
    # Ansible forks its workers; so do we (threads would share one process and prove nothing).
    context = multiprocessing.get_context("fork")
    barrier, results = context.Barrier(count), context.Queue()
    processes = [context.Process(target=_prepare_in_child, args=(options, barrier, results)) for _fork in range(count)]
    started = time.perf_counter()
    for process in processes:
        process.start()
    answers = [results.get(timeout=60) for _process in processes]
    elapsed = time.perf_counter() - started
    for process in processes:
        process.join(timeout=30)
    return answers, elapsed


def test_twenty_processes_one_download_all_verified(fake_github, artifact_options, capsys):
    fake_github.download_delay = 0.3   # long enough that every process arrives while the first downloads
    answers, elapsed = _run_forks(artifact_options, FORKS)
    assert [a[0] for a in answers] == ["ok"] * FORKS, answers
    paths = {a[1] for a in answers}
    assert len(paths) == 1
    expected = hashlib.sha256(fg.containerd_archive("2.3.4")).hexdigest()
    assert all(a[2] == a[3] == expected for a in answers)
    assert fake_github.downloads(CONTAINERD) == 1
    # 'latest' and the checksum file were asked once for the whole run.
    assert len(fake_github.api_requests()) == 1
    assert fake_github.downloads(CONTAINERD + ".sha256sum") == 1
    leftovers = [p.name for p in pathlib.Path(paths.pop()).parent.iterdir() if p.name not in (CONTAINERD, ".lock")]
    assert leftovers == []
    with capsys.disabled():
        print(f"\n[benchmark] {FORKS} forked prepare() calls on one artifact: {elapsed:.2f}s "
              f"(server delay 0.3s), 1 download, {len(fake_github.requests)} HTTP requests")


def test_nobody_reads_a_half_written_download(tmp_path):
    cache = DownloadCache(tmp_path)
    payload = b"x" * (1 << 20)
    expected = Checksum("sha256", hashlib.sha256(payload).hexdigest(), "test")
    final = cache.entry_dir("a.tar.gz", expected, "u") / "a.tar.gz"
    seen: list[int] = []
    writing = threading.Event()

    def slow_download(sink: t.BinaryIO) -> None:
        for start in range(0, len(payload), 1 << 16):
            sink.write(payload[start:start + (1 << 16)])
            writing.set()
            time.sleep(0.002)

    def watch() -> None:
        writing.wait(5)
        while not final.exists():
            time.sleep(0.001)
        seen.append(final.stat().st_size)

    watcher = threading.Thread(target=watch)
    watcher.start()
    cached = cache.fetch("a.tar.gz", expected, "u", slow_download, warn=lambda m: None)
    watcher.join(5)
    # The first moment the final name existed, it already held every byte.
    assert seen == [len(payload)] and cached.downloaded and cached.sha256 == expected.digest


def test_a_failed_download_leaves_no_partial_file(tmp_path):
    cache = DownloadCache(tmp_path)
    expected = Checksum("sha256", "0" * 64, "test")

    def broken(sink: t.BinaryIO) -> None:
        sink.write(b"half")
        raise ArtifactError("connection reset")

    with pytest.raises(ArtifactError, match="connection reset"):
        cache.fetch("a.tar.gz", expected, "u", broken, warn=lambda m: None)
    assert [p.name for p in cache.entry_dir("a.tar.gz", expected, "u").iterdir()] == [".lock"]


def test_once_per_run_errors_are_not_remembered(tmp_path, monkeypatch):
    monkeypatch.setenv("WCOW_BUILDKIT_RUN_ID", "run-1")
    calls = []

    def failing() -> str:
        calls.append(1)
        raise ArtifactError("rate limited")

    for _attempt in range(2):
        with pytest.raises(ArtifactError):
            once_per_run(tmp_path, {"k": 1}, failing)
    assert len(calls) == 2
    assert once_per_run(tmp_path, {"k": 1}, lambda: "1.7.29") == ("1.7.29", False)
    assert once_per_run(tmp_path, {"k": 1}, lambda: "other") == ("1.7.29", True)


def test_benchmark_cold_and_warm_prepare(fake_github, artifact_options, capsys):
    # A bigger archive, so that re-verifying the cached file shows in the figures.
    sizes = []
    cold = time.perf_counter()
    artifact = prepare("containerd", artifact_options, warn=lambda m: None)
    cold = time.perf_counter() - cold
    sizes.append(pathlib.Path(artifact.local_path).stat().st_size)
    warm_runs = 20
    warm = time.perf_counter()
    for _run in range(warm_runs):
        prepare("containerd", artifact_options, warn=lambda m: None)
    warm = (time.perf_counter() - warm) / warm_runs
    blob = pathlib.Path(artifact_options["cache_dir"]) / "big.bin"
    blob.write_bytes(b"\0" * (64 << 20))
    cache = DownloadCache(pathlib.Path(artifact_options["cache_dir"]))
    rehash = time.perf_counter()
    cache._check(blob, Checksum("sha256", "0" * 64, "bench"))
    rehash = time.perf_counter() - rehash
    with capsys.disabled():
        print(f"\n[benchmark] prepare cold (resolve+checksum+download {sizes[0]} B): {cold * 1000:.1f} ms; "
              f"warm (cache hit, re-verified): {warm * 1000:.1f} ms; re-verifying a 64 MiB archive: "
              f"{rehash * 1000:.0f} ms")
    assert fake_github.downloads(CONTAINERD) == 1
