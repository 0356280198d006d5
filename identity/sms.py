"""Sending SMS: a gateway sender, a console twin for development, a recording twin for tests.

This is the only module that talks to the SMS gateway. Every sender has one method,
``send(to, text)``, that returns once the message is accepted or raises SmsFailed: SmsRefused
when the gateway refused this one message for good (a 4xx other than 429: a number it will not
deliver to), plain SmsFailed when the gateway itself is failing (a 5xx, a 429, no connection,
no answer in time) or refuses us whatever the number (401, 403, 404, 405, 407: our token or
address is wrong), which affects every message.
"""

import http.client
import json
import logging
import sys
import threading
import time
import urllib.error
import urllib.request
from typing import IO, Protocol
from urllib.parse import urlsplit

from flask import Flask, current_app

EXTENSION_KEY = "hawiya.sms"

log = logging.getLogger(__name__)


class SmsFailed(Exception):
    """The gateway did not accept the message (after retries): it may be down for everyone."""


class SmsRefused(SmsFailed):
    """The gateway refused this message for good (e.g. its number): not an outage."""


# Answers about our request, not its number: a wrong token (401, 403, 407) or URL (404, 405).
OUR_MISTAKE = frozenset({401, 403, 404, 405, 407})


class SmsSender(Protocol):
    """Something that delivers a text message to a phone number."""

    def send(self, to: str, text: str) -> None:
        """Deliver text to the number to, or raise SmsFailed."""
        ...


def mask_number(number: str) -> str:
    """Return number with all but the first 4 and last 4 characters replaced by stars."""
    if len(number) <= 8:
        # Nothing would be hidden, so hide everything.
        return "*" * len(number)
    return number[:4] + "*" * (len(number) - 8) + number[-4:]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Treat a redirect as a final answer instead of following it."""

    # urllib would resend the Authorization header to wherever the gateway points.
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


class _Retry(Exception):
    """An attempt failed in a way that another attempt may fix."""


class HttpSmsSender:
    """Send SMS by POSTing JSON to an HTTP gateway, retrying transient failures."""

    def __init__(
        self,
        url: str,
        token: str,
        timeout: float = 5.0,
        attempts: int = 3,
        backoff: float = 0.2,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("The SMS gateway URL must be an http:// or https:// URL with a host.")
        if not token:
            raise ValueError("The SMS gateway token must not be empty.")
        if timeout <= 0 or attempts < 1 or backoff < 0:
            raise ValueError("timeout must be > 0, attempts >= 1 and backoff >= 0.")
        self.url = url
        self.host = parts.hostname
        self._token = token
        self.timeout = timeout
        self.attempts = attempts
        self.backoff = backoff
        self._opener = urllib.request.build_opener(_NoRedirect)

    def __repr__(self) -> str:
        return f"HttpSmsSender(host={self.host!r}, attempts={self.attempts})"

    def send(self, to: str, text: str) -> None:
        """POST the message; return on any 2xx, raise SmsFailed once retries are used up."""
        body = json.dumps({"to": to, "text": text}, ensure_ascii=False).encode("utf-8")
        failure, final = "", SmsFailed
        for attempt in range(1, self.attempts + 1):
            try:
                self._post(body)
                return
            except _Retry as exc:
                failure = str(exc)
            except SmsFailed as exc:
                failure, final = str(exc), type(exc)
                break
            if attempt < self.attempts:
                time.sleep(self.backoff * attempt)
        # Only the masked number: the text holds a one-time code and must never reach the logs.
        outcome = "refused" if final is SmsRefused else "failed"
        message = (
            f"SMS to {mask_number(to)} {outcome} after {attempt} attempt(s) via {self.host}: "
            f"{failure}"
        )
        log.error(message)
        raise final(message)

    def _post(self, body: bytes) -> None:
        """Make one attempt; raise _Retry for a transient failure, SmsFailed for a final one.

        SmsRefused when the answer is about this message (a 4xx other than 429; a 3xx, which
        we do not follow), SmsFailed when it is about the gateway (it may have the message).
        """
        request = urllib.request.Request(  # noqa: S310 (scheme checked in __init__)
            self.url,
            data=body,
            method="POST",
            headers={
                "Authorization": f"Bearer {self._token}",
                "Content-Type": "application/json",
            },
        )
        try:
            with self._opener.open(request, timeout=self.timeout):
                pass
        except urllib.error.HTTPError as exc:
            exc.close()
            if exc.code >= 500 or exc.code == 429:
                raise _Retry(f"HTTP {exc.code}") from None
            if exc.code in OUR_MISTAKE:
                # Our token or URL is wrong: every message would be refused alike, so this is
                # an outage for everyone (final: asking again cannot help), not one number's.
                raise SmsFailed(f"HTTP {exc.code}: check HAWIYA_SMS_HTTP_URL and _TOKEN") from None
            raise SmsRefused(f"HTTP {exc.code}") from None
        except urllib.error.URLError as exc:
            raise _Retry(_describe(exc.reason)) from None
        except TimeoutError:
            # Raised while waiting for the answer: the gateway has the whole message and may
            # still send it, so another attempt could deliver the code twice. The person asks
            # again instead (sign-in answers "try again later" meanwhile).
            raise SmsFailed("timed out waiting for the gateway's answer") from None
        except (OSError, http.client.HTTPException) as exc:
            # TimeoutError, ConnectionError and http.client errors raised while reading the answer.
            raise _Retry(_describe(exc)) from None


def _describe(error: object) -> str:
    """Name a network error for the log, e.g. "timed out" or "ConnectionRefusedError: ..."."""
    if isinstance(error, TimeoutError):
        return "timed out"
    if isinstance(error, BaseException):
        detail = str(error)
        return f"{type(error).__name__}: {detail}" if detail else type(error).__name__
    return str(error)


class ConsoleSmsSender:
    """Print each SMS instead of sending it; for development only, since it shows the code."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self.stream = stream

    def send(self, to: str, text: str) -> None:
        """Print "SMS to <number>: <text>" to the stream (stdout by default)."""
        stream = self.stream if self.stream is not None else sys.stdout
        print(f"SMS to {to}: {text}", file=stream, flush=True)


class RecordingSmsSender:
    """Keep every SMS in memory for tests.

    fail_next makes the next N sends raise SmsFailed (an outage); a number in refuse always
    raises SmsRefused (a number the gateway will not deliver to).
    """

    def __init__(self) -> None:
        self.messages: list[tuple[str, str]] = []
        self.fail_next = 0
        self.refuse: set[str] = set()
        self._lock = threading.Lock()

    def send(self, to: str, text: str) -> None:
        """Record (to, text), or raise SmsFailed while fail_next is above zero."""
        with self._lock:
            if self.fail_next > 0:
                self.fail_next -= 1
                raise SmsFailed(f"SMS to {mask_number(to)} failed: simulated outage")
            if to in self.refuse:
                raise SmsRefused(f"SMS to {mask_number(to)} refused: simulated HTTP 400")
            self.messages.append((to, text))

    def last_to(self, to: str) -> str | None:
        """Return the text of the latest message to the number to, or None."""
        with self._lock:
            for number, text in reversed(self.messages):
                if number == to:
                    return text
        return None

    def clear(self) -> None:
        """Forget every recorded message."""
        with self._lock:
            self.messages.clear()


def init_app(app: Flask) -> None:
    """Build the sender named by SMS_BACKEND and attach it to app."""
    backend = app.config.get("SMS_BACKEND", "console")
    sender: SmsSender
    if backend == "http":
        url = app.config.get("SMS_HTTP_URL")
        token = app.config.get("SMS_HTTP_TOKEN")
        if not (url and token):
            raise ValueError("SMS_BACKEND is 'http' but SMS_HTTP_URL or SMS_HTTP_TOKEN is not set.")
        sender = HttpSmsSender(url, token)
    elif backend == "console":
        sender = ConsoleSmsSender()
    elif backend == "recording":
        sender = RecordingSmsSender()
    else:
        raise ValueError(f"SMS_BACKEND must be 'console', 'http' or 'recording', not {backend!r}.")
    app.extensions[EXTENSION_KEY] = sender


def get_sender() -> SmsSender:
    """Return the current app's SMS sender."""
    sender: SmsSender = current_app.extensions[EXTENSION_KEY]
    return sender
