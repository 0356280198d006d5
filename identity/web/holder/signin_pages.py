"""The beneficiary's pages: sign in with civil ID, file number and SMS code; sign out."""

import logging
from typing import Any

from flask import Blueprint, Response, current_app, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response as BaseResponse

from identity.errors import Refused, ServiceUnavailable
from identity.models import Beneficiary
from identity.signin import accounts, otp, sessions
from identity.store import StoreUnavailable
from identity.web.holder.guards import current_holder, signed_in
from identity.web.i18n import stay_on
from identity.web.refusals import message_of, status_of

bp = Blueprint("login", __name__)
log = logging.getLogger(__name__)

# The form's hint, shown for bad input and any refusal the table has no sentence for; the
# sentences of the sign-in refusals themselves are in identity.web.refusals.MESSAGES.
HINT = _l("Check your civil ID (12 digits) and your file number.")
# The sign-in under way, kept for the code page only: not in its address (nor the history),
# so a language switch or a reload of /login/code finds the same code form.
PENDING_COOKIE = "__Host-hawiya-signin"


def header_holder() -> Beneficiary | None:
    """Return the signed-in beneficiary for the page's header (nobody if the store is out)."""
    try:
        holder = current_holder()
    except StoreUnavailable:
        return None
    return None if holder is None else accounts.holder(holder.beneficiary_id)


@bp.app_context_processor
def header_globals() -> dict[str, Any]:
    return {"header_holder": header_holder}


def with_pending(page: str, txn: str, status: int = 200) -> Response:
    """Answer the code page and remember its sign-in for GET /login/code."""
    response = current_app.make_response((page, status))
    if not otp.TXN.fullmatch(txn):
        return response
    options = sessions.cookie_options()
    response.set_cookie(PENDING_COOKIE, txn, current_app.config["OTP_TTL"], **options)  # type: ignore[arg-type]
    return response


def refusal(caught: Refused | StoreUnavailable) -> Refused:
    """Return the refusal to show; Redis out of reach is "busy, try again in a minute"."""
    if isinstance(caught, Refused):
        return caught
    log.error("sign-in refused: the store (Redis) is unreachable")
    return ServiceUnavailable(retry_after=30)


def explain(error: Refused) -> str:
    """Return the message for a refusal in the page's language."""
    return message_of(error, str(HINT))


@bp.get("/login")
def start() -> str | BaseResponse:
    """Ask for civil ID and file number."""
    if current_holder() is not None:
        return redirect(url_for("login.me"))
    return render_template("holder/login.html")


@bp.post("/login")
def send_code() -> tuple[str, int] | Response:
    """Start the sign-in; the page is the same whether or not the register matched."""
    form = request.form
    try:
        txn = otp.start(form.get("civil_id"), form.get("file_number"), request.remote_addr or "")
        pending = otp.pending(txn)
    except (Refused, StoreUnavailable) as caught:
        error = refusal(caught)
        page = render_template(
            "holder/login.html",
            error=explain(error),
            civil_id=form.get("civil_id", "")[:32],
            file_number=form.get("file_number", "")[:32],
        )
        return page, status_of(error)
    stay_on(url_for("login.code_page"))
    return with_pending(code_form(pending), txn)


def code_form(pending: otp.Pending | None, error: str | None = None) -> str:
    """Render the code page of a sign-in under way, or the "start again" page without one."""
    cooldown = current_app.config["OTP_RESEND_COOLDOWN"]
    return render_template(
        "holder/login_code.html",
        txn=pending.txn if pending else "",
        asked_again=bool(pending and pending.asked_again),
        cooldown_minutes=max(1, -(-cooldown // 60)),
        error=error,
    )


@bp.get("/login/code")
def code_page() -> str | tuple[str, int] | BaseResponse:
    """Show the code form again for the sign-in under way, or say to start again."""
    if current_holder() is not None:
        return redirect(url_for("login.me"))
    try:
        pending = otp.pending(request.cookies.get(PENDING_COOKIE, ""))
    except StoreUnavailable as caught:
        error = refusal(caught)
        return code_form(None, error=explain(error)), status_of(error)
    return code_form(pending)


@bp.post("/login/code")
def check_code() -> Response | BaseResponse:
    """Check the code; on success start a new session and go to the beneficiary's page."""
    txn = request.form.get("txn", "") or request.cookies.get(PENDING_COOKIE, "")
    try:
        who = otp.verify(txn, request.form.get("code"), request.remote_addr or "")
    except (Refused, StoreUnavailable) as caught:
        error = refusal(caught)
        page = render_template("holder/login_code.html", txn=txn[:64], error=explain(error))
        return with_pending(page, txn[:64], status_of(error))
    # A new token at every sign-in: a session id planted before sign-in is worth nothing.
    sessions.destroy(request.cookies.get(sessions.COOKIE))
    token = accounts.sign_in(who, sessions.WEB)
    response = redirect(url_for("login.me"))
    response.set_cookie(sessions.COOKIE, token, **sessions.cookie_options())  # type: ignore[arg-type]
    response.delete_cookie(PENDING_COOKIE, **sessions.cookie_options())  # type: ignore[arg-type]
    return response


@bp.post("/logout")
def logout() -> BaseResponse:
    """End the session here and in the store."""
    sessions.destroy(request.cookies.get(sessions.COOKIE))
    response: Response = redirect(url_for("home.index"))  # type: ignore[assignment]
    response.delete_cookie(sessions.COOKIE, **sessions.cookie_options())  # type: ignore[arg-type]
    return response


@bp.get("/me")
@signed_in
def me() -> str:
    """Show who is signed in."""
    holder = current_holder()
    assert holder is not None
    return render_template("holder/me.html", person=accounts.holder(holder.beneficiary_id))
