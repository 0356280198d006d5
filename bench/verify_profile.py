"""A profile of one verify check, in process: where the microseconds of `POST /api/v1/verify` go.

Usage: python -m bench.verify_profile [N] [postgres]
  (default 2000 checks on SQLite and the in-process store; `postgres`: PostgreSQL and Redis, the
  database and Redis db of bench/verify_bench.py, emptied first)

It sets up a fresh Hawiya in a temporary folder as bench/verify_bench.py does, calls the WSGI app
directly (no server, no client) N times with the same signed QR, and prints the mean cost of a
check and the functions that took the most of it (cProfile): cumulative and own µs per check.
"""

import cProfile
import io
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

import redis

from bench.import_bench import fresh_postgres
from bench.servers import SECRET, bench_env
from bench.verify_bench import POSTGRES, REDIS_URL, Target, prepare

ROOT = Path(__file__).resolve().parents[1]
TOP = int(os.environ.get("TOP", "40"))  # functions shown


def environ(target: Target) -> dict[str, object]:
    """A WSGI environ of one verify POST."""
    return {
        "REQUEST_METHOD": "POST", "PATH_INFO": "/api/v1/verify", "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "5000", "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1", "wsgi.url_scheme": "http", "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(target.body)), "HTTP_HOST": "127.0.0.1:5000",
        "HTTP_AUTHORIZATION": f"Bearer {target.key}", "wsgi.input": io.BytesIO(target.body),
        "wsgi.errors": sys.stderr, "wsgi.multithread": False, "wsgi.multiprocess": False,
        "wsgi.run_once": False, "wsgi.version": (1, 0),
    }  # fmt: skip


def main(count: int, postgres: bool) -> None:
    """Profile `count` checks and print the table."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        database = {"DATABASE_URL": f"sqlite:///{folder / 'verify.sqlite3'}", "WORKERS": "1"}
        if postgres:
            fresh_postgres(POSTGRES)
            redis.Redis.from_url(REDIS_URL).flushdb()
            database = {"DATABASE_URL": POSTGRES, "REDIS_URL": REDIS_URL, "WORKERS": "2"}
        env = bench_env(
            **database, KEYS_DIR=str(folder / "keys"), SECRET_KEY=SECRET, QR_TTL="600"
        )  # fmt: skip
        target = prepare(folder, env)
        os.environ.update(env)
        from verification.app import create_app

        app = create_app().wsgi_app

        def one() -> None:
            statuses: list[str] = []
            body = b"".join(app(environ(target), lambda s, h: statuses.append(s)))
            if not statuses[0].startswith("200") or b'"valid"' not in body:
                raise RuntimeError(f"{statuses[0]}: {body[:200]!r}")

        for _ in range(200):
            one()
        start = time.perf_counter()
        for _ in range(count):
            one()
        mean_us = (time.perf_counter() - start) / count * 1e6
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(count):
            one()
        profile.disable()
        print(f"one check: {mean_us:.0f} µs (mean of {count}, without the profiler)")
        print("where it goes, under cProfile (which slows each call): µs per check, all and own")
        stats = pstats.Stats(profile).stats  # type: ignore[attr-defined]
        rows = sorted(stats.items(), key=lambda item: -item[1][3])
        for (path, line, name), (_calls, _primitive, own, cumulative, _callers) in rows[:TOP]:
            where = path.split("site-packages/")[-1].removeprefix(str(ROOT) + "/")
            print(
                f"{cumulative / count * 1e6:9.0f} {own / count * 1e6:7.0f}  {where}:{line} {name}"
            )


if __name__ == "__main__":
    numbers = [arg for arg in sys.argv[1:] if arg.isdigit()]
    main(int(numbers[0]) if numbers else 2000, "postgres" in sys.argv[1:])
