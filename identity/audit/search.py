"""Reading the audit log: filters by action, actor, subject and dates, newest first, in pages."""

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select

from identity import clock, db
from identity.models import AuditEvent

PAGE = 50
EXPORT_LIMIT = 10_000  # rows in one CSV download; the file says when there were more


@dataclass(frozen=True)
class AuditFilters:
    """The audit log's filters, already checked."""

    action: str = ""
    actor: str = ""
    subject: str = ""
    start: date | None = None
    end: date | None = None


def parse_filters(args: Any) -> AuditFilters:
    """Read the filters from the query string; raise ValueError for unreadable dates."""

    def day(name: str) -> date | None:
        raw = str(args.get(name, "")).strip()
        return date.fromisoformat(raw) if raw else None

    start, end = day("from"), day("to")
    if start and end and start > end:
        raise ValueError("from after to")
    return AuditFilters(
        action=str(args.get("action", "")).strip()[:64],
        actor=str(args.get("actor", "")).strip()[:120],
        subject=str(args.get("subject", "")).strip()[:120],
        start=start,
        end=end,
    )


def audit_events(
    filters: AuditFilters, before: int | None = None, limit: int = PAGE
) -> list[AuditEvent]:
    """Return the newest audit events matching the filters, `limit` at a time."""
    query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    if filters.action:
        query = query.where(AuditEvent.action == filters.action)
    if filters.actor:
        query = query.where(AuditEvent.actor.contains(filters.actor, autoescape=True))
    if filters.subject:
        query = query.where(AuditEvent.subject.contains(filters.subject, autoescape=True))
    if filters.start:  # the agency's calendar days, as the log shows its times
        query = query.where(AuditEvent.at >= clock.day_start(filters.start))
    if filters.end:
        query = query.where(AuditEvent.at < clock.day_end(filters.end))
    if before is not None:
        query = query.where(AuditEvent.id < before)
    return list(db.session().scalars(query))
