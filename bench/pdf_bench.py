"""PDF bombs: how long stamping takes, and the peak memory of the server's process and of the
child that parses the upload, for a normal letter and for each hostile PDF of
tests/hostile_pdfs.py.

Each case runs in a fresh interpreter, so one case's memory is not counted in the next.
"""

import json
import subprocess
import sys
from pathlib import Path

from bench import Row

ROOT = Path(__file__).resolve().parents[1]
CASE = """
import json, resource, sys, time
from identity.documents import stamp
from tests import hostile_pdfs
name = sys.argv[1]
data = hostile_pdfs.edited(lambda pdf: None, 3) if name == "letter" else hostile_pdfs.BOMBS[name]()
fields = {"url": "https://hawiya.example.gov/d/3q2-7wEXAMPLEp0c9Ztj4Bg", "number": "HW-2026-000042",
          "code": "K7MQ-P3XD", "issued_on": "2026-05-01", "office_ar": "x", "office_en": "x"}
start = time.perf_counter()
try:
    result = "stamped (%d B)" % len(stamp.stamp(data, **fields))
except stamp.PdfRefused as refused:
    result = "refused: " + refused.code
took = time.perf_counter() - start
usage = {who: resource.getrusage(who).ru_maxrss // 1024
         for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)}
print(json.dumps([len(data), result, took, usage[resource.RUSAGE_SELF],
                  usage[resource.RUSAGE_CHILDREN]]))
"""


def case(name: str) -> Row:
    """Stamp one case in a fresh interpreter; return its row."""
    done = subprocess.run(
        [sys.executable, "-c", CASE, name],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    size, result, took, own, child = json.loads(done.stdout)
    return (
        f"pdf: {name}",
        f"{took:.2f} s",
        f"{size / 1024:.1f} KB, {result}; peak RSS {own} MB here, {child} MB in the child",
    )


def run() -> list[Row]:
    from tests import hostile_pdfs

    return [case(name) for name in ["letter", *hostile_pdfs.BOMBS]]
