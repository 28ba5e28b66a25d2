"""One line of the doctor's report: what was checked, OK / WARN / FAIL, and what to do."""

from __future__ import annotations

__all__ = ["Finding", "Level", "exit_code"]

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any


class Level(Enum):
    OK = "OK"
    WARN = "WARN"  # the wall runs, but not as it should (software GL, a scaled screen)
    FAIL = "FAIL"  # something the wall needs is missing or broken

    @property
    def rank(self) -> int:
        return {"OK": 0, "WARN": 1, "FAIL": 2}[self.value]


@dataclass(frozen=True, slots=True)
class Finding:
    item: str  # "x server", "monitor", "camera", ...
    level: Level
    detail: str  # what was found
    fix: str = ""  # what to do about it (WARN and FAIL)
    data: dict[str, Any] = field(default_factory=dict)  # for --json: ids, sizes, versions

    def as_dict(self) -> dict[str, Any]:
        entry = asdict(self)
        entry["level"] = self.level.value
        return entry


def exit_code(findings: Iterable[Finding]) -> int:
    """0 when all is OK, 1 with warnings, 2 with any failure."""
    return max((finding.level.rank for finding in findings), default=0)
