"""Exception classes of trialanalysis.

Every error a user can cause derives from :class:`TrialAnalysisError`, and from
the built-in exception that describes it best, so callers can catch either.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


class TrialAnalysisError(Exception):
    """Base class of all errors raised by trialanalysis on purpose."""


class ConfigError(TrialAnalysisError, ValueError):
    """A configuration file or instrument definition is invalid."""


class ModelSpecificationError(TrialAnalysisError, ValueError):
    """A model formula cannot be parsed or cannot be fitted as written."""


class ModelFitError(TrialAnalysisError, RuntimeError):
    """No optimizer produced a usable fit."""


class ScoringError(TrialAnalysisError, ValueError):
    """Item responses cannot be scored (e.g. a value outside the scale)."""


class ReportError(TrialAnalysisError, ValueError):
    """A table, diagram or report cannot be built from the inputs given."""


@dataclass(frozen=True, order=True)
class Problem:
    """One problem found in an input file.

    Attributes
    ----------
    file : str
        Path of the file as the user gave it.
    row : int or None
        Row number as the user sees it in the source file (header = row 1),
        or None when the problem concerns the whole file or a whole column.
    column : str or None
        Column name, or None when the problem concerns a whole row or file.
    message : str
        What is wrong and, where possible, how to fix it. Never contains the
        value of a field that may hold personal data.
    """

    file: str
    row: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        """Format as ``file:row:column: message`` (empty parts left blank)."""
        row = "" if self.row is None else str(self.row)
        column = "" if self.column is None else self.column
        return f"{self.file}:{row}:{column}: {self.message}"


class DataValidationError(TrialAnalysisError, ValueError):
    """Input data break the data contract; carries every problem found.

    Parameters
    ----------
    problems : iterable of Problem
        All problems found, reported together.
    """

    def __init__(self, problems: Iterable[Problem]):
        self.problems = sorted(problems, key=_problem_sort_key)
        lines = "\n".join(str(p) for p in self.problems)
        super().__init__(f"{len(self.problems)} problem(s) found in the input data:\n{lines}")


class PrivacyError(DataValidationError):
    """Input data contain personal identifiers that must not enter the analysis."""


def _problem_sort_key(problem: Problem) -> tuple:
    return (problem.file, problem.row or 0, problem.column or "", problem.message)
