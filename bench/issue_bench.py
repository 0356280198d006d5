"""Bulk issue: digital IDs per second for 100,000 beneficiaries on SQLite and PostgreSQL.

Each database is fresh: `hawiya init`, then 100,000 generated beneficiaries imported with
`hawiya beneficiaries import` (not timed here: bench/import_bench.py measures it), then the
timed `hawiya credentials issue --all`, run as the real command in a child process, so the
figure includes the command's start-up. Running it a second time issues nothing; that run's time
is the start-up and the "who has none" query alone, shown in the note.
"""

import os
import sys
import tempfile
from pathlib import Path

from bench import Row
from bench.import_bench import fresh_postgres, hawiya
from identity.demo.synthetic import write_csv

IDS = 100_000
POSTGRES = os.environ.get(
    "HAWIYA_BENCH_ISSUE_DATABASE_URL",
    "postgresql+psycopg://postgres@127.0.0.1:5432/hawiya_bench_issue",
)
SECRET = "bench-" + "0" * 58  # the bench's own secret: nothing is written into instance/


def bench_env(database_url: str, keys: Path) -> dict[str, str]:
    """Return this environment without any HAWIYA_* setting, plus the bench's own."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("HAWIYA_")}
    env.update(
        HAWIYA_DATABASE_URL=database_url,
        HAWIYA_KEYS_DIR=str(keys),
        HAWIYA_SECRET_KEY=SECRET,
    )
    return env


def measure(label: str, database_url: str, register: Path, keys: Path) -> list[Row]:
    """Import the register into a fresh database, then issue everyone an ID, twice."""
    env = bench_env(database_url, keys)
    hawiya(env, "init")
    hawiya(env, "beneficiaries", "import", str(register))
    seconds, peak = hawiya(env, "credentials", "issue", "--all")
    again, _ = hawiya(env, "credentials", "issue", "--all")
    return [
        (
            f"issue 100k digital IDs (credentials issue --all), {label}",
            f"{IDS / seconds:,.0f} IDs/s",
            f"{seconds:.1f} s with the command's start-up; run again (issues none) "
            f"{again:.1f} s, so about {IDS / max(seconds - again, 1e-3):,.0f} IDs/s without it; "
            f"peak memory {peak:.0f} MiB",
        )
    ]


def run() -> list[Row]:
    """Measure the bulk issue on SQLite and on PostgreSQL."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        register = folder / "register.csv"
        with register.open("w", encoding="utf-8") as out:
            write_csv(
                out, IDS, seed=13
            )  # what `python -m identity.demo.synthetic 100000 13` writes
        rows = measure("SQLite", f"sqlite:///{folder / 'issue.sqlite3'}", register, folder / "k1")
        fresh_postgres(POSTGRES)
        rows += measure("PostgreSQL", POSTGRES, register, folder / "k2")
        return rows


if __name__ == "__main__":
    for row in run():
        print(" | ".join(row), file=sys.stdout)
