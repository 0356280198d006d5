"""The staff console: sign-in, dashboard, beneficiaries, their digital IDs and documents.

Every view is guarded by `require_staff(permission)` and calls the same service functions as
the back-office API and the CLI. The staff user is read from the database on every request,
so disabling someone takes effect at their next request on every instance.
"""

import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import wraps
from typing import Any

from flask import Blueprint, Response, g, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, func, or_, select
from werkzeug.wrappers import Response as BaseResponse

from identity import civil_id, clock, db
from identity.access import staff
from identity.audit import verifications
from identity.digital_id import credentials
from identity.documents import document_types, documents, stamp
from identity.errors import Forbidden, NotFound, Unauthorized
from identity.models import (
    AuditEvent,
    Beneficiary,
    Credential,
    Document,
    StaffUser,
    VerificationEvent,
)
from identity.signin import sessions
from identity.web import exports
from identity.web.http import pdf_response
from identity.web.i18n import stay_on
from identity.web.refusals import message_of, status_of

bp = Blueprint("console", __name__, url_prefix="/staff")
SEARCH_LIMIT = 50
DASHBOARD_DAYS = 14
FAILED_SIGN_INS = ("login.failure", "staff.login_failure")

# Hints about this page's forms, in the staff user's language: what to fill in, shown for bad
# input ("invalid-input" and the like). What a refusal code itself says is in
# identity.web.refusals.MESSAGES, with its status.
MESSAGES = {
    "reason": _l("Give a reason of 3 to 200 characters, on one line, without control characters."),
    "document-fields": _l("Choose a type, and give a title and an office of 2 characters or more."),
    "no-file": _l("Choose the PDF to upload."),
    "confirm": _l("Tick the box to confirm: revoking cannot be undone."),
}
DONE = {
    "revoke": _l("The digital ID was revoked."),
    "suspend": _l("The digital ID was suspended."),
    "reinstate": _l("The digital ID was reinstated."),
    "document-revoke": _l("The document was revoked."),
}
PASSWORD_PAGES = ("console.password", "console.change_password")

# Names of the values the console shows, in the page's language.
LABELS: dict[str, dict[str, Any]] = {
    "role_names": {"admin": _l("Administrator"), "issuer": _l("Issuer"), "auditor": _l("Auditor")},
    "status_names": {
        "active": _l("Active"), "suspended": _l("Suspended"), "inactive": _l("Inactive"),
        "deceased": _l("Deceased"), "revoked": _l("Revoked"), "valid": _l("Valid"),
        "superseded": _l("Superseded"),
    },
    "result_names": {
        "valid": _l("Valid"), "revoked": _l("Revoked"), "suspended": _l("Suspended"),
        "expired": _l("Expired"), "invalid": _l("Not genuine"), "not_found": _l("Not found"),
    },
    "scope_names": {
        "name": _l("Name"), "civil_id": _l("Civil ID"), "file_number": _l("File number"),
        "phone": _l("Mobile number"), "status": _l("Status"), "category": _l("Category"),
    },
    "key_states": {"active": _l("Signs now"), "verify-only": _l("Verifies only"),
                   "retired": _l("Retired")},
}  # fmt: skip


def current_staff() -> StaffUser | None:
    """Return the signed-in, still active staff user of this request, if any."""
    if "staff_user" not in g:
        g.staff_user = None
        token = request.cookies.get(sessions.STAFF_COOKIE)
        found = sessions.load_staff(token)
        if found is not None:
            user = db.session().get(StaffUser, found.staff_id)
            if (
                user is not None
                and user.active
                and hmac.compare_digest(found.credentials, staff.credentials_stamp(user))
            ):
                g.staff_user = user
            else:
                # Disabled, deleted, or signed in with a password or TOTP secret since replaced:
                # the session ends here.
                sessions.destroy_staff(token)
    user_or_none: StaffUser | None = g.staff_user
    return user_or_none


def actor() -> str:
    """Return the audit actor of the signed-in staff user."""
    user = current_staff()
    assert user is not None
    return staff.subject(user.username)


def require_staff(permission: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Let only signed-in staff whose role holds `permission` through."""
    if not any(permission in granted for granted in staff.PERMISSIONS.values()):
        raise ValueError(f"unknown permission {permission!r}")

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            user = current_staff()
            if user is None:
                if request.method == "GET":
                    return redirect(url_for("console.login", next=request.full_path.rstrip("?")))
                raise Unauthorized()
            if user.must_change_password and request.endpoint not in PASSWORD_PAGES:
                # The printed password works once: nothing else until its owner chose their own.
                return redirect(url_for("console.password"))
            if not staff.can(user.role, permission):
                raise Forbidden()
            return view(*args, **kwargs)

        return wrapper

    return decorator


# A local path inside the console, in printable ASCII without space or backslash: never another
# site ("//evil", a backslash, "https://…"), nothing that would split the Location header (CR, LF).
LOCAL_NEXT = re.compile(r"/staff/[!-\[\]-~]*")


def _safe_next(target: str | None) -> str:
    """Return target if it is a local console path to go back to, else the dashboard."""
    if isinstance(target, str) and LOCAL_NEXT.fullmatch(target) and "//" not in target:
        return target
    return url_for("console.dashboard")


@bp.app_context_processor
def staff_globals() -> dict[str, Any]:
    return {"staff_user": current_staff, "staff_can": staff.can, **LABELS}


@bp.get("/login")
def login() -> str | BaseResponse:
    """Ask for username, password and the authenticator code."""
    if current_staff() is not None:
        return redirect(url_for("console.dashboard"))
    return render_template("staff/login.html", next=request.args.get("next", "")[:200])


@bp.post("/login")
def sign_in() -> tuple[str, int] | BaseResponse:
    """Check the three factors; on success start a new staff session."""
    form = request.form
    try:
        user = staff.authenticate(
            form.get("username"), form.get("password"), form.get("code"), request.remote_addr or ""
        )
    except staff.SignInRefused as refused:
        page = render_template(
            "staff/login.html",
            error=message_of(refused),
            username=form.get("username", "")[:64],
            next=form.get("next", "")[:200],
        )
        return page, status_of(refused)
    return _new_session(user, redirect(_safe_next(form.get("next"))))


def _new_session(user: StaffUser, response: BaseResponse) -> BaseResponse:
    """End this browser's staff session, start a new one for user and set it on response."""
    # A new token at every sign-in and password change: a planted session id is worth nothing.
    sessions.destroy_staff(request.cookies.get(sessions.STAFF_COOKIE))
    token = sessions.create_staff(user.id, staff.credentials_stamp(user))
    response.set_cookie(sessions.STAFF_COOKIE, token, **sessions.staff_cookie_options())  # type: ignore[arg-type]
    return response


@bp.post("/logout")
def logout() -> BaseResponse:
    """End the staff session here and in the store."""
    sessions.destroy_staff(request.cookies.get(sessions.STAFF_COOKIE))
    response: Response = redirect(url_for("console.login"))  # type: ignore[assignment]
    response.delete_cookie(sessions.STAFF_COOKIE, **sessions.staff_cookie_options())  # type: ignore[arg-type]
    return response


@bp.get("/password")
@require_staff("read")
def password() -> str:
    """Ask for a new password (at first sign-in, in place of the printed one)."""
    return render_template("staff/password.html")


@bp.post("/password")
@require_staff("read")
def change_password() -> tuple[str, int] | BaseResponse:
    """Replace the password; every other session of the user ends, this one is renewed."""
    user = current_staff()
    assert user is not None
    session = db.session()
    form = request.form
    try:
        staff.change_password(
            session, user, form.get("current"), form.get("new"), form.get("repeat")
        )
    except staff.StaffRefused as refused:
        return render_template("staff/password.html", error=message_of(refused)), 400
    return _new_session(user, redirect(url_for("console.dashboard")))


@dataclass(frozen=True)
class Figures:
    """What the dashboard shows."""

    beneficiaries: int
    active_ids: int
    failed_sign_ins_today: int
    per_day: list[tuple[date, int]]


def figures(today: date) -> Figures:
    """Count the register, the active IDs, today's failed sign-ins and recent verifications.

    Days are the agency's calendar days (HAWIYA_TIMEZONE), as the dashboard shows them.
    """
    session = db.session()
    days = [today - timedelta(days=DASHBOARD_DAYS - 1 - i) for i in range(DASHBOARD_DAYS)]
    bounds = [(clock.day_start(d), clock.day_end(d)) for d in days]
    # One pass over the window: a count per local day (a day may be 23 or 25 hours long).
    at = VerificationEvent.at
    counted = [func.sum(case((and_(at >= start, at < end), 1), else_=0)) for start, end in bounds]
    per_day = session.execute(select(*counted).where(at >= bounds[0][0], at < bounds[-1][1])).one()
    midnight, _ = bounds[-1]
    return Figures(
        beneficiaries=session.scalar(select(func.count(Beneficiary.id))) or 0,
        active_ids=session.scalar(
            select(func.count(Credential.status_index)).where(Credential.status == "active")
        )
        or 0,
        failed_sign_ins_today=session.scalar(
            select(func.count(AuditEvent.id)).where(
                AuditEvent.action.in_(FAILED_SIGN_INS), AuditEvent.at >= midnight
            )
        )
        or 0,
        per_day=[(d, int(n or 0)) for d, n in zip(days, per_day, strict=True)],
    )


@bp.get("/")
@require_staff("read")
def dashboard() -> str:
    """Show the figures of the day."""
    shown = figures(clock.today())
    peak = max((n for _d, n in shown.per_day), default=0)
    return render_template("staff/dashboard.html", figures=shown, peak=peak)


CIVIL_ID_DIGITS = 12
SEARCH_MIN_DIGITS = 4  # fewer digits of a civil ID would match too many people to be of use


@dataclass(frozen=True)
class Found:
    """What a search found: at most SEARCH_LIMIT people, whether there were more, and a hint."""

    people: list[Beneficiary]
    more: bool
    too_short: bool = False


def search(query: str) -> Found:
    """Find beneficiaries by civil ID (all 12 digits, its first digits or its last four), file
    number or part of a name, SEARCH_LIMIT at most (one more is read to say there are more).

    Every civil-ID condition uses an index on PostgreSQL and SQLite: the whole number and a
    prefix (a range) the unique index of civil_id, the last four the expression index of
    migration 0009.
    """
    query = query.strip()[:120]
    if not query:
        return Found([], False)
    statement = select(Beneficiary).order_by(Beneficiary.full_name_en).limit(SEARCH_LIMIT + 1)
    too_short = False
    try:
        canonical = civil_id.parse(query)
    except civil_id.InvalidCivilId:
        digits = civil_id.normalize_digits(query)
        conditions = [Beneficiary.file_number == digits]
        compact = digits.replace(" ", "").replace("-", "")
        if compact.isascii() and compact.isdigit():
            digits = compact
            if SEARCH_MIN_DIGITS <= len(digits) <= CIVIL_ID_DIGITS:
                highest = digits + "9" * (CIVIL_ID_DIGITS - len(digits))
                conditions.append(Beneficiary.civil_id.between(digits, highest))
                if len(digits) == SEARCH_MIN_DIGITS:
                    conditions.append(func.substr(Beneficiary.civil_id, 9, 4) == digits)
            too_short = len(digits) < SEARCH_MIN_DIGITS
        elif len(query) >= 2:
            for column in (Beneficiary.full_name_ar, Beneficiary.full_name_en):
                conditions.append(func.lower(column).contains(query.lower(), autoescape=True))
        statement = statement.where(or_(*conditions))
    else:
        statement = statement.where(Beneficiary.civil_id == canonical)
    people = list(db.session().scalars(statement))
    return Found(people[:SEARCH_LIMIT], len(people) > SEARCH_LIMIT, too_short)


@bp.get("/search")
@require_staff("read")
def search_page() -> str:
    """Search the register."""
    query = request.args.get("q", "")
    found = search(query) if query.strip() else None
    return render_template(
        "staff/search.html", q=query[:120], found=found, limit=SEARCH_LIMIT,
        min_digits=SEARCH_MIN_DIGITS, mask=civil_id.mask,
    )  # fmt: skip


def beneficiary_or_404(beneficiary_id: int) -> Beneficiary:
    person = db.session().get(Beneficiary, beneficiary_id)
    if person is None:
        raise NotFound()
    return person


def beneficiary_page(
    person: Beneficiary, status: int = 200, error: str | None = None, **extra: Any
) -> tuple[str, int]:
    """Render a beneficiary's page: record, digital ID, documents, recent checks."""
    stay_on(url_for("console.beneficiary", beneficiary_id=person.id))  # after a POST too
    session = db.session()
    page = render_template(
        "staff/beneficiary.html",
        person=person,
        masked=civil_id.mask(person.civil_id),
        credential=credentials.current(session, person.id),
        documents=documents.for_beneficiary(session, person.id),
        checks=verifications.history(person.id),
        document_types=document_types.list_types(session),
        error=error,
        done=DONE.get(request.args.get("done", "")),
        **extra,
    )
    return page, status


@bp.get("/beneficiaries/<int:beneficiary_id>")
@require_staff("read")
def beneficiary(beneficiary_id: int) -> tuple[str, int]:
    """Show one beneficiary."""
    return beneficiary_page(beneficiary_or_404(beneficiary_id))


def credential_or_404(credential_id: str) -> Credential:
    credential = credentials.by_id(db.session(), credential_id)
    if credential is None:
        raise NotFound()
    return credential


def revoke_page(
    person: Beneficiary,
    action: str,
    document: Document | None = None,
    status: int = 200,
    error: str | None = None,
    reason: str = "",
) -> tuple[str, int]:
    """The page that asks, before a revoke, whether the staff user means it: it is for good."""
    page = render_template(
        "staff/revoke.html", person=person, masked=civil_id.mask(person.civil_id),
        document=document, action=action, error=error, reason=reason[:200],
    )  # fmt: skip
    return page, status


@bp.get("/credentials/<credential_id>/revoke")
@require_staff("revoke")
def credential_revoke_confirm(credential_id: str) -> tuple[str, int]:
    """Ask for confirmation before revoking a digital ID: it cannot be undone."""
    credential = credential_or_404(credential_id)
    person = beneficiary_or_404(credential.beneficiary_id)
    action = url_for("console.change_credential", credential_id=credential.id, action="revoke")
    return revoke_page(person, action)


@bp.get("/beneficiaries/<int:beneficiary_id>/verifications.csv")
@require_staff("read")
def verifications_csv(beneficiary_id: int) -> Response:
    """Download every check of a beneficiary's ID and documents (at most EXPORT_LIMIT rows)."""
    person = beneficiary_or_404(beneficiary_id)
    limit = verifications.EXPORT_LIMIT
    found = verifications.history(person.id, limit=limit + 1)
    rows = exports.verification_rows(found, public=False, limit=limit)
    filename = f"verifications-{person.id}.csv"
    return exports.csv_response(filename, exports.verification_header(), rows)


@bp.post("/credentials/<credential_id>/<any(revoke, suspend, reinstate):action>")
@require_staff("revoke")
def change_credential(credential_id: str, action: str) -> tuple[str, int] | BaseResponse:
    """Revoke (once confirmed), suspend or reinstate a digital ID with a mandatory reason."""
    session = db.session()
    credential = credential_or_404(credential_id)
    reason = request.form.get("reason", "")
    person = beneficiary_or_404(credential.beneficiary_id)
    if action == "revoke" and request.form.get("confirm") != "yes":
        return revoke_page(person, request.path, None, 400, str(MESSAGES["confirm"]), reason)
    try:
        credentials.change_status(session, credential, action, reason, actor())
    except credentials.StatusRefused as refused:
        message = message_of(refused, str(MESSAGES["reason"]))
        if action == "revoke":
            return revoke_page(person, request.path, None, status_of(refused), message, reason)
        return beneficiary_page(person, status_of(refused), message, reason=reason)
    return redirect(
        url_for("console.beneficiary", beneficiary_id=credential.beneficiary_id, done=action)
    )


@bp.post("/beneficiaries/<int:beneficiary_id>/documents")
@require_staff("issue")
def issue_document(beneficiary_id: int) -> tuple[str, int] | str:
    """Stamp and register an uploaded PDF; show its number and code once."""
    person = beneficiary_or_404(beneficiary_id)
    form = request.form
    upload = request.files.get("file")
    kept = {"doc_type": form.get("type", ""), "title": form.get("title", "")[:200],
            "office": form.get("office", "")[:120]}  # fmt: skip
    if upload is None or not upload.filename:
        return beneficiary_page(person, 400, str(MESSAGES["no-file"]), **kept)
    session = db.session()
    data = upload.read(stamp.MAX_BYTES + 1)
    try:
        issued = documents.issue(
            session, data, person, form.get("type", ""), form.get("title", ""),
            form.get("office", ""), actor(),
        )  # fmt: skip
    except stamp.PdfRefused as refused:
        return beneficiary_page(person, status_of(refused), message_of(refused), **kept)
    except documents.InvalidDocument:
        return beneficiary_page(person, 400, str(MESSAGES["document-fields"]), **kept)
    stay_on(url_for("console.beneficiary", beneficiary_id=person.id))
    return render_template(
        "staff/document_issued.html",
        person=person,
        document=issued.document,
        code=issued.code,
        url=documents.url(issued.document),
    )


def document_or_404(document_id: int) -> Document:
    document = db.session().get(Document, document_id)
    if document is None:
        raise NotFound()
    return document


@bp.get("/documents/<int:document_id>/pdf")
@require_staff("read")
def document_pdf(document_id: int) -> Response:
    """Download a document's stamped PDF."""
    return pdf_response(document_or_404(document_id))


@bp.get("/documents/<int:document_id>/revoke")
@require_staff("revoke")
def document_revoke_confirm(document_id: int) -> tuple[str, int]:
    """Ask for confirmation before revoking a document: it cannot be undone."""
    document = document_or_404(document_id)
    person = beneficiary_or_404(document.beneficiary_id)
    action = url_for("console.revoke_document", document_id=document.id)
    return revoke_page(person, action, document)


@bp.post("/documents/<int:document_id>/revoke")
@require_staff("revoke")
def revoke_document(document_id: int) -> tuple[str, int] | BaseResponse:
    """Revoke a document, once confirmed, with a mandatory reason."""
    session = db.session()
    document = document_or_404(document_id)
    person = beneficiary_or_404(document.beneficiary_id)
    reason = request.form.get("reason", "")
    if request.form.get("confirm") != "yes":
        return revoke_page(person, request.path, document, 400, str(MESSAGES["confirm"]), reason)
    try:
        documents.revoke(session, document, reason, actor())
    except documents.InvalidDocument as invalid:
        message = message_of(invalid, str(MESSAGES["reason"]))
        return revoke_page(person, request.path, document, status_of(invalid), message, reason)
    return redirect(
        url_for(
            "console.beneficiary", beneficiary_id=document.beneficiary_id, done="document-revoke"
        )
    )
