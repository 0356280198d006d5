"""Who checked me: the beneficiary reads every verification of their ID and documents."""

from typing import Any

from flask import Blueprint, Response, jsonify, render_template, request
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from identity import db, inputs
from identity.holder_api import require_holder
from identity.login import current_holder, signed_in
from identity.models import VerificationEvent, api_time

bp = Blueprint("history", __name__)
PAGE = 50


def events(beneficiary_id: int, before: int | None = None) -> list[VerificationEvent]:
    """Return the newest verification events of a beneficiary, PAGE at a time."""
    query = (
        select(VerificationEvent)
        .options(selectinload(VerificationEvent.agency))
        .where(VerificationEvent.beneficiary_id == beneficiary_id)
        .order_by(VerificationEvent.id.desc())
        .limit(PAGE)
    )
    if before is not None:
        query = query.where(VerificationEvent.id < before)
    return list(db.session().scalars(query))


def before_arg() -> int | None:
    """Return the ?before= cursor if it is a whole number a row id can be (else none)."""
    return inputs.whole_number(request.args.get("before", ""))


def as_json(event: VerificationEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "at": api_time(event.at),
        "verifier": event.agency.name if event.agency else None,
        "purpose": event.purpose,
        "kind": event.kind,
        "result": event.result,
        "channel": event.channel,
    }


@bp.get("/me/verifications")
@signed_in
def page() -> str:
    """Show who checked me, when, why and what they were told."""
    holder = current_holder()
    assert holder is not None
    found = events(holder.beneficiary_id, before_arg())
    return render_template(
        "verifications.html", events=found, more=found[-1].id if len(found) == PAGE else None
    )


@bp.get("/api/v1/me/verifications")
def api() -> Response:
    """Give the app the same list; page with ?before=<id of the last one>."""
    holder = require_holder()
    found = events(holder.beneficiary_id, before_arg())
    return jsonify(
        {
            "verifications": [as_json(e) for e in found],
            "next": found[-1].id if len(found) == PAGE else None,
        }
    )
