"""Kuwaiti-style civil ID numbers: normalisation, validation and masking.

A civil ID has 12 ASCII digits::

    C YYMMDD SSSS K
    | |      |    +-- check digit
    | |      +------- serial number
    | +-------------- birth date
    +---------------- century: 2 = 1900s, 3 = 2000s

The check digit is ``11 - (sum(d_i * w_i) % 11)`` over the first 11 digits with the weights
2,1,6,3,7,9,10,5,8,4,2. Remainders 0 and 1 would give a two-digit "check digit", so numbers
that fall on them are never issued and are rejected here.

Every spelling of the same number (Arabic-Indic, Persian or full-width digits, surrounding
whitespace) parses to the same canonical string, so callers can use the result as a key (for
example for rate limiting). Error messages never contain the input itself.
"""

from __future__ import annotations

from datetime import date, timedelta, timezone

from identity import clock

__all__ = ["WEIGHTS", "InvalidCivilId", "check_digit", "mask", "normalize_digits", "parse"]

WEIGHTS = (2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)

# Inputs longer than this are rejected before any other work is done.
MAX_RAW_LENGTH = 64

# Kuwait has no daylight saving time; "today" is the date in Kuwait, not on the server.
_KUWAIT = timezone(timedelta(hours=3), "Asia/Kuwait")

_CENTURIES = {"2": 1900, "3": 2000}

_ASCII_DIGITS = "0123456789"
_DIGIT_TABLE = str.maketrans(
    {
        chr(base + i): _ASCII_DIGITS[i]
        for base in (0x0660, 0x06F0, 0xFF10)  # Arabic-Indic, Extended Arabic-Indic, full-width
        for i in range(10)
    }
)

# Whitespace (including NBSP and newlines) and the invisible characters that copy-and-paste from
# right-to-left text tends to leave around a number (direction marks and embeddings, isolates,
# zero-width characters, byte order mark). Removed only at the ends, in one linear pass.
_EDGE_CHARS = "".join(chr(i) for i in range(0x3001) if chr(i).isspace()) + (
    "\u061c\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
    "\u2066\u2067\u2068\u2069\ufeff"
)

REASON_NOT_TEXT = "civil ID must be text"
REASON_LENGTH = "civil ID must be 12 digits"
REASON_CENTURY = "civil ID has an unknown century digit"
REASON_IMPOSSIBLE_DATE = "civil ID has an impossible birth date"
REASON_FUTURE_DATE = "civil ID birth date is in the future"
REASON_CHECK_DIGIT = "civil ID check digit does not match"


class InvalidCivilId(ValueError):
    """The input is not a valid civil ID. ``reason`` is a short English sentence."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def normalize_digits(text: str) -> str:
    """Map Arabic-Indic, Persian and full-width digits to ASCII 0-9; leave everything else."""
    return text.translate(_DIGIT_TABLE)


def check_digit(first11: str) -> int | None:
    """The check digit for 11 ASCII digits, or None when no valid check digit exists."""
    r = sum(int(d) * w for d, w in zip(first11, WEIGHTS, strict=True)) % 11
    return None if r in (0, 1) else 11 - r


def _is_ascii_digits(text: str) -> bool:
    return all(c in _ASCII_DIGITS for c in text)


def kuwait_today() -> date:
    """Today's date in Kuwait (UTC+3), where civil IDs are issued, on the one clock."""
    return clock.now().astimezone(_KUWAIT).date()


def parse(raw: str, today: date | None = None) -> str:
    """Validate a civil ID and return it as 12 ASCII digits.

    Raises InvalidCivilId (with ``reason``) for anything else. ``today`` defaults to the
    current date in Kuwait; birth dates after it are rejected.
    """
    if not isinstance(raw, str):
        raise InvalidCivilId(REASON_NOT_TEXT)
    if len(raw) > MAX_RAW_LENGTH:
        raise InvalidCivilId(REASON_LENGTH)
    text = normalize_digits(raw.strip(_EDGE_CHARS))
    if len(text) != 12 or not _is_ascii_digits(text):
        raise InvalidCivilId(REASON_LENGTH)

    century = _CENTURIES.get(text[0])
    if century is None:
        raise InvalidCivilId(REASON_CENTURY)
    try:
        born = date(century + int(text[1:3]), int(text[3:5]), int(text[5:7]))
    except ValueError:
        raise InvalidCivilId(REASON_IMPOSSIBLE_DATE) from None
    if born > (today if today is not None else kuwait_today()):
        raise InvalidCivilId(REASON_FUTURE_DATE)

    if check_digit(text[:11]) != int(text[11]):
        raise InvalidCivilId(REASON_CHECK_DIGIT)
    return text


def mask(civil_id: str) -> str:
    """Hide all but the last 4 digits, e.g. "********2596", for audit logs.

    The result is always 12 characters, whatever the input, so the length of a malformed value is
    not revealed; inputs of 4 characters or fewer are hidden completely. Characters among the
    last 4 that are not digits become "*", so a malformed value cannot inject text into a log.
    """
    text = normalize_digits(civil_id.strip(_EDGE_CHARS)) if isinstance(civil_id, str) else ""
    tail = "".join(c if c in _ASCII_DIGITS else "*" for c in text[-4:]) if len(text) > 4 else ""
    return tail.rjust(12, "*")
