"""The demo's letter: a one-page PDF made in code, to be stamped like any upload, and its code.

The letter is ours (never an upload), so its stamped copy may be read back in this process: the
verification code printed on it is how a later `hawiya demo` can say the code again (the
database keeps only its hash).
"""

import io
import re

import pypdfium2
from fpdf import FPDF

from identity.documents.documents import CODE_ALPHABET, CODE_LENGTH

TITLE = "Demo eligibility endorsement"
OFFICE = "Demo Agency"
DOCUMENT_TYPE = "eligibility_endorsement"  # seeded by migration 0007
_HALF = CODE_LENGTH // 2
PRINTED_CODE = re.compile(rf"\b([{CODE_ALPHABET}]{{{_HALF}}}-[{CODE_ALPHABET}]{{{_HALF}}})\b")


def make(name_en: str) -> bytes:
    """Return an unstamped one-page A4 letter for the demo beneficiary (English, Helvetica)."""
    pdf = FPDF(format="A4")
    pdf.set_creator("Hawiya demo")
    pdf.set_title(TITLE)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 18)
    pdf.set_xy(20, 110)
    pdf.cell(170, 10, TITLE, align="C")
    pdf.set_font("Helvetica", size=12)
    pdf.set_xy(25, 130)
    pdf.multi_cell(
        160,
        7,
        f"This is a demonstration document for {name_en}, from the synthetic demo register. "
        "It certifies nothing: it is here so that the document check (/d) can be tried.",
        align="C",
    )
    return bytes(pdf.output())


def printed_code(stamped: bytes) -> str | None:
    """Return the verification code printed on a stamped demo letter, or None if none is found."""
    document = pypdfium2.PdfDocument(io.BytesIO(stamped))
    try:
        for index in range(len(document)):
            page = document[index]
            text = page.get_textpage().get_text_bounded()
            found = PRINTED_CODE.search(text)
            if found:
                return found.group(1)
    finally:
        document.close()
    return None
