"""Who checked me: the beneficiary reads every verification of their ID and documents."""

from typing import Any

from flask import Blueprint, Response, jsonify, render_template, request

from identity.audit import verifications
from identity.clock import api_time
from identity.web import exports, inputs
from identity.web.gates import require_holder
from identity.web.holder.guards import current_holder, signed_in

bp = Blueprint("verifications", __name__)
bp.add_app_template_global(exports.result_name)


def before_arg() -> int | None:
    """Return the ?before= cursor if it is a whole number a row id can be (else none)."""
    return inputs.whole_number(request.args.get("before", ""))


def as_json(check: verifications.Check) -> dict[str, Any]:
    event, document = check.event, check.document
    return {
        "id": event.id,
        "at": api_time(event.at),
        "verifier": event.agency.name if event.agency else None,
        "purpose": event.purpose,
        "kind": event.kind,
        "result": event.result,
        "channel": event.channel,
        "document": (
            {"number": document.number, "title": document.title, "type": document.type}
            if document is not None
            else None
        ),
    }


@bp.get("/me/verifications")
@signed_in
def page() -> str:
    """Show who checked me, when, why and what they were told."""
    holder = current_holder()
    assert holder is not None
    found = verifications.history(holder.beneficiary_id, before_arg())
    return render_template(
        "holder/verifications.html",
        checks=found,
        more=found[-1].event.id if len(found) == verifications.PAGE else None,
    )


@bp.get("/me/verifications.csv")
@signed_in
def download() -> Response:
    """Download my whole history (at most EXPORT_LIMIT rows): only ever my own."""
    holder = current_holder()
    assert holder is not None
    limit = verifications.EXPORT_LIMIT
    found = verifications.history(holder.beneficiary_id, limit=limit + 1)
    rows = exports.verification_rows(found, public=True, limit=limit)
    return exports.csv_response("my-verifications.csv", exports.verification_header(), rows)


@bp.get("/api/v1/me/verifications")
def api() -> Response:
    """Give the app the same list; page with ?before=<id of the last one>."""
    holder = require_holder()
    found = verifications.history(holder.beneficiary_id, before_arg())
    return jsonify(
        {
            "verifications": [as_json(c) for c in found],
            "next": found[-1].event.id if len(found) == verifications.PAGE else None,
        }
    )
