"""QR codes: the only module that renders them (segno).

Every code uses one fixed data mask (MASK) so that segno skips its mask search, which evaluates
all eight masks and costs several times the rest of the encoding (see `python -m bench qr`).
The error level is exactly the one asked for (no boosting), and segno picks the encoding mode of
each segment (`segments`) and the smallest version that holds the data.
"""

import io
import re
from typing import Any

import segno

PHONE_ERROR = "m"
PHONE_MAX_VERSION = 13
DOCUMENT_ERROR = "q"
DOCUMENT_MAX_VERSION = 5

# Mask 2 (every third column): on 300 random phone and document URLs it had the lowest worst-case
# ISO/IEC 18004 penalty (and, with mask 1, the lowest median), and segno's search picked it most
# often. All eight decode cleanly with zxing-cpp; blurred, noisy images showed no real difference.
MASK = 2
# A run of digits this long at the end of the data gets a numeric segment of its own: below it,
# the second segment's header would cost more than numeric mode saves.
TRAILING_DIGITS = re.compile(r"[0-9]{24,}\Z")


def segments(data: str) -> list[str]:
    """Split data before a long run of digits at its end: segno encodes that run in numeric mode.

    Numeric mode holds 10 bits per 3 digits against 8 bits per byte, so a phone token in its
    dense form (digits) costs a sixth less than in byte mode. segno picks one mode per segment.
    """
    found = TRAILING_DIGITS.search(data)
    if found is None or found.start() == 0:
        return [data]
    return [data[: found.start()], found.group()]


def make(data: str, error: str = "m", max_version: int | None = None) -> segno.QRCode:
    """Build the QR code for data at the error level, in the smallest version that fits.

    Raise ValueError if max_version is given and the data needs a bigger version.
    """
    # segno takes a list of segments too (its typing names only str, int and bytes).
    content: Any = segments(data)
    code = segno.make_qr(content, error=error, mask=MASK, boost_error=False)
    needed = int(code.version)  # make_qr never makes a Micro QR ("M1" …)
    if max_version is not None and needed > max_version:
        raise ValueError(
            f"The data ({len(data.encode())} bytes) needs QR version {needed} at error "
            f"level {error.upper()}; the limit is version {max_version}."
        )
    return code


def svg(
    data: str,
    error: str = "m",
    scale: int = 4,
    border: int = 4,
    title: str | None = None,
    *,
    max_version: int | None = None,
) -> str:
    """Render data as an inline SVG element (no XML declaration, no external references)."""
    code = make(data, error, max_version)
    return str(code.svg_inline(scale=scale, border=border, title=title))


def png(
    data: str,
    error: str = "m",
    scale: int = 8,
    border: int = 4,
    *,
    max_version: int | None = None,
) -> bytes:
    """Render data as PNG bytes."""
    code = make(data, error, max_version)
    out = io.BytesIO()
    code.save(out, kind="png", scale=scale, border=border)
    return out.getvalue()


def version(data: str, error: str = "m") -> int:
    """Return the QR version that data needs at the error level."""
    return int(make(data, error).version)
