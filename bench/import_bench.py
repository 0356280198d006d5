"""Register import: rows per second for 100,000 generated rows on SQLite and PostgreSQL.

Each import runs as the real command (`hawiya beneficiaries import`) in a child process, so the
figure includes the command's start-up. The child's own peak memory is read for 20,000 and for
100,000 rows: the file streams, so the two stay close.
"""

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from identity.demo.synthetic import write_csv

ROWS = 100_000
SMALL = 20_000
POSTGRES = os.environ.get(
    "HAWIYA_BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/hawiya_bench"
)
HAWIYA = str(Path(sys.executable).with_name("hawiya"))


def fresh_postgres(url: str) -> None:
    """Create the bench database anew."""
    parsed = make_url(url)
    with psycopg.connect(
        host=parsed.host, port=parsed.port or 5432, user=parsed.username, dbname="postgres",
        autocommit=True,
    ) as admin:  # fmt: skip
        admin.execute(f'DROP DATABASE IF EXISTS "{parsed.database}"')
        admin.execute(f'CREATE DATABASE "{parsed.database}"')


def hawiya(env: dict[str, str], *args: str) -> tuple[float, float]:
    """Run a hawiya command; return its wall time in seconds and its peak memory in MiB."""
    started = time.perf_counter()
    child = subprocess.Popen([HAWIYA, *args], env=env, stdout=subprocess.DEVNULL)
    _pid, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"hawiya {' '.join(args)} failed")
    return seconds, usage.ru_maxrss / 1024


def measure(
    label: str, database_url: str, small: Path, large: Path, keys: Path
) -> list[tuple[str, str, str]]:
    """Import the small file, then the large one twice, into a fresh database."""
    env = {**os.environ, "HAWIYA_DATABASE_URL": database_url, "HAWIYA_KEYS_DIR": str(keys)}
    hawiya(env, "init")
    _, small_peak = hawiya(env, "beneficiaries", "import", str(small))
    seconds, large_peak = hawiya(env, "beneficiaries", "import", str(large))
    again, _ = hawiya(env, "beneficiaries", "import", str(large))
    return [
        (f"import 100k new rows, {label}", f"{ROWS / seconds:,.0f} rows/s", f"{seconds:.1f} s"),
        (
            f"re-import 100k unchanged rows, {label}",
            f"{ROWS / again:,.0f} rows/s",
            f"{again:.1f} s",
        ),
        (
            f"import peak memory, {label}",
            f"{large_peak:.0f} MiB",
            f"{small_peak:.0f} MiB for 20k rows: ratio {large_peak / small_peak:.2f}",
        ),
    ]


def run() -> list[tuple[str, str, str]]:
    """Measure the import on SQLite and on PostgreSQL."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        small, large = folder / "small.csv", folder / "large.csv"
        with small.open("w", encoding="utf-8") as out:
            write_csv(out, SMALL, seed=11)
        with large.open("w", encoding="utf-8") as out:
            write_csv(out, ROWS, seed=12)
        rows = measure(
            "SQLite", f"sqlite:///{folder / 'bench.sqlite3'}", small, large, folder / "k1"
        )
        fresh_postgres(POSTGRES)
        rows += measure("PostgreSQL", POSTGRES, small, large, folder / "k2")
        return rows


if __name__ == "__main__":
    for row in run():
        print(" | ".join(row))
