"""Who checked me: the beneficiary reads every verification of their ID and documents."""

from typing import Any

from flask import Blueprint, Response, jsonify, render_template, request

from identity.audit import verifications
from identity.clock import api_time
from identity.models import VerificationEvent
from identity.web import inputs
from identity.web.gates import require_holder
from identity.web.holder.guards import current_holder, signed_in

bp = Blueprint("verifications", __name__)


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
    found = verifications.events(holder.beneficiary_id, before_arg())
    return render_template(
        "holder/verifications.html",
        events=found,
        more=found[-1].id if len(found) == verifications.PAGE else None,
    )


@bp.get("/api/v1/me/verifications")
def api() -> Response:
    """Give the app the same list; page with ?before=<id of the last one>."""
    holder = require_holder()
    found = verifications.events(holder.beneficiary_id, before_arg())
    return jsonify(
        {
            "verifications": [as_json(e) for e in found],
            "next": found[-1].id if len(found) == verifications.PAGE else None,
        }
    )
