"""Problems found in what a planner supplied, collected and raised once.

Every problem is located (``provinces!F14``), says what was found and what was expected,
and how to fix it, so a planner can correct the whole workbook in one pass. Each is said in
Chinese first and in English, as every heading of the tool is: the planners read Chinese,
and the English lets a message be searched and quoted in the project's tests and docs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Self


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input, in the form ``where: 中文 — fix / English — fix``.

    Attributes:
        where: the location, ``sheet!cell`` (or the file name for the file as a whole).
        what: what was found, in English.
        fix: what was expected and how to fix it, in English.
        what_zh: the same as ``what``, in Chinese.
        fix_zh: the same as ``fix``, in Chinese.
    """

    where: str
    what: str
    fix: str
    what_zh: str
    fix_zh: str

    @property
    def zh(self) -> str:
        """The message in Chinese: ``发现…——应…``."""
        return f"{self.what_zh}——{self.fix_zh}"

    @property
    def en(self) -> str:
        """The message in English: ``found … — expected …``."""
        return f"{self.what} — {self.fix}"

    def __str__(self) -> str:
        return f"{self.where}: {self.zh} / {self.en}"


class InputError(Exception):
    """The input cannot be used; carries every problem found, in reading order."""

    def __init__(self, problems: list[Problem] | tuple[Problem, ...]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    def __reduce__(self) -> tuple[type[InputError], tuple[tuple[Problem, ...]]]:
        """Pickle with the problems, not the joined text, so a worker process can raise
        one and its parent still lists every problem by cell."""
        return (InputError, (self.problems,))


def listed(problems: Sequence[Problem], most: int) -> tuple[Problem, ...]:
    """The first ``most`` problems, then one that counts the rest.

    A workbook of a million bad rows is still described in a page: the planner fixes what
    is listed, in reading order, and checks again. The count is located at the first
    problem not listed, so the planner knows where the list stopped.
    """
    if len(problems) <= most:
        return tuple(problems)
    return (*problems[:most], _unlisted(problems[most], len(problems) - most))


UNLISTED = re.compile(r"^([\d,]+) more problems from here on are not listed$")
"""The English ``what`` of the line that counts the problems not listed."""


def found_count(problems: Sequence[Problem]) -> int:
    """How many problems were found, the unlisted ones counted (``listed``)."""
    if problems and (match := UNLISTED.match(problems[-1].what)):
        return len(problems) - 1 + int(match.group(1).replace(",", ""))
    return len(problems)


def _unlisted(first: Problem, more: int) -> Problem:
    return Problem(
        first.where,
        f"{more:,} more problems from here on are not listed",
        "correct those listed, then check the workbook again to see the rest",
        f"自此处起另有 {more:,} 个问题未列出",
        "请先改正以上问题，再重新检查工作簿以查看其余问题",
    )


class Problems(list[Problem]):
    """Problems as they are found: the first ``most`` kept, the rest only counted.

    Checking a sheet of a million bad cells still finds a million problems; kept, they
    would take gigabytes. Code that collects into a ``list`` collects into this unchanged
    (``append``, ``extend``, ``+=``).
    """

    def __init__(self, most: int) -> None:
        super().__init__()
        self.most = most
        self.found = 0
        self._first_unlisted: Problem | None = None

    def append(self, problem: Problem) -> None:
        self.found += 1
        if len(self) < self.most:
            super().append(problem)
        elif self._first_unlisted is None:
            self._first_unlisted = problem

    def extend(self, problems: Iterable[Problem]) -> None:
        for problem in problems:
            self.append(problem)

    def __iadd__(self, problems: Iterable[Problem]) -> Self:  # type: ignore[override,misc]
        self.extend(problems)
        return self

    def listed(self) -> tuple[Problem, ...]:
        """What ``listed`` gives for every problem found: those kept, then the count."""
        if self._first_unlisted is None:
            return tuple(self)
        return (*self, _unlisted(self._first_unlisted, self.found - len(self)))
