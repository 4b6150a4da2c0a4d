"""Errors raised by :mod:`analysis` for input it cannot estimate from."""

from __future__ import annotations


class AnalysisInputError(ValueError):
    """Bad input: the message names the column and, where it applies, the row.

    Attributes
    ----------
    column : str or None
        The column at fault.
    row : int or None
        1-based data row (the header is not counted), or None.
    """

    def __init__(self, message: str, *, column: str | None = None, row: int | None = None):
        super().__init__(message)
        self.column = column
        self.row = row


class LonelyPSUError(ValueError):
    """A stratum has a single PSU and ``lonely_psu="fail"`` was asked for."""
