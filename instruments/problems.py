"""What is wrong with an instrument file: ``Problem`` and ``InstrumentError``."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["Problem", "InstrumentError"]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an instrument file: where it is and why it is wrong."""

    file: str
    where: str
    reason: str
    line: int | None = None

    def __str__(self) -> str:
        at = f"{self.file}:{self.line}" if self.line else self.file
        return f"{at}: {self.where}: {self.reason}"


class InstrumentError(Exception):
    """One or more broken instruments; ``problems`` lists each, ``str()`` one per line."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))
