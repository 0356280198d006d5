"""Signing keys: P-256, private files with mode 0600, never overwritten, named by thumbprint."""

import base64
import hashlib
import json
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from identity import signing


def test_created_key_is_private_p256_and_named_by_its_thumbprint(tmp_path: Path) -> None:
    kid = signing.create_key(tmp_path / "keys")
    path = tmp_path / "keys" / f"{kid}.pem"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    key = signing.load_private_key(path)
    jwk = signing.public_jwk(key.public_key())
    members = json.dumps({k: jwk[k] for k in ("crv", "kty", "x", "y")}, separators=(",", ":"))
    digest = hashlib.sha256(members.encode()).digest()
    assert kid == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    assert set(jwk) == {"kty", "crv", "x", "y"}  # no private member "d"


def test_key_creation_refuses_to_overwrite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    same = ec.generate_private_key(ec.SECP256R1())
    monkeypatch.setattr(signing.ec, "generate_private_key", lambda _curve: same)
    kid = signing.create_key(tmp_path)
    before = (tmp_path / f"{kid}.pem").read_bytes()
    with pytest.raises(FileExistsError):
        signing.create_key(tmp_path)
    assert (tmp_path / f"{kid}.pem").read_bytes() == before


def test_a_key_on_another_curve_is_refused(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization

    other = ec.generate_private_key(ec.SECP384R1())
    path = tmp_path / "p384.pem"
    path.write_bytes(
        other.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    with pytest.raises(signing.ConfigError, match="not a P-256"):
        signing.load_private_key(path)
