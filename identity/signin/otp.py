"""Sign-in by SMS one-time code: start (civil ID + file number) and verify (the code).

Every rule of DESIGN.md's security section lives here, as atomic operations on the store:

- a code is 6 digits from a CSPRNG, kept only as an HMAC, valid OTP_TTL seconds, single use
  (taken with an atomic get-and-delete), and burnt after MAX_TRIES wrong tries;
- LOCK_AFTER wrong codes in a row lock the civil ID for LOCK_SECONDS, and a correct code is
  refused while locked;
- one SMS per civil ID per OTP_RESEND_COOLDOWN (SET NX, so parallel starts send one code), and
  at most SMS_PER_HOUR and SMS_PER_DAY per mobile number; a start within the cooldown of the
  last one for the same civil ID is told so (`Pending.asked_again`), match or not;
- no enumeration: `start` answers with a fresh transaction id whatever the register says, and a
  transaction for a person who does not match behaves like one whose code is always wrong (its
  tries, failures and lock are counted the same way, under the civil ID that was typed). Before
  it answers, `start` does the same work either way (the limits, the lookup, the transaction);
  everything a match adds (claiming the cooldown and quotas, making the code, the SMS) is done
  by a background worker, so the answer takes the same time either way (bench signin_timing).
"""

import hashlib
import hmac
import json
import logging
import re
import secrets
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import NoReturn

from flask import Flask, current_app

from identity import civil_id as civil_ids
from identity import db, metrics, ratelimit
from identity.audit import chain
from identity.errors import Refused, ServiceUnavailable, ValidationFailed
from identity.register import fields
from identity.register.beneficiaries import find
from identity.sms import SmsFailed, SmsRefused, SmsSender, get_sender
from identity.store import Store, StoreUnavailable, get_store

log = logging.getLogger(__name__)

MAX_TRIES = 5
LOCK_AFTER = 10
LOCK_SECONDS = 15 * 60
FAILURE_MEMORY = 24 * 3600  # how long a run of failures is remembered without a success
SMS_PER_HOUR, SMS_PER_DAY = 5, 10
SMS_OUTAGE_SECONDS = 60  # after the gateway failed (not refused one number), starts answer 503
START_PER_CLIENT, VERIFY_PER_CLIENT, CLIENT_WINDOW = 30, 60, 600
TXN = re.compile(r"[A-Za-z0-9_-]{32}")
CODE = re.compile(r"[0-9]{6}")


class CodeInvalid(Refused):
    code = "code-invalid"
    message = "That code is not right. Check the SMS and try again."


class CodeExpired(Refused):
    code = "code-expired"
    message = "This code can no longer be used. Request a new code."


class AccountLocked(Refused):
    code = "account-locked"
    message = "Too many wrong codes. Sign-in is locked for 15 minutes."


class SmsUnavailable(ServiceUnavailable):
    code = "sms-unavailable"
    message = "We cannot send text messages right now. Try again in a few minutes."


@dataclass(frozen=True)
class SignedIn:
    """Whose code was right."""

    beneficiary_id: int
    civil_id: str


def _digest(civil_id: str, code: str) -> str:
    """Return the HMAC under which a code is kept: a store dump does not reveal codes."""
    key = current_app.config["SECRET_KEY"].encode("utf-8")
    return hmac.new(key, f"otp:{civil_id}:{code}".encode(), hashlib.sha256).hexdigest()


def _same_file_number(typed: str, on_record: str) -> bool:
    """Compare file numbers ignoring leading zeros and letter case, in constant time."""
    a, b = typed.lstrip("0").upper(), on_record.lstrip("0").upper()
    return hmac.compare_digest(a.encode(), b.encode())


def message(code: str) -> str:
    """Return the SMS text, in Arabic and English."""
    minutes = current_app.config["OTP_TTL"] // 60
    return (
        f"رمز الدخول إلى هوية: {code}\nصالح {minutes} دقائق. لا تشاركه مع أحد.\n"
        f"Hawiya sign-in code: {code}. Valid {minutes} minutes. Never share it."
    )


def parse_civil_id(raw: object) -> str:
    """Return the canonical civil ID, or refuse with the reason."""
    try:
        return civil_ids.parse(raw if isinstance(raw, str) else "")
    except civil_ids.InvalidCivilId as exc:
        raise ValidationFailed(exc.reason[0].upper() + exc.reason[1:] + ".") from None


def start(civil_id_raw: object, file_number_raw: object, client: str) -> str:
    """Begin a sign-in; send a code to the mobile on record if the person matches. Return txn."""
    civil_id = parse_civil_id(civil_id_raw)
    try:
        file_number = fields.file_number(
            file_number_raw if isinstance(file_number_raw, str) else ""
        )
    except fields.InvalidField as exc:
        raise ValidationFailed(exc.reason[0].upper() + exc.reason[1:] + ".") from None
    ratelimit.hit(f"start:{client}", START_PER_CLIENT, CLIENT_WINDOW)
    store = get_store()
    outage = store.ttl("sms:down")
    if outage:
        raise SmsUnavailable(retry_after=outage)
    person = find(db.session(), civil_id)
    matched = bool(
        person
        and person.status != "deceased"
        and _same_file_number(file_number, person.file_number)
    )
    ttl = current_app.config["OTP_TTL"]
    txn = secrets.token_urlsafe(24)
    # "Asked recently" is marked for every well-formed start, match or not, so the note it
    # brings ("a code was sent moments ago and still works") tells nothing about the register.
    cooldown = current_app.config["OTP_RESEND_COOLDOWN"]
    again = not store.set(f"otp:asked:{civil_id}", "1", cooldown, only_if_absent=True)
    record = {"cid": civil_id, "ok": matched, "again": again}
    store.set(f"otp:txn:{txn}", json.dumps(record), ttl)
    if person and matched:
        # Off the answer: the cooldown, quotas, code and SMS cost store round trips that a
        # non-matching start does not make, and the difference in time would tell who matched.
        queue(current_app).submit(civil_id, person.id, person.phone)
    return txn


@dataclass(frozen=True)
class Pending:
    """A sign-in under way, as its code page may show it (the same for a match or not)."""

    txn: str
    asked_again: bool  # a start for this civil ID came less than a cooldown before this one


def pending(txn: object) -> Pending | None:
    """Return the sign-in under way of this transaction id, if it may still take a code."""
    if not isinstance(txn, str) or not TXN.fullmatch(txn):
        return None
    raw = get_store().get(f"otp:txn:{txn}")
    if raw is None:
        return None
    return Pending(txn, bool(json.loads(raw).get("again")))


def _issue_code(store: Store, civil_id: str, beneficiary_id: int, phone: str) -> str | None:
    """Make and keep a new code if the cooldown and the quotas allow one; return it, or None."""
    if not _may_send(store, civil_id, phone):
        return None
    code = f"{secrets.randbelow(10**6):06d}"
    record = json.dumps({"h": _digest(civil_id, code), "b": beneficiary_id})
    store.set(f"otp:code:{civil_id}", record, current_app.config["OTP_TTL"])
    store.delete(f"otp:tries:{civil_id}")
    return code


def _may_send(store: Store, civil_id: str, phone: str) -> bool:
    """Claim the resend cooldown (atomically: one winner) and the number's SMS quotas."""
    cooldown = current_app.config["OTP_RESEND_COOLDOWN"]
    if not store.set(f"otp:cool:{civil_id}", "1", cooldown, only_if_absent=True):
        return False
    # The day counts only messages the hour allowed, so refusals do not eat the day's quota.
    if store.incr(f"sms:hour:{phone}", 3600) > SMS_PER_HOUR:
        return False
    return store.incr(f"sms:day:{phone}", 24 * 3600) <= SMS_PER_DAY


def verify(txn: object, code_raw: object, client: str) -> SignedIn:
    """Check a code for a transaction; return who signed in, or refuse and count the failure."""
    code = civil_ids.normalize_digits(code_raw.strip() if isinstance(code_raw, str) else "")
    if not CODE.fullmatch(code):
        raise ValidationFailed("The code is the 6 digits in the SMS.")
    if not isinstance(txn, str) or not TXN.fullmatch(txn):
        raise CodeExpired()
    ratelimit.hit(f"verify:{client}", VERIFY_PER_CLIENT, CLIENT_WINDOW)
    store = get_store()
    raw = store.get(f"otp:txn:{txn}")
    if raw is None:
        raise CodeExpired()
    pending = json.loads(raw)
    civil_id, matched = pending["cid"], pending["ok"]
    locked = store.ttl(f"otp:lock:{civil_id}")
    if locked:
        raise AccountLocked(retry_after=locked)
    tries = store.incr(f"otp:tries:{civil_id}", current_app.config["OTP_TTL"])
    record = store.get(f"otp:code:{civil_id}")
    if (
        matched
        and record is not None
        and tries <= MAX_TRIES
        and hmac.compare_digest(json.loads(record)["h"], _digest(civil_id, code))
    ):
        # Two requests may both get here with the right code: only one takes it.
        if store.take(f"otp:code:{civil_id}") != record:
            raise CodeExpired()
        for key in (f"otp:fails:{civil_id}", f"otp:tries:{civil_id}", f"otp:txn:{txn}"):
            store.delete(key)
        metrics.SIGN_IN.inc(event="signed_in")
        return SignedIn(json.loads(record)["b"], civil_id)
    _fail(store, civil_id, tries)


def _fail(store: Store, civil_id: str, tries: int) -> NoReturn:
    """Count a wrong code; lock after LOCK_AFTER in a row; burn the code after MAX_TRIES."""
    failures = store.incr(f"otp:fails:{civil_id}", FAILURE_MEMORY)
    metrics.SIGN_IN.inc(event="wrong_code")
    subject = chain.subject_for_civil_id(civil_id)
    with db.transaction() as session:
        chain.record(session, subject, "login.failure", subject, {"failures": failures})
        if failures >= LOCK_AFTER:
            chain.record(session, "system", "login.locked", subject, {"seconds": LOCK_SECONDS})
    if failures >= LOCK_AFTER:
        metrics.SIGN_IN.inc(event="locked")
        store.set(f"otp:lock:{civil_id}", "1", LOCK_SECONDS)
        store.delete(f"otp:fails:{civil_id}")
        store.delete(f"otp:code:{civil_id}")
        raise AccountLocked(retry_after=LOCK_SECONDS)
    if tries >= MAX_TRIES:
        store.delete(f"otp:code:{civil_id}")
        raise CodeExpired("Too many wrong tries for this code. Request a new code.")
    raise CodeInvalid()


class SmsQueue:
    """Issue and send codes from a small pool of background threads, off every answer."""

    def __init__(self, app: Flask, workers: int = 2) -> None:
        self.app = app
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sms")
        self.pending: set[Future[None]] = set()

    def submit(self, civil_id: str, beneficiary_id: int, phone: str) -> None:
        """Queue a code for a matched start; what becomes of it is audited."""
        future = self.pool.submit(
            self._run, get_sender(), get_store(), civil_id, beneficiary_id, phone
        )
        self.pending.add(future)
        future.add_done_callback(self.pending.discard)

    def _run(
        self, sender: SmsSender, store: Store, civil_id: str, beneficiary_id: int, phone: str
    ) -> None:
        with self.app.app_context():
            try:
                code = _issue_code(store, civil_id, beneficiary_id, phone)
            except StoreUnavailable:  # a background thread has no one to answer: log it
                log.error("the store (Redis) is unreachable: no code for a sign-in start")
                return
            if code is not None:
                self._send(sender, store, phone, message(code), civil_id)

    def _send(self, sender: SmsSender, store: Store, phone: str, text: str, civil_id: str) -> None:
        subject = chain.subject_for_civil_id(civil_id)
        try:
            sender.send(phone, text)
        except SmsRefused:
            # This number's error, not an outage: everyone else signs in as usual, and the
            # cooldown stays, so asking again does not hammer the gateway with it. The
            # person saw the same 202 as always; the log, the audit and the metrics tell.
            store.delete(f"otp:code:{civil_id}")
            action, event = "otp.send_refused", "code_refused"
        except SmsFailed:
            # Let the person ask again at once, and tell everyone to wait while it is down;
            # nothing is queued for later, so nothing goes out twice when it comes back.
            store.delete(f"otp:cool:{civil_id}")
            store.delete(f"otp:asked:{civil_id}")  # the next code is a new one, not "still works"
            store.delete(f"otp:code:{civil_id}")
            store.set("sms:down", "1", SMS_OUTAGE_SECONDS)
            action, event = "otp.send_failed", "code_send_failed"
        else:
            action, event = "otp.sent", "code_sent"
        metrics.SIGN_IN.inc(event=event)
        try:
            with db.transaction() as session:
                chain.record(session, "system", action, subject)
        except Exception:  # a background thread has no one to answer: log it, never die
            log.exception("could not audit %s", action)

    def drain(self, timeout: float = 10) -> None:
        """Wait for every queued message (tests and shutdown)."""
        wait(list(self.pending), timeout=timeout)


def queue(app: Flask) -> SmsQueue:
    """Return the app's SMS queue."""
    sms_queue: SmsQueue = app.extensions["hawiya.sms_queue"]
    return sms_queue


def init_app(app: Flask) -> None:
    """Give the app its SMS queue."""
    app.extensions["hawiya.sms_queue"] = SmsQueue(app)
