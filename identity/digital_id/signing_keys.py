"""The signing keys' life: rotate and retire, audited; the console and `hawiya keys` call these.

A key lives in a file, not in the database, so its audit entry is written just after the file
changed (it cannot share a transaction with it), in the caller's transaction: the request or
the command commits it at once. Callers check the schema first, so the entry can be written.
"""

from identity import db, signing
from identity.audit import chain


def rotate(actor: str) -> str:
    """Create the key that signs from now on, audited; return its kid."""
    kid = signing.rotate()
    chain.record(db.session(), actor, "key.rotate", f"key:{kid}")
    return kid


def retire(kid: str, actor: str) -> None:
    """Retire a verify-only key, audited; raise signing.KeyRefused for the active or unknown."""
    signing.retire(kid)
    chain.record(db.session(), actor, "key.retire", f"key:{kid}")
