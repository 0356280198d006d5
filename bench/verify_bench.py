"""Verify API throughput beside a bare Flask JSON endpoint served the same way (issue 15's goals).

Every server is gunicorn from this virtualenv on 127.0.0.1, started as a child process, waited
for on /healthz, and stopped (its whole process group) even on error. Each pair compares Hawiya
with bench/bare_app.py under the same worker settings, both servers running side by side and
loaded in turns for a fixed time (ROUNDS loads of each, bare then Hawiya): the ratio reported is
the median of the rounds, and beside it the ratio of the CPU each server spent per request,
which the machine's other load disturbs less than a rate does. The pairs:

- 1 sync worker: Hawiya on SQLite with the in-process store. That store is only valid in one
  process (HAWIYA_WORKERS=1, README), so this pair runs one worker on both sides rather than
  two workers whose rate limits would not be shared.
- 2 sync workers (one per core here): Hawiya on PostgreSQL and Redis with HAWIYA_WORKERS=2, the
  production shape of the README.

Each Hawiya is fresh: `hawiya init`, one beneficiary, `hawiya credentials issue --all`, an
agency `Bench` (scope name,status; rate limit 100000 a minute). Every request checks the same
signed phone QR, a `valid` verdict read from the live register, and writes its verification
event: the database grows during the run, which is the real cost and is kept. QR_TTL is 600 s
for the bench so the token outlives the run.

The load is wrk (Debian package `wrk`; C, so the client costs the server little) with a Lua
script for the POST; without wrk, a Python client of threads on keep-alive connections, named in
the note. The machine is shared: client and servers run on the same cores, so compare ratios;
each row says how busy the cores were during its load (from /proc/stat) and the load average.

The goals: at least 0.45 of the bare endpoint on SQLite (1 worker) and 0.30 on PostgreSQL +
Redis (2 workers), p99 at most 25 ms, no errors. `python -m bench.verify_profile` shows where
the time of one check goes.
"""

import dataclasses
import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import redis

from bench import Row
from bench.import_bench import fresh_postgres
from bench.servers import PROJECT_ROOT as PROJECT_ROOT
from bench.servers import SECRET, WORKER_CLASS, Server, bench_env, hawiya, served
from bench.servers import free_port as free_port
from bench.servers import stop as stop
from bench.servers import wait_healthy as wait_healthy
from identity.demo.synthetic import HEADER, rows

DURATION_S = 10
ROUNDS = 3  # loads of each side, in turns: bare, Hawiya, bare, Hawiya, …
WARMUP_S = 2
CONNECTIONS = 16
WRK_THREADS = 2
GOALS = {1: 0.45, 2: 0.30}  # the ratio to reach, by pair (its number of workers)
P99_GOAL_MS = 25.0
POSTGRES = os.environ.get(
    "HAWIYA_BENCH_VERIFY_DATABASE_URL",
    "postgresql+psycopg://postgres@127.0.0.1:5432/hawiya_bench_verify",
)
REDIS_URL = os.environ.get("HAWIYA_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
PURPOSE = "Bench"

TOKEN_SNIPPET = """
from sqlalchemy import select
from identity import db
from identity.digital_id import credentials
from identity.models import Credential
from verification.app import create_app

app = create_app()
with app.app_context():
    first = db.session().scalars(select(Credential).order_by(Credential.issued_at).limit(1)).one()
    print(credentials.phone_token(first).url)
"""

WRK_SCRIPT = """
wrk.method = "POST"
wrk.body = [==[{body}]==]
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer {key}"

local threads = {{}}
function setup(thread) table.insert(threads, thread) end
function init(args) non200 = 0 end
function response(status, headers, body)
  if status ~= 200 then non200 = non200 + 1 end
end
function done(summary, latency, requests)
  local bad = 0
  for _, thread in ipairs(threads) do bad = bad + thread:get("non200") end
  local e = summary.errors
  io.write(string.format("BENCH-RESULT %d %d %d %d %d %d\\n", summary.requests,
    summary.duration, latency:percentile(50), latency:percentile(99), bad,
    e.connect + e.read + e.write + e.timeout))
end
"""


@dataclass(frozen=True)
class Load:
    """What one load run measured."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    non200: int
    socket_errors: int
    cpu_busy: float = float("nan")  # the share of the machine's cores busy during the load
    server_cpu_us: float = float("nan")  # CPU the server (all its workers) spent per request

    @property
    def rate(self) -> float:
        """Completed requests per second."""
        return self.requests / self.seconds

    def describe(self) -> str:
        """Latency and errors, for a note."""
        errors = (
            "0 errors"
            if not (self.non200 or self.socket_errors)
            else f"ERRORS: {self.non200} non-200, {self.socket_errors} socket errors"
        )
        return (
            f"p50 {self.p50_ms:.1f} ms, p99 {self.p99_ms:.1f} ms; "
            f"{self.requests:,} requests, {errors}; server CPU {self.server_cpu_us:,.0f} µs a "
            f"request; cores {self.cpu_busy:.0%} busy"
        )


@dataclass(frozen=True)
class Target:
    """One POST to load: the body and the agency key."""

    body: bytes
    key: str


def register_rows(count: int) -> list[tuple[str, ...]]:
    """Invented active beneficiaries, each with a mobile number of their own (+9655nnnnnnn)."""
    status, phone = HEADER.index("status"), HEADER.index("phone")
    # Active: a `valid` verdict, the usual answer. A number each: SMS quotas are per number.
    return [
        tuple(f"+9655{n:07d}" if i == phone else "active" if i == status else v
              for i, v in enumerate(row))
        for n, row in enumerate(rows(count))
    ]  # fmt: skip


def prepare(folder: Path, env: dict[str, str], people: int = 1) -> Target:
    """Set up a fresh Hawiya: schema, active beneficiaries with IDs, an agency; sign a QR."""
    hawiya(env, "init")
    register = folder / "register.csv"
    lines = [",".join(HEADER), *(",".join(row) for row in register_rows(people))]
    register.write_text("\n".join(lines) + "\n", encoding="utf-8")
    hawiya(env, "beneficiaries", "import", str(register))
    hawiya(env, "credentials", "issue", "--all")
    created = hawiya(
        env, "agencies", "create", "Bench", "--purpose", PURPOSE,
        "--scope", "name,status", "--rate-limit", "100000",
    )  # fmt: skip
    key = created.strip().splitlines()[-1]
    token = subprocess.run(
        [sys.executable, "-c", TOKEN_SNIPPET],
        env=env, cwd=PROJECT_ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if token.returncode != 0:
        raise RuntimeError(f"signing the bench QR failed: {token.stderr.strip()[-2000:]}")
    body = json.dumps({"qr": token.stdout.strip(), "purpose": PURPOSE}).encode()
    return Target(body, key)


def request(port: int, target: Target) -> tuple[int, bytes]:
    """Send one verify POST; return the status and body."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("POST", "/api/v1/verify", target.body, headers(target))
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def headers(target: Target) -> dict[str, str]:
    """The request headers of a verify POST."""
    return {"Content-Type": "application/json", "Authorization": f"Bearer {target.key}"}


def wrk_load(port: int, target: Target, seconds: int, folder: Path) -> Load:
    """Load the server with wrk for a fixed time; parse the line its Lua `done` writes."""
    script = folder / "verify.lua"
    script.write_text(WRK_SCRIPT.format(body=target.body.decode(), key=target.key))
    done = subprocess.run(
        [
            "wrk", "--threads", str(WRK_THREADS), "--connections", str(CONNECTIONS),
            "--duration", f"{seconds}s", "--timeout", "10s", "--latency",
            "--script", str(script), f"http://127.0.0.1:{port}/api/v1/verify",
        ],
        capture_output=True, text=True, timeout=seconds + 60, check=False,
    )  # fmt: skip
    line = next((x for x in done.stdout.splitlines() if x.startswith("BENCH-RESULT ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed: {done.stderr.strip()[-2000:]}")
    count, micros, p50, p99, non200, socket_errors = (int(x) for x in line.split()[1:])
    return Load(count, micros / 1e6, p50 / 1e3, p99 / 1e3, non200, socket_errors)


def python_load(port: int, target: Target, seconds: int, _folder: Path) -> Load:
    """Load the server from CONNECTIONS threads, each on its own keep-alive connection."""
    deadline = time.perf_counter() + seconds
    latencies: list[list[float]] = [[] for _ in range(CONNECTIONS)]
    failures = [[0, 0] for _ in range(CONNECTIONS)]  # non-200, socket errors
    sent = headers(target)

    def client(index: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            try:
                connection.request("POST", "/api/v1/verify", target.body, sent)
                response = connection.getresponse()
                response.read()
            except (OSError, http.client.HTTPException):
                failures[index][1] += 1
                connection.close()
                continue
            latencies[index].append(time.perf_counter() - started)
            if response.status != 200:
                failures[index][0] += 1
        connection.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(CONNECTIONS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    took = time.perf_counter() - started
    every = sorted(x for per_thread in latencies for x in per_thread)
    if len(every) < 2:
        raise RuntimeError("the Python load client completed no requests")
    cuts = statistics.quantiles(every, n=100)
    return Load(
        len(every), took, cuts[49] * 1e3, cuts[98] * 1e3,
        sum(f[0] for f in failures), sum(f[1] for f in failures),
    )  # fmt: skip


WRK = shutil.which("wrk")
LOAD = wrk_load if WRK else python_load
GENERATOR = (
    f"wrk ({WRK_THREADS} threads, {CONNECTIONS} connections, {DURATION_S} s)"
    if WRK
    else f"Python client ({CONNECTIONS} threads on keep-alive connections, {DURATION_S} s; "
    "wrk not installed: apt-get install wrk)"
)


def load_once(server: Server, target: Target, folder: Path) -> Load:
    """Load one server for DURATION_S seconds; note how busy the cores and the server were."""
    before, server_before = cpu_times(), server.cpu_seconds()
    load = LOAD(server.port, target, DURATION_S, folder)
    after, server_after = cpu_times(), server.cpu_seconds()
    busy = 1 - (after[1] - before[1]) / max(after[0] - before[0], 1)
    per_request = (server_after - server_before) / max(load.requests, 1) * 1e6
    return dataclasses.replace(load, cpu_busy=busy, server_cpu_us=per_request)


def compare(
    workers: int, bare_env: dict[str, str], env: dict[str, str], target: Target, folder: Path
) -> tuple[list[Load], list[Load]]:
    """Serve the bare endpoint and Hawiya side by side; load them in turns, ROUNDS times each.

    Both servers run for the whole comparison (the one not loaded is idle), so each round
    compares two loads taken one after the other and the machine's noise falls on both alike.
    """
    logs = folder / f"bare-{workers}.log", folder / f"hawiya-{workers}.log"
    with (
        served("bench.bare_app:app", workers, bare_env, logs[0]) as bare,
        served("wsgi:app", workers, env, logs[1]) as ours,
    ):
        for server, valid in ((bare, False), (ours, True)):
            status, body = request(server.port, target)
            if status != 200 or (valid and json.loads(body).get("result") != "valid"):
                raise RuntimeError(f"port {server.port} answered {status}: {body[:300]!r}")
            LOAD(server.port, target, WARMUP_S, folder)
        rounds = [
            (load_once(bare, target, folder), load_once(ours, target, folder))
            for _ in range(ROUNDS)
        ]
    return [pair[0] for pair in rounds], [pair[1] for pair in rounds]


def cpu_times() -> tuple[int, int]:
    """Return the machine's (total, idle) CPU time so far, in clock ticks (/proc/stat)."""
    with open("/proc/stat", encoding="ascii") as stat:
        ticks = [int(x) for x in stat.readline().split()[1:]]
    return sum(ticks), ticks[3] + ticks[4]  # idle and iowait


def median_load(loads: list[Load]) -> Load:
    """Return the load of median rate (the figures of one real run, not a blend)."""
    return sorted(loads, key=lambda load: load.rate)[len(loads) // 2]


def rows_of(label: str, workers: int, bares: list[Load], ourses: list[Load]) -> list[Row]:
    """Two rows: the bare endpoint and Hawiya, with the median ratio of the rounds to the goal."""
    ratios = sorted(ours.rate / bare.rate for bare, ours in zip(bares, ourses, strict=True))
    cpu_ratios = sorted(
        bare.server_cpu_us / ours.server_cpu_us for bare, ours in zip(bares, ourses, strict=True)
    )
    ratio, cpu_ratio = statistics.median(ratios), statistics.median(cpu_ratios)
    p99 = max(ours.p99_ms for ours in ourses)
    goal = GOALS[workers]
    met = "met" if ratio >= goal else "NOT met"
    p99_met = "met" if p99 <= P99_GOAL_MS else "NOT met"
    failed = sum(load.non200 + load.socket_errors for load in ourses)
    plural = "worker" if workers == 1 else "workers"
    bare, ours = median_load(bares), median_load(ourses)
    return [
        (
            f"verify API: bare Flask JSON endpoint, {workers} {plural}",
            f"{bare.rate:,.0f} req/s",
            f"median of {ROUNDS} loads ({', '.join(f'{b.rate:,.0f}' for b in bares)}); "
            + bare.describe(),
        ),
        (
            f"verify API: Hawiya, {label}, {workers} {plural}",
            f"{ours.rate:,.0f} req/s",
            f"×{ratio:.2f} vs bare, the median of {ROUNDS} rounds "
            f"({', '.join(f'{r:.2f}' for r in ratios)}; goal ≥ {goal}: {met}); by server CPU "
            f"a request ×{cpu_ratio:.2f}; worst p99 {p99:.1f} ms (goal ≤ {P99_GOAL_MS:.0f} ms: "
            f"{p99_met}); {failed} failed requests in all; median round: {ours.describe()}",
        ),
    ]


def run() -> list[Row]:
    """Measure both pairs: 1 worker (SQLite, in-process store), 2 workers (PostgreSQL, Redis)."""
    result: list[Row] = [
        (
            "verify API: load",
            GENERATOR,
            f"gunicorn --worker-class {WORKER_CLASS}, same workers for both sides of a pair, "
            f"both running, loaded in turns ({ROUNDS} rounds, each a load of each); {WARMUP_S} s "
            "warm-up; one signed phone QR (valid), POSTed with an agency key; client and "
            "servers share the machine's cores. Server CPU: all its processes' time (/proc) "
            "over the requests answered",
        )
    ]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        bare_env = bench_env(SECRET_KEY=SECRET)

        sqlite = folder / "sqlite"
        sqlite.mkdir()
        env = bench_env(
            DATABASE_URL=f"sqlite:///{sqlite / 'verify.sqlite3'}", KEYS_DIR=str(sqlite / "keys"),
            SECRET_KEY=SECRET, QR_TTL="600", WORKERS="1",
        )  # fmt: skip
        target = prepare(sqlite, env)
        pair = compare(1, bare_env, env, target, sqlite)
        result += rows_of("SQLite + in-process store", 1, *pair)

        postgres = folder / "postgres"
        postgres.mkdir()
        store = redis.Redis.from_url(REDIS_URL)
        store.flushdb()
        try:
            fresh_postgres(POSTGRES)
            env = bench_env(
                DATABASE_URL=POSTGRES, REDIS_URL=REDIS_URL, KEYS_DIR=str(postgres / "keys"),
                SECRET_KEY=SECRET, QR_TTL="600", WORKERS="2",
            )  # fmt: skip
            target = prepare(postgres, env)
            pair = compare(2, bare_env, env, target, postgres)
            result += rows_of("PostgreSQL + Redis", 2, *pair)
        finally:
            store.flushdb()
            store.close()
    return result


if __name__ == "__main__":
    for row in run():
        print(" | ".join(row))
