# Copyright (c) wcow.buildkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The controller-side cache of release archives and of per-run answers (internal).

Ansible runs each host's task in its own forked process, so "download once" and
"resolve once per run" are cross-process promises: an exclusive file lock per
entry decides who does the work, and a file only appears under its final name
by an atomic rename after it was verified, so nobody reads half a download.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import hashlib
import json
import os
import pathlib
import tempfile
import time
import typing as t

from ._checksums import Checksum, file_digests, mismatch_message
from ._releases import ArtifactError

# A run's answers are only reused while that run can still be going.
RUN_ANSWER_MAX_AGE = 12 * 3600


@contextlib.contextmanager
def exclusive(lock_path: pathlib.Path) -> t.Iterator[None]:
    """Hold an exclusive lock (released by the kernel if the holder dies)."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _atomic_write_text(path: pathlib.Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def cache_root(cache_dir: str) -> pathlib.Path:
    root = pathlib.Path(os.path.expandvars(os.path.expanduser(cache_dir)))
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ArtifactError(f"cannot create cache_dir {root} ({exc.strerror}): set cache_dir to a writable folder",
                            option="cache_dir") from None
    if not os.access(root, os.W_OK | os.X_OK):
        raise ArtifactError(f"cache_dir {root} is not writable: set cache_dir to a writable folder", option="cache_dir")
    return root


# -- once per run ------------------------------------------------------------------------
def run_id() -> str:
    """Names this ansible-playbook run: forks share their parent, the parent's start time tells reuse apart."""
    override = os.environ.get("WCOW_BUILDKIT_RUN_ID")
    if override:
        return override
    parent = os.getppid()
    try:
        stat = pathlib.Path(f"/proc/{parent}/stat").read_text()
        started = stat.rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        started = "?"
    return f"{parent}-{started}"


def once_per_run(root: pathlib.Path, key: dict[str, t.Any], compute: t.Callable[[], str]) -> tuple[str, bool]:
    """compute() at most once per run for this key, shared by all forks; answers (value, reused)."""
    digest = hashlib.sha256(json.dumps({"run": run_id(), **key}, sort_keys=True).encode()).hexdigest()[:32]
    folder = root / "runs"
    answer = folder / f"{digest}.json"
    with exclusive(folder / f"{digest}.lock"):
        try:
            stored = json.loads(answer.read_text())
            if time.time() - float(stored["at"]) < RUN_ANSWER_MAX_AGE:
                return str(stored["value"]), True
        except (OSError, ValueError, KeyError, TypeError):
            pass
        value = compute()
        _atomic_write_text(answer, json.dumps({"value": value, "at": time.time(), "key": key}))
    _forget_old_runs(folder)
    return value, False


def _forget_old_runs(folder: pathlib.Path) -> None:
    cutoff = time.time() - 2 * RUN_ANSWER_MAX_AGE
    for path in folder.glob("*.json"):
        with contextlib.suppress(OSError):
            if path.stat().st_mtime < cutoff:
                path.unlink()
                path.with_suffix(".lock").unlink(missing_ok=True)


# -- archives ------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class CachedFile:
    path: str
    sha256: str
    downloaded: bool


class DownloadCache:
    """Verified release archives keyed by their expected digest: `<root>/blobs/<algorithm>-<hex>/<file>`."""

    def __init__(self, root: pathlib.Path):
        self.root = root

    def entry_dir(self, file_name: str, expected: Checksum | None, url: str) -> pathlib.Path:
        if expected is None:
            # Unverified downloads (verify_checksum: false) are keyed by URL, apart from verified ones.
            return self.root / "unverified" / hashlib.sha256(url.encode()).hexdigest()[:40]
        return self.root / "blobs" / f"{expected.algorithm}-{expected.digest}"

    def _check(self, path: pathlib.Path, expected: Checksum | None) -> tuple[str, str | None]:
        algorithms = ("sha256", expected.algorithm) if expected else ("sha256",)
        digests = file_digests(str(path), algorithms)
        actual = digests[expected.algorithm] if expected else None
        return digests["sha256"], actual

    def fetch(self, file_name: str, expected: Checksum | None, url: str,
              download: t.Callable[[t.BinaryIO], t.Any], warn: t.Callable[[str], None]) -> CachedFile:
        """The verified file, downloaded at most once however many processes ask at the same time."""
        folder = self.entry_dir(file_name, expected, url)
        final = folder / file_name
        # Fast path without the lock: a file under its final name is complete (atomic rename).
        if final.is_file():
            sha256, actual = self._check(final, expected)
            if expected is None or actual == expected.digest:
                return CachedFile(str(final), sha256, False)
        folder.mkdir(parents=True, exist_ok=True)
        with exclusive(folder / ".lock"):
            if final.is_file():
                sha256, actual = self._check(final, expected)
                if expected is None or actual == expected.digest:
                    return CachedFile(str(final), sha256, False)
                warn(f"the cached {final} is corrupt (its {expected.algorithm} is {actual}, expected "
                     f"{expected.digest}); downloading it again")
                final.unlink()
            fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=f".{file_name}.", suffix=".part")
            tmp = pathlib.Path(tmp_name)
            try:
                with os.fdopen(fd, "wb") as sink:
                    download(sink)
                    sink.flush()
                    os.fsync(sink.fileno())
                sha256, actual = self._check(tmp, expected)
                if expected is not None and actual != expected.digest:
                    raise ArtifactError(mismatch_message(file_name, expected, actual or "", url), option="checksum")
                os.chmod(tmp, 0o644)
                os.replace(tmp, final)
            finally:
                tmp.unlink(missing_ok=True)
        return CachedFile(str(final), sha256, True)
