"""Benchmarks, run by `python -m bench [name ...]` (`make bench`).

A benchmark is a module `bench/<name>_bench.py`, listed in `bench.__main__.BENCHMARKS`, with a
`run() -> list[Row]` function. Each row is (benchmark, figure, note). The machine is shared and
noisy, so a benchmark measures everything it compares in the same run and reports ratios.
"""

import statistics
import time
from collections.abc import Callable

Row = tuple[str, str, str]


def interleaved_medians(
    cases: dict[str, Callable[[], object]], runs: int = 200, budget_s: float = 20.0
) -> dict[str, tuple[float, int]]:
    """Time the cases in turns; return each one's median seconds per call and number of calls.

    Each turn calls every case, the faster ones several times, so that each case gets about the
    same share of every stretch of the run and the machine's noise falls on all of them alike.
    Turns go on until every case has `runs` calls or `budget_s` has passed (at least 5 turns).
    """
    first: dict[str, float] = {}
    for name, case in cases.items():  # warm up (imports, caches), then size the turns
        case()
        start = time.perf_counter()
        case()
        first[name] = time.perf_counter() - start
    slowest = max(first.values())
    calls = {name: max(1, round(slowest / max(took, 1e-9))) for name, took in first.items()}
    samples: dict[str, list[float]] = {name: [] for name in cases}
    deadline = time.perf_counter() + budget_s
    turns = 0
    while turns < 5 or (
        time.perf_counter() < deadline and any(len(times) < runs for times in samples.values())
    ):
        turns += 1
        for name, case in cases.items():
            times = samples[name]
            for _ in range(calls[name]):
                start = time.perf_counter()
                case()
                times.append(time.perf_counter() - start)
    return {name: (statistics.median(times), len(times)) for name, times in samples.items()}
