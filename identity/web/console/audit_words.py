"""The audit log in words: each action, actor, subject and detail named in the reader's language.

One table, used by the audit page, its filter and its CSV export. Every action of
identity.audit.actions.ACTIONS has a name here (a test checks it); a key or a value not named
here is shown as it is stored, never as raw JSON.
"""

import json
from typing import Any

from flask_babel import LazyString
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape

ACTION_NAMES: dict[str, LazyString] = {
    "beneficiary.create": _l("Beneficiary added to the register"),
    "beneficiary.update": _l("Beneficiary's record changed"),
    "otp.sent": _l("Sign-in code sent by SMS"),
    "otp.send_refused": _l("Sign-in code refused by the SMS provider"),
    "otp.send_failed": _l("Sign-in code could not be sent"),
    "login.success": _l("Beneficiary signed in"),
    "login.failure": _l("Wrong sign-in code"),
    "login.locked": _l("Beneficiary's sign-in locked for a while"),
    "credential.issue": _l("Digital ID issued"),
    "credential.issue_bulk": _l("Digital IDs issued in bulk"),
    "credential.revoke": _l("Digital ID revoked"),
    "credential.suspend": _l("Digital ID suspended"),
    "credential.reinstate": _l("Digital ID reinstated"),
    "key.rotate": _l("New signing key"),
    "key.retire": _l("Signing key retired"),
    "document.issue": _l("Document issued"),
    "document.revoke": _l("Document revoked"),
    "document.supersede": _l("Document replaced by a new one"),
    "document_type.add": _l("Document type added"),
    "agency.create": _l("Agency registered"),
    "agency.rotate_key": _l("Agency given a new API key"),
    "agency.enable": _l("Agency enabled"),
    "agency.disable": _l("Agency disabled"),
    "staff.create": _l("Staff user created"),
    "staff.enable": _l("Staff user enabled"),
    "staff.disable": _l("Staff user disabled"),
    "staff.reset": _l("Staff user's password and authenticator reset"),
    "staff.password_change": _l("Staff user changed their password"),
    "staff.login": _l("Staff user signed in"),
    "staff.login_failure": _l("Failed staff sign-in"),
    "staff.locked": _l("Staff sign-in locked for a while"),
    "token.create": _l("Back-office token created"),
}

# Actors and subjects are "kind:name" ("staff:demo-admin", "beneficiary:********2596") or a
# single word ("system", "cli", "demo").
WHOLE_NAMES: dict[str, LazyString] = {
    "system": _l("The system"),
    "cli": _l("The command line"),
    "demo": _l("The demonstration loader"),
    "credentials": _l("Digital IDs"),
    "staff:?": _l("An unknown staff username"),
}
KIND_NAMES: dict[str, LazyString] = {
    "staff": _l("Staff member %(name)s"),
    "beneficiary": _l("Beneficiary %(name)s"),
    "backoffice": _l("Back-office token %(name)s"),
    "token": _l("Back-office token %(name)s"),
    "agency": _l("Agency %(name)s"),
    "credential": _l("Digital ID %(name)s"),
    "document": _l("Document %(name)s"),
    "document_type": _l("Document type %(name)s"),
    "key": _l("Signing key %(name)s"),
}

DETAIL_LABELS: dict[str, LazyString] = {
    "role": _l("Role"),
    "failures": _l("Failed attempts"),
    "seconds": _l("Locked for (seconds)"),
    "scope": _l("Scope"),
    "via": _l("Signed in with"),
    "new": _l("First sign-in"),
    "credential": _l("Digital ID"),
    "status_index": _l("Place in the status list"),
    "count": _l("Number"),
    "from": _l("Status before"),
    "to": _l("Status after"),
    "reason": _l("Reason"),
    "type": _l("Document type"),
    "by": _l("Replaced by document"),
    "status": _l("Status in the register"),
    "phone_changed": _l("Mobile number changed"),
    "label_ar": _l("Name in Arabic"),
    "label_en": _l("Name in English"),
}

VALUE_NAMES: dict[str, LazyString] = {
    "active": _l("Active"),
    "suspended": _l("Suspended"),
    "revoked": _l("Revoked"),
    "valid": _l("Valid"),
    "superseded": _l("Superseded"),
    "inactive": _l("Inactive"),
    "deceased": _l("Deceased"),
    "admin": _l("Administrator"),
    "issuer": _l("Issuer"),
    "auditor": _l("Auditor"),
    "web": _l("The website"),
    "api": _l("The app (API)"),
}
# Only these keys hold one of VALUE_NAMES; a reason or a title is shown as typed.
NAMED_VALUE_KEYS = frozenset({"from", "to", "status", "role", "via"})


def action_name(action: str) -> str:
    """Name an action in the request's language; an unknown one as stored."""
    name = ACTION_NAMES.get(action)
    return str(name) if name is not None else action


def party_name(party: str) -> str:
    """Name an actor or a subject: "staff:demo-admin" is "Staff member demo-admin"."""
    whole = WHOLE_NAMES.get(party)
    if whole is not None:
        return str(whole)
    kind, sep, name = party.partition(":")
    pattern = KIND_NAMES.get(kind)
    if not sep or pattern is None or not name:
        return party
    return str(pattern) % {"name": name}


def party_markup(party: str) -> Markup:
    """party_name for a page: the name (a username, a masked number, an id) kept left to right
    inside an Arabic sentence, so "issuer-95d5" is not drawn "95d5 -issuer"."""
    whole = WHOLE_NAMES.get(party)
    kind, sep, name = party.partition(":")
    pattern = KIND_NAMES.get(kind)
    if whole is not None or not sep or pattern is None or not name:
        return Markup('<bdi dir="auto">%s</bdi>') % party_name(party)
    isolated = Markup('<bdi dir="ltr">%s</bdi>') % name
    return escape(str(pattern)).replace("%(name)s", isolated)


def _value_words(key: str, value: Any) -> str:
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if value is None:
        return "—"
    if isinstance(value, str):
        named = VALUE_NAMES.get(value) if key in NAMED_VALUE_KEYS else None
        return str(named) if named is not None else value
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list):
        return ", ".join(_value_words(key, item) for item in value)
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_value_words(k, v)}" for k, v in value.items())
    return str(value)


def detail_words(details: str) -> list[tuple[str, str]]:
    """Return an event's details as (label, value) pairs in the request's language."""
    try:
        parsed = json.loads(details) if details else {}
    except ValueError:
        return [("", details)]
    if not isinstance(parsed, dict):
        return [("", _value_words("", parsed))]
    words = []
    for key, value in parsed.items():
        label = DETAIL_LABELS.get(key)
        words.append((str(label) if label is not None else key, _value_words(key, value)))
    return words


def detail_text(details: str) -> str:
    """The details as one line of words, for a CSV cell."""
    return "; ".join(
        f"{label}: {value}" if label else value for label, value in detail_words(details)
    )
