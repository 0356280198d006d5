"""PDFs: the only module that reads and writes them.

check() refuses anything that is not a usable PDF; stamp() returns a copy of the PDF whose first
page carries a verification stamp (a QR of the document's address, its number and code, and a
line of instructions in Arabic and English) on a free corner, or, when no corner is free, a copy
with a stamp page appended.

Three libraries, each for what it does best:
- pikepdf (qpdf) parses the upload and writes the result: a C++ parser fuzzed for years, exact
  encryption detection, original streams kept byte for byte, and a deterministic file /ID, so
  the same inputs give the same bytes (and the same stored SHA-256).
- pypdfium2 (PDFium, Chrome's renderer) renders the first page to find a blank corner, and
  opens every upload a second time: a file the two parsers read differently is refused.
- fpdf2 draws the stamp: the QR as vector rectangles, and Arabic shaped right to left by
  HarfBuzz (uharfbuzz) in Amiri (SIL OFL 1.1, from the fontpkg-amiri package), subset and
  embedded; English and the number and code in the PDF core fonts Helvetica and Courier.

The server's process never parses an upload: check() and stamp() only screen its first and last
bytes, then hand it to a child process (identity/documents/pdf_child.py) capped in memory, CPU and
wall-clock time, which runs answer() and sends back the page count, the stamped PDF or a
refusal over a pipe. A PDF bomb, for qpdf or for PDFium, costs one bounded process, never the
server's memory or its other uploads.
"""

from __future__ import annotations  # FPDF in annotations, loaded only to draw (see _canvas)

import io
import json
import logging
import subprocess
import sys
import threading
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import fontpkg_amiri
import pikepdf
import segno
from PIL import Image

from identity import qr
from identity.errors import Refused

if TYPE_CHECKING:
    from fpdf import FPDF

MAX_BYTES = 10 * 1024 * 1024
MAX_PAGES = 200

MESSAGES = {
    "not-a-pdf": "This file is not a PDF. Export the document as PDF, then upload it.",
    "pdf-too-large": (
        f"This PDF is larger than {MAX_BYTES // (1024 * 1024)} MB. Export it again with smaller "
        "images (for example with 'Reduce file size'), then upload it."
    ),
    "pdf-malformed": (
        "This PDF is damaged or incomplete and cannot be read. Export or download it again "
        "(or print it to a new PDF), then upload it."
    ),
    "pdf-encrypted": (
        "This PDF is password-protected or encrypted. Save it again without a password or "
        "restrictions (for example with 'Print to PDF'), then upload it."
    ),
    "pdf-empty": "This PDF has no pages. Export the document again, then upload it.",
    "pdf-too-many-pages": (
        f"This PDF has more than {MAX_PAGES} pages. Upload the document on its own, "
        "without attachments."
    ),
    "pdf-too-complex": (
        "This PDF is too complex to check: its first page takes too long or too much memory "
        "to draw, or it holds an oversized image. Print it to a new PDF (or export it again "
        "with smaller images), then upload it."
    ),
}

MM = 72 / 25.4  # points per millimetre
A4 = (210.0, 297.0)  # mm

# The stamp, in millimetres. The QR symbol is QR_MM wide whatever its version (at version 5,
# 0.73 mm a module), with a quiet zone of at least 4 modules inside the stamp's white box.
# URLs of the form <PUBLIC_URL>/d/<22 characters> need version 4 or 5.
STAMP_W, STAMP_H = 92.0, 45.0
QR_MM = 27.0
QR_AT = 4.0  # from the stamp's edge and from its text: 4 modules from version 3 up
EDGE_MM = 8.0  # from the edge of the visible page: printers leave about 5 mm blank
CLEAR_MM = 3.0  # blank space required around the stamp
SLIDE = 0.25  # how far from its corner the stamp may slide, as a share of the page side
STEP_MM = 3.0

INK = 230  # a rendered grey level darker than this is content
RENDER_MAX_PX = 1400  # the longer side of the page image searched for a free corner

# What parsing, drawing and stamping one upload may spend, in its child process. A normal letter
# needs under a second (most of it loading the libraries) and about 90 MB; a 600 dpi colour
# scan of A4 well under 300 MB.
RENDER_MEMORY = 768 * 1024 * 1024  # address space, bytes (RLIMIT_AS)
RENDER_CPU_SECONDS = 5  # RLIMIT_CPU
RENDER_SECONDS = 10  # wall clock, from the child's start: a loaded machine gives it less CPU
RENDER_SLOTS = 2  # children at once in this process: bounds the memory a burst of uploads takes
# Declared pixels of any one image (an A3 page scanned at 600 dpi has 70 million): a viewer of
# the stamped document decodes them all, whatever our render skipped.
IMAGE_MAX_PIXELS = 100_000_000
# The largest stamped PDF the child sends back: qpdf writes the object streams it rebuilds
# uncompressed (compress_streams=False keeps every original stream as it was), so a file may
# grow; what is larger would cost the server's process its memory, so it is refused.
STAMPED_MAX_BYTES = 4 * MAX_BYTES

AMIRI = fontpkg_amiri.ROOT / "files" / "Amiri-Regular.ttf"
if not AMIRI.is_file():  # fail at start-up, not at the first document
    raise RuntimeError(f"The Arabic font {AMIRI} is missing: reinstall fontpkg-amiri.")
FIXED_DATE = datetime(2000, 1, 1, tzinfo=UTC)  # fpdf2 writes a date; keep output reproducible
STAMP_NAME = "HawiyaStamp"
KEEP = "\u200c\u200d"  # zero-width (non-)joiners: they change how Arabic letters join

AR_NUMBER = "رقم المستند"
AR_CODE = "رمز التحقق"
AR_ISSUED = "تاريخ الإصدار"
AR_SCAN = "للتحقق امسح الرمز أو أدخل رقم المستند والرمز في"
EN_SCAN = "Scan to verify, or enter the number and code at"

_render_slots = threading.BoundedSemaphore(RENDER_SLOTS)
log = logging.getLogger(__name__)


class PdfRefused(Refused):
    """An upload that is not a usable PDF: a kebab-case code and a sentence for the user."""

    def __init__(self, code: str) -> None:
        super().__init__(MESSAGES[code], code=code)


@dataclass(frozen=True)
class Spot:
    """Where the stamp goes on a page: its visual lower-left corner, in points."""

    x: float
    y: float


@dataclass(frozen=True)
class PageBox:
    """Page 1's visible box in user space (CropBox within MediaBox) and its /Rotate."""

    x0: float
    y0: float
    x1: float
    y1: float
    rotate: int


@dataclass(frozen=True)
class Seen:
    """What PDFium saw of an upload: its page count and, when rendered, page 1 and its image."""

    pages: int | None
    box: PageBox | None = None
    size: tuple[float, float] = (0.0, 0.0)
    scale: float = 1.0
    image: Image.Image | None = None


def check(data: bytes) -> int:
    """Refuse anything that is not a usable PDF; return its page count.

    The PDF is parsed in a child process within the limits (see _in_child).
    """
    _screen(data)
    head, _ = _in_child("check", {}, bytes(data))
    return int(head["pages"])


def stamp(
    data: bytes,
    url: str,
    number: str,
    code: str,
    issued_on: str,
    office_ar: str,
    office_en: str,
) -> bytes:
    """Return the PDF with a verification stamp on a free corner of page 1, or on a new page.

    Whatever in it a viewer could run or open by itself is removed first (see _disarm). The
    PDF is parsed, disarmed and stamped in a child process within the limits (see _in_child).
    Raise PdfRefused for a bad file and ValueError if url needs a QR bigger than version 5.
    """
    qr.make(url, error=qr.DOCUMENT_ERROR, max_version=qr.DOCUMENT_MAX_VERSION)  # the ValueError
    _screen(data)
    fields = {"url": url, "number": number, "code": code, "issued_on": issued_on,
              "office_ar": office_ar, "office_en": office_en}  # fmt: skip
    _, stamped = _in_child("stamp", fields, bytes(data))
    return stamped


def _screen(data: bytes) -> None:
    """Refuse, without parsing it, what cannot be a usable PDF: too large, not one, cut short."""
    if not isinstance(data, bytes | bytearray):
        raise TypeError("data must be bytes")
    if len(data) > MAX_BYTES:
        raise PdfRefused("pdf-too-large")
    if not data.startswith(b"%PDF-"):
        raise PdfRefused("not-a-pdf")
    # A file cut short loses its last end-of-file marker; Acrobat also looks in the last 1 KiB.
    if b"%%EOF" not in data[-1024:]:
        raise PdfRefused("pdf-malformed")


def _in_child(mode: str, fields: dict[str, str], data: bytes) -> tuple[dict[str, Any], bytes]:
    """Return the child's answer to mode (check or stamp) for data: its head and the stamped PDF.

    A child that runs out of memory or CPU time, or is killed at RENDER_SECONDS, refuses the
    upload; at most RENDER_SLOTS children run at once, each for RENDER_SECONDS at most. A
    refusal the child found is raised here with its code.
    """
    command = [
        sys.executable, "-I", "-m", "identity.documents.pdf_child", str(RENDER_MEMORY),
        str(RENDER_CPU_SECONDS), str(RENDER_MAX_PX), mode,
    ]  # fmt: skip
    request = json.dumps(fields).encode() + b"\n" + data  # JSON escapes every newline
    with _render_slots:
        try:
            # Our own interpreter and module, no shell: nothing of the upload is in command.
            child = subprocess.run(  # noqa: S603
                command, input=request, capture_output=True, timeout=RENDER_SECONDS, check=False
            )
        except subprocess.TimeoutExpired:  # run() has killed it
            log.warning("PDF refused: it took more than %s s to read", RENDER_SECONDS)
            raise PdfRefused("pdf-too-complex") from None
    line, _, body = child.stdout.partition(b"\n")
    head = _head(line) if child.returncode == 0 else {}
    if head.get("refused") in MESSAGES:
        raise PdfRefused(str(head["refused"]))
    if not (("pages" in head and mode == "check") or head.get("stamped") == len(body)):
        # Out of memory or CPU time, as a rule; the last line says so if it is anything else.
        last = child.stderr.decode(errors="replace").strip().rsplit("\n", 1)[-1][:200]
        log.warning("PDF refused: its child process ended with %s %s", child.returncode, last)
        raise PdfRefused("pdf-too-complex")
    return head, body


def _head(line: bytes) -> dict[str, Any]:
    """Return the child's answer line as a dictionary, or {} if it is not one (it was cut)."""
    try:
        head = json.loads(line)
    except ValueError:
        return {}
    return head if isinstance(head, dict) else {}


# In the child process (identity/documents/pdf_child.py): parsing, checking and stamping the upload


def answer(
    mode: str, fields: dict[str, str], data: bytes, max_px: int
) -> tuple[dict[str, Any], bytes]:
    """Check or stamp data (mode) in this process; return the answer for the parent.

    The answer is {"pages": n} (check), {"stamped": length} and the stamped PDF (stamp), or
    {"refused": code}. Run only in the child, within its limits: data is parsed here.
    """
    try:
        if mode == "check":
            with _opened(data, max_px) as (pdf, _):
                return {"pages": len(pdf.pages)}, b""
        stamped = _stamped(data, max_px, **fields)
    except PdfRefused as refused:
        return {"refused": refused.code}, b""
    except MemoryError:  # qpdf's or Python's share of the memory cap ran out
        return {"refused": "pdf-too-complex"}, b""
    if len(stamped) > STAMPED_MAX_BYTES:
        return {"refused": "pdf-too-complex"}, b""
    return {"stamped": len(stamped)}, stamped


def _stamped(
    data: bytes,
    max_px: int,
    url: str,
    number: str,
    code: str,
    issued_on: str,
    office_ar: str,
    office_en: str,
) -> bytes:
    """Return data disarmed and stamped (see stamp); raise PdfRefused for a bad file."""
    symbol = qr.make(url, error=qr.DOCUMENT_ERROR, max_version=qr.DOCUMENT_MAX_VERSION)
    text = StampText(url, *(_clean(v) for v in (number, code, issued_on, office_ar, office_en)))
    with _opened(data, max_px, render=True) as (pdf, seen):
        try:
            box, spot = _free_corner(seen)
            _disarm(pdf)
            # The stamp's own PDF stays open until pdf is saved: qpdf copies its streams then.
            with _stamp_page(symbol, text) if spot is None else _stamp_only(symbol, text) as drawn:
                if spot is None:
                    pdf.pages.append(drawn.pages[0])
                else:
                    _place(pdf, box, spot, drawn)
                out = io.BytesIO()
                pdf.save(
                    out,
                    deterministic_id=True,
                    compress_streams=False,  # keep every original stream exactly as it was
                    stream_decode_level=pikepdf.StreamDecodeLevel.none,
                )
            _refuse_if_out_of_memory(pdf)
        except (pikepdf.PdfError, RuntimeError, TypeError) as exc:
            # check() passed, yet page 1 is built in a way we cannot stamp (say, /Resources
            # is a stream), or qpdf could not write an object it had read.
            raise PdfRefused("pdf-malformed") from exc
    return out.getvalue()


@contextmanager
def _opened(data: bytes, max_px: int, render: bool = False) -> Iterator[tuple[pikepdf.Pdf, Seen]]:
    """Open data, screened already, as a PDF; refuse what is not a usable PDF.

    Yield it with what PDFium saw of it (page 1 rendered if render is true).
    """
    try:
        pdf = pikepdf.open(io.BytesIO(data))
    except pikepdf.PasswordError:
        raise PdfRefused("pdf-encrypted") from None
    except (pikepdf.PdfError, ValueError, RuntimeError, OverflowError) as exc:
        raise PdfRefused("pdf-malformed") from exc
    with pdf:
        # An owner password alone opens with no password, yet the file is still encrypted.
        if pdf.is_encrypted:
            raise PdfRefused("pdf-encrypted")
        try:
            pages = len(pdf.pages)
        except (pikepdf.PdfError, ValueError, RuntimeError) as exc:
            raise PdfRefused("pdf-malformed") from exc
        _refuse_if_out_of_memory(pdf)
        if pages == 0:
            raise PdfRefused("pdf-empty")
        if pages > MAX_PAGES:
            raise PdfRefused("pdf-too-many-pages")
        _refuse_oversized_images(pdf)
        _refuse_if_out_of_memory(pdf)
        seen = _pdfium(data, max_px, render)
        if seen.pages != pages:
            raise PdfRefused("pdf-malformed")
        yield pdf, seen


def _refuse_if_out_of_memory(pdf: pikepdf.Pdf) -> None:
    """Refuse pdf if qpdf ran out of memory reading it: say, an object stream that inflates to
    gigabytes. qpdf only warns, treats the object as null and goes on (to 'no pages', say)."""
    if any("bad_alloc" in warning for warning in pdf.get_warnings()):
        raise PdfRefused("pdf-too-complex")


def _refuse_oversized_images(pdf: pikepdf.Pdf) -> None:
    """Refuse a PDF with an image of more than IMAGE_MAX_PIXELS pixels, by its dictionary.

    A few kilobytes of nested Flate can declare a 20,000 x 20,000 image: PDFium under its
    memory cap skips it, but every viewer of the stamped document would try to decode it.
    """
    try:
        sizes = [
            (obj.get(pikepdf.Name.Width, 0), obj.get(pikepdf.Name.Height, 0))
            for obj in pdf.objects
            if isinstance(obj, pikepdf.Stream)
            and obj.get(pikepdf.Name.Subtype) == pikepdf.Name.Image
        ]
    except (pikepdf.PdfError, ValueError, RuntimeError) as exc:  # an object qpdf cannot read
        raise PdfRefused("pdf-malformed") from exc
    for width, height in sizes:
        if not (isinstance(width, int | Decimal) and isinstance(height, int | Decimal)):
            continue  # no viewer draws an image without a size
        if width * height > IMAGE_MAX_PIXELS:
            raise PdfRefused("pdf-too-complex")


def _pdfium(data: bytes, max_px: int, render: bool) -> Seen:
    """Return what PDFium sees of data: its page count (None: it cannot open it) and, when
    render is true, page 1's box and its image in grey, the longer side max_px at most."""
    import pypdfium2  # only in the child: the server's process never loads PDFium

    try:
        document = pypdfium2.PdfDocument(data)
    except pypdfium2.PdfiumError:
        return Seen(None)
    try:
        if not render or not len(document):
            return Seen(len(document))
        page = document[0]
        width, height = page.get_size()
        x0, y0, x1, y1 = page.get_bbox()
        box = PageBox(x0, y0, x1, y1, page.get_rotation())
        if width < 1 or height < 1:
            return Seen(len(document), box, (width, height))
        # The pixel budget: the longer side is at most max_px pixels, whatever the page's size.
        scale = min(1.0, max_px / max(width, height))
        bitmap = page.render(
            scale=scale, grayscale=True, force_bitmap_format=pypdfium2.raw.FPDFBitmap_Gray
        )
        image = Image.frombuffer(
            "L", (bitmap.width, bitmap.height), bytes(bitmap.buffer), "raw", "L", bitmap.stride, 1
        )
        return Seen(len(document), box, (width, height), scale, image)
    finally:
        document.close()


@dataclass(frozen=True)
class StampText:
    """What the stamp prints besides the QR."""

    url: str
    number: str
    code: str
    issued_on: str
    office_ar: str
    office_en: str

    @property
    def check_url(self) -> str:
        """Return the page where number and code are typed: the QR's address less its last part."""
        return self.url.rsplit("/", 1)[0]


def _clean(value: str) -> str:
    """Return value on one line, without control or bidi formatting characters.

    An office name with U+202E (right-to-left override) could otherwise print reversed text.
    """
    value = " ".join(value.split())
    return "".join(c for c in value if unicodedata.category(c) not in ("Cc", "Cf") or c in KEEP)


# Finding a free corner


def _free_corner(seen: Seen) -> tuple[PageBox, Spot | None]:
    """Return page 1's box and where on it the stamp fits on blank paper (None: nowhere).

    Corners are tried bottom-left, bottom-right, top-left, top-right, as the page is shown
    (after /Rotate, within the CropBox); in each the stamp may slide inward a little.
    """
    if seen.box is None:
        raise PdfRefused("pdf-malformed")
    if seen.image is None:  # a page smaller than a point
        return seen.box, None
    return seen.box, _blank_spot(seen.image, *seen.size, seen.scale)


def _blank_spot(image: Image.Image, width: float, height: float, scale: float) -> Spot | None:
    """Return the first stamp position, corner by corner, whose area of image is blank."""
    ink = image.point(lambda v: 255 if v < INK else 0)
    w, h = STAMP_W * MM, STAMP_H * MM
    edge, clear, step = EDGE_MM * MM, CLEAR_MM * MM, STEP_MM * MM
    if width < w + 2 * edge or height < h + 2 * edge:
        return None
    reach_x = min(width - w - 2 * edge, max(0.0, SLIDE * width))
    reach_y = min(height - h - 2 * edge, max(0.0, SLIDE * height))
    # Positions nearest the corner first: (0, 0), then one step right or up, and so on.
    steps = [
        (dx * step, dy * step)
        for dx in range(int(reach_x / step) + 1)
        for dy in range(int(reach_y / step) + 1)
    ]
    steps.sort(key=lambda d: (d[0] + d[1], d[1]))
    for right, top in ((False, False), (True, False), (False, True), (True, True)):
        for dx, dy in steps:
            x = width - edge - w - dx if right else edge + dx
            y = height - edge - h - dy if top else edge + dy
            # The area to check, in image pixels (y down), with the clearance around it.
            box = (
                int((x - clear) * scale),
                int((height - y - h - clear) * scale),
                int((x + w + clear) * scale) + 1,
                int((height - y + clear) * scale) + 1,
            )
            if ink.crop(box).getbbox() is None:
                return Spot(x, y)
    return None


# Removing active content
#
# A document we vouch for must do nothing but show its pages: no script, no program launched,
# no form data sent anywhere, no file carried inside it. We remove all of it rather than refuse
# the upload: Word, Acrobat and form tools add such things to genuine letters, unseen by the
# people who issue them, and what is removed is nothing a reader of the letter needs.

# Every action type of ISO 32000-2 (PDF 2.0), 12.6.4, and the rich-media one of its extension.
ACTIONS = frozenset({
    "/GoTo", "/GoToR", "/GoToE", "/GoToDp", "/Launch", "/Thread", "/URI", "/Sound", "/Movie",
    "/Hide", "/Named", "/SubmitForm", "/ResetForm", "/ImportData", "/SetOCGState", "/Rendition",
    "/Trans", "/GoTo3DView", "/JavaScript", "/ECMAScript", "/RichMediaExecute",
})  # fmt: skip
# Actions a viewer may follow: move within the document, follow a web or mail link. Any other
# action (JavaScript, Launch, SubmitForm, ImportData, GoToR and GoToE, which open other files,
# Rendition, Sound, Movie, RichMediaExecute, GoTo3DView, unknown ones) is emptied in place.
SAFE_ACTIONS = frozenset({"/GoTo", "/GoToDp", "/Thread", "/Hide", "/SetOCGState", "/Trans"})
SAFE_NAMED = frozenset({"/NextPage", "/PrevPage", "/FirstPage", "/LastPage"})
SAFE_SCHEMES = ("http://", "https://", "mailto:")  # not file:, smb: (leaks credentials), ...
ACTION_KEYS = ("/A", "/OpenAction", "/Next", "/PA")  # the keys whose value is an action
# Keys removed from every dictionary: additional actions (/AA, on the catalog, pages, fields
# and annotations), the JavaScript and embedded-file name trees, embedded files in file
# specifications (/EF) and associated files (/AF), XFA forms, rich media, portfolios.
ACTIVE_KEYS = (
    "/AA", "/JS", "/JavaScript", "/EmbeddedFiles", "/EF", "/AF", "/XFA", "/NeedsRendering",
    "/RichMediaContent", "/RichMediaSettings", "/AlternatePresentations", "/Collection",
)  # fmt: skip
# Annotations that play or carry something: removed from every page.
ACTIVE_ANNOTATIONS = frozenset(
    {"/FileAttachment", "/Sound", "/Movie", "/Screen", "/RichMedia", "/3D"}
)


def _disarm(pdf: pikepdf.Pdf) -> None:
    """Remove from pdf every script, unsafe action, embedded file and media (see above).

    Every object is visited, indirect or inside another, so nothing depends on where a viewer
    would look for it. What no longer has a reference is not written when pdf is saved.
    """
    for page in pdf.pages:
        annots = page.obj.get(pikepdf.Name.Annots)
        if isinstance(annots, pikepdf.Array):
            kept = [a for a in annots if not _is_active_annotation(a)]
            if len(kept) != len(annots):
                page.obj[pikepdf.Name.Annots] = pikepdf.Array(kept)
    stack: list[pikepdf.Object] = list(pdf.objects)
    while stack:
        obj = stack.pop()
        if isinstance(obj, pikepdf.Dictionary):  # a stream's dictionary too
            _disarm_dictionary(obj)
            children = list(obj.values())
        elif isinstance(obj, pikepdf.Array):
            children = list(obj)
        else:
            continue
        # Indirect objects are in pdf.objects already; a hostile file may nest deeply.
        stack.extend(c for c in children if isinstance(c, pikepdf.Object) and not c.is_indirect)


def _disarm_dictionary(obj: pikepdf.Dictionary) -> None:
    """Remove obj's active keys and unsafe actions; empty obj if it is an unsafe action."""
    for key in ACTIVE_KEYS:
        if key in obj:
            del obj[key]
    for key in ACTION_KEYS:
        value = obj.get(key)
        if isinstance(value, pikepdf.Dictionary) and _is_unsafe_action(value, certain=True):
            del obj[key]
        elif key == "/Next" and isinstance(value, pikepdf.Array):
            obj[key] = pikepdf.Array([a for a in value if not _is_unsafe_action(a, certain=True)])
    if _is_unsafe_action(obj):
        for key in list(obj.keys()):
            del obj[key]


def _is_unsafe_action(obj: object, certain: bool = False) -> bool:
    """Tell whether obj is an action dictionary a viewer must not follow.

    certain: obj is where an action belongs (say an annotation's /A), so an unknown action
    type or one emptied already is unsafe too. Elsewhere /S also names structure, transition
    and group types: only the action types are recognised.
    """
    if not isinstance(obj, pikepdf.Dictionary):
        return False
    kind = obj.get(pikepdf.Name.S)
    if kind is None and certain:
        return len(obj) == 0
    if not isinstance(kind, pikepdf.Name) or str(kind) not in ACTIONS:
        return certain and isinstance(kind, pikepdf.Name)
    if str(kind) == "/URI":
        target = obj.get(pikepdf.Name.URI)
        return not (isinstance(target, pikepdf.String) and _safe_uri(bytes(target)))
    if str(kind) == "/Named":
        return str(obj.get(pikepdf.Name.N, "")) not in SAFE_NAMED
    return str(kind) not in SAFE_ACTIONS


def _safe_uri(uri: bytes) -> bool:
    """Tell whether a link's target is a web or mail address."""
    return uri.strip().lower().startswith(tuple(s.encode() for s in SAFE_SCHEMES))


def _is_active_annotation(annotation: object) -> bool:
    """Tell whether annotation plays or carries something (a file, a sound, a film, 3D)."""
    return isinstance(annotation, pikepdf.Dictionary) and (
        str(annotation.get(pikepdf.Name.Subtype, "")) in ACTIVE_ANNOTATIONS
    )


# Drawing the stamp


def _stamp_only(symbol: segno.QRCode, text: StampText) -> pikepdf.Pdf:
    """Return a one-page PDF the size of the stamp, with the stamp on it."""
    pdf = _canvas((STAMP_W, STAMP_H))
    _draw_stamp(pdf, 0, 0, text)
    return _with_qr(pdf, symbol, QR_AT, QR_AT)


def _stamp_page(symbol: segno.QRCode, text: StampText) -> pikepdf.Pdf:
    """Return an A4 page that says, in both languages, which document it belongs to, stamped."""
    pdf = _canvas(A4)
    margin, width = 20.0, A4[0] - 40.0
    pdf.set_xy(margin, margin)
    _font(pdf, "ar", 16)
    pdf.cell(width, 10, "صفحة التحقق من المستند", align="R", new_x="LMARGIN", new_y="NEXT")
    _font(pdf, "en-bold", 14)
    pdf.set_x(margin)
    pdf.cell(width, 8, "Document verification page", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)
    arabic = (
        f"هذه الصفحة جزء من المستند رقم {_ltr(text.number)} الصادر بتاريخ "
        f"{_ltr(text.issued_on)} عن {_isolated(text.office_ar)}. "
        "أضيفت إليه لأن صفحته الأولى لا تتسع لختم التحقق."
    )
    english = (
        f"This page belongs to document {text.number}, issued on {text.issued_on} by "
        f"{text.office_en}. It was added because the first page had no free corner for the "
        "verification stamp."
    )
    _font(pdf, "ar", 12)
    pdf.set_x(margin)
    pdf.multi_cell(width, 7, arabic, align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    _font(pdf, "en" if _latin(english) else "ar", 11)
    pdf.set_x(margin)
    pdf.multi_cell(width, 5.5, english, align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(8)
    x, y = (A4[0] - STAMP_W) / 2, pdf.get_y()
    _draw_stamp(pdf, x, y, text)
    return _with_qr(pdf, symbol, x + QR_AT, y + QR_AT)


def _canvas(size: tuple[float, float]) -> FPDF:
    """Return an fpdf2 document with one blank page of size (mm) and the Amiri font."""
    from fpdf import FPDF  # 0.4 s to load: a child that only counts pages does without it

    pdf = FPDF(unit="mm", format=size)
    pdf.set_creation_date(FIXED_DATE)
    pdf.core_fonts_encoding = "cp1252"  # what _latin() checks
    pdf.set_auto_page_break(False)
    pdf.set_margins(0, 0, 0)
    pdf.add_font("Amiri", "", str(AMIRI))
    pdf.add_page()
    return pdf


def _with_qr(pdf: FPDF, symbol: segno.QRCode, x: float, y: float) -> pikepdf.Pdf:
    """Return pdf's one page with the QR symbol drawn on it, top-left at (x, y) mm."""
    document = pikepdf.open(io.BytesIO(bytes(pdf.output())))
    page = document.pages[0]
    page.contents_add(b"q\n", prepend=True)
    page.contents_add(b"Q\n" + _qr_path(symbol, x * MM, pdf.h_pt - y * MM), prepend=False)
    return document


def _qr_path(symbol: segno.QRCode, left: float, top: float) -> bytes:
    """Return the operators that fill the QR's dark modules, top-left corner at (left, top) pt.

    One path for the whole symbol (a rectangle for each run of dark modules in a row), filled
    once, so no renderer draws hairline seams between modules. The stamp's white box around
    it is the quiet zone.
    """
    matrix = symbol.matrix
    module = QR_MM * MM / len(matrix)
    ops = ["q 0 g"]
    for row, cells in enumerate(matrix):
        column = 0
        while column < len(cells):
            if not cells[column] & 1:
                column += 1
                continue
            start = column
            while column < len(cells) and cells[column] & 1:
                column += 1
            values = (left + start * module, top - (row + 1) * module, (column - start) * module)
            ops.append(" ".join(_number(v) for v in (*values, module)) + " re")
    ops.append("f Q\n")
    return "\n".join(ops).encode()


def _font(pdf: FPDF, kind: str, size: float) -> None:
    """Select the font for kind: ar (shaped Arabic), en, en-bold, or code (monospace)."""
    if kind == "ar":
        pdf.set_font("Amiri", size=size)
        pdf.set_text_shaping(True)
        return
    pdf.set_text_shaping(False)
    family, style = {"en": ("Helvetica", ""), "en-bold": ("Helvetica", "B")}.get(
        kind, ("Courier", "B")
    )
    pdf.set_font(family, style, size)


def _ltr(value: str) -> str:
    """Isolate value as left-to-right inside Arabic text, so 2026-05-01 is not shown 01-05-2026."""
    return f"\u2066{value}\u2069"


def _isolated(value: str) -> str:
    """Isolate value inside Arabic text, in the direction of its first strong letter."""
    return f"\u2068{value}\u2069"


def _latin(value: str) -> bool:
    """Tell whether the core fonts can print value (they cover Windows-1252 only)."""
    try:
        value.encode("cp1252")
    except UnicodeEncodeError:
        return False
    return True


def _fit(pdf: FPDF, kind: str, value: str, width: float, size: float, smallest: float) -> str:
    """Select the largest font size down to smallest that fits value in width; cut it if none."""
    while size > smallest and pdf.get_string_width(value) > width:
        size -= 0.5
        _font(pdf, kind, size)
    if pdf.get_string_width(value) <= width:
        return value
    while value and pdf.get_string_width(value + "…") > width:
        value = value[:-1]
    return value.rstrip() + "…"


def _draw_stamp(pdf: FPDF, x: float, y: float, text: StampText) -> None:
    """Draw the stamp but its QR with its top-left corner at (x, y) mm."""
    pdf.set_draw_color(90)
    pdf.set_fill_color(255)
    pdf.set_line_width(0.3)
    pdf.rect(x, y, STAMP_W, STAMP_H, style="DF", round_corners=True, corner_radius=2)

    left = x + QR_AT + QR_MM + QR_AT
    column = x + STAMP_W - 3 - left
    rows = (
        ("Document no.", AR_NUMBER, text.number),
        ("Verification code", AR_CODE, text.code),
        ("Issued on", AR_ISSUED, text.issued_on),
    )
    top = y + QR_AT - 0.5
    for english, arabic, value in rows:
        pdf.set_text_color(90)
        _font(pdf, "en", 6.5)
        pdf.set_xy(left, top)
        pdf.cell(column / 2, 3.5, english)
        _font(pdf, "ar", 8)
        pdf.set_xy(left + column / 2, top - 0.4)
        pdf.cell(column / 2, 3.5, arabic, align="R")
        pdf.set_text_color(0)
        kind = "code" if _latin(value) else "ar"
        _font(pdf, kind, 11)
        shown = _fit(pdf, kind, value, column, 11, 6)
        pdf.set_xy(left, top + 3.6)
        pdf.cell(column, 5, shown)
        top += 9.2

    # The issuing office, then the instructions, across the whole stamp under the QR.
    inner = STAMP_W - 6
    pdf.set_text_color(0)
    _office_line(pdf, x + 3, y + QR_AT + QR_MM + 1.2, inner, text)
    pdf.set_draw_color(170)
    pdf.set_line_width(0.15)
    rule = y + QR_AT + QR_MM + 5.2
    pdf.line(x + 3, rule, x + STAMP_W - 3, rule)
    pdf.set_text_color(40)
    _font(pdf, "ar", 7.5)
    line = _fit(pdf, "ar", f"{AR_SCAN} {_ltr(text.check_url)}", inner, 7.5, 5)
    pdf.set_xy(x + 3, rule + 0.4)
    pdf.cell(inner, 3.6, line, align="R")
    _font(pdf, "en", 6.5)
    line = _fit(pdf, "en", f"{EN_SCAN} {text.check_url}", inner, 6.5, 5)
    pdf.set_xy(x + 3, rule + 4.4)
    pdf.cell(inner, 3.2, line)
    pdf.set_text_color(0)


def _office_line(pdf: FPDF, x: float, y: float, width: float, text: StampText) -> None:
    """Draw the issuing office: English at the left, Arabic at the right, once if they match."""
    english, arabic = text.office_en.strip(), text.office_ar.strip()
    if english == arabic or not english or not arabic:
        value = arabic or english
        kind = "en" if _latin(value) else "ar"
        _font(pdf, kind, 8)
        shown = _fit(pdf, kind, value, width, 8, 5)
        pdf.set_xy(x, y)
        pdf.cell(width, 3.6, shown, align="L" if kind == "en" else "R")
        return
    kind = "en" if _latin(english) else "ar"
    _font(pdf, kind, 8)
    shown = _fit(pdf, kind, english, width / 2 - 1, 8, 5)
    pdf.set_xy(x, y)
    pdf.cell(width / 2, 3.6, shown)
    _font(pdf, "ar", 8)
    shown = _fit(pdf, "ar", arabic, width / 2 - 1, 8, 5)
    pdf.set_xy(x + width / 2, y)
    pdf.cell(width / 2, 3.6, shown, align="R")


# Placing the stamp on page 1


def _place(pdf: pikepdf.Pdf, box: PageBox, spot: Spot, stamp_pdf: pikepdf.Pdf) -> None:
    """Draw the one-page stamp_pdf on page 1 of pdf, upright as shown, at spot."""
    page = pdf.pages[0]
    form = pdf.copy_foreign(stamp_pdf.pages[0].as_form_xobject())
    # Page 1 gets its own copies of /Resources and its /XObject: other pages may share them.
    resources = page.obj.get(pikepdf.Name.Resources, pikepdf.Dictionary())
    xobjects = resources.get(pikepdf.Name.XObject, pikepdf.Dictionary())
    if not (_is_dictionary(resources) and _is_dictionary(xobjects)):
        raise PdfRefused("pdf-malformed")
    resources = pikepdf.Dictionary({str(k): v for k, v in resources.items()})
    xobjects = pikepdf.Dictionary({str(k): v for k, v in xobjects.items()})
    name, n = f"/{STAMP_NAME}", 1
    while name in xobjects:
        n += 1
        name = f"/{STAMP_NAME}{n}"
    xobjects[name] = form
    resources[pikepdf.Name.XObject] = xobjects
    page.obj[pikepdf.Name.Resources] = resources
    matrix = " ".join(_number(v) for v in _matrix(box, spot))
    # Wrap the page's own content in q/Q so a graphics state it leaves behind cannot skew us.
    page.contents_add(b"q\n", prepend=True)
    page.contents_add(f"Q\nq {matrix} cm {name} Do Q\n".encode(), prepend=False)


def _is_dictionary(value: object) -> bool:
    """Tell whether value is a PDF dictionary (a stream passes pikepdf's isinstance too)."""
    return isinstance(value, pikepdf.Dictionary) and not isinstance(value, pikepdf.Stream)


def _matrix(box: PageBox, spot: Spot) -> tuple[float, float, float, float, float, float]:
    """Return the cm matrix that puts form space (points, upright) at spot as the page is shown."""
    px, py = spot.x, spot.y
    if box.rotate == 90:
        return (0, 1, -1, 0, box.x1 - py, box.y0 + px)
    if box.rotate == 180:
        return (-1, 0, 0, -1, box.x1 - px, box.y1 - py)
    if box.rotate == 270:
        return (0, -1, 1, 0, box.x0 + py, box.y1 - px)
    return (1, 0, 0, 1, box.x0 + px, box.y0 + py)


def _number(value: float) -> str:
    """Format a number for a content stream: fixed point, no exponent."""
    text = f"{Decimal(value).quantize(Decimal('0.0001')):f}".rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"
