"""Beneficiaries: validating a record and writing records to the register."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from identity.models import Beneficiary, utcnow
from identity.register import civil_id as civil_ids
from identity.register import fields as checks

COLUMNS = ("civil_id", "file_number", "full_name_ar", "full_name_en", "phone", "status")
OPTIONAL_COLUMNS = ("category",)
CHECKS = {
    "file_number": checks.file_number,
    "full_name_ar": checks.name_ar,
    "full_name_en": checks.name_en,
    "phone": checks.phone,
    "status": checks.status,
    "category": checks.category,
}


@dataclass(frozen=True)
class Record:
    """A validated beneficiary, as the register stores it (category None when not given)."""

    civil_id: str
    file_number: str
    full_name_ar: str
    full_name_en: str
    phone: str
    status: str
    category: str | None = None


class InvalidRecord(ValueError):
    """A record with one or more bad fields; `reasons` names each."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__("; ".join(reasons))
        self.reasons = reasons


def validate(raw: Mapping[str, str]) -> Record:
    """Check and normalise every field of a raw record; collect every reason it is refused."""
    reasons: list[str] = []
    values: dict[str, str | None] = {}
    try:
        values["civil_id"] = civil_ids.parse(raw.get("civil_id") or "")
    except civil_ids.InvalidCivilId as exc:
        reasons.append(exc.reason)
    for name, check in CHECKS.items():
        if name in OPTIONAL_COLUMNS and name not in raw:
            continue
        try:
            values[name] = check(raw.get(name) or "")
        except checks.InvalidField as exc:
            reasons.append(exc.reason)
    if reasons:
        raise InvalidRecord(reasons)
    return Record(**values)  # type: ignore[arg-type]


@dataclass
class Counts:
    """What an upsert did."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0


def compared_fields(with_category: bool) -> tuple[str, ...]:
    """Return the fields an upsert writes; category only when the source has that column."""
    names = tuple(f.name for f in fields(Record) if f.name != "civil_id")
    return names if with_category else tuple(n for n in names if n != "category")


def upsert_many(
    session: Session, records: Sequence[Record], with_category: bool, now: datetime | None = None
) -> Counts:
    """Insert new civil IDs and update changed ones; a record equal to the register is untouched."""
    now = now or utcnow()
    names = compared_fields(with_category)
    wanted = {record.civil_id: record for record in records}
    columns = [Beneficiary.civil_id, *(getattr(Beneficiary, n) for n in names)]
    existing = {
        row[0]: tuple(row[1:])
        for row in session.execute(select(*columns).where(Beneficiary.civil_id.in_(wanted)))
    }
    new_rows, changed_rows, counts = [], [], Counts()
    for cid, record in wanted.items():
        values = tuple(getattr(record, n) for n in names)
        if cid not in existing:
            new_rows.append(
                {
                    "civil_id": cid,
                    **dict(zip(names, values, strict=True)),
                    "created_at": now,
                    "updated_at": now,
                }
            )
        elif existing[cid] != values:
            changed_rows.append(
                {"b_civil_id": cid, **dict(zip(names, values, strict=True)), "updated_at": now}
            )
        else:
            counts.unchanged += 1
    if new_rows:
        session.execute(insert(Beneficiary.__table__), new_rows)  # type: ignore[arg-type]
        counts.created = len(new_rows)
    if changed_rows:
        statement = (
            update(Beneficiary.__table__)  # type: ignore[arg-type]
            .where(Beneficiary.__table__.c.civil_id == bindparam("b_civil_id"))
            .values({n: bindparam(n) for n in (*names, "updated_at")})
        )
        session.execute(statement, changed_rows, execution_options={"synchronize_session": False})
        counts.updated = len(changed_rows)
    return counts


@dataclass(frozen=True)
class Upserted:
    """What an upsert of one record did; `old_phone` is the number it replaced, if any."""

    created: bool
    changed: bool
    old_phone: str | None = None


def upsert(
    session: Session, record: Record, with_category: bool, now: datetime | None = None
) -> Upserted:
    """Insert or update one record; concurrent upserts of one civil ID each get a clear outcome.

    `INSERT … ON CONFLICT DO NOTHING` decides which writer creates the row, so a second writer
    never meets a unique violation; the others then update the row under a lock (PostgreSQL's
    row lock, or SQLite's write lock taken by the insert), so the number each one replaced is
    the number that was really on record.
    """
    now = now or utcnow()
    names = compared_fields(with_category)
    table = Beneficiary.__table__
    wanted = {name: getattr(record, name) for name in names}
    statement = _insert(session).values(
        civil_id=record.civil_id, **wanted, created_at=now, updated_at=now
    )
    statement = statement.on_conflict_do_nothing(index_elements=["civil_id"])
    if session.scalar(statement.returning(table.c.id)) is not None:  # no row: it existed
        return Upserted(created=True, changed=True)
    this_row = table.c.civil_id == record.civil_id
    columns = [table.c[name] for name in names]
    locked = session.execute(select(*columns).where(this_row).with_for_update()).one()
    current = dict(zip(names, locked, strict=True))
    if current == wanted:
        return Upserted(created=False, changed=False)
    session.execute(update(table).where(this_row).values(**wanted, updated_at=now))  # type: ignore[arg-type]
    replaced = current["phone"] if current["phone"] != wanted["phone"] else None
    return Upserted(created=False, changed=True, old_phone=replaced)


def _insert(session: Session) -> postgresql.Insert | sqlite.Insert:
    """Return an INSERT into the register in the dialect's own form (it has ON CONFLICT)."""
    dialect = session.get_bind().dialect.name
    return (postgresql if dialect == "postgresql" else sqlite).insert(Beneficiary.__table__)


def find(session: Session, civil_id: str) -> Beneficiary | None:
    """Return the beneficiary with this canonical civil ID, if any."""
    return session.scalar(select(Beneficiary).where(Beneficiary.civil_id == civil_id))
