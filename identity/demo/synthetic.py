"""A synthetic register: invented people with valid civil IDs, for the demo, tests and benchmarks.

Run `python -m identity.demo.synthetic N [SEED] > register.csv` to write one of any size.
"""

import random
import sys
from collections.abc import Iterator
from datetime import date, timedelta
from typing import IO

from identity import csv_safe
from identity.civil_id import check_digit

HEADER = ("civil_id", "file_number", "full_name_ar", "full_name_en", "phone", "status")
MEN = [("محمد", "Mohammed"), ("أحمد", "Ahmad"), ("علي", "Ali"), ("عبدالله", "Abdullah"),
       ("خالد", "Khalid"), ("يوسف", "Yousef"), ("بدر", "Bader"), ("فهد", "Fahad"),
       ("حسين", "Hussain"), ("سلمان", "Salman"), ("ناصر", "Nasser")]  # fmt: skip
WOMEN = [("فاطمة", "Fatima"), ("مريم", "Maryam"), ("نورة", "Noura"), ("سارة", "Sara"),
         ("حصة", "Hessa"), ("دانة", "Dana"), ("منيرة", "Munira"), ("زينب", "Zainab"),
         ("لولوة", "Lulwa")]  # fmt: skip
FAMILIES = [("العنزي", "Al-Enezi"), ("المطيري", "Al-Mutairi"), ("العجمي", "Al-Ajmi"),
            ("الرشيدي", "Al-Rashidi"), ("الكندري", "Al-Kandari"), ("الشمري", "Al-Shammari"),
            ("الهاجري", "Al-Hajri"), ("الخباز", "Al-Khabbaz"), ("الموسوي", "Al-Mousawi"),
            ("الفضلي", "Al-Fadhli"), ("البلوشي", "Al-Balushi")]  # fmt: skip
STATUSES = ["active"] * 92 + ["suspended"] * 4 + ["inactive"] * 3 + ["deceased"]


def civil_id(rng: random.Random, used: set[str]) -> str:
    """Return a new valid civil ID for someone born between 1940 and 2005."""
    while True:
        born = date(1940, 1, 1) + timedelta(days=rng.randrange(365 * 66))
        head = f"{'2' if born.year < 2000 else '3'}{born:%y%m%d}{rng.randrange(10000):04d}"
        digit = check_digit(head)
        if digit is not None and head + str(digit) not in used:
            used.add(head + str(digit))
            return head + str(digit)


def rows(count: int, seed: int = 7) -> Iterator[tuple[str, ...]]:
    """Yield `count` register rows, the same for the same seed."""
    rng = random.Random(seed)  # noqa: S311  (reproducible invented people, not secrets)
    used: set[str] = set()
    for _ in range(count):
        (first_ar, first_en), (father_ar, father_en) = rng.choice(MEN + WOMEN), rng.choice(MEN)
        family_ar, family_en = rng.choice(FAMILIES)
        yield (
            civil_id(rng, used),
            f"{rng.randrange(1, 10**6):06d}",
            f"{first_ar} {father_ar} {family_ar}",
            f"{first_en} {father_en} {family_en}",
            "+965" + rng.choice("569") + f"{rng.randrange(10**7):07d}",
            rng.choice(STATUSES),
        )


def write_csv(out: IO[str], count: int, seed: int = 7) -> None:
    """Write a register CSV with a header line."""
    writer = csv_safe.writer(out, lineterminator="\n")  # phones become "'+965…": text, not numbers
    writer.writerow(HEADER)
    writer.writerows(rows(count, seed))


if __name__ == "__main__":
    write_csv(sys.stdout, int(sys.argv[1]) if len(sys.argv) > 1 else 1000,
              int(sys.argv[2]) if len(sys.argv) > 2 else 7)  # fmt: skip
