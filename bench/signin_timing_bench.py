"""Does `POST /api/v1/auth/start` take longer when the civil ID and file number match?

DESIGN.md: sign-in answers "in about the same time, whether the civil ID exists, the file number
matches or not". The server is Hawiya under gunicorn (1 sync worker) on a fresh PostgreSQL
database and Redis, with the `http` SMS sender pointed at the local SMS sink of
bench/signin_bench.py. One client sends SAMPLES starts of each kind, one at a time, shuffled
together (seeded), each for a different beneficiary, so every matched start does the whole work
of a first code (cooldown claim, quotas, code, SMS) and none is cut short by a cooldown:

- matched: a beneficiary's civil ID with their own file number (a code goes out);
- not matched: a beneficiary's civil ID with another's file number (no code).

The bodies are the same size and shape; each start has its own X-Forwarded-For (with
HAWIYA_TRUSTED_PROXIES=1), so the per-address limit is not what is measured. The figures are the
medians side by side; the client shares the machine's cores with the server, so compare them
with each other, within one run.
"""

import http.client
import json
import os
import random
import statistics
import time

from bench import Row
from bench.servers import served
from bench.signin_bench import address, server_env, workspace
from bench.verify_bench import prepare, register_rows

SAMPLES = 200  # of each kind
WARMUP = 40  # of each kind, not counted
SEED = 12
POSTGRES = os.environ.get(
    "HAWIYA_BENCH_SIGNIN_TIMING_DATABASE_URL",
    "postgresql+psycopg://postgres@127.0.0.1:5432/hawiya_bench_signin_timing",
)


def starts(people: list[tuple[str, ...]]) -> list[tuple[str, bytes]]:
    """One start per person, half matched and half not, shuffled: (kind, body) pairs."""
    half = len(people) // 2
    plan: list[tuple[str, bytes]] = []
    for index, person in enumerate(people):
        matched = index < half
        # Not matched: the file number of someone else, of the same length as a real one.
        file_number = person[1] if matched else people[(index + 1) % len(people)][1]
        body = {"civil_id": person[0], "file_number": file_number}
        plan.append(("matched" if matched else "not matched", json.dumps(body).encode()))
    random.Random(SEED).shuffle(plan)
    return plan


def timed(port: int, plan: list[tuple[str, bytes]], first: int) -> dict[str, list[float]]:
    """Send each start in turn on one connection; return the seconds of each, by kind."""
    seconds: dict[str, list[float]] = {"matched": [], "not matched": []}
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        for index, (kind, body) in enumerate(plan, start=first):
            headers = {"Content-Type": "application/json", "X-Forwarded-For": address(index)}
            started = time.perf_counter()
            connection.request("POST", "/api/v1/auth/start", body, headers)
            response = connection.getresponse()
            response.read()
            took = time.perf_counter() - started
            if response.status != 202:
                raise RuntimeError(f"auth/start answered {response.status}, not 202")
            seconds[kind].append(took)
    finally:
        connection.close()
    return seconds


def run() -> list[Row]:
    """Measure the median answer time of matched and not-matched starts, side by side."""
    total = 2 * (SAMPLES + WARMUP)
    with workspace(POSTGRES) as (folder, sink):
        env = server_env(folder, POSTGRES, sink, 1)
        prepare(folder, env, people=total)
        people = register_rows(total)
        warmup, measured = people[: 2 * WARMUP], people[2 * WARMUP :]
        with served("wsgi:app", 1, env, folder / "signin_timing.log") as server:
            port = server.port
            timed(port, starts(warmup), 0)
            seconds = timed(port, starts(measured), len(warmup))
            deadline = time.monotonic() + 10
            while sink.received < total // 2 and time.monotonic() < deadline:
                time.sleep(0.05)
    matched = statistics.median(seconds["matched"]) * 1e3
    other = statistics.median(seconds["not matched"]) * 1e3
    setup = (
        f"gunicorn 1 sync worker, PostgreSQL + Redis, SMS over HTTP to a local sink; one client, "
        f"{SAMPLES} starts of each kind shuffled together, each for a different beneficiary; "
        f"{sink.received} of {total // 2} codes reached the sink"
    )
    return [
        (
            "sign-in start: civil ID + file number match (a code is sent)",
            f"median {matched:.2f} ms",
            f"p90 {statistics.quantiles(seconds['matched'], n=10)[-1] * 1e3:.2f} ms; {setup}",
        ),
        (
            "sign-in start: file number does not match (no code)",
            f"median {other:.2f} ms",
            f"p90 {statistics.quantiles(seconds['not matched'], n=10)[-1] * 1e3:.2f} ms; "
            f"difference of the medians {matched - other:+.2f} ms "
            f"({matched / other:.2f}x); DESIGN: about the same time either way",
        ),
    ]


if __name__ == "__main__":
    for row in run():
        print(" | ".join(row))
