"""The console's administration pages: agencies and their keys, signing keys, staff, audit log.

A secret (an agency's API key, a staff user's one-time password) is shown on the page that
answers the action that made it, once, and never stored in clear.
"""

from typing import Any

from flask import Blueprint, Response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from werkzeug.wrappers import Response as BaseResponse

from identity import db, signing
from identity.access import agencies, staff
from identity.audit import search
from identity.clock import api_time
from identity.digital_id import signing_keys
from identity.documents import document_types
from identity.errors import NotFound
from identity.models import SCOPE_ATTRIBUTES, Agency, AuditEvent, StaffUser
from identity.web import exports, inputs
from identity.web.console import audit_words
from identity.web.console.pages import actor, current_staff, require_staff
from identity.web.i18n import stay_on
from identity.web.refusals import message_of, status_of

bp = Blueprint("console_admin", __name__, url_prefix="/staff")

# Hints about this page's forms, in the staff user's language: what to fill in, shown for bad
# input. What a refusal code itself says (e.g. "key-active", "duplicate") is in
# identity.web.refusals.MESSAGES, with its status.
MESSAGES = {
    "agency": _l(
        "Give a name (2 to 120 characters), a purpose (3 to 200 characters), a rate limit "
        "of 1 to 100000 a minute and a name not taken by another agency."
    ),
    "confirm": _l("Tick the box to confirm."),
    "dates": _l("Dates are written YYYY-MM-DD, and the first comes before the last."),
    "staff": _l(
        "A username is 3 to 32 characters (letters a-z, digits, '.', '_' or '-', starting "
        "with a letter), not taken, with a role."
    ),
    "self": _l("You cannot disable yourself."),
    "document-type": _l(
        "A key is 2 to 40 characters (letters a-z, digits, '_' or '-', starting with a letter). "
        "Each label is 2 to 80 characters without control characters, the Arabic one in Arabic."
    ),
}
DONE = {
    "agency-disable": _l("The agency was disabled: its key no longer works."),
    "agency-enable": _l("The agency was enabled."),
    "key-retire": _l("The key was retired."),
    "staff-disable": _l("The staff user was disabled."),
    "document-type-add": _l("The document type was added."),
}


def agency_or_404(agency_id: int) -> Agency:
    agency = db.session().get(Agency, agency_id)
    if agency is None:
        raise NotFound()
    return agency


def agencies_page(status: int = 200, error: str | None = None, **form: Any) -> tuple[str, int]:
    listed = db.session().scalars(select(Agency).order_by(Agency.name)).all()
    page = render_template(
        "staff/agencies.html",
        agencies=listed,
        scope_attributes=SCOPE_ATTRIBUTES,
        error=error,
        done=DONE.get(request.args.get("done", "")),
        form=form,
    )
    return page, status


@bp.get("/agencies")
@require_staff("read")
def agencies_list() -> tuple[str, int]:
    """List the agencies."""
    return agencies_page()


@bp.post("/agencies")
@require_staff("manage_agencies")
def agency_create() -> tuple[str, int] | str:
    """Register an agency and show its API key once."""
    form = request.form
    scope = ",".join(form.getlist("scope"))
    rate = form.get("rate_limit", "").strip() or str(agencies.DEFAULT_RATE_LIMIT)
    kept = {"name": form.get("name", "")[:120], "purpose": form.get("purpose", "")[:200],
            "scope": form.getlist("scope"), "rate_limit": rate[:7]}  # fmt: skip
    session = db.session()
    try:
        if not rate.isascii() or not rate.isdigit() or len(rate) > 7:
            raise agencies.InvalidAgency("rate limit")
        new = agencies.create(
            session, form.get("name", ""), form.get("purpose", ""), scope, actor(), int(rate)
        )
    except agencies.InvalidAgency:
        return agencies_page(400, str(MESSAGES["agency"]), **kept)
    stay_on(url_for("console_admin.agencies_list"))
    return render_template("staff/agency_key.html", agency=new.agency, key=new.key)


@bp.post("/agencies/<int:agency_id>/rotate")
@require_staff("manage_agencies")
def agency_rotate(agency_id: int) -> str:
    """Give an agency a new key (the old one stops at once) and show it once."""
    session = db.session()
    agency = agency_or_404(agency_id)
    key = agencies.rotate_key(session, agency, actor())
    stay_on(url_for("console_admin.agencies_list"))
    return render_template("staff/agency_key.html", agency=agency, key=key)


@bp.post("/agencies/<int:agency_id>/<any(disable, enable):change>")
@require_staff("manage_agencies")
def agency_set_active(agency_id: int, change: str) -> BaseResponse:
    """Disable an agency (its key is refused from the next request on) or enable it again."""
    session = db.session()
    agency = agency_or_404(agency_id)
    if agency.active != (change == "enable"):
        agencies.set_active(session, agency, change == "enable", actor())
    return redirect(url_for("console_admin.agencies_list", done=f"agency-{change}"))


def keys_page(status: int = 200, error: str | None = None) -> tuple[str, int]:
    page = render_template(
        "staff/keys.html",
        keys=signing.list_keys(),
        error=error,
        done=DONE.get(request.args.get("done", "")),
        rotated=request.args.get("rotated", "")[:64],
    )
    return page, status


@bp.get("/keys")
@require_staff("read")
def keys_list() -> tuple[str, int]:
    """List the signing keys and their state."""
    return keys_page()


@bp.post("/keys/rotate")
@require_staff("manage_keys")
def key_rotate() -> BaseResponse:
    """Rotate the signing key; the older keys keep verifying until retired."""
    kid = signing_keys.rotate(actor())
    return redirect(url_for("console_admin.keys_list", rotated=kid))


def known_kid(kid: str) -> str:
    if kid not in {info.kid for info in signing.list_keys()}:
        raise NotFound()
    return kid


@bp.get("/keys/<kid>/retire")
@require_staff("manage_keys")
def key_retire_confirm(kid: str) -> str:
    """Ask for confirmation before retiring a key."""
    return render_template("staff/key_retire.html", kid=known_kid(kid))


@bp.post("/keys/<kid>/retire")
@require_staff("manage_keys")
def key_retire(kid: str) -> tuple[str, int] | BaseResponse:
    """Retire a key once confirmed: it leaves the JWKS and its tokens stop verifying."""
    known_kid(kid)
    if request.form.get("confirm") != "yes":
        page = render_template("staff/key_retire.html", kid=kid, error=MESSAGES["confirm"])
        return page, 400
    try:
        signing_keys.retire(kid, actor())
    except signing.KeyRefused as refused:
        return keys_page(status_of(refused), message_of(refused))
    return redirect(url_for("console_admin.keys_list", done="key-retire"))


@bp.get("/audit")
@require_staff("read")
def audit_log() -> tuple[str, int]:
    """Read the audit log, filtered, newest first, in pages."""
    before = inputs.whole_number(request.args.get("before", ""))
    stored = db.session().scalars(select(AuditEvent.action).distinct())
    # Every action the log can hold, and any older one it holds, named in the reader's language.
    actions = sorted(
        {*audit_words.ACTION_NAMES, *stored}, key=lambda a: audit_words.action_name(a).lower()
    )
    try:
        filters = search.parse_filters(request.args)
    except ValueError:
        page = render_template(
            "staff/audit.html", events=[], filters=search.AuditFilters(), args=request.args,
            actions=actions, error=MESSAGES["dates"], more=None, words=audit_words,
        )  # fmt: skip
        return page, 400
    found = search.audit_events(filters, before)
    more = found[-1].id if len(found) == search.PAGE else None
    page = render_template(
        "staff/audit.html", events=found, filters=filters, args=request.args,
        actions=actions, error=None, more=more, words=audit_words,
    )  # fmt: skip
    return page, 200


@bp.get("/audit.csv")
@require_staff("read")
def audit_csv() -> Response | tuple[str, int]:
    """Download the audit log as the page filters it (newest first, at most EXPORT_LIMIT rows)."""
    try:
        filters = search.parse_filters(request.args)
    except ValueError:
        return audit_log()  # the page, with its 400 and the words on the dates
    found = search.audit_events(filters, None, search.EXPORT_LIMIT + 1)
    header = [_("Number"), _("When (UTC)"), _("Actor"), _("Action"), _("Action (key)"),
              _("Subject"), _("Details")]  # fmt: skip
    rows: list[list[object]] = [
        [event.id, api_time(event.at), audit_words.party_name(event.actor),
         audit_words.action_name(event.action), event.action,
         audit_words.party_name(event.subject), audit_words.detail_text(event.details)]
        for event in found[: search.EXPORT_LIMIT]
    ]  # fmt: skip
    if len(found) > search.EXPORT_LIMIT:
        rows.append([exports.more_rows_note(search.EXPORT_LIMIT)])
    return exports.csv_response("audit-log.csv", header, rows)


def staff_page(status: int = 200, error: str | None = None, **form: Any) -> tuple[str, int]:
    users = db.session().scalars(select(StaffUser).order_by(StaffUser.username)).all()
    page = render_template(
        "staff/staff.html",
        users=users,
        roles=staff.ROLES,
        error=error,
        done=DONE.get(request.args.get("done", "")),
        form=form,
    )
    return page, status


@bp.get("/staff")
@require_staff("manage_staff")
def staff_list() -> tuple[str, int]:
    """List the staff users."""
    return staff_page()


@bp.post("/staff")
@require_staff("manage_staff")
def staff_create() -> tuple[str, int] | str:
    """Create a staff user; show the one-time password and the TOTP URI once."""
    session = db.session()
    username, role = request.form.get("username", ""), request.form.get("role", "")
    try:
        new = staff.create(session, username, role, actor())
    except staff.StaffRefused:
        return staff_page(400, str(MESSAGES["staff"]), username=username[:64], role=role)
    stay_on(url_for("console_admin.staff_list"))
    return render_template(
        "staff/staff_created.html", user=new.user, password=new.password, uri=new.totp_uri
    )


@bp.post("/staff/<int:staff_id>/disable")
@require_staff("manage_staff")
def staff_disable(staff_id: int) -> tuple[str, int] | BaseResponse:
    """Disable a staff user: their session stops at their next request."""
    session = db.session()
    user = session.get(StaffUser, staff_id)
    if user is None:
        raise NotFound()
    me = current_staff()
    if me is not None and me.id == user.id:
        return staff_page(400, str(MESSAGES["self"]))
    staff.set_active(session, user, False, actor())
    return redirect(url_for("console_admin.staff_list", done="staff-disable"))


def document_types_page(
    status: int = 200, error: str | None = None, **form: Any
) -> tuple[str, int]:
    page = render_template(
        "staff/document_types.html",
        types=document_types.list_types(db.session()),
        error=error,
        done=DONE.get(request.args.get("done", "")),
        form=form,
    )
    return page, status


@bp.get("/document-types")
@require_staff("read")
def document_types_list() -> tuple[str, int]:
    """List the kinds of document the agency issues."""
    return document_types_page()


@bp.post("/document-types")
@require_staff("manage_document_types")
def document_type_add() -> tuple[str, int] | BaseResponse:
    """Add a kind of document, labelled in Arabic and English."""
    form = request.form
    kept = {name: form.get(name, "")[:80] for name in ("key", "label_ar", "label_en")}
    session = db.session()
    try:
        document_types.add(session, kept["key"], form.get("label_ar", ""),
                           form.get("label_en", ""), actor())  # fmt: skip
    except document_types.DocumentTypeRefused as refused:
        message = message_of(refused, str(MESSAGES["document-type"]))
        return document_types_page(status_of(refused), message, **kept)
    return redirect(url_for("console_admin.document_types_list", done="document-type-add"))
