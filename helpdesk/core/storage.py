"""Files stored by their SHA-256 under the instance folder: the same bytes are kept once.

A file lives at ``<root>/ab/abcd…`` (256 folders, as git keeps its objects: creating folders is what
costs most when mail brings many files). Files stored by earlier versions, at ``<root>/ab/cd/abcd…``,
are still found there."""
from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path


class BlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, sha256: str) -> Path:
        """Where the file with this hash is (or would be stored)."""
        if len(sha256) != 64 or not all(char in "0123456789abcdef" for char in sha256):
            raise ValueError(f"not a SHA-256: {sha256!r}")
        target = self.root / sha256[:2] / sha256
        if not target.exists() and (earlier := self.root / sha256[:2] / sha256[2:4] / sha256).exists():
            return earlier
        return target

    def put(self, data: bytes) -> str:
        """Store ``data`` (once) and return its SHA-256."""
        sha256 = hashlib.sha256(data).hexdigest()
        target = self.path(sha256)
        if target.exists():
            return sha256
        # Written beside the target then renamed, so a crash never leaves a half-written file under the hash;
        # the temporary name is the writer's own (process and thread), so two writers never share one.
        temporary = target.parent / f".{sha256}.{os.getpid()}.{threading.get_ident()}"
        try:
            handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        except FileNotFoundError:
            target.parent.mkdir(parents=True, exist_ok=True)
            handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(handle, "wb") as output:
                output.write(data)
            os.replace(temporary, target)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        return sha256

    def read(self, sha256: str) -> bytes:
        return self.path(sha256).read_bytes()
