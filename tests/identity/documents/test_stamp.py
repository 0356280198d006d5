"""Stamped PDFs: a readable QR on a free corner of page 1 (or a stamp page), bad uploads refused."""

import hashlib
import io
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import pikepdf
import pypdfium2
import pytest
import zxingcpp
from fpdf import FPDF
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from identity.documents import stamp
from tests import hostile_pdfs

URL = "https://hawiya.example.gov/d/3q2-7wEXAMPLEp0c9Ztj4Bg"  # a 22-character reference
NUMBER, CODE = "HW-2026-000042", "K7MQ-P3XD"
FIELDS = {
    "url": URL,
    "number": NUMBER,
    "code": CODE,
    "issued_on": "2026-05-01",
    "office_ar": "هيئة الرعاية السكنية",
    "office_en": "Housing Welfare Authority",
}
DPI = 200
CORNERS = ("bottom-left", "bottom-right", "top-left", "top-right")


def letter(pages: int = 3, covered: tuple[str, ...] = ()) -> bytes:
    """Return an A4 PDF with a line of text in the middle of each page.

    Page 1 gets a grey block over each quarter of the page named in covered (e.g. "top-left").
    """
    pdf = FPDF(unit="mm", format="A4")
    pdf.set_creation_date(datetime(2026, 5, 1, tzinfo=UTC))
    pdf.set_auto_page_break(False)
    for page in range(1, pages + 1):
        pdf.add_page()
        if page == 1:
            pdf.set_fill_color(150)
            for corner in covered:
                vertical, horizontal = corner.split("-")
                x = 0 if horizontal == "left" else 105
                y = 0 if vertical == "top" else 148.5
                pdf.rect(x, y, 105, 148.5, style="F")
        pdf.set_font("Helvetica", size=16)
        pdf.text(60, 150, f"Housing file statement - page {page}")
    return bytes(pdf.output())


@cache
def stamped(pages: int = 3, covered: tuple[str, ...] = ()) -> bytes:
    return stamp.stamp(letter(pages, covered), **FIELDS)


def render(pdf: bytes, index: int = 0) -> Image.Image:
    document = pypdfium2.PdfDocument(pdf)
    return document[index].render(scale=DPI / 72).to_pil()


def qr_codes(image: Image.Image) -> list[zxingcpp.Barcode]:
    return zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)


def texts(pdf: bytes) -> list[str]:
    document = pypdfium2.PdfDocument(pdf)
    return [document[i].get_textpage().get_text_range() for i in range(len(document))]


def corner_of(barcode: zxingcpp.Barcode, image: Image.Image) -> str:
    """Name the quarter of the image the barcode's centre is in."""
    points = (barcode.position.top_left, barcode.position.bottom_right)
    x = sum(p.x for p in points) / 2
    y = sum(p.y for p in points) / 2
    vertical = "top" if y < image.height / 2 else "bottom"
    return f"{vertical}-{'left' if x < image.width / 2 else 'right'}"


def resaved(pdf: bytes, edit=None, **options) -> bytes:
    """Return pdf saved again by pikepdf with options, after edit(pikepdf.Pdf) if given."""
    with pikepdf.open(io.BytesIO(pdf)) as document:
        if edit is not None:
            edit(document)
        out = io.BytesIO()
        document.save(out, **options)
    return out.getvalue()


# The stamp on page 1


def test_page_1_carries_one_qr_of_the_url_level_q_version_5_or_less_at_least_25_mm() -> None:
    pdf = stamped()
    assert stamp.check(pdf) == 3
    image = render(pdf)
    [barcode] = qr_codes(image)
    assert barcode.text == URL
    assert barcode.ec_level == "Q"
    assert int(barcode.extra["Version"]) <= 5
    position = barcode.position
    width_mm = (position.top_right.x - position.top_left.x) / DPI * 25.4
    assert width_mm >= 25
    assert corner_of(barcode, image) == "bottom-left"


def test_page_1_shows_the_number_the_code_and_both_instructions() -> None:
    page_1 = texts(stamped())[0]
    assert NUMBER in page_1 and CODE in page_1 and "2026-05-01" in page_1
    assert "Scan to verify, or enter the number and code at https://hawiya.example.gov/d" in page_1
    assert "للتحقق امسح الرمز أو أدخل رقم المستند والرمز" in page_1
    assert "Housing file statement - page 1" in page_1


def test_the_arabic_instruction_runs_right_to_left() -> None:
    """Its first letter is drawn to the right of its last (the text is shaped, not reversed)."""
    document = pypdfium2.PdfDocument(stamped())
    page = document[0].get_textpage()
    found = page.search(stamp.AR_SCAN).get_next()
    assert found is not None
    first, count = found
    assert page.get_charbox(first)[0] > page.get_charbox(first + count - 1)[0]


def test_the_other_pages_and_page_1s_own_content_are_unchanged() -> None:
    original, pdf = letter(), stamped()
    assert texts(pdf)[1:] == texts(original)[1:]
    with pikepdf.open(io.BytesIO(original)) as before, pikepdf.open(io.BytesIO(pdf)) as after:
        assert len(after.pages) == 3
        for old, new in zip(before.pages[1:], after.pages[1:], strict=True):
            assert new.obj.Contents.read_raw_bytes() == old.obj.Contents.read_raw_bytes()
        streams = [s.read_raw_bytes() for s in after.pages[0].obj.Contents]
        assert before.pages[0].obj.Contents.read_raw_bytes() in streams


@pytest.mark.parametrize(
    ("covered", "expected"),
    [
        (("bottom-left",), "bottom-right"),
        (("bottom-left", "bottom-right"), "top-left"),
        (("bottom-left", "bottom-right", "top-left"), "top-right"),
    ],
)
def test_the_stamp_takes_the_first_free_corner(covered, expected) -> None:
    pdf = stamped(3, covered)
    assert len(pypdfium2.PdfDocument(pdf)) == 3
    image = render(pdf)
    [barcode] = qr_codes(image)
    assert barcode.text == URL
    assert corner_of(barcode, image) == expected


def test_a_first_page_with_no_free_corner_gets_a_stamp_page_at_the_end() -> None:
    original, pdf = letter(3, CORNERS), stamped(3, CORNERS)
    assert len(pypdfium2.PdfDocument(pdf)) == 4
    assert qr_codes(render(pdf, 0)) == []
    assert texts(pdf)[:3] == texts(original)
    [barcode] = qr_codes(render(pdf, 3))
    assert barcode.text == URL and barcode.ec_level == "Q"
    last = texts(pdf)[3]
    assert NUMBER in last and CODE in last
    assert f"This page belongs to document {NUMBER}" in last
    assert "هذه الصفحة جزء من المستند" in last


@pytest.mark.parametrize("rotate", [90, 180, 270])
def test_a_rotated_page_gets_the_stamp_upright_on_the_corner_as_shown(rotate) -> None:
    def turn(document: pikepdf.Pdf) -> None:
        document.pages[0].obj.Rotate = rotate

    pdf = stamp.stamp(resaved(letter(), turn), **FIELDS)
    image = render(pdf)
    [barcode] = qr_codes(image)
    assert barcode.text == URL
    assert barcode.orientation == 0
    assert corner_of(barcode, image) == "bottom-left"


def test_the_stamp_lands_inside_the_crop_box() -> None:
    def crop(document: pikepdf.Pdf) -> None:
        document.pages[0].obj.CropBox = [100, 150, 560, 800]

    pdf = stamp.stamp(resaved(letter(), crop), **FIELDS)
    [barcode] = qr_codes(render(pdf))  # PDFium shows only the crop box
    assert barcode.text == URL


def test_stamping_is_deterministic() -> None:
    """The same inputs give the same bytes, a second later and in another process.

    qpdf's default file /ID is dated; Python's hash seed changes set order from run to run.
    """
    pdf = letter()
    first = stamp.stamp(pdf, **FIELDS)
    time.sleep(1.05)
    assert stamp.stamp(pdf, **FIELDS) == first
    script = (
        "import hashlib; from identity.documents import stamp; "
        "from tests.identity.documents.test_stamp import FIELDS, letter; "
        "print(hashlib.sha256(stamp.stamp(letter(), **FIELDS)).hexdigest())"
    )
    seed = "1" if os.environ.get("PYTHONHASHSEED") != "1" else "2"
    other = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, "PYTHONHASHSEED": seed},
        cwd=Path(__file__).parents[3],
        capture_output=True,
        text=True,
        check=True,
    )
    assert other.stdout.strip() == hashlib.sha256(first).hexdigest()
    assert stamp.stamp(pdf, **{**FIELDS, "code": "K7MQ-P3XE"}) != first


def test_a_pdf_altered_by_one_byte_after_stamping_has_another_sha256() -> None:
    pdf = bytearray(stamped())
    digest = hashlib.sha256(pdf).hexdigest()
    pdf[len(pdf) // 2] ^= 0x01
    assert hashlib.sha256(pdf).hexdigest() != digest


def test_a_long_office_name_is_fitted_and_a_url_too_long_for_version_5_is_refused() -> None:
    long_office = {"office_ar": "مكتب " * 24, "office_en": "Office " * 17}
    pdf = stamp.stamp(letter(1), **{**FIELDS, **long_office})
    [barcode] = qr_codes(render(pdf))
    assert barcode.text == URL
    with pytest.raises(ValueError, match="version"):
        stamp.stamp(letter(1), **{**FIELDS, "url": URL + "x" * 60})


def test_control_and_bidi_override_characters_in_an_office_name_are_not_printed() -> None:
    """An office name cannot print reversed or hidden text on the stamp."""
    office = "Housing\nWelfare\u202e Authority\u202c"
    pdf = stamp.stamp(letter(1), **{**FIELDS, "office_en": office})
    assert "Housing Welfare Authority" in texts(pdf)[0]


# Bad uploads


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 40), "white").save(out, format="PNG")
    return out.getvalue()


def encrypted(user: str) -> bytes:
    return resaved(letter(), encryption=pikepdf.Encryption(owner="owner", user=user))


def blank_pages(count: int) -> bytes:
    document = pikepdf.new()
    for _ in range(count):
        document.add_blank_page(page_size=(595, 842))
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


BAD_UPLOADS = {
    "png": (png, "not-a-pdf"),
    "text": (lambda: b"Housing file statement\n", "not-a-pdf"),
    "empty": (lambda: b"", "not-a-pdf"),
    "truncated": (lambda: letter()[: len(letter()) // 2], "pdf-malformed"),
    "cut before its end marker": (lambda: letter()[: letter().rindex(b"%%EOF")], "pdf-malformed"),
    "garbage after the header": (
        lambda: b"%PDF-1.7\n" + bytes(range(256)) * 8 + b"%%EOF\n",
        "pdf-malformed",
    ),
    "user password": (lambda: encrypted("secret"), "pdf-encrypted"),
    "owner password only": (lambda: encrypted(""), "pdf-encrypted"),
    "too large": (lambda: b"%PDF-1.7\n" + b" " * stamp.MAX_BYTES + b"%%EOF\n", "pdf-too-large"),
    "no pages": (lambda: blank_pages(0), "pdf-empty"),
    "too many pages": (lambda: blank_pages(stamp.MAX_PAGES + 1), "pdf-too-many-pages"),
}


@pytest.mark.parametrize("name", BAD_UPLOADS)
def test_a_bad_upload_is_refused_with_its_code_and_a_sentence(name) -> None:
    make, code = BAD_UPLOADS[name]
    data = make()
    for call in (stamp.check, lambda d: stamp.stamp(d, **FIELDS)):
        with pytest.raises(stamp.PdfRefused) as refused:
            call(data)
        assert refused.value.code == code
        assert refused.value.message.endswith(".") and len(refused.value.message) > 30


def test_the_page_limit_itself_is_accepted() -> None:
    assert stamp.check(blank_pages(stamp.MAX_PAGES)) == stamp.MAX_PAGES


@cache
def seeds() -> tuple[bytes, ...]:
    return (letter(2), stamped(1))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=600), st.sampled_from([b"", b"%PDF-1.7\n"]), st.booleans())
def test_random_bytes_are_refused_or_read_never_an_error(
    body: bytes, header: bytes, end: bool
) -> None:
    data = header + body + (b"\n%%EOF\n" if end else b"")
    try:
        stamp.check(data)
    except stamp.PdfRefused as refused:
        assert refused.code in stamp.MESSAGES
    else:
        assert header  # a file that does not start with %PDF- is never read


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A real PDF with a byte flipped, a run overwritten, a run inserted, or its end cut."""
    data = bytearray(draw(st.sampled_from(seeds())))
    at = draw(st.integers(0, len(data) - 1))
    kind = draw(st.sampled_from(["flip", "overwrite", "insert", "cut"]))
    if kind == "flip":
        data[at] ^= 1 << draw(st.integers(0, 7))
    elif kind == "overwrite":
        run = draw(st.binary(min_size=1, max_size=16))
        data[at : at + len(run)] = run
    elif kind == "insert":
        data[at:at] = draw(st.binary(min_size=1, max_size=16))
    else:
        del data[at:]
    return bytes(data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_a_mutated_pdf_is_refused_or_read_never_an_error(data: bytes) -> None:
    try:
        pages = stamp.check(data)
    except stamp.PdfRefused as refused:
        assert refused.code in stamp.MESSAGES
    else:
        assert 1 <= pages <= stamp.MAX_PAGES


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_a_mutated_pdf_that_is_read_is_stamped_or_refused_never_an_error(data: bytes) -> None:
    try:
        stamp.check(data)
    except stamp.PdfRefused:
        return
    try:
        pdf = stamp.stamp(data, **FIELDS)
    except stamp.PdfRefused as refused:
        assert refused.code == "pdf-malformed"
    else:
        assert stamp.check(pdf) >= 1


# Hostile PDFs: bombs are refused within the render limits, active content is removed


@pytest.mark.parametrize("name", hostile_pdfs.BOMBS)
def test_a_pdf_bomb_is_refused_within_the_render_limits(name) -> None:
    """A small PDF that would cost PDFium minutes or gigabytes is refused, not drawn.

    Unbounded, these took the server's memory (1.6 GB, never given back) and held every other
    upload waiting for tens of seconds, or forever.
    """
    with pytest.raises(stamp.PdfRefused) as refused:
        stamp.stamp(hostile_pdfs.BOMBS[name](), **FIELDS)
    assert refused.value.code == "pdf-too-complex"
    assert refused.value.message == stamp.MESSAGES["pdf-too-complex"]


@pytest.mark.parametrize(
    ("limits", "bomb"),
    [
        # Each limit alone stops the bomb it is for; the other two are loosened.
        ({"RENDER_CPU_SECONDS": 60, "RENDER_SECONDS": 60}, hostile_pdfs.many_operators),
        ({"RENDER_CPU_SECONDS": 1, "RENDER_SECONDS": 120}, hostile_pdfs.triangle_mesh),
        ({"RENDER_CPU_SECONDS": 60, "RENDER_SECONDS": 2}, hostile_pdfs.triangle_mesh),
    ],
    ids=["memory", "cpu", "wall-clock"],
)
def test_each_render_limit_alone_ends_the_child_and_refuses_the_upload(
    monkeypatch, limits, bomb
) -> None:
    """Memory, CPU time and the wall clock each bound the render: no one of them is decorative."""
    for name, value in limits.items():
        monkeypatch.setattr(stamp, name, value)
    with pytest.raises(stamp.PdfRefused) as refused:
        stamp.stamp(bomb(), **FIELDS)
    assert refused.value.code == "pdf-too-complex"


def test_an_image_declaring_too_many_pixels_is_refused_before_any_render(monkeypatch) -> None:
    """PDFium skips an image it cannot afford, but the viewers of the stamped file would not.

    answer() is what the child runs; here it runs in this process, PDFium replaced by a trap.
    """

    def no_render(*args, **kwargs):
        raise AssertionError("PDFium was started")

    monkeypatch.setattr(stamp, "_pdfium", no_render)
    for mode in ("check", "stamp"):
        fields = {} if mode == "check" else FIELDS
        head, _ = stamp.answer(mode, fields, hostile_pdfs.huge_image(), stamp.RENDER_MAX_PX)
        assert head == {"refused": "pdf-too-complex"}


def test_a_stamped_pdf_too_large_to_send_back_is_refused_in_the_child(monkeypatch) -> None:
    """The child sends back at most STAMPED_MAX_BYTES: the answer cannot fill the server's memory.

    qpdf writes the object streams it rebuilds uncompressed, so a stamped file can outgrow its
    upload many times over.
    """
    data = letter(1)
    head, body = stamp.answer("stamp", FIELDS, data, stamp.RENDER_MAX_PX)
    assert head == {"stamped": len(body)}
    monkeypatch.setattr(stamp, "STAMPED_MAX_BYTES", len(body) - 1)
    assert stamp.answer("stamp", FIELDS, data, stamp.RENDER_MAX_PX) == (
        {"refused": "pdf-too-complex"},
        b"",
    )


def test_a_bomb_in_every_render_slot_does_not_stop_a_normal_pdf_being_stamped() -> None:
    """The render slots are given back when a child is stopped: the next upload is stamped."""
    bomb = hostile_pdfs.nested_forms()
    results: list[str] = []

    def upload(data: bytes) -> None:
        try:
            stamp.stamp(data, **FIELDS)
            results.append("stamped")
        except stamp.PdfRefused as refused:
            results.append(refused.code)

    threads = [threading.Thread(target=upload, args=(bomb,)) for _ in range(stamp.RENDER_SLOTS)]
    for thread in threads:
        thread.start()
    upload(letter(1))
    for thread in threads:
        thread.join()
    assert sorted(results) == ["pdf-too-complex"] * stamp.RENDER_SLOTS + ["stamped"]


def test_every_upload_is_parsed_in_a_child_process_with_its_limits(monkeypatch) -> None:
    """check() and stamp() each hand the upload to the child, and the child gets the limits."""
    calls = []
    run = subprocess.run

    def spy(command, **kwargs):
        calls.append((command, kwargs))
        return run(command, **kwargs)

    monkeypatch.setattr(stamp.subprocess, "run", spy)
    assert stamp.check(letter(1)) == 1
    stamp.stamp(letter(1), **FIELDS)
    assert [command[-1] for command, _ in calls] == ["check", "stamp"]
    for command, kwargs in calls:
        assert command[:4] == [sys.executable, "-I", "-m", "identity.documents.pdf_child"]
        assert command[4:7] == [
            str(stamp.RENDER_MEMORY),
            str(stamp.RENDER_CPU_SECONDS),
            str(stamp.RENDER_MAX_PX),
        ]
        assert kwargs["timeout"] == stamp.RENDER_SECONDS


def test_the_servers_process_never_parses_an_upload(monkeypatch) -> None:
    """Neither qpdf nor PDFium reads an upload in the server's process, bomb or letter.

    Before, qpdf parsed every upload here: the object-stream bomb added 430 MB to its peak.
    """

    def trap(*args, **kwargs):
        raise AssertionError("an upload was parsed in the server's process")

    for owner, name in ((pikepdf, "open"), (pikepdf.Pdf, "open"), (pypdfium2, "PdfDocument")):
        monkeypatch.setattr(owner, name, trap)
    assert stamp.check(letter(2)) == 2
    assert stamp.stamp(letter(2), **FIELDS).startswith(b"%PDF-")
    for call in (stamp.check, lambda d: stamp.stamp(d, **FIELDS)):
        with pytest.raises(stamp.PdfRefused) as refused:
            call(hostile_pdfs.object_stream())
        assert refused.value.code == "pdf-too-complex"


MEASURED = """
import json, resource
from identity.documents import stamp
from tests import hostile_pdfs
from tests.identity.documents.test_stamp import FIELDS
bomb = hostile_pdfs.object_stream()
stamp.check(hostile_pdfs.edited(lambda pdf: None))  # the libraries loaded, a letter read
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
codes = []
for call in (stamp.check, lambda d: stamp.stamp(d, **FIELDS)):
    try:
        call(bomb)
    except stamp.PdfRefused as refused:
        codes.append(refused.code)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps([codes, (after - before) // 1024]))
"""


def test_an_object_stream_bomb_leaves_the_servers_memory_as_it_was() -> None:
    """A 1.3 KB PDF whose object stream inflates to 400 MB costs the server's process nothing.

    Measured in a fresh interpreter, whose peak resident memory no earlier test has raised.
    Before, qpdf inflated it here (peak + 500 MB); a larger one would have taken gigabytes.
    """
    done = subprocess.run(
        [sys.executable, "-c", MEASURED],
        cwd=Path(__file__).parents[3],
        capture_output=True,
        text=True,
        check=True,
    )
    codes, grown_mb = json.loads(done.stdout)
    assert grown_mb < 32
    assert codes == ["pdf-too-complex", "pdf-too-complex"]


ACTIVE_KEYS = {"/AA", "/JS", "/JavaScript", "/EmbeddedFiles", "/EF", "/AF", "/XFA"}
ACTIVE_ACTIONS = {"/JavaScript", "/Launch", "/GoToR", "/GoToE", "/SubmitForm", "/Rendition"}
ACTIVE_SUBTYPES = {"/FileAttachment", "/RichMedia", "/Screen", "/3D", "/Sound", "/Movie"}
# Bytes of the scripts, commands and files put in: none may be left anywhere in the output.
MARKERS = (b"app.alert", b"onclose", b"onopen", b"keystroke", b"cmd.exe", b"calc", b"payload",
           b"associated.bin", b"MZ\x90", b"xfa.host", b"evil")  # fmt: skip


def every_object(pdf: pikepdf.Pdf) -> Iterator[pikepdf.Object]:
    """Yield every object of pdf: each indirect one and everything inside it."""
    stack = list(pdf.objects)
    while stack:
        obj = stack.pop()
        yield obj
        if isinstance(obj, pikepdf.Dictionary | pikepdf.Array):
            values = obj.values() if isinstance(obj, pikepdf.Dictionary) else obj
            stack.extend(v for v in values if isinstance(v, pikepdf.Object) and not v.is_indirect)


def active_content(data: bytes) -> list[str]:
    """Name what in a PDF a viewer could run, launch, send or extract."""
    found = [repr(m) for m in MARKERS if m in data]
    with pikepdf.open(io.BytesIO(data)) as pdf:
        for obj in every_object(pdf):
            if not isinstance(obj, pikepdf.Dictionary):
                continue
            found += sorted(key for key in ACTIVE_KEYS if key in obj)
            if str(obj.get("/S", "")) in ACTIVE_ACTIONS or obj.get("/Type") == "/EmbeddedFile":
                found.append(f"/S {obj.get('/S')}")
            if str(obj.get("/Subtype", "")) in ACTIVE_SUBTYPES:
                found.append(f"/Subtype {obj.get('/Subtype')}")
            if str(obj.get("/S", "")) == "/URI" and not bytes(obj.URI).startswith(b"http"):
                found.append(f"/URI {bytes(obj.URI)!r}")
            if str(obj.get("/S", "")) == "/Named" and obj.get("/N") == "/SaveAs":
                found.append("/Named /SaveAs")
    return found


def test_active_content_is_removed_from_the_stamped_pdf() -> None:
    """A document we vouch for runs, launches, sends and carries nothing: every object checked.

    Scripts on opening, closing and printing, launch actions, file and SMB links, form
    submission, JavaScript and embedded-file name trees, attachments, rich media, 3D, XFA.
    """
    original = hostile_pdfs.edited(hostile_pdfs.everything_active)
    assert len(active_content(original)) > 20  # the test PDF has what it should
    pdf = stamp.stamp(original, **FIELDS)
    assert active_content(pdf) == []
    [barcode] = qr_codes(render(pdf))
    assert barcode.text == URL
    assert "Housing file statement - page 2" in texts(pdf)[1]


def test_harmless_links_survive_stamping() -> None:
    """Web and mail links and links within the document are what letters have: they stay."""
    pdf = stamp.stamp(hostile_pdfs.edited(hostile_pdfs.harmless_links), **FIELDS)
    with pikepdf.open(io.BytesIO(pdf)) as document:
        actions = [a.A for a in document.pages[0].obj.Annots]
        assert [str(a.S) for a in actions] == ["/URI", "/URI", "/GoTo"]
        assert bytes(actions[0].URI) == b"https://housing.example.gov/faq"
        assert actions[2].D[0].objgen == document.pages[1].obj.objgen


def test_a_pdf_with_active_content_is_stamped_deterministically() -> None:
    """Removing active content keeps the output the same bytes for the same input."""
    original = hostile_pdfs.edited(hostile_pdfs.everything_active)
    assert stamp.stamp(original, **FIELDS) == stamp.stamp(original, **FIELDS)
