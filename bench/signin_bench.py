"""Sign-in throughput and card-refresh cost, against gunicorn on PostgreSQL and Redis.

The server is Hawiya under gunicorn (2 sync workers, one per core here, HAWIYA_WORKERS=2) on a
fresh PostgreSQL database and Redis, like the second pair of bench/verify_bench.py, with the
`http` SMS sender pointed at a small SMS gateway stand-in in this process that records each code
by number. The register holds PEOPLE invented beneficiaries (identity/demo/synthetic.py), all
active, each with a mobile number of their own and a digital ID issued in bulk beforehand.

- Sign-in: CONNECTIONS client threads each repeat the mobile app's whole sign-in: `POST
  /api/v1/auth/start`, wait for the SMS at the gateway, `POST /api/v1/auth/verify`. Every sign-in
  is a different beneficiary signing in for the first time (their account is created), so the
  per-person and per-number limits (one code a minute, five an hour) are not the bottleneck.
  HAWIYA_TRUSTED_PROXIES=1 and a distinct X-Forwarded-For per sign-in stand for many phones,
  so the per-address limits (30 starts and 60 codes per 10 minutes) are not either.
- Card refresh: the same threads call `GET /api/v1/me/card` for the sessions just opened,
  round-robin; each answer is a freshly signed QR.

The client is Python threads on keep-alive connections, and the SMS gateway is a thread server
in the same process: client, gateway and servers share the machine's cores, so compare ratios.
"""

import http.client
import itertools
import json
import os
import re
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import redis

from bench import Row
from bench.import_bench import fresh_postgres
from bench.servers import SECRET, bench_env, served
from bench.verify_bench import prepare, register_rows

WORKERS = 2
CONNECTIONS = 16
WARMUP_S = 2
DURATION_S = 10
PEOPLE = 4000
SMS_WAIT_S = 10
POSTGRES = os.environ.get(
    "HAWIYA_BENCH_SIGNIN_DATABASE_URL",
    "postgresql+psycopg://postgres@127.0.0.1:5432/hawiya_bench_signin",
)
REDIS_URL = os.environ.get("HAWIYA_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
SMS_TOKEN = "bench-sms-gateway"
CODE = re.compile(r"\b(\d{6})\b")


class SmsSink:
    """A stand-in SMS gateway on 127.0.0.1: keeps the last code sent to each number."""

    def __init__(self) -> None:
        self._codes: dict[str, str] = {}
        self._arrived = threading.Condition()
        self.received = 0
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if self.headers.get("Authorization") != f"Bearer {SMS_TOKEN}":
                    self.send_response(401)
                else:
                    message = json.loads(body)
                    found = CODE.search(message["text"])
                    if found:
                        sink.deliver(message["to"], found.group(1))
                    self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                pass  # one line per SMS would drown the bench's own output

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/sms"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> "SmsSink":
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def deliver(self, phone: str, code: str) -> None:
        with self._arrived:
            self._codes[phone] = code
            self.received += 1
            self._arrived.notify_all()

    def wait_code(self, phone: str, timeout: float = SMS_WAIT_S) -> str | None:
        """Return (and forget) the code sent to phone, waiting for it up to timeout seconds."""
        with self._arrived:
            self._arrived.wait_for(lambda: phone in self._codes, timeout)
            return self._codes.pop(phone, None)


class Client:
    """One thread's keep-alive connections, one per server; requests go round-robin."""

    _turn = itertools.count()  # shared by every client: the servers take turns

    def __init__(self, ports: Sequence[int]) -> None:
        self._connections = [http.client.HTTPConnection("127.0.0.1", p, timeout=30) for p in ports]

    def call(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        """Send one request; return its status and JSON answer (status 0: a socket error)."""
        connection = self._connections[next(self._turn) % len(self._connections)]
        sent = dict(headers or {})
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            sent["Content-Type"] = "application/json"
        try:
            connection.request(method, path, data, sent)
            response = connection.getresponse()
            raw = response.read()
        except (OSError, http.client.HTTPException):
            connection.close()
            return 0, None
        try:
            return response.status, json.loads(raw) if raw else None
        except ValueError:
            return response.status, None

    def close(self) -> None:
        for connection in self._connections:
            connection.close()


@dataclass
class Kind:
    """What one kind of operation measured: latencies of those that worked, and failures."""

    seconds: list[float] = field(default_factory=list)
    errors: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, took: float, ok: bool) -> None:
        with self._lock:
            if ok:
                self.seconds.append(took)
            else:
                self.errors += 1

    @property
    def done(self) -> int:
        return len(self.seconds)

    def percentile_ms(self, p: int) -> float:
        """The p-th percentile latency in milliseconds (nan without two samples)."""
        if len(self.seconds) < 2:
            return float("nan")
        return statistics.quantiles(self.seconds, n=100)[p - 1] * 1e3

    def describe(self) -> str:
        errors = f"{self.errors} errors" if self.errors else "0 errors"
        return (
            f"p50 {self.percentile_ms(50):.1f} ms, p99 {self.percentile_ms(99):.1f} ms; "
            f"{self.done:,} done, {errors}"
        )


class People:
    """The register's beneficiaries, each handed out once (a first sign-in each)."""

    def __init__(self, count: int) -> None:
        self._next = iter(enumerate(register_rows(count)))
        self._lock = threading.Lock()

    def take(self) -> tuple[int, tuple[str, ...]] | None:
        with self._lock:
            return next(self._next, None)


def address(index: int) -> str:
    """A distinct client address per sign-in (10.x.y.z), sent as X-Forwarded-For."""
    return f"10.{(index >> 16) & 255}.{(index >> 8) & 255}.{index & 255}"


def sign_in(client: Client, sink: SmsSink, index: int, person: tuple[str, ...]) -> str | None:
    """Sign one person in as the mobile app does; return the access token, or None."""
    civil_id, file_number, phone = person[0], person[1], person[4]
    forwarded = {"X-Forwarded-For": address(index)}
    status, body = client.call(
        "POST", "/api/v1/auth/start", {"civil_id": civil_id, "file_number": file_number}, forwarded
    )
    if status != 202:
        return None
    code = sink.wait_code(phone)
    if code is None:
        return None
    status, body = client.call(
        "POST", "/api/v1/auth/verify", {"txn": body["txn"], "code": code}, forwarded
    )
    return str(body["access_token"]) if status == 200 else None


def refresh_card(client: Client, token: str) -> bool:
    """Fetch a fresh QR for a signed-in session; True if it came."""
    status, body = client.call(
        "GET", "/api/v1/me/card", headers={"Authorization": f"Bearer {token}"}
    )
    return status == 200 and str(body.get("qr", "")).startswith("http")


def in_threads(seconds: float, work: Any, ports: Sequence[int]) -> float:
    """Run work(client, deadline) in CONNECTIONS threads until the deadline; return the time."""
    deadline = time.perf_counter() + seconds

    def thread() -> None:
        client = Client(ports)
        try:
            work(client, deadline)
        finally:
            client.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=thread) for _ in range(CONNECTIONS)]
    for each in threads:
        each.start()
    for each in threads:
        each.join()
    return time.perf_counter() - started


def sign_ins(
    port: int, sink: SmsSink, people: People, seconds: float, tokens: list[str]
) -> tuple[Kind, float]:
    """Sign people in from every thread for `seconds` (or until everyone has signed in)."""
    kind = Kind()

    def work(client: Client, deadline: float) -> None:
        while time.perf_counter() < deadline and (taken := people.take()) is not None:
            started = time.perf_counter()
            token = sign_in(client, sink, *taken)
            kind.add(time.perf_counter() - started, token is not None)
            if token is not None:
                tokens.append(token)

    return kind, in_threads(seconds, work, [port])


def card_refreshes(port: int, tokens: Sequence[str], seconds: float) -> tuple[Kind, float]:
    """Refresh the cards of the signed-in sessions, round-robin, for `seconds`."""
    kind = Kind()
    turn = itertools.count()

    def work(client: Client, deadline: float) -> None:
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            ok = refresh_card(client, tokens[next(turn) % len(tokens)])
            kind.add(time.perf_counter() - started, ok)

    return kind, in_threads(seconds, work, [port])


def server_env(folder: Path, database_url: str, sink: SmsSink, workers: int) -> dict[str, str]:
    """The environment of a bench Hawiya on PostgreSQL and Redis, sending SMS to the sink."""
    return bench_env(
        DATABASE_URL=database_url, REDIS_URL=REDIS_URL, KEYS_DIR=str(folder / "keys"),
        SECRET_KEY=SECRET, QR_TTL="600", WORKERS=str(workers), TRUSTED_PROXIES="1",
        SMS_BACKEND="http", SMS_HTTP_URL=sink.url, SMS_HTTP_TOKEN=SMS_TOKEN,
    )  # fmt: skip


@dataclass
class Fresh:
    """A fresh database and Redis for one bench, emptied again at the end."""

    database_url: str
    store: redis.Redis = field(init=False)

    def __enter__(self) -> "Fresh":
        self.store = redis.Redis.from_url(REDIS_URL)
        self.store.flushdb()
        fresh_postgres(self.database_url)
        return self

    def __exit__(self, *_exc: object) -> None:
        self.store.flushdb()
        self.store.close()


@contextmanager
def workspace(database_url: str) -> Iterator[tuple[Path, SmsSink]]:
    """A temporary folder, a running SMS sink, a fresh database and Redis (emptied after)."""
    with tempfile.TemporaryDirectory() as tmp, SmsSink() as sink, Fresh(database_url):
        yield Path(tmp), sink


def run() -> list[Row]:
    """Measure first sign-ins per second, then card refreshes per second for those sessions."""
    with workspace(POSTGRES) as (folder, sink):
        env = server_env(folder, POSTGRES, sink, WORKERS)
        prepare(folder, env, people=PEOPLE)
        people = People(PEOPLE)
        with served("wsgi:app", WORKERS, env, folder / "signin.log") as server:
            port = server.port
            sign_ins(port, sink, people, WARMUP_S, [])
            tokens: list[str] = []
            signed, took = sign_ins(port, sink, people, DURATION_S, tokens)
            if len(tokens) < 2:
                log = (folder / "signin.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"only {len(tokens)} sign-ins worked: {log}")
            card_refreshes(port, tokens, WARMUP_S)
            cards, card_took = card_refreshes(port, tokens, DURATION_S)
    setup = (
        f"gunicorn {WORKERS} sync workers, PostgreSQL + Redis, SMS over HTTP to a local sink; "
        f"{CONNECTIONS} Python client threads on keep-alive connections, {WARMUP_S} s warm-up"
    )
    return [
        (
            "sign-in: load",
            f"{DURATION_S} s per figure",
            f"{setup}; register of {PEOPLE:,} active beneficiaries, IDs issued beforehand; "
            "HAWIYA_TRUSTED_PROXIES=1 and a distinct X-Forwarded-For per sign-in, so neither "
            "the per-number nor the per-address limits are the bottleneck",
        ),
        (
            "sign-in: first sign-ins (auth/start + SMS + auth/verify)",
            f"{signed.done / took:,.1f} sign-ins/s",
            f"whole sign-in, SMS delivery included: {signed.describe()}; each creates the "
            "account, audits, opens a session",
        ),
        (
            "sign-in: card refresh (GET /api/v1/me/card)",
            f"{cards.done / card_took:,.0f} refreshes/s",
            f"{cards.describe()}; ≈ {WORKERS * card_took / max(cards.done, 1) * 1e3:.1f} ms "
            f"of worker time per refresh ({WORKERS} workers busy); {len(tokens):,} sessions",
        ),
    ]


if __name__ == "__main__":
    for row in run():
        print(" | ".join(row))
