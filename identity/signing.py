"""Signing keys and tokens: the only module that signs or verifies a JWS and reads keys/.

One algorithm, ES256 (P-256); a key's kid is its RFC 7638 thumbprint.

The key ring is the keys folder (HAWIYA_KEYS_DIR) itself, with two kinds of file:

- `<kid>.pem`: a private key, mode 0600, written once by `create_key` and never overwritten;
- `<kid>.retired`: a marker written by `retire_key`; it holds the UTC time of retirement.

Each key's state follows from the folder alone, so every instance sharing it agrees:

- active: the newest key that is not retired (by the .pem file's mtime, ties broken by kid); it
  signs everything;
- verify-only: every other key that is not retired; its public key stays in the JWKS and the
  tokens it signed still verify;
- retired: not in the JWKS, and the tokens it signed no longer verify. Deleting the marker
  brings the key back as verify-only (or active, when it is the newest).

The order lives in mtimes: copy the folder with them (`cp -p`, `tar`, `rsync -a`). Each app
caches its ring and reloads it when the folder's listing changes, so a `hawiya keys rotate` in
another process is seen by running servers without a restart. The listing is looked at no more
than once every RING_CHECKED_FOR seconds (it cost a tenth of a check when looked at on every
token), and at once when a token names a key the ring does not hold: a retired key is refused
within that second on every instance (at once in the process that retired it), a new key verifies
at once.
"""

import base64
import binascii
import hashlib
import json
import logging
import os
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from flask import current_app

from identity import clock
from identity.config import ConfigError
from identity.errors import Refused

log = logging.getLogger(__name__)

KEY_SUFFIX = ".pem"
RETIRED_SUFFIX = ".retired"
ALGORITHM = "ES256"
ISSUER = "hawiya"  # the `iss` of every token we sign; short, since it grows the phone QR
# Checked before anything is parsed: a phone QR token is about 300 characters.
MAX_TOKEN_CHARS = 4096
# Header members that would let a token name its own verification key (RFC 8725 §3.10).
KEY_BEARING_HEADERS = frozenset({"jku", "x5u", "jwk", "x5c"})
# The only header members our tokens carry; any other (crit, b64, zip, …) is refused.
ALLOWED_HEADERS = frozenset({"alg", "typ", "kid"})
CACHE_EXTENSION = "hawiya.signing"
RING_CHECKED_FOR = 1.0  # seconds a ring is trusted before its folder's listing is looked at again
# The order of P-256: (r, s) and (r, n - s) are both valid ECDSA signatures of one message, so
# only the low half of s is accepted, and only it is ever signed (one spelling per token).
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
SIGNATURE_BYTES = 64  # r and s, 32 big-endian bytes each (RFC 7518 §3.4)
ECDSA_SHA256 = ec.ECDSA(hashes.SHA256())

KeyState = Literal["active", "verify-only", "retired"]
Rejection = Literal["invalid", "expired"]  # what a rejected token means for a check


class TokenRejected(Exception):
    """A token that does not read as valid: `verdict` is for the verifier, `reason` for logs."""

    def __init__(self, verdict: Rejection, reason: str) -> None:
        super().__init__(f"{verdict}: {reason}")
        self.verdict: Rejection = verdict
        self.reason = reason


class NoSigningKey(ConfigError):
    """Signing was asked for but the keys folder holds no usable key."""

    def __init__(self) -> None:
        super().__init__("no signing key: run `hawiya init`")


class KeyRefused(Refused):
    """A key operation that would be unsafe ("key-active") or names no key ("key-unknown")."""


@dataclass(frozen=True)
class KeyInfo:
    """What `hawiya keys list` shows about one key."""

    kid: str
    created: datetime
    state: KeyState


@dataclass(frozen=True)
class RingKey:
    """A key that is not retired, loaded: it verifies, and signs when it is the newest."""

    kid: str
    created_ns: int
    private: ec.EllipticCurvePrivateKey
    public: ec.EllipticCurvePublicKey
    jwk: Mapping[str, str]


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


COMPACT = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


def _canonical_segments(token: str) -> bool:
    """Return whether the token is three base64url segments, each in its only canonical form."""
    if not COMPACT.fullmatch(token):
        return False
    for segment in token.split("."):
        try:
            decoded = _b64url_decode(segment)
        except (ValueError, binascii.Error):
            return False
        if _b64url(decoded) != segment:
            return False
    return True


def _b64url_decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def _high_s(signature: str) -> bool:
    """Return whether an ES256 signature segment holds s > n/2: the second spelling of (r, s)."""
    raw = _b64url_decode(signature)
    return len(raw) == SIGNATURE_BYTES and int.from_bytes(raw[32:], "big") > P256_ORDER // 2


def _lifetime_within(claims: Mapping[str, Any], most: int) -> bool:
    """Return whether a token's `iat` and `exp` are numbers at most `most` seconds apart."""
    issued, expires = claims.get("iat"), claims.get("exp")
    numbers = all(
        isinstance(value, int | float) and not isinstance(value, bool)
        for value in (issued, expires)
    )
    return numbers and expires - issued <= most  # type: ignore[operator]


def _json_segment(value: Mapping[str, Any]) -> str:
    """Return a JSON object as a JWS segment: compact, ASCII, base64url without padding."""
    return _b64url(json.dumps(value, separators=(",", ":")).encode("ascii"))


def _json_object(segment: str) -> dict[str, Any] | None:
    """Return the JSON object a base64url segment holds, or None when it holds anything else."""
    try:
        value = json.loads(_b64url_decode(segment))
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def _whole(claims: Mapping[str, Any], name: str) -> int:
    """Return a time claim as a whole number of seconds; raise TokenRejected when it is none."""
    try:
        return int(claims[name])
    except (ValueError, TypeError, OverflowError):
        raise TokenRejected("invalid", "DecodeError") from None


def _check_claims(
    claims: Mapping[str, Any],
    issuer: str,
    required: Sequence[str],
    audience: str | None,
    leeway: int,
) -> None:
    """Check the registered claims of a verified token (RFC 7519 §4.1); raise TokenRejected.

    What PyJWT's decode checked before, in its order: required claims present; `iat` and `nbf`
    not in the future, `exp` not past (all beyond the leeway); `iss` exactly ours; an `aud`
    refused when none is expected and otherwise exactly the one expected; `sub` and `jti` text.
    """
    for name in required:
        if claims.get(name) is None:
            raise TokenRejected("invalid", "MissingRequiredClaimError")
    now = clock.now().timestamp()
    for name in ("iat", "nbf"):
        if name in claims and _whole(claims, name) > now + leeway:
            raise TokenRejected("invalid", "ImmatureSignatureError")
    # Only a token whose signature verified gets here: an expired one is genuine.
    if "exp" in claims and _whole(claims, "exp") <= now - leeway:
        raise TokenRejected("expired", "expired")
    if claims.get("iss") != issuer or not isinstance(claims.get("iss"), str):
        raise TokenRejected("invalid", "InvalidIssuerError")
    named = claims.get("aud")
    if (audience is None and named) or (audience is not None and named != audience):
        raise TokenRejected("invalid", "InvalidAudienceError")
    for name in ("sub", "jti"):
        if name in claims and not isinstance(claims[name], str):
            raise TokenRejected("invalid", "InvalidClaimError")


def _created(ns: int) -> datetime:
    return datetime.fromtimestamp(ns / 1e9, UTC)


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
    path = keys_dir / (kid + KEY_SUFFIX)
    # O_EXCL: refuse to overwrite; the mode is set at creation so the key is never world-readable.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    _make_newest(path)
    return kid


def _make_newest(path: Path) -> None:
    """Give a new key file an mtime later than every other key's, so that it is the one to sign.

    File times follow the kernel's coarse clock, so two keys made a few milliseconds apart can
    tie; a whole second keeps the order on file systems that store whole seconds.
    """
    others = [p.stat().st_mtime_ns for p in key_files(path.parent) if p != path]
    stat = path.stat()
    if others and stat.st_mtime_ns <= max(others):
        os.utime(path, ns=(stat.st_atime_ns, max(others) + 1_000_000_000))


def load_private_key(path: Path) -> ec.EllipticCurvePrivateKey:
    """Load one private key file, refusing anything but a P-256 key."""
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise ConfigError(f"{path} is not a P-256 private key.")
    return key


def check_keys_dir(keys_dir: Path) -> None:
    """Refuse to start when the keys folder or a key in it cannot be read or is misnamed."""
    if not keys_dir.exists():
        return
    if not keys_dir.is_dir() or not os.access(keys_dir, os.R_OK | os.X_OK):
        raise ConfigError(f"The keys folder {keys_dir} cannot be read (HAWIYA_KEYS_DIR).")
    for path in key_files(keys_dir):
        try:
            key = load_private_key(path)
        except (OSError, ValueError, TypeError) as exc:
            raise ConfigError(
                f"The signing key {path} cannot be read ({type(exc).__name__})."
            ) from None
        # Tokens name their key by file name: a misnamed file would sign under a wrong kid.
        kid = thumbprint(public_jwk(key.public_key()))
        if path.stem != kid:
            raise ConfigError(
                f"The signing key {path} is not named by its thumbprint: rename it {kid}.pem."
            )


@dataclass(frozen=True)
class KeyRing:
    """The keys of one folder: `usable` (oldest first; the last one signs) and `retired`."""

    usable: tuple[RingKey, ...]
    retired: tuple[KeyInfo, ...]

    @property
    def active(self) -> RingKey | None:
        """Return the key that signs, or None when there is none."""
        return self.usable[-1] if self.usable else None

    def sign(self, claims: Mapping[str, Any], typ: str) -> str:
        """Sign claims as an ES256 JWS with the active key, naming it by kid."""
        key = self.active
        if key is None:
            raise NoSigningKey()
        header = _json_segment({"alg": ALGORITHM, "kid": key.kid, "typ": typ})
        signing_input = f"{header}.{_json_segment(dict(claims))}"
        r, s = decode_dss_signature(key.private.sign(signing_input.encode("ascii"), ECDSA_SHA256))
        # OpenSSL leaves s as it falls; half of all signatures come out high.
        s = min(s, P256_ORDER - s)
        return f"{signing_input}.{_b64url(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"

    def read(
        self,
        token: str,
        typ: str,
        issuer: str,
        required: Sequence[str],
        audience: str | None = None,
        leeway: int = 5,
        max_lifetime: int | None = None,
    ) -> dict[str, Any]:
        """Return the claims of a token we signed and still trust; raise TokenRejected otherwise.

        With `max_lifetime`, a token whose `exp - iat` exceeds it (plus the leeway) is invalid,
        whoever signed it: a key that signs something long-lived by mistake or by theft does
        not make it last.
        """
        if not isinstance(token, str):
            raise TokenRejected("invalid", "malformed")
        # Refuse oversized input before any base64 or JSON work is spent on it.
        if len(token) > MAX_TOKEN_CHARS:
            raise TokenRejected("invalid", "oversized")
        # One spelling per token: base64 leaves spare bits in a segment's last character, so
        # without this check several strings would verify as the same token.
        if not _canonical_segments(token):
            raise TokenRejected("invalid", "malformed")
        if _high_s(token.rpartition(".")[2]):
            raise TokenRejected("invalid", "high-s")
        header_segment, payload_segment, signature = token.split(".")
        header = _json_object(header_segment)
        if header is None:
            raise TokenRejected("invalid", "malformed")
        # The header is unauthenticated until the signature is checked: it may only *select*
        # one of our own keys, never supply one, choose the algorithm or add extensions.
        if KEY_BEARING_HEADERS & header.keys():
            raise TokenRejected("invalid", "key-in-header")
        if "crit" in header:
            raise TokenRejected("invalid", "crit")
        if header.keys() - ALLOWED_HEADERS:
            raise TokenRejected("invalid", "header-member")
        if header.get("alg") != ALGORITHM:
            raise TokenRejected("invalid", "alg")
        if header.get("typ") != typ:
            raise TokenRejected("invalid", "typ")
        key = self._verifying_key(header.get("kid"))
        if key is None:
            raise TokenRejected("invalid", "unknown-kid")
        # The signature first: nothing the payload says is read before it verifies.
        raw = _b64url_decode(signature)
        if len(raw) != SIGNATURE_BYTES:
            raise TokenRejected("invalid", "InvalidSignatureError")
        der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
        try:
            key.public.verify(der, f"{header_segment}.{payload_segment}".encode(), ECDSA_SHA256)
        except InvalidSignature:
            raise TokenRejected("invalid", "InvalidSignatureError") from None
        claims = _json_object(payload_segment)
        if claims is None:
            raise TokenRejected("invalid", "DecodeError")
        _check_claims(claims, issuer, required, audience, leeway)
        if max_lifetime is not None and not _lifetime_within(claims, max_lifetime + leeway):
            raise TokenRejected("invalid", "lifetime")
        return claims

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        """Return the JWK Set of the active and verify-only keys, newest first, public only."""
        return {"keys": [dict(key.jwk) for key in reversed(self.usable)]}

    def list_keys(self) -> list[KeyInfo]:
        """Return every key in the folder, oldest first, with its state."""
        active = self.active
        infos = [
            KeyInfo(
                key.kid,
                _created(key.created_ns),
                "active" if key is active else "verify-only",
            )
            for key in self.usable
        ]
        return sorted([*infos, *self.retired], key=lambda info: (info.created, info.kid))

    def _verifying_key(self, kid: object) -> RingKey | None:
        """Return our non-retired key named kid, or None."""
        for key in self.usable:
            if key.kid == kid:
                return key
        return None


def load_ring(keys_dir: Path) -> KeyRing:
    """Read the key ring from a keys folder; a key that cannot be read is skipped and logged."""
    found: list[tuple[int, str, Path]] = []
    for path in keys_dir.glob("*" + KEY_SUFFIX) if keys_dir.is_dir() else ():
        try:
            found.append((path.stat().st_mtime_ns, path.stem, path))
        except FileNotFoundError:
            continue  # removed while we looked
    usable: list[RingKey] = []
    retired: list[KeyInfo] = []
    for created_ns, kid, path in sorted(found):
        if (keys_dir / (kid + RETIRED_SUFFIX)).exists():
            # A retired key is listed, never loaded: its private key has no use left.
            retired.append(KeyInfo(kid, _created(created_ns), "retired"))
            continue
        try:
            private = load_private_key(path)
        except (OSError, ValueError, TypeError, ConfigError) as exc:
            # Start-up refuses such a file; at run time it can be a key still being written.
            log.warning("signing key %s skipped: %s", path.name, type(exc).__name__)
            continue
        public = private.public_key()
        jwk = public_jwk(public)
        if thumbprint(jwk) != kid:
            log.warning("signing key %s skipped: not named by its thumbprint", path.name)
            continue
        jwk.update(kid=kid, alg=ALGORITHM, use="sig")
        usable.append(RingKey(kid, created_ns, private, public, jwk))
    return KeyRing(tuple(usable), tuple(retired))


def retire_key(keys_dir: Path, kid: str) -> None:
    """Retire a verify-only key: drop it from the JWKS and stop trusting what it signed."""
    ring = load_ring(keys_dir)
    if kid in {info.kid for info in ring.retired}:
        return
    active = ring.active
    if active is not None and kid == active.kid:
        raise KeyRefused(
            f"Key {kid} is the active signing key and cannot be retired: "
            "run `hawiya keys rotate` first.",
            code="key-active",
        )
    # Only a kid read back from the folder names a file: the argument never becomes a path.
    if kid not in {key.kid for key in ring.usable}:
        raise KeyRefused(f"There is no signing key {kid!r} in {keys_dir}.", code="key-unknown")
    marker = keys_dir / (kid + RETIRED_SUFFIX)
    try:
        fd = os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return  # retired meanwhile by someone else
    with os.fdopen(fd, "w") as out:
        out.write(clock.api_time(clock.now()) + "\n")  # when it was retired


def _fingerprint(keys_dir: Path) -> tuple[tuple[str, int, int], ...] | None:
    """Return what changes whenever a key is added, finished, retired or removed."""
    entries = []
    try:
        with os.scandir(keys_dir) as listing:
            for entry in listing:
                if entry.name.endswith((KEY_SUFFIX, RETIRED_SUFFIX)):
                    stat = entry.stat()
                    entries.append((entry.name, stat.st_size, stat.st_mtime_ns))
    except FileNotFoundError:
        return ()
    except OSError:
        return None  # changing under us: never cached
    return tuple(sorted(entries))


# The app-aware side: the keys folder of the current app, its ring cached per app.


def keys_dir() -> Path:
    """Return the current app's keys folder."""
    return Path(current_app.config["KEYS_DIR"])


def key_ring(*, look: bool = False) -> KeyRing:
    """Return the current app's key ring, reloaded when its folder has changed.

    The folder is looked at when the ring is older than RING_CHECKED_FOR seconds, or when
    `look` (a token named a key the ring does not hold).
    """
    cached: tuple[float, object, KeyRing] | None = current_app.extensions.get(CACHE_EXTENSION)
    now = time.monotonic()
    if cached is not None and not look and now - cached[0] <= RING_CHECKED_FOR:
        return cached[2]
    directory = keys_dir()
    fingerprint = (str(directory), _fingerprint(directory))
    if cached is not None and fingerprint[1] is not None and cached[1] == fingerprint:
        current_app.extensions[CACHE_EXTENSION] = (now, fingerprint, cached[2])
        return cached[2]
    ring = load_ring(directory)
    # One tuple, swapped in one assignment: threads never see a fingerprint with another ring.
    current_app.extensions[CACHE_EXTENSION] = (now, fingerprint, ring)
    return ring


def forget_ring() -> None:
    """Make the current app read its keys folder at the next token (after a change made here)."""
    current_app.extensions.pop(CACHE_EXTENSION, None)


def active_kid() -> str:
    """Return the kid of the key that signs now; raise NoSigningKey when there is none."""
    key = key_ring().active
    if key is None:
        raise NoSigningKey()
    return key.kid


def sign(claims: Mapping[str, Any], typ: str) -> str:
    """Sign claims with the active key as an ES256 JWS whose header carries typ and kid."""
    return key_ring().sign(claims, typ)


def read(
    token: str,
    typ: str,
    issuer: str,
    required: Sequence[str],
    audience: str | None = None,
    leeway: int = 5,
    max_lifetime: int | None = None,
) -> dict[str, Any]:
    """Return the verified claims of one of our tokens; raise TokenRejected with a verdict."""
    try:
        return key_ring().read(token, typ, issuer, required, audience, leeway, max_lifetime)
    except TokenRejected as rejected:
        if rejected.reason != "unknown-kid":
            raise
    # A key made since the ring was read (by another process) verifies at once.
    return key_ring(look=True).read(token, typ, issuer, required, audience, leeway, max_lifetime)


def jwks() -> dict[str, list[dict[str, str]]]:
    """Return the public JWK Set served at /.well-known/jwks.json."""
    return key_ring().jwks()


def list_keys() -> list[KeyInfo]:
    """Return every key of the current app with its state, oldest first."""
    return key_ring().list_keys()


def rotate() -> str:
    """Create a key that signs from now on; the previous keys become verify-only."""
    kid = create_key(keys_dir())
    forget_ring()
    return kid


def retire(kid: str) -> None:
    """Retire a verify-only key of the current app (the active key is refused)."""
    retire_key(keys_dir(), kid)
    forget_ring()
