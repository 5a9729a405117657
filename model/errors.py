"""Problems found in what a planner supplied, collected and raised once.

Every problem is located (``provinces!F14``), says what was found and what was expected,
and how to fix it, so a planner can correct the whole workbook in one pass.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input, in the form ``where: what — fix``."""

    where: str
    what: str
    fix: str

    def __str__(self) -> str:
        return f"{self.where}: {self.what} — {self.fix}"


class InputError(Exception):
    """The input cannot be used; carries every problem found, in reading order."""

    def __init__(self, problems: list[Problem] | tuple[Problem, ...]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))
