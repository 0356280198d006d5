"""QR rendering: segno (fixed mask, as identity.qr does, and with its mask search) beside qrcode.

All on the same phone-ID URL: <PUBLIC_URL>/v/<token in digits>, signed by identity.signing with
a fresh key exactly as a card's QR is (identity.digital_id.credentials: our typ, issuer, claims,
id length, and the status-list index with the most digits it can have).
"""

import base64
import io
import random
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import qrcode
import qrcode.constants
import qrcode.image.svg
import segno

from bench import Row, interleaved_medians
from identity import qr, signing
from identity.digital_id import credentials

LOCAL_URL = "http://127.0.0.1:5000"
PUBLIC_URL = "https://hawiya.housing.gov.kw"


def b64url(raw: bytes) -> str:
    """Encode raw as unpadded base64url."""
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


LONGEST_URL = "https://check.hawiya.housing.gov.kw"  # 35 characters: the most PUBLIC_URL may be
LARGEST_INDEX = 2**31 - 1  # the status index with the most digits


def phone_url(base: str, *, dense: bool = True) -> str:
    """Return a real phone-ID URL under base: the claims and header of a card's QR, signed.

    `dense`: the token in digits, as the card shows it (credentials.numeric); otherwise the JWS.
    """
    with tempfile.TemporaryDirectory() as folder:
        keys = Path(folder) / "keys"
        signing.create_key(keys)
        issued = int(time.time())
        claims = {"iss": signing.ISSUER, "sub": credentials.new_id(), "iat": issued,
                  "exp": issued + 60, credentials.STATUS_CLAIM: LARGEST_INDEX}  # fmt: skip
        token = signing.load_ring(keys).sign(claims, credentials.PHONE_TYP)
    return f"{base}/v/{credentials.numeric(token) if dense else token}"


def document_url(seed: int = 11) -> str:
    """Return a document URL with a 128-bit reference."""
    return f"{PUBLIC_URL}/d/{b64url(random.Random(seed).randbytes(16))}"


def version_row(label: str, url: str, error: str, goal: int) -> Row:
    """Report the version url needs at error against the design goal."""
    needed = qr.version(url, error)
    verdict = "met" if needed <= goal else "NOT met"
    segments = qr.segments(url)
    form = f", {len(segments[-1])} of them digits in numeric mode" if len(segments) > 1 else ""
    return (
        f"QR version, {label} at {error.upper()}",
        str(needed),
        f"{len(url)} characters{form}; room for {room(url, error)} more token characters in "
        f"version {needed}; goal ≤ {goal}: {verdict}",
    )


def room(url: str, error: str) -> int:
    """Return how many more characters the token could have before the QR needs a version more."""
    needed, dense, extra = qr.version(url, error), len(qr.segments(url)) > 1, 0
    while qr.version(url + ("00" if dense else "A") * (extra + 1), error) == needed:
        extra += 1
    return extra


def run() -> list[Row]:
    """Measure QR versions and rendering time per code."""
    url = phone_url(LOCAL_URL)
    rows = [
        version_row("phone URL (local)", url, qr.PHONE_ERROR, qr.PHONE_MAX_VERSION),
        version_row(
            "phone URL (public, 29 characters)",
            phone_url(PUBLIC_URL),
            qr.PHONE_ERROR,
            qr.PHONE_MAX_VERSION,
        ),
        version_row(
            "phone URL (public, 35 characters)",
            phone_url(LONGEST_URL),
            qr.PHONE_ERROR,
            qr.PHONE_MAX_VERSION,
        ),
        version_row(
            "phone URL (public, 29 characters), the token as a JWS in byte mode",
            phone_url(PUBLIC_URL, dense=False),
            qr.PHONE_ERROR,
            qr.PHONE_MAX_VERSION,
        ),
        version_row("document URL", document_url(), qr.DOCUMENT_ERROR, qr.DOCUMENT_MAX_VERSION),
    ]

    def segno_svg_search() -> str:
        code = segno.make_qr(url, error=qr.PHONE_ERROR, boost_error=False)
        return str(code.svg_inline(scale=4, border=4))

    def qrcode_make(**kwargs: object) -> qrcode.QRCode:
        code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, **kwargs)
        code.add_data(url)
        code.make(fit=True)
        return code

    def qrcode_svg() -> bytes:
        code = qrcode_make(image_factory=qrcode.image.svg.SvgPathImage, border=4)
        return bytes(code.make_image().to_string())

    def qrcode_png() -> bytes:
        out = io.BytesIO()
        qrcode_make(box_size=8, border=4).make_image().save(out, format="PNG")
        return out.getvalue()

    svg_fixed = "segno SVG, fixed mask (identity.qr)"
    encode_fixed = "segno encode only, fixed mask"
    # name: (function, the case it is compared with)
    cases: dict[str, tuple[Callable[[], object], str]] = {
        svg_fixed: (lambda: qr.svg(url, qr.PHONE_ERROR), svg_fixed),
        "segno SVG, mask search (segno default)": (segno_svg_search, svg_fixed),
        "segno PNG, fixed mask (identity.qr)": (lambda: qr.png(url, qr.PHONE_ERROR), svg_fixed),
        "qrcode SVG (SvgPathImage)": (qrcode_svg, svg_fixed),
        "qrcode PNG (PIL image)": (qrcode_png, svg_fixed),
        encode_fixed: (lambda: qr.make(url, qr.PHONE_ERROR), encode_fixed),
        "segno encode only, mask search": (
            lambda: segno.make_qr(url, error=qr.PHONE_ERROR, boost_error=False),
            encode_fixed,
        ),
    }
    timings = interleaved_medians(
        {name: function for name, (function, _) in cases.items()}, runs=200, budget_s=20.0
    )
    for name, (_, reference) in cases.items():
        median, runs = timings[name]
        rows.append(
            (
                f"QR phone URL at M: {name}",
                f"{median * 1000:.2f} ms/code",
                f"×{median / timings[reference][0]:.2f} vs {reference}; median of {runs} runs",
            )
        )
    return rows
