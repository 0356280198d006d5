"""Specification of identity.register.fields: the beneficiary fields other than the civil ID.

Every validator takes the raw string and returns the clean value, or raises InvalidField with the
field's name and a short English reason.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from identity.register import fields
from identity.register.fields import InvalidField

TEN_KB = 10_000
FATIMA = "فاطمة"
FULL_NAME_AR = "فاطمة محمد العنزي"


def reason_of(validator: Callable[[str], object], raw: str, field: str) -> str:
    with pytest.raises(InvalidField) as info:
        validator(raw)
    assert info.value.field == field
    return info.value.reason


# --- InvalidField -------------------------------------------------------------------------------


def test_invalid_field_is_a_value_error_carrying_field_and_reason() -> None:
    error = InvalidField("phone", "phone is required")
    assert isinstance(error, ValueError)
    assert (error.field, error.reason, str(error)) == ("phone", "phone is required", error.reason)


# --- checks shared by every field ---------------------------------------------------------------

VALIDATORS: list[tuple[Callable[[str], object], str, str, str]] = [
    # validator, field, label used in reasons, a valid value
    (fields.file_number, "file_number", "file number", "000123"),
    (fields.name_ar, "name_ar", "Arabic name", FULL_NAME_AR),
    (fields.name_en, "name_en", "English name", "Fatima Mohammed Al-Enezi"),
    (fields.phone, "phone", "phone", "+96551234567"),
    (fields.status, "status", "status", "active"),
    (fields.category, "category", "category", "widows"),
]
COMMON = pytest.mark.parametrize(
    ("validator", "field", "label", "good"), VALIDATORS, ids=[v[1] for v in VALIDATORS]
)


@COMMON
def test_a_valid_value_is_accepted(
    validator: Callable[[str], object], field: str, label: str, good: str
) -> None:
    assert validator(good) == good
    assert validator(f"  {good}\n") == good  # surrounding whitespace and a trailing newline


@COMMON
@pytest.mark.parametrize("size", [1001, TEN_KB, 1_000_000])
def test_overly_long_input_is_rejected_before_anything_else(
    validator: Callable[[str], object], field: str, label: str, good: str, size: int
) -> None:
    # Spaces would strip down to a valid value: the length check must come first.
    raw = good + " " * (size - len(good))
    assert reason_of(validator, raw, field) == f"{label} is too long"


@COMMON
@pytest.mark.parametrize("control", ["\x00", "\x07", "\x1b", "\x7f", "\x85", "\u202e", "\u2066"])
def test_control_characters_are_rejected(
    validator: Callable[[str], object], field: str, label: str, good: str, control: str
) -> None:
    middle = len(good) // 2
    raw = good[:middle] + control + good[middle:]
    assert reason_of(validator, raw, field) == f"{label} must not contain control characters"


@COMMON
def test_an_inner_tab_or_newline_is_a_control_character(
    validator: Callable[[str], object], field: str, label: str, good: str
) -> None:
    for inner in ("\t", "\n", "\r"):
        raw = good[:1] + inner + good[1:]
        assert reason_of(validator, raw, field) == f"{label} must not contain control characters"


@COMMON
@pytest.mark.parametrize("raw", [None, 12345, b"active", ["x"]])
def test_non_text_is_rejected(
    validator: Callable[[str], object], field: str, label: str, good: str, raw: object
) -> None:
    assert reason_of(validator, raw, field) == f"{label} must be text"  # type: ignore[arg-type]


@COMMON
def test_reasons_never_contain_the_input(
    validator: Callable[[str], object], field: str, label: str, good: str
) -> None:
    secret = "SECRET-96599999999-٣٣٣" + "x" * 60  # too long for a category
    assert "SECRET" not in reason_of(validator, secret, field)


# --- file_number --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("000123", "000123"),  # leading zeros kept
        ("7", "7"),
        ("AB-12/2024", "AB-12/2024"),
        ("ab-12", "ab-12"),  # case kept
        (" 000123\n", "000123"),
        ("\u00a0000123\u00a0", "000123"),
        ("٠٠٠١٢٣", "000123"),  # Arabic-Indic digits
        ("۰۰۰۱۲۳", "000123"),  # Persian digits
        ("０００１２３", "000123"),  # full-width digits
        ("1" * 20, "1" * 20),
    ],
)
def test_file_number_accepts(raw: str, expected: str) -> None:
    assert fields.file_number(raw) == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "file number is required"),
        ("   \n", "file number is required"),
        ("1" * 21, "file number must be at most 20 characters"),
        ("١" * 21, "file number must be at most 20 characters"),
        ("12 34", "file number may contain only letters, digits, '-' and '/'"),
        ("12_34", "file number may contain only letters, digits, '-' and '/'"),
        ("12.34", "file number may contain only letters, digits, '-' and '/'"),
        ("+1234", "file number may contain only letters, digits, '-' and '/'"),
        ("ملف12", "file number may contain only letters, digits, '-' and '/'"),
        ("Ａ123", "file number may contain only letters, digits, '-' and '/'"),  # full-width A
        ("é123", "file number may contain only letters, digits, '-' and '/'"),
        ("1\x00", "file number must not contain control characters"),
        ("1" * TEN_KB, "file number is too long"),
    ],
)
def test_file_number_rejects(raw: str, reason: str) -> None:
    assert reason_of(fields.file_number, raw, "file_number") == reason


# --- name_ar ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (FULL_NAME_AR, FULL_NAME_AR),
        ("  فاطمة   محمد\u00a0\u00a0العنزي \n", FULL_NAME_AR),  # whitespace runs collapsed
        ("عبدالله بن علي", "عبدالله بن علي"),
        ("عبد الله", "عبد الله"),
        ("علي", "علي"),
        ("مُحَمَّد", "مُحَمَّد"),  # with harakat
        ("آل", "آل"),
        ("ﻋﻠﻲ", "ﻋﻠﻲ"),  # presentation forms-B
        ("ڤيكتوريا", "ڤيكتوريا"),  # extended Arabic letter veh, U+06A4
        ("ݐاسم", "ݐاسم"),  # Arabic Supplement U+0750
        ("ع" * 120, "ع" * 120),
        # what real registers hold: surname first with a comma, tatweel, hyphens, periods
        ("الغانم، طلال جاسم", "الغانم، طلال جاسم"),
        ("الغانم, طلال جاسم", "الغانم, طلال جاسم"),
        ("محمــد", "محمــد"),
        ("عبد-الله م. العلي", "عبد-الله م. العلي"),
    ],
)
def test_name_ar_accepts(raw: str, expected: str) -> None:
    assert fields.name_ar(raw) == expected


def test_name_ar_composes_to_nfc() -> None:
    decomposed = "\u0627\u0653ل"  # alef, combining madda above, lam
    assert fields.name_ar(decomposed) == "\u0622ل"


MOJIBAKE = "Arabic name is garbled (wrong text encoding); save the file as UTF-8"


@pytest.mark.parametrize(
    "raw",
    [
        "ÙØ§Ø·Ù…Ø©",  # "فاطمة" saved as UTF-8, opened as cp1252 (0x81 has no character)
        FATIMA.encode().decode("latin-1"),  # the same through Latin-1: contains C1 controls
        FATIMA.encode().decode("cp1252", errors="replace"),
        FULL_NAME_AR.encode().decode("cp1252", errors="ignore"),
    ],
)
def test_name_ar_rejects_arabic_decoded_with_the_wrong_encoding(raw: str) -> None:
    assert reason_of(fields.name_ar, raw, "name_ar") == MOJIBAKE


def test_the_exact_mojibake_example_is_what_cp1252_makes_of_fatima() -> None:
    assert FATIMA.encode().decode("cp1252", errors="ignore") == "ÙØ§Ø·Ù…Ø©"


ONLY_ARABIC = "Arabic name may contain only Arabic letters, spaces, hyphens, periods and commas"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "Arabic name is required"),
        (" \u00a0\n", "Arabic name is required"),
        ("ع", "Arabic name must be 2 to 120 characters"),
        ("ع" * 121, "Arabic name must be 2 to 120 characters"),
        ("فاطمة Fatima", "Arabic name must not contain Latin or other non-Arabic letters"),
        ("فاطمةa", "Arabic name must not contain Latin or other non-Arabic letters"),
        ("فاطمة é", "Arabic name must not contain Latin or other non-Arabic letters"),
        ("فاطمة Ｆ", "Arabic name must not contain Latin or other non-Arabic letters"),
        ("فاطمة Фатима", "Arabic name must not contain Latin or other non-Arabic letters"),
        ("Fatima", "Arabic name must not contain Latin or other non-Arabic letters"),
        ("12345", "Arabic name must contain Arabic letters"),
        ("٣٣٣", "Arabic name must contain Arabic letters"),  # Arabic-Indic digits only
        ("- .", "Arabic name must contain Arabic letters"),
        ("فاطمة\x00", "Arabic name must not contain control characters"),
        ("فاطمة\tمحمد", "Arabic name must not contain control characters"),
        ("\u202eفاطمة", "Arabic name must not contain control characters"),
        ("ع" * TEN_KB, "Arabic name is too long"),
        # digits, symbols, markup, formulas and invisible format characters mean nothing in a name
        ("فاطمة 3", ONLY_ARABIC),
        ("فاطمة ٣", ONLY_ARABIC),
        ("فاطمة؟", ONLY_ARABIC),
        ("<فاطمة>", ONLY_ARABIC),
        ("=فاطمة", ONLY_ARABIC),
        ("@فاطمة", ONLY_ARABIC),
        ("+فاطمة", ONLY_ARABIC),
        ("فاطمة\u200f", ONLY_ARABIC),  # right-to-left mark
        ("فاطمة\u200bمحمد", ONLY_ARABIC),  # zero-width space
        ("\u061cفاطمة", ONLY_ARABIC),  # Arabic letter mark
        ("-فاطمة", "Arabic name must start with a letter"),
        ("ـمحمد", "Arabic name must start with a letter"),  # tatweel
        ("\u064eفاطمة", "Arabic name must start with a letter"),  # a haraka on nothing
        ("، فاطمة", "Arabic name must start with a letter"),
    ],
)
def test_name_ar_rejects(raw: str, reason: str) -> None:
    assert reason_of(fields.name_ar, raw, "name_ar") == reason


# --- name_en ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Fatima Mohammed Al-Enezi", "Fatima Mohammed Al-Enezi"),
        ("  Fatima \u00a0 Al-Enezi\n", "Fatima Al-Enezi"),
        ("Abdullah O'Neil", "Abdullah O'Neil"),
        ("Abdullah O’Neil", "Abdullah O’Neil"),
        ("J. R. Smith", "J. R. Smith"),
        ("José Muñoz", "José Muñoz"),
        ("Jose\u0301", "José"),  # composed by NFC
        ("Nguyễn Thị", "Nguyễn Thị"),
        ("Ed", "Ed"),
        ("a" * 120, "a" * 120),
        # what real registers hold: surname first with a comma, diacritics, transliteration marks
        ("Al-Ghanim, Talal Jassim", "Al-Ghanim, Talal Jassim"),
        ("Fatima, Ali", "Fatima, Ali"),
        ("Ğökhan Öztürk", "Ğökhan Öztürk"),
        ("Łukasz Øster-Ærø", "Łukasz Øster-Ærø"),
        ("Nguye\u0302\u0303n Văn", "Nguyễn Văn"),  # decomposed, composed by NFC
        ("ʿAbd al-Raḥmān", "ʿAbd al-Raḥmān"),  # ayn as a modifier letter
        ("Raʾed Al‘Ali", "Raʾed Al‘Ali"),
        ("'Ali O’Neil", "'Ali O’Neil"),
        ("Dr. A. Al-Sabah", "Dr. A. Al-Sabah"),
    ],
)
def test_name_en_accepts(raw: str, expected: str) -> None:
    assert fields.name_en(raw) == expected


ONLY_LATIN = (
    "English name may contain only Latin letters, spaces, hyphens, apostrophes, periods and commas"
)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "English name is required"),
        ("\n", "English name is required"),
        ("A", "English name must be 2 to 120 characters"),
        ("a" * 121, "English name must be 2 to 120 characters"),
        ("Fatima2", ONLY_LATIN),
        ("Fatima ٣", ONLY_LATIN),
        ("Fatima فاطمة", ONLY_LATIN),
        ("Фатима", ONLY_LATIN),
        ("Fatima_Ali", ONLY_LATIN),
        ("Ｆａｔｉｍａ", ONLY_LATIN),  # full-width letters
        ("\u0301Fatima", ONLY_LATIN),  # a combining accent on nothing
        ("JosÃ©", ONLY_LATIN),  # UTF-8 "José" read as Latin-1/cp1252
        ("ÙØ§Ø·Ù…Ø©", ONLY_LATIN),
        ("- .", "English name must contain letters"),
        ("''", "English name must contain letters"),
        ("Fatima\x00", "English name must not contain control characters"),
        ("a" * TEN_KB, "English name is too long"),
        # markup, formulas (OWASP's starts) and invisible format characters
        ("<b>Fatima</b>", ONLY_LATIN),
        ('=HYPERLINK("http://x")', ONLY_LATIN),
        ("=cmd|' /C calc'!A0", ONLY_LATIN),
        ("@SUM(A1)", ONLY_LATIN),
        ("+Fatima", ONLY_LATIN),
        ("-2+3", ONLY_LATIN),
        ("Fatima\u200f", ONLY_LATIN),  # right-to-left mark
        ("Fatima\u200dAli", ONLY_LATIN),  # zero-width joiner
        ("-Fatima", "English name must start with a letter"),
        (", Fatima", "English name must start with a letter"),
        (". Fatima", "English name must start with a letter"),
        ("ʿʾ", "English name must contain letters"),
    ],
)
def test_name_en_rejects(raw: str, reason: str) -> None:
    assert reason_of(fields.name_en, raw, "name_en") == reason


# --- phone --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+96551234567", "+96551234567"),
        ("+965 5123 4567", "+96551234567"),
        ("+965-5123-4567", "+96551234567"),
        ("+(965) 5123 4567", "+96551234567"),
        ("0096551234567", "+96551234567"),  # 00 as the international prefix
        ("00 965 5123 4567", "+96551234567"),
        (" +96551234567\n", "+96551234567"),
        ("\u00a0+96551234567\u00a0", "+96551234567"),
        ("+٩٦٥٥١٢٣٤٥٦٧", "+96551234567"),  # Arabic-Indic digits
        ("+۹۶۵۵۱۲۳۴۵۶۷", "+96551234567"),  # Persian digits
        ("+９６５５１２３４５６７", "+96551234567"),  # full-width digits
        ("٠٠٩٦٥٥١٢٣٤٥٦٧", "+96551234567"),
        # Kuwaiti mobiles start with 5, 6 or 9, including blocks phonenumbers calls unallocated
        ("+96561234567", "+96561234567"),
        ("+96591234567", "+96591234567"),
        ("+96560001234", "+96560001234"),
        ("+96599999999", "+96599999999"),
        ("+96541234567", "+96541234567"),  # 41: mobile according to phonenumbers
        # other countries, decided by phonenumbers
        ("+966501234567", "+966501234567"),  # Saudi Arabia
        ("+971501234567", "+971501234567"),  # United Arab Emirates
        ("+447911123456", "+447911123456"),  # United Kingdom
        ("+44 (0) 7911 123456", "+447911123456"),  # the UK trunk zero is dropped
        ("+12015550123", "+12015550123"),  # US: fixed line or mobile
    ],
)
def test_phone_accepts_mobile_numbers_and_returns_e164(raw: str, expected: str) -> None:
    assert fields.phone(raw) == expected


def test_every_phone_the_synthetic_register_generates_is_accepted() -> None:
    # The demo register draws +965, then 5, 6 or 9, then 7 random digits.
    for first in "569":
        for rest in ("0000000", "1234567", "5555555", "9999999", "0123456"):
            number = f"+965{first}{rest}"
            assert fields.phone(number) == number


MOBILE = "phone must be a mobile number in international form, like +96551234567"
COUNTRY = "phone must include the country code (+ or 00), like +96551234567"
INVALID = "phone is not a valid phone number"
CHARS = "phone may contain only digits, spaces, hyphens, parentheses and a leading +"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "phone is required"),
        (" \n", "phone is required"),
        ("51234567", COUNTRY),  # local Kuwaiti number
        ("٥١٢٣٤٥٦٧", COUNTRY),
        ("96551234567", COUNTRY),  # no + or 00
        ("0 96551234567", COUNTRY),
        ("+96522345678", MOBILE),  # Kuwaiti fixed line
        ("+96518001234", INVALID),  # too short for Kuwait
        ("+9655123456", INVALID),  # 7 digits
        ("+965512345678", INVALID),  # 9 digits
        ("+96571234567", INVALID),  # Kuwait does not use 7
        ("+9650 5123 4567", INVALID),  # a stray trunk zero is not silently dropped
        ("+442071838750", MOBILE),  # UK fixed line (London)
        ("+80012345678", MOBILE),  # international freephone
        ("+99951234567", INVALID),  # no such country code
        ("+", CHARS),
        ("+5", INVALID),
        ("+ ", CHARS),
        ("+()", CHARS),
        ("00", CHARS),
        ("+965 5123 4567 ext 12", CHARS),
        ("+96551234567;ext=12", CHARS),
        ("tel:+96551234567", CHARS),
        ("+965.5123.4567", CHARS),
        ("965+51234567", CHARS),
        ("++96551234567", CHARS),
        ("+1-800-FLOWERS", CHARS),
        ("phone", CHARS),
        ("+96551234567\x00", "phone must not contain control characters"),
        ("+" + "1" * 998, INVALID),  # long, but under the cheap limit: phonenumbers refuses it
        ("+" + "5" * TEN_KB, "phone is too long"),
    ],
)
def test_phone_rejects(raw: str, reason: str) -> None:
    assert reason_of(fields.phone, raw, "phone") == reason


# --- status -------------------------------------------------------------------------------------


def test_statuses_are_the_four_of_the_design() -> None:
    assert fields.STATUSES == ("active", "suspended", "inactive", "deceased")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("active", "active"),
        ("suspended", "suspended"),
        ("inactive", "inactive"),
        ("deceased", "deceased"),
        ("ACTIVE", "active"),
        ("Deceased", "deceased"),
        (" inactive\n", "inactive"),
        ("\u00a0Suspended\u00a0", "suspended"),
    ],
)
def test_status_accepts(raw: str, expected: str) -> None:
    assert fields.status(raw) == expected


STATUS_ONE_OF = "status must be one of: active, suspended, inactive, deceased"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "status is required"),
        ("  ", "status is required"),
        ("activ", STATUS_ONE_OF),
        ("act ive", STATUS_ONE_OF),
        ("revoked", STATUS_ONE_OF),
        ("نشط", STATUS_ONE_OF),
        ("ａｃｔｉｖｅ", STATUS_ONE_OF),  # full-width
        ("\u017fuspended", STATUS_ONE_OF),  # long s: casefolds to "suspended", must not match
        ("actİve", STATUS_ONE_OF),
        ("active\x00", "status must not contain control characters"),
        ("active" * 2000, "status is too long"),
    ],
)
def test_status_rejects(raw: str, reason: str) -> None:
    assert reason_of(fields.status, raw, "status") == reason


# --- category -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", None),
        ("   ", None),
        ("\n", None),
        ("widows", "widows"),
        ("  orphans  \n", "orphans"),
        ("أرامل", "أرامل"),
        ("special   needs", "special needs"),
        ("x" * 64, "x" * 64),
        ("٣", "٣"),  # digits of any script, kept as given
        ("special-needs", "special-needs"),
        ("special_needs", "special_needs"),
        ("3 children", "3 children"),
        ("مُسِنّ", "مُسِنّ"),  # with harakat
        ("Cafe\u0301", "Café"),  # NFC
    ],
)
def test_category_accepts(raw: str, expected: str | None) -> None:
    assert fields.category(raw) == expected


ONLY_LABEL = "category may contain only letters, digits, spaces, hyphens and underscores"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("x" * 65, "category must be at most 64 characters"),
        ("x" * 999, "category must be at most 64 characters"),
        ("widows\x00", "category must not contain control characters"),
        ("widows\u202e", "category must not contain control characters"),
        ("x" * TEN_KB, "category is too long"),
        # formulas, markup and punctuation: a category is a short label, not free text
        ("=1+1", ONLY_LABEL),
        ("+1", ONLY_LABEL),
        ("@SUM(A1)", ONLY_LABEL),
        ("<b>x</b>", ONLY_LABEL),
        ("widows; orphans", ONLY_LABEL),
        ("x²", ONLY_LABEL),
        ("widows\u200f", ONLY_LABEL),
        ("-2", "category must start with a letter or digit"),
        ("-widows", "category must start with a letter or digit"),
        ("_widows", "category must start with a letter or digit"),
        ("\u064eأرامل", "category must start with a letter or digit"),
    ],
)
def test_category_rejects(raw: str, reason: str) -> None:
    assert reason_of(fields.category, raw, "category") == reason


# --- free text (purposes, reasons, titles) --------------------------------------------------------


def reason_text(raw: object) -> str:
    return fields.free_text("reason", "reason", raw, 3, 200)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Fraud reported  ", "Fraud reported"),
        ("إلغاء بسبب الوفاة", "إلغاء بسبب الوفاة"),
        ("Cafe\u0301 closed", "Café closed"),  # NFC
        ("رقم \u200fHW-2026\u200e", "رقم \u200fHW-2026\u200e"),  # direction marks are allowed
        ("x" * 200, "x" * 200),
        ("ok 😀", "ok 😀"),
    ],
)
def test_free_text_accepts(raw: str, expected: str) -> None:
    assert reason_text(raw) == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (None, "reason must be text"),
        (42, "reason must be text"),
        ("ab", "reason must be 3 to 200 characters"),
        ("   ", "reason must be 3 to 200 characters"),
        ("x" * 201, "reason must be 3 to 200 characters"),
        ("x" * TEN_KB, "reason must be 3 to 200 characters"),
        ("Fraud\x00", "reason must not contain control characters"),
        ("two\nlines", "reason must not contain control characters"),
        ("tab\there", "reason must not contain control characters"),
        ("bell\x07", "reason must not contain control characters"),
        ("c1\x85next", "reason must not contain control characters"),
        ("line\u2028sep", "reason must not contain control characters"),
        ("para\u2029sep", "reason must not contain control characters"),
        ("\u202eFraud", "reason must not contain control characters"),
        ("Fraud\u202a", "reason must not contain control characters"),
        ("\u2066Fraud\u2069", "reason must not contain control characters"),
        ("lone \ud800", "reason must not contain control characters"),
    ],
)
def test_free_text_rejects(raw: object, reason: str) -> None:
    with pytest.raises(InvalidField) as info:
        reason_text(raw)
    assert (info.value.field, info.value.reason) == ("reason", reason)


def test_sentence() -> None:
    assert fields.sentence(InvalidField("reason", "reason must be text")) == "Reason must be text."
