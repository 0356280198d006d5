"""Counters for Prometheus at `GET /metrics`, kept in the store: every worker and instance adds up.

Events are counted where they happen: verifications in `verification.checks.record`, sign-in
events in `otp`, and every response's status class here, after the request. During a request the
counts wait on `g`; at its end they join the process's pending counts, which go to the store in
one round trip (`Store.add_counts`: one Redis hash, pipelined HINCRBY) at most FLUSH_EVERY
seconds later, by a timer, before this process answers `/metrics`, and at its exit. Outside a
request (the SMS worker) they are written at once. So a request no longer waits for a write of
its counts (it was a seventh of a check on PostgreSQL + Redis), and the shared counts lag by a
second at most; a worker killed with SIGKILL loses its last second of counts, never a record.

A count that cannot be written is lost and logged, never an error: nothing that is counted may
fail because its counter could not be written. After a failed write this process stops trying
for a few seconds, so a hanging Redis does not add its timeout to every request.
"""

import atexit
import itertools
import logging
import os
import re
import threading
import time
import weakref
from collections import Counter as Tally
from collections.abc import Mapping

from flask import Flask, Response, current_app, g, has_request_context

from identity.store import EXTENSION_KEY as STORE_EXTENSION
from identity.store import Store, StoreUnavailable

log = logging.getLogger(__name__)

EXTENSION_KEY = "hawiya.metrics"
STORE_KEY = "metrics"  # one hash: field = the series as exposed, value = its count
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
PAUSE_AFTER_FAILURE = 5.0  # seconds
FLUSH_EVERY = 1.0  # seconds a process may hold counts before writing them
NAME = re.compile(r"[a-z_][a-z0-9_]*")
LABEL_VALUE = re.compile(r"[A-Za-z0-9_.-]+")  # nothing to escape in the exposition format


def _exposed(name: str, values: Mapping[str, str]) -> str:
    """Return a series as the exposition format writes it: `x_total{kind="a",result="b"}`."""
    if not values:
        return name
    return name + "{" + ",".join(f'{label}="{value}"' for label, value in values.items()) + "}"


class Counter:
    """A counter with a fixed set of label values, each series exposed from zero on."""

    def __init__(self, name: str, help_text: str, **labels: tuple[str, ...]) -> None:
        if not NAME.fullmatch(name) or not name.endswith("_total") or name in REGISTRY:
            raise ValueError(f"{name!r} is not a new counter name ending in _total")
        if not help_text or "\\" in help_text or "\n" in help_text:
            raise ValueError(f"{name}: the help text must be one line without backslashes")
        for label, values in labels.items():
            if not NAME.fullmatch(label) or not values:
                raise ValueError(f"label {label!r} needs a name and at least one value")
            if not all(LABEL_VALUE.fullmatch(value) for value in values):
                raise ValueError(f"label {label!r} has a value that would need escaping")
        self.name, self.help_text, self.labels = name, help_text, labels
        # Every series named once, by its label values in the labels' order: counting is a lookup.
        self._series = {
            values: _exposed(name, dict(zip(labels, values, strict=True)))
            for values in itertools.product(*labels.values())
        }
        REGISTRY[name] = self

    def series(self, **values: str) -> str:
        """Return the series for these label values as exposed, e.g. `x_total{kind="a"}`."""
        if values.keys() != self.labels.keys():
            raise ValueError(f"{self.name} takes the labels {sorted(self.labels)}")
        found = self._series.get(tuple(values[label] for label in self.labels))
        if found is None:
            label, value = next((k, v) for k, v in values.items() if v not in self.labels[k])
            raise ValueError(f"{self.name}: {label}={value!r} is not a known value")
        return found

    def every_series(self) -> list[str]:
        """Return every series of the counter, in a stable order."""
        return list(self._series.values())

    def inc(self, amount: int = 1, **values: str) -> None:
        """Count amount events for these label values."""
        count({self.series(**values): amount})


REGISTRY: dict[str, Counter] = {}

HTTP_RESPONSES = Counter(
    "hawiya_http_responses_total",
    "HTTP responses, by status class.",
    status=("1xx", "2xx", "3xx", "4xx", "5xx"),
)
HTTP_SERVER_ERRORS = Counter(
    "hawiya_http_server_errors_total",
    "HTTP responses with a 5xx status: 500 unexpected error, 503 a backend unavailable.",
    status=("500", "501", "503", "other"),
)
SIGN_IN = Counter(
    "hawiya_signin_events_total",
    "Sign-in events: codes sent, not sent (the gateway failing, or refusing one number), "
    "sign-ins, wrong codes, locks.",
    event=("code_sent", "code_send_failed", "code_refused", "signed_in", "wrong_code", "locked"),
)


class Writer:
    """Writes one app's counts to its store; after a failure it pauses, counting what it lost."""

    def __init__(self, app: Flask) -> None:
        self._app = app
        self._lock = threading.Lock()
        self._paused_until = 0.0
        self._lost = 0
        self._pending: Tally[str] = Tally()
        self._timer_pid = 0  # the process whose timer will flush the pending counts, if any
        atexit.register(_flush_at_exit, weakref.ref(self))

    def add(self, amounts: Mapping[str, int]) -> None:
        """Add amounts to the pending counts; a timer writes them within FLUSH_EVERY seconds."""
        pid = os.getpid()
        with self._lock:
            if self._timer_pid not in (0, pid):  # forked: the parent writes the counts it had
                self._pending = Tally()
            self._pending.update(amounts)
            if self._timer_pid == pid:  # its timer is running
                return
            self._timer_pid = pid
        timer = threading.Timer(FLUSH_EVERY, self.flush)
        timer.daemon = True
        timer.start()

    def flush(self) -> None:
        """Write the pending counts now."""
        with self._lock:
            amounts, self._pending, self._timer_pid = self._pending, Tally(), 0
        self.write(+amounts)

    def write(self, amounts: Mapping[str, int]) -> None:
        """Add amounts to the shared counters in one round trip; on failure, log and lose them."""
        if not amounts:
            return
        with self._lock:
            if time.monotonic() < self._paused_until:
                self._lost += sum(amounts.values())
                return
        try:
            store: Store = self._app.extensions[STORE_EXTENSION]
            store.add_counts(STORE_KEY, amounts)
        except StoreUnavailable:
            with self._lock:
                self._paused_until = time.monotonic() + PAUSE_AFTER_FAILURE
                lost, self._lost = self._lost + sum(amounts.values()), 0
            log.warning("metrics: the store is unreachable; %d counts lost", lost)

    def resume(self) -> None:
        """Stop pausing after a failure: the next write tries the store again."""
        with self._lock:
            self._paused_until = 0.0


def _flush_at_exit(writer: "weakref.ref[Writer]") -> None:
    alive = writer()
    if alive is not None:
        alive.flush()


def count(amounts: Mapping[str, int]) -> None:
    """Add to series: at the end of the request within one, at once outside one."""
    if has_request_context():
        pending: Tally[str] = g.setdefault("pending_metrics", Tally())
        pending.update(amounts)
    else:
        write(amounts)


def write(amounts: Mapping[str, int]) -> None:
    """Add amounts to the current app's shared counters now."""
    writer().write(amounts)


def flush() -> None:
    """Write this process's pending counts of the current app now (before reading the store)."""
    writer().flush()


def writer() -> Writer:
    """Return the current app's Writer."""
    found: Writer = current_app.extensions[EXTENSION_KEY]
    return found


def count_response(response: Response) -> Response:
    """Count the response's status class with the request's other counts, in one write."""
    pending: Tally[str] = g.pop("pending_metrics", Tally())
    status = response.status_code
    if 100 <= status < 600:
        pending[HTTP_RESPONSES.series(status=f"{status // 100}xx")] += 1
    if 500 <= status < 600:
        known = str(status) if str(status) in HTTP_SERVER_ERRORS.labels["status"] else "other"
        pending[HTTP_SERVER_ERRORS.series(status=known)] += 1
    writer().add(pending)
    return response


def render(counts: Mapping[str, int]) -> str:
    """Return the counters in the Prometheus text exposition format (version 0.0.4)."""
    lines: list[str] = []
    for name in sorted(REGISTRY):
        counter = REGISTRY[name]
        lines += [f"# HELP {name} {counter.help_text}", f"# TYPE {name} counter"]
        lines += [f"{series} {counts.get(series, 0)}" for series in counter.every_series()]
    return "\n".join(lines) + "\n"


def init_app(app: Flask) -> None:
    """Count every response."""
    app.extensions[EXTENSION_KEY] = Writer(app)
    app.after_request(count_response)
