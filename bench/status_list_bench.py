"""Status list: build the IETF Token Status List of 1,000,000 credentials, entries per second.

A fresh SQLite database in a temporary folder gets 1,000,000 beneficiaries and as many
credentials by bulk Core inserts (not timed), 2% of them revoked, 1% suspended and 0.5% of the
holders deceased (seed 7). Then, timed, what `GET /status/0` does on a cache miss: read the
register into 2-bit entries (one query per 65,536 indices, with a progress bar), compress and
sign. The same again after every credential was suspended: the worst case, where each entry
comes from a row.
"""

import random
import secrets
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import click
from sqlalchemy import insert, update

from bench import Row
from identity import db, signing
from identity.digital_id import status_list
from identity.models import Beneficiary, Credential, utcnow
from verification.app import create_app

CREDENTIALS = 1_000_000
BATCH = 50_000
SECRET = "bench-" + "0" * 58  # the bench's own secret: nothing is written into instance/


def progress(length: int, label: str) -> Any:
    """Return a progress bar on stderr, hidden when stderr is not a terminal (as the CLI does)."""
    return click.progressbar(
        length=length, label=label, file=sys.stderr, hidden=not sys.stderr.isatty()
    )


def fill(session: Any, rng: random.Random) -> None:
    """Insert CREDENTIALS beneficiaries, each with one credential, in committed batches."""
    now = utcnow()
    with progress(CREDENTIALS, "Inserting credentials") as bar:
        for start in range(1, CREDENTIALS + 1, BATCH):
            ids = range(start, min(start + BATCH, CREDENTIALS + 1))
            people = [
                {"id": i, "civil_id": f"{i:012d}", "file_number": str(i),
                 "full_name_ar": "مستفيد", "full_name_en": "Beneficiary", "phone": "+96550000000",
                 "status": "deceased" if rng.random() < 0.005 else "active",
                 "created_at": now, "updated_at": now}
                for i in ids
            ]  # fmt: skip
            creds = []
            for i in ids:
                draw = rng.random()
                status = "revoked" if draw < 0.02 else "suspended" if draw < 0.03 else "active"
                creds.append(
                    {"status_index": i, "id": secrets.token_urlsafe(12), "beneficiary_id": i,
                     "status": status, "changed_by": "bench", "changed_at": now,
                     "issued_at": now, "issued_by": "bench"}
                )  # fmt: skip
            session.execute(insert(Beneficiary.__table__), people)  # type: ignore[arg-type]
            session.execute(insert(Credential.__table__), creds)  # type: ignore[arg-type]
            session.commit()
            bar.update(len(ids))


def build(label: str) -> tuple[float, float, bytearray, str]:
    """Build and sign list 0; return the seconds to read it, to compress and sign, and both."""
    session = db.session()
    with progress(status_list.SIZE, f"Building status list 0 ({label})") as bar:
        start = time.perf_counter()
        bits = status_list.build_bits(session, 0, progress=bar.update)
        read = time.perf_counter() - start
    session.rollback()
    start = time.perf_counter()
    token = status_list.sign(0, bits)
    signed = time.perf_counter() - start
    return read, signed, bits, token


def row(label: str, read: float, signed: float, bits: bytearray, token: str) -> Row:
    lst = len(status_list.encode(bits))
    total = read + signed
    return (
        f"status list of 1M credentials ({label}), SQLite",
        f"{CREDENTIALS / total:,.0f} entries/s",
        f"{total:.2f} s: read {read:.2f} s + compress and sign {signed:.2f} s; "
        f"{len(bits):,} bytes of bits, lst {lst:,} characters (base64url of zlib), "
        f"signed JWT {len(token):,} bytes",
    )


def run() -> list[Row]:
    """Fill a fresh database, then build the list for the usual mix and for the worst case."""
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        signing.create_key(folder / "keys")
        app = create_app(
            {"DATABASE_URL": f"sqlite:///{folder / 'status.sqlite3'}",
             "KEYS_DIR": str(folder / "keys"), "SECRET_KEY": SECRET,
             "INSTANCE_PATH": str(folder)}
        )  # fmt: skip
        with app.app_context():
            db.upgrade(db.get_db().engine)
            session = db.session()
            fill(session, rng)
            rows = [row("2% revoked, 1% suspended, 0.5% deceased", *build("usual mix"))]
            session.execute(update(Credential).values(status="suspended"))
            session.commit()
            rows.append(row("all suspended, worst case", *build("worst case")))
            db.get_db().engine.dispose()
        return rows


if __name__ == "__main__":
    for line in run():
        print(" | ".join(line), file=sys.stdout)
