"""Errors a user can act on: each names where the problem is and what to do next."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One problem in a spec, located as ``file:line:column``."""

    file: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.message}"


class DagwrightError(Exception):
    """Base of every error dagwright reports to a user without a traceback."""


class SpecError(DagwrightError):
    """One or more problems found in pipeline specs."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = sorted(problems, key=lambda p: (p.file, p.line, p.column))
        super().__init__("\n".join(str(p) for p in self.problems))


class StageError(DagwrightError):
    """A stage failed while running; the message names the stage and the cause."""

    def __init__(self, stage: str, message: str) -> None:
        self.stage = stage
        super().__init__(f"stage {stage!r}: {message}")


class DataError(DagwrightError):
    """Bad data: names the source, and the row and column where known."""


class QueryRefused(DagwrightError):
    """The destination refused a pushed-down query: its own message. A loader's
    ``run_pushdown`` raises it; the pushdown stage locates it in the step's SQL."""


class ConfigError(DagwrightError):
    """Missing or wrong configuration outside the spec (connections, environment)."""


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """A ``did you mean 'x'?`` hint, or an empty string when nothing is close."""
    matches = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f" (did you mean {matches[0]!r}?)" if matches else ""
