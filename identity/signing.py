"""Signing keys: the only module that touches keys/ (ES256, P-256; kid = RFC 7638 thumbprint)."""

import base64
import hashlib
import json
import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from identity.config import ConfigError

KEY_SUFFIX = ".pem"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def public_jwk(public_key: ec.EllipticCurvePublicKey) -> dict[str, str]:
    """Return the public members of a P-256 key as a JWK (no private member, ever)."""
    numbers = public_key.public_numbers()
    return {
        "kty": "EC",
        "crv": "P-256",
        "x": _b64url(numbers.x.to_bytes(32, "big")),
        "y": _b64url(numbers.y.to_bytes(32, "big")),
    }


def thumbprint(jwk: dict[str, str]) -> str:
    """Return the RFC 7638 thumbprint: SHA-256 of the required members, sorted, no spaces."""
    required = {name: jwk[name] for name in ("crv", "kty", "x", "y")}
    canonical = json.dumps(required, separators=(",", ":"), sort_keys=True)
    return _b64url(hashlib.sha256(canonical.encode("ascii")).digest())


def key_files(keys_dir: Path) -> list[Path]:
    """Return the private key files in the keys folder, oldest first."""
    if not keys_dir.is_dir():
        return []
    return sorted(keys_dir.glob("*" + KEY_SUFFIX), key=lambda p: p.stat().st_mtime_ns)


def create_key(keys_dir: Path) -> str:
    """Create a new P-256 private key file (mode 0600) and return its kid; never overwrite."""
    keys_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    private = ec.generate_private_key(ec.SECP256R1())
    kid = thumbprint(public_jwk(private.public_key()))
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    # O_EXCL: refuse to overwrite; the mode is set at creation so the key is never world-readable.
    fd = os.open(keys_dir / (kid + KEY_SUFFIX), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    return kid


def load_private_key(path: Path) -> ec.EllipticCurvePrivateKey:
    """Load one private key file, refusing anything but a P-256 key."""
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise ConfigError(f"{path} is not a P-256 private key.")
    return key


def check_keys_dir(keys_dir: Path) -> None:
    """Refuse to start when the keys folder or a key in it cannot be read."""
    if not keys_dir.exists():
        return
    if not keys_dir.is_dir() or not os.access(keys_dir, os.R_OK | os.X_OK):
        raise ConfigError(f"The keys folder {keys_dir} cannot be read (HAWIYA_KEYS_DIR).")
    for path in key_files(keys_dir):
        try:
            load_private_key(path)
        except (OSError, ValueError, TypeError) as exc:
            raise ConfigError(
                f"The signing key {path} cannot be read ({type(exc).__name__})."
            ) from None
