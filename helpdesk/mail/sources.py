"""Raw messages from files: .eml files, folders of them (in name order), mbox files and Maildir folders."""
from __future__ import annotations

import mailbox
import re
from pathlib import Path
from typing import Iterator


def is_maildir(path: Path) -> bool:
    return path.is_dir() and (path / "cur").is_dir() and (path / "new").is_dir()


def is_mbox(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(5) == b"From "


def read_paths(paths: list[Path]) -> Iterator[tuple[str, bytes]]:
    """(where it came from, raw bytes) for every message under ``paths``."""
    for path in paths:
        if is_maildir(path):
            folder = mailbox.Maildir(str(path), factory=None, create=False)
            for key in sorted(folder.keys()):
                with folder.get_file(key) as handle:
                    yield f"{path}/{key}", handle.read()
        elif path.is_dir():
            for child in sorted(path.rglob("*")):
                if child.is_file() and looks_like_mail(child):
                    yield from read_paths([child])
        elif is_mbox(path) and _several_messages(path):
            box = mailbox.mbox(str(path), factory=None, create=False)
            for index, key in enumerate(box.keys()):
                yield f"{path}#{index + 1}", box.get_bytes(key)
        else:
            yield str(path), path.read_bytes()


def _several_messages(path: Path) -> bool:
    """An mbox holds messages after "From " lines; a single .eml saved with one is read whole."""
    with path.open("rb") as handle:
        count = sum(1 for line in handle if line.startswith(b"From "))
    return count > 1


MAIL_SUFFIXES = {".eml", ".box", ".mbox", ".msg", ".txt", ""}


def looks_like_mail(path: Path) -> bool:
    """In a folder, take files named like mail whose first line is a header or an mbox "From " line."""
    if path.name.startswith(".") or path.suffix.lower() not in MAIL_SUFFIXES:
        return False
    with path.open("rb") as handle:
        first = handle.read(200).lstrip()
    return first.startswith(b"From ") or bool(re.match(rb"^[!-9;-~]+:", first))
