"""What a scheduled job is; each domain lists its own in ``jobs.py`` and the scheduler runs them all."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class Job:
    name: str
    run: Callable[[], object]  # called inside an app context; commits its own work
    seconds: int  # how often
    setting: str = ""  # or: the setting that says how many minutes

    def interval(self, config) -> int:
        return config[self.setting] * 60 if self.setting else self.seconds
