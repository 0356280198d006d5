"""Document types: the agency's kinds of document, each with an Arabic and an English label.

They are data, not code: staff add them in the console or with `hawiya document-types add`, and
a document references its type's key (a foreign key). Integrators read the keys at
`GET /api/v1/document-types`.
"""

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from identity.audit import chain
from identity.errors import Refused
from identity.models import DOCUMENT_TYPE_LABEL_MAX, DocumentType, utcnow
from identity.register import fields

KEY = re.compile(r"[a-z][a-z0-9_-]{1,39}")
LABEL_MIN = 2
# C0/C1 controls, lone surrogates, and the bidirectional embeddings, overrides and isolates that
# would make a label read differently from what it holds (every page and PDF shows it).
# Labels are public: a long number in one is most likely a civil ID or file number pasted there.
_LONG_NUMBER = re.compile(r"\d{7,}")
_ARABIC_LETTER = re.compile("[\u0600-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufeff]")


class DocumentTypeRefused(Refused):
    """A document type that cannot be added; `code` is kebab-case, the message says why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message, code=code)


@dataclass(frozen=True)
class Labels:
    """A type's key and its labels, detached from any session."""

    key: str
    label_ar: str
    label_en: str

    def as_json(self) -> dict[str, str]:
        return {"key": self.key, "label_ar": self.label_ar, "label_en": self.label_en}


def list_types(session: Session) -> list[Labels]:
    """Return the active document types, by key."""
    rows = session.scalars(
        select(DocumentType).where(DocumentType.active.is_(True)).order_by(DocumentType.key)
    )
    return [Labels(row.key, row.label_ar, row.label_en) for row in rows]


def get(session: Session, key: object) -> DocumentType | None:
    """Return the active document type with this key, if any."""
    if not isinstance(key, str) or not KEY.fullmatch(key):
        return None
    found = session.get(DocumentType, key)
    return found if found is not None and found.active else None


def clean_key(raw: object) -> str:
    """Return a valid key, or raise DocumentTypeRefused."""
    if not isinstance(raw, str) or not KEY.fullmatch(raw) or _LONG_NUMBER.search(raw):
        raise DocumentTypeRefused(
            "invalid-input",
            "The key must be 2 to 40 characters: lowercase letters a-z, digits, '_' or '-', "
            "starting with a letter, with no number longer than 6 digits.",
        )
    return raw


def clean_label(raw: object, name: str, arabic: bool = False) -> str:
    """Return a label with its spaces tidied, or raise DocumentTypeRefused saying why not."""
    try:  # the one rule for text people read: no control or direction-override characters
        text = fields.free_text(name, f"The {name}", raw, LABEL_MIN, DOCUMENT_TYPE_LABEL_MAX)
    except fields.InvalidField as invalid:
        raise DocumentTypeRefused("invalid-input", fields.sentence(invalid)) from None
    label = " ".join(text.split())
    if len(label) < LABEL_MIN:
        raise DocumentTypeRefused(
            "invalid-input",
            f"The {name} must be {LABEL_MIN} to {DOCUMENT_TYPE_LABEL_MAX} characters.",
        )
    if _LONG_NUMBER.search(label):
        raise DocumentTypeRefused(
            "invalid-input", f"The {name} must not hold a number longer than 6 digits."
        )
    if arabic and not _ARABIC_LETTER.search(label):
        raise DocumentTypeRefused("invalid-input", f"The {name} must be written in Arabic.")
    return label


def add(session: Session, key: object, label_ar: object, label_en: object, actor: str) -> Labels:
    """Add a document type in the caller's transaction, audited.

    Raises DocumentTypeRefused for a bad field or a key already taken (code "duplicate"); the
    caller's transaction stays usable either way (a race is caught inside a savepoint).
    """
    key = clean_key(key)
    labels = Labels(
        key,
        clean_label(label_ar, "Arabic label", arabic=True),
        clean_label(label_en, "English label"),
    )
    duplicate = DocumentTypeRefused("duplicate", f"A document type with the key {key!r} exists.")
    if session.get(DocumentType, key) is not None:
        raise duplicate
    try:
        with session.begin_nested():
            session.add(
                DocumentType(
                    key=key, label_ar=labels.label_ar, label_en=labels.label_en, active=True,
                    created_at=utcnow(), created_by=actor,
                )
            )  # fmt: skip
    except IntegrityError:  # added at the same moment by someone else
        raise duplicate from None
    details = {"label_ar": labels.label_ar, "label_en": labels.label_en}
    chain.record(session, actor, "document_type.add", f"document_type:{key}", details)
    return labels
