"""Where an instance's Decidim stands against the releases the desk knows: current, behind or unsupported."""
from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from helpdesk.extensions import db
from helpdesk.instances.models import DecidimRelease

STATE_LABELS = {"current": _l("current"), "behind": _l("behind"), "unsupported": _l("unsupported"),
                "unknown": _l("unknown")}


def version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", version.split("-")[0])[:3])


def line(version: str) -> tuple[int, ...]:
    return version_key(version)[:2]


def state(version: str | None, releases: list[DecidimRelease]) -> str:
    """``unsupported`` when its minor line gets no security fixes any more; ``behind`` when a newer release
    exists; ``current`` when it is the newest; ``unknown`` without a version (hidden from 0.30 on)."""
    if not version or not version_key(version) or not releases:
        return "unknown"
    supported_lines = {line(item.version) for item in releases if item.supported}
    if line(version) not in supported_lines:
        return "unsupported"
    newest = max(version_key(item.version) for item in releases)
    return "current" if version_key(version) >= newest else "behind"


def all_releases() -> list[DecidimRelease]:
    return sorted(db.session.scalars(select(DecidimRelease)), key=lambda item: version_key(item.version),
                  reverse=True)


def newest_in_line(version: str, releases: list[DecidimRelease]) -> str | None:
    same = [item.version for item in releases if line(item.version) == line(version)]
    return max(same, key=version_key) if same else None
