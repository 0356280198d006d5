"""CSV files a spreadsheet opens without running anything: every CSV the project writes.

A spreadsheet reads a cell that starts with "=", "+", "-" or "@" (or a tab or carriage return
before one) as a formula, so a value such as ``=HYPERLINK(…)`` or ``=cmd|…`` copied from a
hostile register row would run on the desk of whoever opens the report. OWASP's rule: prefix
such a cell with a single quote, which spreadsheets show as text. Reading our own files back,
``restore_row`` removes exactly that prefix, so a report fixed by hand imports again.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from typing import IO, Any

__all__ = ["FORMULA_START", "cell", "restore_row", "writer"]

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(value: object) -> object:
    """Return the value a spreadsheet shows as text: a formula-like string gets a leading "'".

    A value that already looks escaped ("'=x") gets one more, so ``restore_row`` gives it back.
    """
    if isinstance(value, str) and _needs_prefix(value):
        return "'" + value
    return value


def _needs_prefix(text: str) -> bool:
    # Quotes before a formula start too: "'=x" is written "''=x" so that it reads back as itself.
    return text.lstrip("'").startswith(FORMULA_START)


def restore_row(row: list[str]) -> list[str]:
    """Undo ``cell`` on a row read from CSV: "'=x" becomes "=x", any other value stays."""
    return [value[1:] if value[:1] == "'" and _needs_prefix(value[1:]) else value for value in row]


class SafeWriter:
    """A csv.writer whose rows pass through ``cell`` first."""

    def __init__(self, out: IO[str], **options: Any) -> None:
        self._writer = csv.writer(out, **options)

    def writerow(self, row: Iterable[object]) -> None:
        self._writer.writerow([cell(value) for value in row])

    def writerows(self, rows: Iterable[Sequence[object]]) -> None:
        for row in rows:
            self.writerow(row)


def writer(out: IO[str], **options: Any) -> SafeWriter:
    """Return a CSV writer over ``out`` (options as for csv.writer) that neutralises formulas."""
    return SafeWriter(out, **options)
