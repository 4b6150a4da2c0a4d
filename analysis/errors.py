"""Errors raised by :mod:`analysis` for input it cannot estimate from."""

from __future__ import annotations


class AnalysisInputError(ValueError):
    """Bad input: the message names the column and, where it applies, the row.

    Parameters
    ----------
    problem : str
        What is wrong, e.g. ``"value '2' is not 0, 1 or blank"``.
    column : str, optional
        The column at fault.
    row : int, optional
        1-based data row (the header is not counted).

    Notes
    -----
    ``str(error)`` reads ``column 'y1': value '2' is not 0, 1 or blank (data row 17)``.
    A command line can add the file line itself (``row + 1`` for a CSV with one header
    line and no line breaks inside fields).
    """

    def __init__(self, problem: str, *, column: str | None = None, row: int | None = None):
        self.problem = problem
        self.column = column
        self.row = row
        super().__init__(self.describe())

    def describe(self, *, header_lines: int | None = None) -> str:
        """One line; with ``header_lines`` also the file line of the bad row."""
        text = self.problem if self.column is None else f"column {self.column!r}: {self.problem}"
        if self.row is not None:
            where = f"data row {self.row}"
            if header_lines is not None:
                where += f", file line {self.row + header_lines}"
            text += f" ({where})"
        return text


class LonelyPSUError(ValueError):
    """A stratum has a single PSU and ``lonely_psu="fail"`` was asked for."""
