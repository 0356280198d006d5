"""Validation of the beneficiary fields other than the civil ID.

Used by the CSV import and the back-office API. Every function takes the raw string and returns
the clean value, or raises InvalidField with ``field`` (the machine name, e.g. "phone") and
``reason`` (a short English sentence for a rejects file or an error response). Reasons never
contain the input itself, since it is personal data.
"""

from __future__ import annotations

import re
import unicodedata

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType

from identity.civil_id import normalize_digits
from identity.models import BENEFICIARY_STATUSES

__all__ = [
    "STATUSES",
    "InvalidField",
    "category",
    "file_number",
    "free_text",
    "name_ar",
    "name_en",
    "phone",
    "sentence",
    "status",
]

STATUSES = BENEFICIARY_STATUSES

# Anything longer is rejected before any other work is done.
MAX_RAW_LENGTH = 1000

NAME_MIN, NAME_MAX = 2, 120
FILE_NUMBER_MAX = 20
CATEGORY_MAX = 64

PHONE_EXAMPLE = "+96551234567"


class InvalidField(ValueError):
    """A field value was rejected. ``field`` names the field, ``reason`` says why."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


_WHITESPACE_RUN = re.compile(r"\s+")
_FILE_NUMBER = re.compile(r"[A-Za-z0-9/-]+")
_PHONE_CHARS = re.compile(r"\+?[0-9 ()-]+")
_KUWAIT_MOBILE = re.compile(r"[569][0-9]{7}")

# Arabic, Arabic Supplement, Arabic Presentation Forms-A and -B.
_ARABIC_RANGES = ((0x0600, 0x06FF), (0x0750, 0x077F), (0xFB50, 0xFDFF), (0xFE70, 0xFEFF))
# The UTF-8 lead bytes of Arabic letters (0xD8-0xDB) read as Latin-1/cp1252. Text with these and
# no Arabic letter at all is Arabic that was decoded with the wrong encoding.
_MOJIBAKE_MARKERS = frozenset("ØÙÚÛ")

# What real registers put between the letters of a name: spaces, hyphens, periods, commas
# ("Al-Ghanim, Talal Jassim", surname first) and apostrophes, including the modifier letters
# that transliterate the Arabic ayn and hamza ("ʿAbd", "Raʾed"). No digits, no markup, no
# formula characters (= + @), so nothing in a name can run in a spreadsheet or a page.
_NAME_EN_PUNCTUATION = frozenset(" -.,'’‘ʼʻʾʿ")
_NAME_EN_APOSTROPHES = frozenset("'’‘ʼʻʾʿ")
# An Arabic name holds Arabic letters (tatweel included) and marks (harakat), spaces, hyphens,
# periods and the Arabic or Latin comma; never digits, symbols or invisible format characters.
_NAME_AR_PUNCTUATION = frozenset(" -.,،")
_NAME_AR_LETTERS = frozenset(
    chr(o)
    for lo, hi in _ARABIC_RANGES
    for o in range(lo, hi + 1)
    if unicodedata.category(chr(o))[0] in "LM"
)
_NAME_AR = re.compile(
    "[" + "".join(re.escape(c) for c in sorted(_NAME_AR_LETTERS | _NAME_AR_PUNCTUATION)) + "]+"
)

# Fast paths for the common case (the import validates 100,000s of rows): one regex pass each.
# _CONTROL: the characters refused everywhere: C0/C1 controls and DEL, the bidirectional
# embeddings, overrides and isolates that can make a value display differently from what it
# contains, and lone surrogates (they cannot be stored as UTF-8).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_ARABIC_CHAR = re.compile("[\u0600-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufeff]")
_PLAIN_NAME_EN = re.compile("[A-Za-z .,'’-]+")
_PLAIN_KUWAIT_MOBILE = re.compile(r"\+965[569][0-9]{7}")

_PLAIN_CATEGORY = re.compile("[A-Za-z0-9\u0621-\u064a][A-Za-z0-9\u0621-\u064a _-]*")
_CATEGORY_PUNCTUATION = frozenset(" -_")
_CATEGORY_CLASSES = frozenset(("Lu", "Ll", "Lt", "Lm", "Lo", "Mn", "Mc", "Nd"))


def _is_arabic(c: str) -> bool:
    o = ord(c)
    return any(lo <= o <= hi for lo, hi in _ARABIC_RANGES)


def _is_latin_letter(c: str) -> bool:
    return c.isalpha() and unicodedata.name(c, "").startswith("LATIN ")


def _is_category_char(c: str) -> bool:
    # Letters, their combining marks (harakat) and decimal digits of any script; not "²" or "½".
    return unicodedata.category(c) in _CATEGORY_CLASSES


def _stripped(field: str, label: str, raw: str) -> str:
    """Checks done first for every field: text, not too long. Returns the stripped text."""
    if not isinstance(raw, str):
        raise InvalidField(field, f"{label} must be text")
    if len(raw) > MAX_RAW_LENGTH:
        raise InvalidField(field, f"{label} is too long")
    return raw.strip()


def _reject_controls(field: str, label: str, text: str) -> None:
    if _CONTROL.search(text):
        raise InvalidField(field, f"{label} must not contain control characters")


def _start(field: str, label: str, raw: str) -> str:
    """Common checks for every field: text, not too long, no control characters; stripped."""
    text = _stripped(field, label, raw)
    _reject_controls(field, label, text)
    return text


def _clean_text(text: str) -> str:
    """NFC-normalise and collapse every run of whitespace to a single space."""
    return _WHITESPACE_RUN.sub(" ", unicodedata.normalize("NFC", text)).strip()


def _check_name_length(field: str, label: str, text: str) -> None:
    if not text:
        raise InvalidField(field, f"{label} is required")
    if not NAME_MIN <= len(text) <= NAME_MAX:
        raise InvalidField(field, f"{label} must be {NAME_MIN} to {NAME_MAX} characters")


def file_number(raw: str) -> str:
    """1 to 20 ASCII letters, digits, '-' or '/'; other digit scripts become ASCII.

    Leading zeros and letter case are kept as given.
    """
    text = normalize_digits(_start("file_number", "file number", raw))
    if not text:
        raise InvalidField("file_number", "file number is required")
    if len(text) > FILE_NUMBER_MAX:
        raise InvalidField(
            "file_number", f"file number must be at most {FILE_NUMBER_MAX} characters"
        )
    if not _FILE_NUMBER.fullmatch(text):
        raise InvalidField(
            "file_number", "file number may contain only letters, digits, '-' and '/'"
        )
    return text


def name_ar(raw: str) -> str:
    """A full name in Arabic script, 2 to 120 characters after NFC and collapsing whitespace.

    Arabic letters and marks, tatweel, spaces, hyphens, periods and commas (، or ,), starting
    with a letter; no letters of other scripts (Latin in particular), no digits, no symbols.
    Arabic text that was decoded with the wrong encoding ("Ù...Ø...") gets its own reason.
    """
    field, label = "name_ar", "Arabic name"
    text = _stripped(field, label, raw)
    letters = [c for c in text if c.isalpha()]
    has_arabic = bool(_ARABIC_CHAR.search(text)) and any(_is_arabic(c) for c in letters)
    # Checked before control characters: Latin-1 mojibake of Arabic contains C1 controls.
    if not has_arabic and any(c in _MOJIBAKE_MARKERS for c in text):
        raise InvalidField(
            field, "Arabic name is garbled (wrong text encoding); save the file as UTF-8"
        )
    _reject_controls(field, label, text)
    text = _clean_text(text)
    _check_name_length(field, label, text)
    if any(c.isalpha() for c in _ARABIC_CHAR.sub("", text)):
        raise InvalidField(field, "Arabic name must not contain Latin or other non-Arabic letters")
    if not has_arabic:
        raise InvalidField(field, "Arabic name must contain Arabic letters")
    if not _NAME_AR.fullmatch(text):
        raise InvalidField(
            field,
            "Arabic name may contain only Arabic letters, spaces, hyphens, periods and commas",
        )
    if unicodedata.category(text[0]) != "Lo":  # not a mark, a tatweel or punctuation
        raise InvalidField(field, "Arabic name must start with a letter")
    return text


def name_en(raw: str) -> str:
    """A full name in Latin letters (accents allowed), 2 to 120 characters after NFC and
    collapsing whitespace; besides letters only spaces, hyphens, apostrophes, periods and commas.

    It starts with a letter or an apostrophe ("'Ali"), so it cannot read as a formula.
    """
    field, label = "name_en", "English name"
    text = _clean_text(_start(field, label, raw))
    _check_name_length(field, label, text)
    previous = " "
    for c in "" if _PLAIN_NAME_EN.fullmatch(text) else text:
        # Combining accents that have no precomposed form are allowed right after a letter.
        accent = unicodedata.combining(c) and 0x0300 <= ord(c) <= 0x036F and previous.isalpha()
        if not (_is_latin_letter(c) or c in _NAME_EN_PUNCTUATION or accent):
            raise InvalidField(
                field,
                "English name may contain only Latin letters, spaces, hyphens, apostrophes, "
                "periods and commas",
            )
        if not accent:
            previous = c
    if not any(_is_latin_letter(c) for c in text):
        raise InvalidField(field, "English name must contain letters")
    if not (_is_latin_letter(text[0]) or text[0] in _NAME_EN_APOSTROPHES):
        raise InvalidField(field, "English name must start with a letter")
    return text


def phone(raw: str) -> str:
    """A mobile number in international form; returned as E.164, e.g. "+96551234567".

    "00" may stand for "+"; spaces, hyphens and parentheses are ignored. A number without a
    country code is rejected rather than guessed. Kuwaiti numbers (+965) are mobile when their
    8 digits start with 5, 6 or 9, even where the phonenumbers metadata lists the block as
    unallocated; elsewhere the metadata decides.
    """
    field = "phone"
    text = normalize_digits(_start(field, field, raw))
    if not text:
        raise InvalidField(field, "phone is required")
    if text.startswith("00"):
        text = "+" + text[2:]
    if not _PHONE_CHARS.fullmatch(text) or not any(c.isdigit() for c in text):
        raise InvalidField(
            field, "phone may contain only digits, spaces, hyphens, parentheses and a leading +"
        )
    if _PLAIN_KUWAIT_MOBILE.fullmatch(text):
        return text
    if not text.startswith("+"):
        raise InvalidField(
            field, f"phone must include the country code (+ or 00), like {PHONE_EXAMPLE}"
        )
    try:
        number = phonenumbers.parse(text, None)
    except NumberParseException:
        raise InvalidField(field, "phone is not a valid phone number") from None

    national = str(number.national_number)
    if (
        number.country_code == 965
        and not number.italian_leading_zero
        and _KUWAIT_MOBILE.fullmatch(national)
    ):
        return f"+965{national}"
    if not phonenumbers.is_valid_number(number):
        raise InvalidField(field, "phone is not a valid phone number")
    if phonenumbers.number_type(number) not in (
        PhoneNumberType.MOBILE,
        PhoneNumberType.FIXED_LINE_OR_MOBILE,
    ):
        raise InvalidField(
            field, f"phone must be a mobile number in international form, like {PHONE_EXAMPLE}"
        )
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def status(raw: str) -> str:
    """One of STATUSES, case-insensitive; returned in lower case."""
    field = "status"
    text = _start(field, field, raw)
    if not text:
        raise InvalidField(field, "status is required")
    value = text.lower() if text.isascii() else text
    if value not in STATUSES:
        raise InvalidField(field, f"status must be one of: {', '.join(STATUSES)}")
    return value


def category(raw: str) -> str | None:
    """Optional category, a short label such as "widows" or "special-needs": empty (or only
    whitespace) gives None; otherwise at most 64 letters (any script, with their marks), digits,
    spaces, '-' and '_' after NFC and collapsing whitespace, starting with a letter or digit.

    The category reaches spreadsheets and agencies' systems: no formula start, no punctuation.
    """
    field = "category"
    text = _clean_text(_start(field, field, raw))
    if not text:
        return None
    if len(text) > CATEGORY_MAX:
        raise InvalidField(field, f"category must be at most {CATEGORY_MAX} characters")
    if _PLAIN_CATEGORY.fullmatch(text):
        return text
    if not all(c in _CATEGORY_PUNCTUATION or _is_category_char(c) for c in text):
        raise InvalidField(
            field, "category may contain only letters, digits, spaces, hyphens and underscores"
        )
    if text[0] in _CATEGORY_PUNCTUATION or unicodedata.category(text[0])[0] == "M":
        raise InvalidField(field, "category must start with a letter or digit")
    return text


# What free text that people read (a purpose, a reason, a title) must not hold: C0 and C1
# controls and DEL (line breaks included), lone surrogates, the line and paragraph separators
# (line breaks in disguise) and the bidirectional embeddings, overrides and isolates, which can
# make a text display as something it does not say. The marks U+200E, U+200F and U+061C are
# allowed: they only order the neutral characters beside them, and Arabic keyboards type them
# in text that mixes Arabic with Latin letters or digits.
_NOT_FREE_TEXT = re.compile(
    "[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)


def free_text(field: str, label: str, raw: object, shortest: int, longest: int) -> str:
    """Free text for people to read: `shortest` to `longest` characters, stripped and NFC.

    Refuses what `_NOT_FREE_TEXT` names; keeps inner spacing and every script as given.
    """
    if not isinstance(raw, str):
        raise InvalidField(field, f"{label} must be text")
    if len(raw) > MAX_RAW_LENGTH:
        raise InvalidField(field, f"{label} must be {shortest} to {longest} characters")
    stripped = raw.strip()
    if _NOT_FREE_TEXT.search(stripped):
        raise InvalidField(field, f"{label} must not contain control characters")
    text = unicodedata.normalize("NFC", stripped)
    if not shortest <= len(text) <= longest:
        raise InvalidField(field, f"{label} must be {shortest} to {longest} characters")
    return text


def sentence(invalid: InvalidField) -> str:
    """Return a refusal's reason as a sentence for an error message ("Reason must be …")."""
    return invalid.reason[:1].upper() + invalid.reason[1:] + "."
