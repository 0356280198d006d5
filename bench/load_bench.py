"""A bounded mixed load on two instances sharing one PostgreSQL database and one Redis.

Two `hawiya serve` processes (the production command: gunicorn, access log included, one sync
worker each, so the two instances have the machine's two cores) listen on two ports, with the
same database, Redis, signing keys and secret, as two instances behind a load balancer would.
CONNECTIONS client threads send requests to the two in turn (round-robin over every request,
so a sign-in often starts on one instance and ends on the other) for DURATION_S seconds, then
stop. Each thread repeats MIX:

- `verify`: `POST /api/v1/verify` with an agency key and a signed phone QR (a `valid` verdict);
- `card`: `GET /api/v1/me/card` for one of the sessions opened before the run;
- `sign-in`: the app's whole sign-in (`auth/start`, the SMS at the local gateway, `auth/verify`)
  of a beneficiary signing in for the first time, with a distinct X-Forwarded-For
  (HAWIYA_TRUSTED_PROXIES=1) as in bench/signin_bench.py; two requests, its latency includes
  the SMS delivery.

An answer other than the expected one (or a socket error) is an error. /metrics is scraped
before and after the run, from one instance: the verifications and sign-ins it counts, made on
both, must equal the client's own counts.
"""

import http.client
import itertools
import json
import os
import threading
import time
from contextlib import ExitStack
from typing import Any

from bench import Row
from bench.servers import hawiya, hawiya_served
from bench.signin_bench import (
    CONNECTIONS,
    Client,
    Kind,
    People,
    SmsSink,
    in_threads,
    refresh_card,
    server_env,
    sign_in,
    workspace,
)
from bench.verify_bench import Target, prepare

INSTANCES = 2
WORKERS_EACH = 1
DURATION_S = 20
WARMUP_S = 2
PEOPLE = 3000
MIX = (
    "verify",
    "card",
    "verify",
    "verify",
    "sign-in",
    "card",
    "verify",
    "verify",
    "card",
    "verify",
)
POSTGRES = os.environ.get(
    "HAWIYA_BENCH_LOAD_DATABASE_URL",
    "postgresql+psycopg://postgres@127.0.0.1:5432/hawiya_bench_load",
)
REQUESTS_PER = {"verify": 1, "card": 1, "sign-in": 2}


def scrape(port: int, token: str) -> dict[str, int]:
    """Read /metrics into {series: value}."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", "/metrics", headers={"Authorization": f"Bearer {token}"})
        response = connection.getresponse()
        text = response.read().decode()
    finally:
        connection.close()
    if response.status != 200:
        raise RuntimeError(f"/metrics answered {response.status}: {text[:300]}")
    lines = (line.rpartition(" ") for line in text.splitlines() if not line.startswith("#"))
    return {series: int(value) for series, _, value in lines}


class Mixed:
    """The mixed load: each thread walks MIX; every kind keeps its own figures."""

    def __init__(self, target: Target, tokens: list[str], sink: SmsSink, people: People) -> None:
        self.tokens, self.sink, self.people = tokens, sink, people
        self.qr = str(json.loads(target.body)["qr"])
        self.key_header = {"Authorization": f"Bearer {target.key}"}
        self.kinds = {kind: Kind() for kind in REQUESTS_PER}
        self.sent = dict.fromkeys(REQUESTS_PER, 0)
        self._lock = threading.Lock()
        self._turn = itertools.count()

    def verify(self, client: Client) -> bool:
        status, body = client.call(
            "POST", "/api/v1/verify", {"qr": self.qr, "purpose": "Bench"}, self.key_header
        )
        return status == 200 and body.get("result") == "valid"

    def card(self, client: Client) -> bool:
        return refresh_card(client, self.tokens[next(self._turn) % len(self.tokens)])

    def sign_in(self, client: Client) -> bool:
        taken = self.people.take()
        return taken is not None and sign_in(client, self.sink, *taken) is not None

    def work(self, client: Client, deadline: float) -> None:
        operations: dict[str, Any] = {
            "verify": self.verify, "card": self.card, "sign-in": self.sign_in,
        }  # fmt: skip
        for kind in itertools.cycle(MIX):
            if time.perf_counter() >= deadline:
                return
            started = time.perf_counter()
            ok = operations[kind](client)
            self.kinds[kind].add(time.perf_counter() - started, ok)
            with self._lock:
                self.sent[kind] += REQUESTS_PER[kind]


def run() -> list[Row]:
    """Run the mixed load for DURATION_S seconds on two instances; report it per kind."""
    with workspace(POSTGRES) as (folder, sink), ExitStack() as servers:
        env = server_env(folder, POSTGRES, sink, WORKERS_EACH)
        target = prepare(folder, env, people=PEOPLE)
        metrics_token = hawiya(env, "tokens", "create", "--role", "metrics").strip().split()[-1]
        ports = [
            servers.enter_context(hawiya_served(WORKERS_EACH, env, folder / f"load-{n}.log")).port
            for n in range(INSTANCES)
        ]
        people = People(PEOPLE)
        tokens: list[str] = []
        client = Client(ports)
        for _ in range(CONNECTIONS):  # sessions for the card refreshes, opened before the run
            taken = people.take()
            token = sign_in(client, sink, *taken) if taken else None
            if token is None:
                raise RuntimeError("a sign-in before the run failed")
            tokens.append(token)
        in_threads(WARMUP_S, Mixed(target, tokens, sink, people).work, ports)
        before = scrape(ports[0], metrics_token)
        load = Mixed(target, tokens, sink, people)
        took = in_threads(DURATION_S, load.work, ports)
        after = scrape(ports[0], metrics_token)
        client.close()
    return rows(load, took, before, after)


def rows(load: Mixed, took: float, before: dict[str, int], after: dict[str, int]) -> list[Row]:
    """One row for the whole load, one per kind, one for what /metrics counted."""
    requests = sum(load.sent.values())
    failed = sum(kind.errors for kind in load.kinds.values())
    operations = sum(kind.done + kind.errors for kind in load.kinds.values())
    result: list[Row] = [
        (
            f"load: mixed, {INSTANCES} instances",
            f"{requests / took:,.0f} req/s",
            f"{DURATION_S} s, {CONNECTIONS} Python client threads round-robin over "
            f"{INSTANCES} `hawiya serve` instances ({WORKERS_EACH} sync worker each) on one "
            f"PostgreSQL and one Redis; {requests:,} requests; error rate "
            f"{failed / max(operations, 1):.2%} ({failed} of {operations:,} operations); "
            f"mix per {len(MIX)}: " + ", ".join(f"{MIX.count(k)} {k}" for k in REQUESTS_PER),
        )
    ]
    for name, kind in load.kinds.items():
        unit = "sign-ins/s" if name == "sign-in" else "req/s"
        result.append((f"load: {name}", f"{kind.done / took:,.1f} {unit}", kind.describe()))
    verified = after[VALID] - before[VALID]
    signed = after[SIGNED_IN] - before[SIGNED_IN]
    agree = verified == load.kinds["verify"].done and signed == load.kinds["sign-in"].done
    result.append(
        (
            "load: /metrics across both instances",
            "agrees" if agree else "DISAGREES",
            f"counted {verified:,} valid verifications and {signed:,} sign-ins; the client saw "
            f"{load.kinds['verify'].done:,} and {load.kinds['sign-in'].done:,}",
        )
    )
    return result


VALID = 'hawiya_verifications_total{kind="id_card",result="valid"}'
SIGNED_IN = 'hawiya_signin_events_total{event="signed_in"}'


if __name__ == "__main__":
    for row in run():
        print(" | ".join(row))
