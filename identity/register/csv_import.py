"""Import the register from CSV: stream it, validate each row, report every rejected row.

Every row goes through the register's one audited write path (beneficiaries.save): each created
or changed beneficiary is audited, and each replaced phone number is told once the import commits.
"""

import codecs
import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from sqlalchemy.orm import Session

from identity import csv_safe
from identity.errors import Refused
from identity.register.beneficiaries import (
    COLUMNS,
    OPTIONAL_COLUMNS,
    InvalidRecord,
    Record,
    Told,
    save,
)
from identity.register.beneficiaries import validate as validate_record

BATCH = 1000
MAX_FIELD = 4096  # far beyond any real field; a longer one means the file is not a register
ENCODING_HINT = (
    "Save it from your spreadsheet as “CSV UTF-8”, or name its encoding with "
    "--encoding (for example --encoding windows-1256 for Arabic Windows exports)."
)


_EXAMPLES = "; name one such as utf-8, utf-16 or windows-1256."


class ImportRefused(Refused):
    """The file as a whole cannot be imported; nothing was written."""

    code = "invalid-input"


class _Undecodable(Exception):
    """The text decoder met bytes that are not in the file's encoding."""


def _first_undecodable_line(path: Path, codec: str) -> str:
    """Name the first line that does not decode (the decoder reads ahead, so look again)."""
    if codec.startswith("utf-16"):
        return "The file"
    with path.open("rb") as raw:
        for number, line in enumerate(raw, start=1):
            try:
                line.decode(codec)
            except UnicodeError:  # punycode and idna raise the base class
                return f"Line {number}"
    return "The file"


@dataclass
class ImportResult:
    """What an import did, for the summary."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    blank_lines: int = 0
    rejects_path: Path | None = None
    encoding: str = "utf-8"
    rejects: list[tuple[int, str]] = field(default_factory=list)
    old_numbers: Told = field(default_factory=Told)  # replaced phones told, once committed

    @property
    def imported(self) -> int:
        return self.created + self.updated + self.unchanged


def rejects_path_for(path: Path) -> Path:
    """Return FILE.rejects.csv for FILE.csv (and FILE.rejects.csv for any other name)."""
    stem = path.name[:-4] if path.name.lower().endswith(".csv") else path.name
    return path.with_name(stem + ".rejects.csv")


def text_codec(name: str) -> str:
    """Return the codec's canonical name; refuse a name that is not a text encoding.

    rot13, base64, zlib and the like are codecs too, but they turn text into text or bytes into
    bytes, and the "undefined" codec refuses every byte: reading a file with any of them would
    fail inside the CSV reader, so they are refused here with one sentence.
    """
    shown = repr(name[:40])
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError):  # ValueError: a NUL in the name
        raise ImportRefused(f"{shown} is not a known encoding{_EXAMPLES}") from None
    if not (getattr(info, "_is_text_encoding", True) and _decodes_bytes(info.name)):
        raise ImportRefused(f"{shown} is not a text encoding{_EXAMPLES}")
    return info.name


def _decodes_bytes(codec: str) -> bool:
    """Whether the codec's decoder accepts a byte ("undefined" raises for every input)."""
    try:
        codecs.getincrementaldecoder(codec)().decode(b"a")
    except (LookupError, UnicodeError):
        return False
    return True


def detect_encoding(head: bytes, requested: str | None) -> str:
    """Return the codec for the file: the one asked for, else from its BOM, else UTF-8."""
    if requested:
        return text_codec(requested)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    return "utf-8-sig"  # also reads plain UTF-8; drops a BOM when there is one


def read_header(reader: Iterator[list[str]]) -> list[str]:
    """Read and check the header: every required column once, nothing unknown."""
    try:
        header = next(reader)
    except StopIteration:
        raise ImportRefused("The file is empty: it has no header line.") from None
    names = [name.strip().lower() for name in header]
    expected = ",".join(COLUMNS)
    missing = [c for c in COLUMNS if c not in names]
    unknown = [n for n in names if n not in COLUMNS + OPTIONAL_COLUMNS]
    doubled = sorted({n for n in names if names.count(n) > 1})
    if missing or unknown or doubled:
        problems = []
        if missing:
            problems.append("missing " + ", ".join(missing))
        if unknown:
            problems.append("unknown " + ", ".join(repr(u) for u in unknown))
        if doubled:
            problems.append("repeated " + ", ".join(doubled))
        raise ImportRefused(
            f"The header line is not a register header ({'; '.join(problems)}). "
            f"It must name the columns {expected} (and optionally category)."
        )
    return names


def import_csv(
    session: Session,
    path: Path,
    actor: str,
    encoding: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Upsert every valid row of a register CSV in one transaction; write rejects beside it.

    `actor` is who the audit log names for each change. Raises ImportRefused when the file as a
    whole is unusable; then nothing is written, audited or told.
    """
    rejects_path = rejects_path_for(path)
    try:
        raw = path.open("rb")
    except OSError as exc:
        raise ImportRefused(f"Cannot open {path}: {exc.strerror}.") from None
    with raw:
        codec = detect_encoding(raw.peek(4)[:4], encoding)
        text = io.TextIOWrapper(raw, encoding=codec, errors="strict", newline="")

        def advance() -> None:
            if progress:
                progress(raw.tell())  # bytes the decoder has consumed so far

        tmp_rejects = rejects_path.with_name(rejects_path.name + ".partial")
        try:
            with tmp_rejects.open("w", encoding="utf-8-sig", newline="") as rejects_file:
                result = _import_rows(session, text, rejects_file, advance, actor)
        except _Undecodable:
            session.rollback()
            tmp_rejects.unlink(missing_ok=True)
            where = _first_undecodable_line(path, codec)
            raise ImportRefused(
                f"{where} is not valid {codec.upper()} text, so nothing was imported. "
                + ENCODING_HINT
            ) from None
        except BaseException:
            session.rollback()
            tmp_rejects.unlink(missing_ok=True)
            raise
    session.commit()  # tells the replaced numbers (db.after_commit), filling result.old_numbers
    result.encoding = codec
    if result.rejected:
        tmp_rejects.replace(rejects_path)
        result.rejects_path = rejects_path
    else:
        tmp_rejects.unlink()
        rejects_path.unlink(missing_ok=True)  # a stale report from an earlier run would mislead
    return result


def _rows(text: IO[str]) -> Iterator[tuple[int, list[str]]]:
    """Yield (first line number, fields) for each record; refuse undecodable or broken files."""
    reader = csv.reader(text, strict=False)
    line = 1
    while True:
        start = line
        try:
            row = next(reader)
        except StopIteration:
            return
        except UnicodeError:  # a decode error; punycode and idna raise the base class
            raise _Undecodable from None
        except csv.Error as exc:
            raise ImportRefused(
                f"Line {reader.line_num} cannot be read as CSV ({exc}); nothing was imported."
            ) from None
        line = reader.line_num + 1
        yield start, row


def _import_rows(
    session: Session,
    text: IO[str],
    rejects_file: IO[str],
    advance: Callable[[], None],
    actor: str,
) -> ImportResult:
    """Validate and save every row in batches; reject the bad ones into the rejects file."""
    result = ImportResult()
    rows = _rows(text)
    header = read_header(r for _, r in rows)
    with_category = "category" in header
    rejects = csv_safe.writer(rejects_file, lineterminator="\r\n")
    rejects.writerow(["line", "reason", *header])
    seen: dict[int, int] = {}  # civil ID (as a number, to stay small) -> its first line
    batch: list[Record] = []

    def reject(line: int, reason: str, row: list[str]) -> None:
        result.rejected += 1
        rejects.writerow([line, reason, *row])
        if len(result.rejects) < 20:
            result.rejects.append((line, reason))

    def flush() -> None:
        saved = save(session, batch, with_category, actor, told=result.old_numbers)
        result.created += saved.created
        result.updated += saved.updated
        result.unchanged += saved.unchanged
        batch.clear()
        advance()

    for line, row in rows:
        if not row or all(not value.strip() for value in row):
            result.blank_lines += 1
            continue
        values = csv_safe.restore_row(row)  # "'+965…": text-prefixed by a spreadsheet, or by us
        if len(row) != len(header):
            reject(line, f"has {len(row)} fields, the header has {len(header)}", row)
            continue
        if any(len(value) > MAX_FIELD for value in row):
            reject(line, f"a field is longer than {MAX_FIELD} characters", row)
            continue
        try:
            record = validate_record(dict(zip(header, values, strict=True)))
        except InvalidRecord as exc:
            reject(line, "; ".join(exc.reasons), row)
            continue
        key = int(record.civil_id)
        if key in seen:
            reject(line, f"civil ID already appears on line {seen[key]}", row)
            continue
        seen[key] = line
        batch.append(record)
        if len(batch) >= BATCH:
            flush()
    flush()
    return result
