"""Beneficiaries: validating a record and writing records to the register (audited, in save)."""

import dataclasses
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import bindparam, false, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from identity import civil_id as civil_ids
from identity import db, sms
from identity.audit import chain
from identity.models import Beneficiary, utcnow
from identity.register import fields

log = logging.getLogger(__name__)

PHONE_CHANGED = (
    "تم تغيير رقم الهاتف المسجل لحسابك في هوية. إن لم تطلب ذلك فتواصل مع الجهة.\n"
    "The mobile number registered for your Hawiya account was changed. "
    "If you did not ask for this, contact the agency."
)

COLUMNS = ("civil_id", "file_number", "full_name_ar", "full_name_en", "phone", "status")
OPTIONAL_COLUMNS = ("category",)
CHECKS = {
    "file_number": fields.file_number,
    "full_name_ar": fields.name_ar,
    "full_name_en": fields.name_en,
    "phone": fields.phone,
    "status": fields.status,
    "category": fields.category,
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
        except fields.InvalidField as exc:
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
    names = tuple(f.name for f in dataclasses.fields(Record) if f.name != "civil_id")
    return names if with_category else tuple(n for n in names if n != "category")


@dataclass
class Told:
    """Of the numbers a save replaced: how many were told, and how many the gateway failed.

    Filled in only once the transaction has committed; both stay 0 if it rolls back.
    """

    told: int = 0
    failed: int = 0


@dataclass
class Saved(Counts):
    """What a save did; `told` fills in once its transaction commits."""

    told: Told = field(default_factory=Told)


@dataclass(frozen=True)
class _Change:
    """One beneficiary a write created or changed; `old_phone` is the number it replaced."""

    civil_id: str
    created: bool
    status: str
    old_phone: str | None = None


def save(
    session: Session,
    records: Sequence[Record],
    with_category: bool,
    actor: str,
    told: Told | None = None,
    now: datetime | None = None,
) -> Saved:
    """Write records to the register, audit each one created or changed, and tell replaced phones.

    The one write path of the register (the import, the back-office API and the console), safe
    against a concurrent writer of the same civil ID (see _write_batch). Each number a record
    replaced is sent PHONE_CHANGED only after the caller's transaction commits, whoever commits
    it, and never if it rolls back; `told` (shared by the batches of one import) counts the
    outcome.
    """
    now = now or utcnow()
    told = Told() if told is None else told
    if not records:
        return Saved(told=told)
    changes, unchanged = _write_batch(session, records, with_category, now)
    chain.record_many(session, [_audit_entry(actor, change) for change in changes])
    replaced = [change.old_phone for change in changes if change.old_phone is not None]
    if replaced:
        sender = sms.get_sender()
        db.after_commit(session, lambda: tell_old_numbers(sender, replaced, told))
    created = sum(change.created for change in changes)
    return Saved(created, len(changes) - created, unchanged, told)


def _audit_entry(actor: str, change: _Change) -> chain.Entry:
    """Return the audit entry of one created or changed beneficiary."""
    action = "beneficiary.create" if change.created else "beneficiary.update"
    details = {"status": change.status, "phone_changed": change.old_phone is not None}
    return chain.Entry(actor, action, chain.subject_for_civil_id(change.civil_id), details)


def tell_old_numbers(sender: sms.SmsSender, phones: Sequence[str], told: Told) -> None:
    """Tell each old number that it no longer receives codes (the change itself is committed)."""
    for phone in phones:
        try:
            sender.send(phone, PHONE_CHANGED)
        except sms.SmsFailed:
            told.failed += 1
            log.warning("could not tell %s of the phone change", sms.mask_number(phone))
        else:
            told.told += 1


def upsert_many(
    session: Session, records: Sequence[Record], with_category: bool, now: datetime | None = None
) -> Counts:
    """Write records with no audit entry and no SMS: only for loading test data; see save()."""
    changes, unchanged = _write_batch(session, records, with_category, now or utcnow())
    created = sum(change.created for change in changes)
    return Counts(created, len(changes) - created, unchanged)


def _write_batch(
    session: Session, records: Sequence[Record], with_category: bool, now: datetime
) -> tuple[list[_Change], int]:
    """Insert new civil IDs and update changed ones in bulk; return the changes and the unchanged.

    A first read, without locks, sorts the batch into new, changed and unchanged rows, so a
    re-import of an unchanged register writes nothing. New rows go in with one `INSERT … ON
    CONFLICT DO NOTHING`: a row a concurrent writer created meanwhile is then treated as an
    existing one. Changed rows are read again under a lock before they are updated, so the
    number each one replaced is the number really on record.
    """
    names = compared_fields(with_category)
    table = Beneficiary.__table__
    wanted = {record.civil_id: tuple(getattr(record, n) for n in names) for record in records}
    columns = [table.c.civil_id, *(table.c[n] for n in names)]
    existing = {
        row[0]: tuple(row[1:])
        for row in session.execute(select(*columns).where(table.c.civil_id.in_(wanted)))
    }
    new_ids = [cid for cid in wanted if cid not in existing]
    to_check = [
        cid for cid, values in wanted.items() if cid in existing and existing[cid] != values
    ]
    unchanged = len(wanted) - len(new_ids) - len(to_check)
    changes: list[_Change] = []
    status_at = names.index("status")
    if new_ids:
        rows = [
            {"civil_id": cid, **dict(zip(names, wanted[cid], strict=True)),
             "created_at": now, "updated_at": now}
            for cid in new_ids
        ]  # fmt: skip
        statement = _insert(session).on_conflict_do_nothing(index_elements=["civil_id"])
        inserted = set(session.scalars(statement.returning(table.c.civil_id), rows))
        changes += [
            _Change(cid, True, wanted[cid][status_at]) for cid in new_ids if cid in inserted
        ]
        to_check += [cid for cid in new_ids if cid not in inserted]  # a concurrent writer's rows
    if to_check:
        updated, same = _update_locked(session, names, {cid: wanted[cid] for cid in to_check}, now)
        changes += updated
        unchanged += same
    return changes, unchanged


def _update_locked(
    session: Session,
    names: tuple[str, ...],
    wanted: dict[str, tuple[str | None, ...]],
    now: datetime,
) -> tuple[list[_Change], int]:
    """Read these rows again under a lock and update those that still differ; count the others."""
    table = Beneficiary.__table__
    if session.get_bind().dialect.name == "sqlite":
        # SQLite ignores FOR UPDATE: take its single write lock before reading instead.
        session.execute(update(table).where(false()).values(id=table.c.id))  # type: ignore[arg-type]
    columns = [table.c.civil_id, *(table.c[n] for n in names)]
    locked = {
        row[0]: tuple(row[1:])
        for row in session.execute(
            select(*columns).where(table.c.civil_id.in_(wanted)).with_for_update()
        )
    }
    phone_at, status_at = names.index("phone"), names.index("status")
    changes, rows, same = [], [], 0
    for cid, values in wanted.items():  # in the caller's order; register rows are never deleted
        current = locked[cid]
        if current == values:
            same += 1
            continue
        old_phone = current[phone_at] if current[phone_at] != values[phone_at] else None
        changes.append(_Change(cid, False, values[status_at], old_phone))  # type: ignore[arg-type]
        rows.append({"b_civil_id": cid, **dict(zip(names, values, strict=True)), "updated_at": now})
    if rows:
        statement = (
            update(table)  # type: ignore[arg-type]
            .where(table.c.civil_id == bindparam("b_civil_id"))
            .values({n: bindparam(n) for n in (*names, "updated_at")})
        )
        session.execute(statement, rows, execution_options={"synchronize_session": False})
    return changes, same


def _insert(session: Session) -> postgresql.Insert | sqlite.Insert:
    """Return an INSERT into the register in the dialect's own form (it has ON CONFLICT)."""
    dialect = session.get_bind().dialect.name
    return (postgresql if dialect == "postgresql" else sqlite).insert(Beneficiary.__table__)


def find(session: Session, civil_id: str) -> Beneficiary | None:
    """Return the beneficiary with this canonical civil ID, if any."""
    return session.scalar(select(Beneficiary).where(Beneficiary.civil_id == civil_id))
