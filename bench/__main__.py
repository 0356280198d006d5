"""Run the benchmarks (all, or those named), print one markdown table, save it as well.

Usage: python -m bench [name ...]   e.g. `python -m bench qr`
"""

import importlib
import platform
import sys
import time
from pathlib import Path

from bench import Row

# Names of the benchmark modules bench/<name>_bench.py, in the order they run.
BENCHMARKS = [
    "import",
    "qr",
    "verify",
    "issue",
    "status_list",
    "signin",
    "signin_timing",
    "load",
    "pdf",
]
RESULTS = Path(__file__).resolve().parent / "results" / "latest.md"


def cell(text: str) -> str:
    """Make text safe inside a markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ")


def table(rows: list[Row]) -> str:
    """Format rows as one markdown table."""
    lines = ["| benchmark | figure | note |", "| --- | --- | --- |"]
    lines += ["| " + " | ".join(cell(part) for part in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    """Run the benchmarks named in argv (all without names); print and save the table."""
    unknown = [name for name in argv if name not in BENCHMARKS]
    if unknown:
        print(
            f"Unknown benchmark(s): {', '.join(unknown)}. Known: {', '.join(BENCHMARKS)}.",
            file=sys.stderr,
        )
        return 2
    rows: list[Row] = []
    for name in argv or BENCHMARKS:
        print(f"Running {name} …", file=sys.stderr, flush=True)
        start = time.perf_counter()
        module = importlib.import_module(f"bench.{name}_bench")
        rows += module.run()
        print(f"  {name}: {time.perf_counter() - start:.1f} s", file=sys.stderr, flush=True)
    context = (
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on "
        f"{platform.machine()} {platform.system()}, Python {platform.python_version()}; "
        "figures within one run only, compare as ratios.\n\n"
    )
    output = context + table(rows)
    print(output, end="")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(output, encoding="utf-8")
    print(f"Saved to {RESULTS}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
