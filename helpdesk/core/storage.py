"""Files stored by their SHA-256 under the instance folder: the same bytes are kept once.

A file lives at ``<root>/ab/abcd…`` (256 folders, as git keeps its objects: creating folders is what
costs most when mail brings many files). Files stored by earlier versions, at ``<root>/ab/cd/abcd…``,
are still found there.

A file under its hash is always whole, even after a crash or a power cut: it is written to a temporary
file beside its place (``ab/.abcd….<process>.<thread>``), flushed to the disk, renamed to its hash, and
the folder is flushed too (the rename is only durable then). Any failure removes the temporary file; a
full or read-only store raises ``StorageError``. Only a crash mid-write leaves a temporary file behind:
``check`` (``helpdesk storage check``) lists those, with the files no row names and the rows whose file
is missing, and removes temporary files older than an hour when asked.
"""
from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import threading
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import ClassVar

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l

from helpdesk.core.errors import DomainError

HEX = frozenset("0123456789abcdef")
# A temporary file lives as long as one write (seconds, for the largest mail); one older than this was
# left by a writer that died, and removing it can no longer take a file from under a live writer.
TEMPORARY_MAX_AGE = timedelta(hours=1)
FULL = frozenset({errno.ENOSPC, errno.EDQUOT})
READ_ONLY = frozenset({errno.EROFS, errno.EACCES, errno.EPERM})


class StorageError(DomainError):
    """The file store could not keep a file (full, read-only…); nothing was stored under its hash.

    A ``DomainError``, so that every view and command that shows a service's refusal (and rolls its
    transaction back) shows this too. ``message`` is for the person who asked; ``detail`` — what the
    system said, and where, in English — is for the log and the administrator."""

    MESSAGES: ClassVar[dict[str, LazyString]] = {
        "full": _l("The server has no room left for files: nothing was saved. Tell an administrator, "
                   "then try again."),
        "read_only": _l("The server cannot store files at the moment (its file store is read-only): nothing "
                        "was saved. Tell an administrator, then try again."),
        "failed": _l("The server could not store the files: nothing was saved. Tell an administrator, "
                     "then try again."),
    }

    def __init__(self, reason: str, detail: str, field: str | None = None) -> None:
        super().__init__(self.MESSAGES[reason], field)
        self.reason, self.detail = reason, detail

    # Crosses processes (``mail import --jobs``) as plain strings, not as lazy text.
    def __reduce__(self) -> tuple[type[StorageError], tuple[str, str, str | None]]:
        return type(self), (self.reason, self.detail, self.field)

    @classmethod
    def from_os_error(cls, error: OSError, root: Path) -> StorageError:
        reason = "full" if error.errno in FULL else "read_only" if error.errno in READ_ONLY else "failed"
        state = {"full": "the file store is full", "read_only": "the file store is read-only",
                 "failed": "the file store failed"}[reason]
        return cls(reason, f"{state} ({error.strerror or error}: {root})")


def is_sha256(name: str) -> bool:
    return len(name) == 64 and all(char in HEX for char in name)


def _is_fan_out(name: str) -> bool:
    return len(name) == 2 and all(char in HEX for char in name)


def _sync_folder(folder: Path) -> None:
    """Flush a folder's entries (a new name in it) to the disk."""
    handle = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(handle)
    except OSError as error:
        if error.errno != errno.EINVAL:  # a file system that cannot flush folders (some network ones)
            raise
    finally:
        os.close(handle)


class BlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, sha256: str) -> Path:
        """Where the file with this hash is (or would be stored)."""
        if not is_sha256(sha256):
            raise ValueError(f"not a SHA-256: {sha256!r}")
        target = self.root / sha256[:2] / sha256
        if not target.exists() and (earlier := self.root / sha256[:2] / sha256[2:4] / sha256).exists():
            return earlier
        return target

    def put(self, data: bytes) -> str:
        """Store ``data`` (once, whole) and return its SHA-256; ``StorageError`` when the store cannot."""
        sha256 = hashlib.sha256(data).hexdigest()
        target = self.path(sha256)
        if target.exists():
            return sha256
        try:
            self._write(target, data)
        except OSError as error:  # logged by whoever shows it (a view's service, the command): said once
            raise StorageError.from_os_error(error, self.root) from error
        return sha256

    def _write(self, target: Path, data: bytes) -> None:
        # The temporary name is the writer's own (process and thread), so two writers never share one.
        temporary = target.parent / f".{target.name}.{os.getpid()}.{threading.get_ident()}"
        try:
            try:
                handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            except FileNotFoundError:  # the folder's first file (tried after, as it is the rare case)
                target.parent.mkdir(parents=True, exist_ok=True)
                _sync_folder(target.parent.parent)
                handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                remaining = memoryview(data)
                while remaining:
                    remaining = remaining[os.write(handle, remaining):]
                os.fsync(handle)  # the bytes reach the disk before the name does
            finally:
                os.close(handle)
            os.replace(temporary, target)
        except BaseException:
            with contextlib.suppress(OSError):
                temporary.unlink(missing_ok=True)
            raise
        _sync_folder(target.parent)

    def read(self, sha256: str) -> bytes:
        return self.path(sha256).read_bytes()

    def entries(self) -> Iterator[tuple[str, Path]]:
        """Every file in the store, as ("stored", path) for a file under its hash (either layout),
        ("temporary", path) for a writer's temporary file, ("other", path) for anything else."""
        if not self.root.is_dir():
            return
        for top in os.scandir(self.root):
            if not top.is_dir(follow_symlinks=False):
                yield "other", Path(top.path)
            elif _is_fan_out(top.name):  # other folders (a mount's lost+found) are not the store's
                for entry in os.scandir(top.path):
                    if not entry.is_dir(follow_symlinks=False):
                        yield _kind(entry, top.name), Path(entry.path)
                    elif _is_fan_out(entry.name):  # the earlier layout
                        for inner in os.scandir(entry.path):
                            if not inner.is_dir(follow_symlinks=False):
                                yield _kind(inner, top.name + entry.name), Path(inner.path)


def _kind(entry: os.DirEntry[str], prefix: str) -> str:
    if entry.name.startswith(".") and entry.is_file(follow_symlinks=False):
        return "temporary"
    stored = is_sha256(entry.name) and entry.name.startswith(prefix) and entry.is_file(follow_symlinks=False)
    return "stored" if stored else "other"


@dataclass
class StoreCheck:
    """What ``check`` found, each list sorted."""

    stored: int = 0  # files under their hash
    unreferenced: list[Path] = field(default_factory=list)  # files that no row names
    missing: list[str] = field(default_factory=list)  # hashes that rows name and the store lacks
    temporary: list[tuple[Path, timedelta]] = field(default_factory=list)  # still there, with their age
    removed: list[tuple[Path, timedelta]] = field(default_factory=list)  # older than TEMPORARY_MAX_AGE

    @property
    def is_clean(self) -> bool:
        return not (self.unreferenced or self.missing or self.temporary)


def check(store: BlobStore, referenced: Collection[str], now: datetime, remove_temporary: bool = False) -> StoreCheck:
    """Compare the store's files with the hashes that rows name; with ``remove_temporary``, remove the
    temporary files older than ``TEMPORARY_MAX_AGE`` (a live writer's is younger, and kept).

    Read the rows before calling: a file stored and named in between then shows as a file with no row
    (harmless, and gone at the next check), never as a row whose file is missing."""
    found, result = set(), StoreCheck()
    for kind, path in store.entries():
        if kind == "stored":
            result.stored += 1
            found.add(path.name)
            if path.name not in referenced:
                result.unreferenced.append(path)
        elif kind == "other":
            result.unreferenced.append(path)
        else:
            try:
                age = now - datetime.fromtimestamp(path.stat().st_mtime, UTC)
            except FileNotFoundError:  # its writer renamed it to its hash just now
                continue
            if remove_temporary and age > TEMPORARY_MAX_AGE:
                try:
                    path.unlink(missing_ok=True)
                except OSError as error:
                    raise StorageError.from_os_error(error, store.root) from error
                result.removed.append((path, age))
            else:
                result.temporary.append((path, age))
    result.missing = sorted(set(referenced) - found)
    for items in (result.unreferenced, result.temporary, result.removed):
        items.sort()
    return result
