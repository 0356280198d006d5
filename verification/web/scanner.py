"""The scanner at /scan: a camera decoding QR codes in the browser, and a photo upload decoded here.

Only our own verification URLs are followed (`<PUBLIC_URL>/v/<token>`, `<PUBLIC_URL>/d/<reference>`,
or the same paths on the page's own origin), and always to the path on this site: a QR code can
never send the verifier to another site. `static/scan.js` applies the same rule in the browser.
"""

import logging
from urllib.parse import urlsplit

from flask import Blueprint, current_app, make_response, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Response as BaseResponse

from identity import ratelimit
from identity.errors import TooManyRequests
from identity.web.refusals import MESSAGES, STATUS
from verification import photos
from verification.checks import parse_qr

log = logging.getLogger(__name__)

bp = Blueprint("scanner", __name__)

FORM_OVERHEAD = 64 * 1024  # room for the multipart framing and the CSRF field
UPLOADS_PER_CLIENT, WINDOW = 30, 300

PATH_LETTER = {"id_card": "v", "document": "d"}  # the path on this site of each kind of code

# What the page says when there is nothing to check (no file, no code, not ours, too often):
# hints of this page, not refusals. A refused photo (verification.photos.Refused) is said, with
# its status, by the one table of refusals, identity.web.refusals.
HINTS = {
    "missing": _l("Choose a photo of the QR code to upload."),
    "no-qr": _l(
        "No QR code was found in this photo. Take a sharp photo with the whole code in view "
        "and try again."
    ),
    "foreign": _l("This QR code is not a Hawiya verification code."),
    "too-many": _l("Too many attempts. Wait a while and try again."),
}


def local_path(text: str, public_url: str, here: str) -> str | None:
    """Return the path on this site of a scanned text that is one of our verification URLs.

    `public_url` is the configured PUBLIC_URL and `here` the URL this app is served at (scheme,
    host and script root); a text on either of them with the path `/v/<token>` or
    `/d/<reference>` is ours (checks.parse_qr, the rule of the agency API too). Anything else
    (another site, another path, a control character inside) gives None.
    """
    found = parse_qr(text, (public_url, here), urls_only=True)
    if found is None:
        return None
    kind, value = found
    return f"{urlsplit(here).path.rstrip('/')}/{PATH_LETTER[kind]}/{value}"


def page(error: str | None = None, status: int = 200) -> tuple[str, int]:
    """Render the scanner page, with the message for `error` if any."""
    message = str(HINTS.get(error) or MESSAGES[error]) if error else None
    # The page to type a document's number and code, once that blueprint is there.
    lookup = "pages.lookup_form"
    html = render_template(
        "verify/scan.html",
        error=message,
        public_url=current_app.config["PUBLIC_URL"],
        max_upload=photos.MAX_UPLOAD,
        lookup_url=url_for(lookup) if lookup in current_app.view_functions else None,
    )
    return html, status


@bp.url_value_preprocessor
def limit_upload(_endpoint: str | None, _values: dict[str, object] | None) -> None:
    """Cap the body of an upload before anything reads it (this runs before the CSRF check)."""
    if request.method == "POST":
        request.max_content_length = photos.MAX_UPLOAD + FORM_OVERHEAD


@bp.errorhandler(RequestEntityTooLarge)
def too_large(_error: RequestEntityTooLarge) -> tuple[str, int]:
    """Answer an oversized upload with the page and its message."""
    return page("too-large", 413)


@bp.get("/scan")
def scanner() -> tuple[str, int]:
    """Show the camera scanner, with the photo upload beneath it."""
    return page()


@bp.post("/scan")
def upload() -> tuple[str, int] | BaseResponse:
    """Read the QR code in an uploaded photo and open its check on this site."""
    try:
        ratelimit.hit(f"scan-upload:{request.remote_addr}", UPLOADS_PER_CLIENT, WINDOW)
    except TooManyRequests as limited:
        response = make_response(page("too-many", STATUS[limited.code]))
        response.headers["Retry-After"] = str(limited.retry_after)
        return response
    upload = request.files.get("image")
    if upload is None or not upload.filename:
        return page("missing", 400)
    try:
        texts = photos.read_qr_texts(upload)
    except photos.Refused as refused:
        return page(refused.code, STATUS.get(refused.code, 400))
    if not texts:
        return page("no-qr", 400)
    here = request.url_root
    for text in texts:
        path = local_path(text, current_app.config["PUBLIC_URL"], here)
        if path is not None:
            return redirect(path, 303)
    return page("foreign", 400)
