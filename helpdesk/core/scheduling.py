"""What a scheduled job is; each domain lists its own in ``jobs.py`` and the scheduler runs them all."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Job:
    name: str
    run: Callable[[], object]  # called inside an app context; commits its own work
    seconds: int  # how often
    setting: str = ""  # or: the setting that says how many minutes

    def interval(self, config: Mapping[str, Any]) -> int:
        if not self.setting:
            return self.seconds
        minutes: int = config[self.setting]  # a setting checked at start-up (config.py)
        return minutes * 60
