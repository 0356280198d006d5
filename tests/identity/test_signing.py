"""Signing: P-256 keys (mode 0600, never overwritten, named by thumbprint) and ES256 tokens."""

import base64
import hashlib
import hmac
import json
import os
import stat
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from flask import Flask
from joserfc.jwk import ECKey

from identity import signing


@pytest.fixture
def app(keyless_app: Flask) -> Flask:
    """These tests make their own keys: start from a keys folder as `hawiya init` finds it."""
    return keyless_app


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


# Tokens: ES256 only, our own keys only, every header and claim check enforced.

ISSUER = "http://127.0.0.1:5000"
TYP = "hawiya-id+jwt"
REQUIRED = ("iss", "sub", "iat", "exp")
P256_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551  # the group's order


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def segment(value: object) -> str:
    return b64(json.dumps(value).encode())


def forge(header: dict[str, Any], claims: dict[str, Any], key: ec.EllipticCurvePrivateKey) -> str:
    """Build a compact ES256 JWS by hand, with any header: what an attacker can send."""
    signing_input = f"{segment(header)}.{segment(claims)}"
    r, s = decode_dss_signature(key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
    s = min(s, P256_N - s)  # the low-S spelling: the one our reader accepts
    return f"{signing_input}.{b64(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


def other_s(token: str) -> str:
    """Return the token with its signature (r, s) spelled (r, n - s), canonically encoded."""
    signing_input, _, signature = token.rpartition(".")
    raw = base64.urlsafe_b64decode(signature + "==")
    s = int.from_bytes(raw[32:], "big")
    return f"{signing_input}.{b64(raw[:32] + (P256_N - s).to_bytes(32, 'big'))}"


def claims(**changes: Any) -> dict[str, Any]:
    """Claims of a phone QR token; a change to None drops the claim."""
    now = int(time.time())
    values = {"iss": ISSUER, "sub": "c9Qz2xVb7WkR1mNp", "iat": now, "exp": now + 60, **changes}
    return {name: value for name, value in values.items() if value is not None}


def read(token: str, **options: Any) -> dict[str, Any]:
    return signing.read(token, TYP, ISSUER, REQUIRED, **options)


def rejected(token: Any, **options: Any) -> signing.TokenRejected:
    with pytest.raises(signing.TokenRejected) as info:
        read(token, **options)
    return info.value


def decoded_header(token: str) -> dict[str, Any]:
    encoded = token.split(".")[0]
    return dict(json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))))


@dataclass
class Ring:
    """The app's keys folder, and its one key to forge tokens with."""

    directory: Path
    kid: str
    key: ec.EllipticCurvePrivateKey

    def header(self, **changes: Any) -> dict[str, Any]:
        values = {"alg": "ES256", "typ": TYP, "kid": self.kid, **changes}
        return {name: value for name, value in values.items() if value is not None}


@pytest.fixture
def ring(app: Flask) -> Iterator[Ring]:
    """One signing key in the app's keys folder, inside an app context."""
    directory = Path(app.config["KEYS_DIR"])
    kid = signing.create_key(directory)
    with app.app_context():
        yield Ring(directory, kid, signing.load_private_key(directory / f"{kid}.pem"))


def test_a_signed_token_reads_back_with_its_claims(ring: Ring) -> None:
    issued = claims()
    token = signing.sign(issued, TYP)
    assert decoded_header(token) == {"alg": "ES256", "typ": TYP, "kid": ring.kid}
    assert read(token) == issued


def test_a_hand_built_token_with_our_key_reads(ring: Ring) -> None:
    """The forging helper is right, so the refusals below are the checks' doing."""
    assert read(forge(ring.header(), claims(), ring.key))["sub"] == claims()["sub"]


def test_the_kid_is_the_rfc7638_thumbprint_of_the_signing_key(ring: Ring) -> None:
    independent = ECKey.import_key(ring.key.public_key()).thumbprint()  # joserfc's RFC 7638
    assert decoded_header(signing.sign(claims(), TYP))["kid"] == independent


def test_a_token_signed_by_another_p256_key_is_invalid(ring: Ring) -> None:
    stranger = ec.generate_private_key(ec.SECP256R1())
    assert rejected(forge(ring.header(), claims(), stranger)).verdict == "invalid"


def test_an_expired_token_signed_by_another_key_is_invalid_not_expired(ring: Ring) -> None:
    """Prevents telling a forger that their token was genuine but old."""
    stranger = ec.generate_private_key(ec.SECP256R1())
    past = int(time.time()) - 3600
    token = forge(ring.header(), claims(iat=past, exp=past + 60), stranger)
    assert rejected(token).verdict == "invalid"


def test_alg_none_is_invalid(ring: Ring) -> None:
    token = f"{segment(ring.header(alg='none'))}.{segment(claims())}."
    assert rejected(token).verdict == "invalid"  # no signature at all: malformed
    signed = token + "c2ln"
    assert (rejected(signed).verdict, rejected(signed).reason) == ("invalid", "alg")


def test_a_token_spelled_with_spare_base64_bits_is_invalid(ring: Ring) -> None:
    """Prevents one token having several spellings that all verify."""
    token = signing.sign(claims(), TYP)
    assert read(token)["sub"] == claims()["sub"]
    last = token[-1]
    # The signature's last character carries 2 data bits and 4 spare ones.
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    value = alphabet.index(last)
    sibling = alphabet[value ^ 0b0001]
    assert rejected(token[:-1] + sibling).verdict == "invalid"


def test_the_high_s_spelling_of_a_genuine_signature_is_invalid(ring: Ring) -> None:
    """Prevents a second spelling of every token: ECDSA's (r, n - s) verifies as well as (r, s)."""
    token = signing.sign(claims(), TYP)
    sibling = other_s(token)
    assert sibling != token and signing._canonical_segments(sibling)
    public = ring.key.public_key()
    raw = base64.urlsafe_b64decode(sibling.rsplit(".", 1)[1] + "==")
    der = encode_dss_signature(int.from_bytes(raw[:32]), int.from_bytes(raw[32:]))
    public.verify(der, sibling.rsplit(".", 1)[0].encode(), ec.ECDSA(hashes.SHA256()))  # genuine
    assert (rejected(sibling).verdict, rejected(sibling).reason) == ("invalid", "high-s")


def test_we_only_ever_sign_low_s(ring: Ring) -> None:
    """Prevents our own tokens being refused: OpenSSL gives a high s half the time."""
    for _ in range(64):  # a high s in none of 64 signatures: 2^-64 by chance alone
        token = signing.sign(claims(), TYP)
        s = int.from_bytes(base64.urlsafe_b64decode(token.rsplit(".", 1)[1] + "==")[32:])
        assert s <= P256_N // 2
        assert read(token)["sub"] == claims()["sub"]


def test_a_phone_token_may_not_outlive_qr_ttl(ring: Ring) -> None:
    """Prevents a ten-year token signed with our key verifying: the lifetime is policy."""
    now = int(time.time())
    ten_years = signing.sign(claims(iat=now, exp=now + 10 * 365 * 86400), TYP)
    assert read(ten_years)["sub"]  # without a policy, the signature alone would let it through
    assert (rejected(ten_years, max_lifetime=60).verdict,
            rejected(ten_years, max_lifetime=60).reason) == ("invalid", "lifetime")  # fmt: skip
    assert read(signing.sign(claims(iat=now, exp=now + 65), TYP), max_lifetime=60)
    assert rejected(signing.sign(claims(iat=now, exp=now + 66), TYP), max_lifetime=60)


@pytest.mark.parametrize("encoding", ["pem", "der", "point"])
def test_hs256_keyed_with_our_public_key_is_invalid(ring: Ring, encoding: str) -> None:
    """Prevents the key-confusion attack: the public key used as an HMAC secret."""
    public = ring.key.public_key()
    secret = {
        "pem": public.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo),
        "der": public.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo),
        "point": public.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint),
    }[encoding]
    signing_input = f"{segment(ring.header(alg='HS256'))}.{segment(claims())}"
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    token = f"{signing_input}.{b64(mac)}"
    assert (rejected(token).verdict, rejected(token).reason) == ("invalid", "alg")


def test_a_tampered_payload_is_invalid(ring: Ring) -> None:
    header, _payload, signature = signing.sign(claims(), TYP).split(".")
    token = f"{header}.{segment(claims(sub='someone-else'))}.{signature}"
    assert rejected(token).verdict == "invalid"


@pytest.mark.parametrize("damage", ["flip", "truncate", "empty", "der"])
def test_a_tampered_signature_is_invalid(ring: Ring, damage: str) -> None:
    header, payload, signature = signing.sign(claims(), TYP).split(".")
    raw = base64.urlsafe_b64decode(signature + "==")
    changed = {
        "flip": raw[:10] + bytes([raw[10] ^ 1]) + raw[11:],
        "truncate": raw[:-1],
        "empty": b"",
        "der": encode_dss_signature(int.from_bytes(raw[:32]), int.from_bytes(raw[32:])),
    }[damage]
    assert rejected(f"{header}.{payload}.{b64(changed)}").verdict == "invalid"


def test_an_expired_token_of_ours_is_expired(ring: Ring) -> None:
    past = int(time.time()) - 3600
    token = signing.sign(claims(iat=past, exp=past + 60), TYP)
    assert (rejected(token).verdict, rejected(token).reason) == ("expired", "expired")


def test_a_token_expired_within_the_leeway_still_reads(ring: Ring) -> None:
    now = int(time.time())
    token = signing.sign(claims(iat=now - 60, exp=now - 2), TYP)
    assert read(token)["exp"] == now - 2
    assert rejected(token, leeway=0).verdict == "expired"


def test_a_token_issued_in_the_future_is_invalid(ring: Ring) -> None:
    later = int(time.time()) + 3600
    assert rejected(signing.sign(claims(iat=later, exp=later + 60), TYP)).verdict == "invalid"


@pytest.mark.parametrize("missing", REQUIRED)
def test_a_token_missing_a_required_claim_is_invalid(ring: Ring, missing: str) -> None:
    token = signing.sign(claims(**{missing: None}), TYP)
    assert rejected(token).verdict == "invalid"


@pytest.mark.parametrize("issuer", ["https://evil.example", "", ISSUER + "/", ISSUER[:-1]])
def test_a_token_from_another_issuer_is_invalid(ring: Ring, issuer: str) -> None:
    assert rejected(signing.sign(claims(iss=issuer), TYP)).reason == "InvalidIssuerError"


def test_a_token_with_an_issuer_list_is_invalid(ring: Ring) -> None:
    assert rejected(forge(ring.header(), claims(iss=[ISSUER]), ring.key)).verdict == "invalid"


@pytest.mark.parametrize("typ", ["JWT", "hawiya-receipt+jwt", TYP.upper(), None])
def test_a_token_of_another_type_is_invalid(ring: Ring, typ: str | None) -> None:
    """Prevents a token made for one purpose (a receipt, say) passing as another."""
    token = forge(ring.header(typ=typ), claims(), ring.key)
    assert (rejected(token).verdict, rejected(token).reason) == ("invalid", "typ")


@pytest.mark.parametrize("kid", ["unknown", "", None, 7, ["x"]])
def test_a_token_naming_no_key_of_ours_is_invalid(ring: Ring, kid: object) -> None:
    token = forge(ring.header(kid=kid), claims(), ring.key)
    assert rejected(token).verdict == "invalid"


@pytest.mark.parametrize("member", ["jku", "jwk", "x5u", "x5c"])
def test_a_header_that_brings_its_own_key_is_invalid(ring: Ring, member: str) -> None:
    """Prevents a token from telling us which key to trust, even when it names ours."""
    value: object = {
        "jku": "https://evil.example/jwks.json",
        "jwk": signing.public_jwk(ring.key.public_key()),
        "x5u": "https://evil.example/cert.pem",
        "x5c": ["MIIB"],
    }[member]
    token = forge(ring.header(**{member: value}), claims(), ring.key)
    assert (rejected(token).verdict, rejected(token).reason) == ("invalid", "key-in-header")


@pytest.mark.parametrize(
    "extra", [{"crit": ["b64"], "b64": True}, {"crit": ["exp"], "exp": 1}, {"crit": []}]
)
def test_a_crit_header_is_invalid(ring: Ring, extra: dict[str, Any]) -> None:
    """We understand no extensions (a JWS library alone would accept `crit: ["b64"]`)."""
    token = forge(ring.header(**extra), claims(), ring.key)
    assert (rejected(token).verdict, rejected(token).reason) == ("invalid", "crit")


@pytest.mark.parametrize("extra", [{"b64": True}, {"zip": "DEF"}, {"cty": "JWT"}])
def test_a_header_member_we_do_not_use_is_invalid(ring: Ring, extra: dict[str, Any]) -> None:
    token = forge(ring.header(**extra), claims(), ring.key)
    assert (rejected(token).verdict, rejected(token).reason) == ("invalid", "header-member")


def test_an_oversized_token_is_invalid_before_parsing(ring: Ring) -> None:
    token = signing.sign(claims(sub="x" * signing.MAX_TOKEN_CHARS), TYP)
    assert (rejected(token).verdict, rejected(token).reason) == ("invalid", "oversized")
    assert rejected("." * 10**6).reason == "oversized"


@pytest.mark.parametrize(
    "garbage",
    ["", ".", "..", "abc", "a.b.c", "a.b.c.d", "eyJ.eyJ.", "😀.😀.😀", "%00", "null", " "],
)
def test_garbage_is_invalid(ring: Ring, garbage: str) -> None:
    assert rejected(garbage).verdict == "invalid"


@pytest.mark.parametrize("value", [b"x", None, 1])
def test_a_token_that_is_not_text_is_invalid(ring: Ring, value: object) -> None:
    assert rejected(value).verdict == "invalid"


@pytest.mark.parametrize("header", [b"not json", b"[1, 2]", b'"ES256"', b"[" * 2000])
def test_a_header_that_is_not_a_json_object_is_invalid(ring: Ring, header: bytes) -> None:
    _header, payload, signature = signing.sign(claims(), TYP).split(".")
    token = f"{b64(header)}.{payload}.{signature}"
    assert (rejected(token).verdict, rejected(token).reason) == ("invalid", "malformed")


@pytest.mark.parametrize("payload", [b"not json", b"[1, 2]", b""])
def test_a_signed_payload_that_is_not_a_json_object_is_invalid(ring: Ring, payload: bytes) -> None:
    signing_input = f"{segment(ring.header())}.{b64(payload)}"
    r, s = decode_dss_signature(ring.key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
    token = f"{signing_input}.{b64(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"
    assert rejected(token).verdict == "invalid"


def test_an_audience_is_checked_when_expected_and_refused_when_not(ring: Ring) -> None:
    token = signing.sign(claims(aud="agency-7"), TYP)
    assert read(token, audience="agency-7")["aud"] == "agency-7"
    assert rejected(token, audience="agency-8").verdict == "invalid"
    assert rejected(token).verdict == "invalid"
    assert rejected(signing.sign(claims(), TYP), audience="agency-7").verdict == "invalid"


def test_signing_without_a_key_says_to_run_init(app: Flask) -> None:
    with app.app_context():
        with pytest.raises(signing.ConfigError, match="run `hawiya init`"):
            signing.sign(claims(), TYP)
        with pytest.raises(signing.ConfigError, match="run `hawiya init`"):
            signing.active_kid()


def test_reading_without_a_key_is_invalid(app: Flask) -> None:
    stranger = ec.generate_private_key(ec.SECP256R1())
    kid = signing.thumbprint(signing.public_jwk(stranger.public_key()))
    token = forge({"alg": "ES256", "typ": TYP, "kid": kid}, claims(), stranger)
    with app.app_context():
        assert rejected(token).reason == "unknown-kid"


# The key ring: rotation, verify-only keys, retirement.


def states() -> dict[str, str]:
    return {info.kid: info.state for info in signing.list_keys()}


def test_a_rotated_key_signs_and_the_old_one_still_verifies(ring: Ring) -> None:
    before = signing.sign(claims(), TYP)
    assert signing.active_kid() == ring.kid
    new = signing.rotate()
    assert new != ring.kid
    assert signing.active_kid() == new
    assert decoded_header(signing.sign(claims(), TYP))["kid"] == new
    assert read(before)["sub"] == claims()["sub"]
    assert states() == {ring.kid: "verify-only", new: "active"}


def test_the_newest_key_signs_however_fast_keys_are_made(ring: Ring) -> None:
    """File times tick coarsely: keys made in the same tick must still keep their order."""
    for _ in range(5):
        kid = signing.rotate()
        assert decoded_header(signing.sign(claims(), TYP))["kid"] == kid
    assert [info.state for info in signing.list_keys()] == ["verify-only"] * 5 + ["active"]


def test_a_new_key_signs_even_when_an_older_file_looks_newer(ring: Ring) -> None:
    """A clock stepped back, or a coarse file time, must not leave an older key signing."""
    later = time.time_ns() + 3600 * 10**9
    os.utime(ring.directory / f"{ring.kid}.pem", ns=(later, later))
    kid = signing.rotate()
    assert decoded_header(signing.sign(claims(), TYP))["kid"] == kid
    assert states() == {ring.kid: "verify-only", kid: "active"}


def test_a_retired_key_no_longer_verifies(ring: Ring) -> None:
    before = signing.sign(claims(), TYP)
    new = signing.rotate()
    signing.retire(ring.kid)
    assert (rejected(before).verdict, rejected(before).reason) == ("invalid", "unknown-kid")
    assert states() == {ring.kid: "retired", new: "active"}
    assert (ring.directory / f"{ring.kid}.pem").exists()  # retired, not deleted


def test_retiring_twice_changes_nothing(ring: Ring) -> None:
    signing.rotate()
    signing.retire(ring.kid)
    signing.retire(ring.kid)
    assert states()[ring.kid] == "retired"


def test_the_active_key_cannot_be_retired(ring: Ring) -> None:
    with pytest.raises(signing.KeyRefused, match="rotate"):
        signing.retire(ring.kid)
    assert states() == {ring.kid: "active"}
    assert read(signing.sign(claims(), TYP))


@pytest.mark.parametrize("kid", ["unknown", "", "../keys", "*"])
def test_retiring_an_unknown_kid_is_refused_and_writes_nothing(ring: Ring, kid: str) -> None:
    signing.rotate()
    before = sorted(p.name for p in ring.directory.parent.rglob("*"))
    with pytest.raises(signing.KeyRefused, match="no signing key"):
        signing.retire(kid)
    assert sorted(p.name for p in ring.directory.parent.rglob("*")) == before


def test_a_key_made_by_another_process_verifies_at_once(ring: Ring) -> None:
    """The ring is cached, but a token naming a key it does not hold makes it look again."""
    assert read(signing.sign(claims(), TYP))  # the ring is cached and fresh
    new = signing.create_key(ring.directory)  # as `hawiya keys rotate` does in its own process
    token = signing.load_ring(ring.directory).sign(claims(), TYP)  # signed over there
    assert decoded_header(token)["kid"] == new
    assert read(token)["sub"] == claims()["sub"]
    assert decoded_header(signing.sign(claims(), TYP))["kid"] == new  # and it signs here now


def test_keys_changed_by_another_process_are_seen_within_the_window(
    ring: Ring, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A retirement elsewhere is refused once RING_CHECKED_FOR has passed; so is a rotation seen."""
    monkeypatch.setattr(signing, "RING_CHECKED_FOR", 0.2)
    first = signing.sign(claims(), TYP)
    new = signing.create_key(ring.directory)
    assert decoded_header(signing.sign(claims(), TYP))["kid"] == ring.kid  # not looked at yet
    time.sleep(0.3)
    assert decoded_header(signing.sign(claims(), TYP))["kid"] == new
    (ring.directory / f"{ring.kid}.retired").write_text("2025-01-01T00:00:00+00:00\n")
    time.sleep(0.3)
    assert rejected(first).reason == "unknown-kid"
    (ring.directory / f"{ring.kid}.retired").unlink()
    assert read(first)["sub"] == claims()["sub"]  # an unknown kid looks again at once


def test_the_window_is_one_second() -> None:
    """README, "Speed": a retired key is refused within one second on every instance."""
    assert signing.RING_CHECKED_FOR == 1.0


def test_a_key_file_still_being_written_is_skipped(ring: Ring) -> None:
    signing.sign(claims(), TYP)
    (ring.directory / "half-written.pem").touch()
    assert decoded_header(signing.sign(claims(), TYP))["kid"] == ring.kid


def test_the_ring_can_be_read_from_a_folder_without_an_app(tmp_path: Path) -> None:
    kid = signing.create_key(tmp_path)
    ring = signing.load_ring(tmp_path)
    token = ring.sign(claims(), TYP)
    assert ring.read(token, TYP, ISSUER, REQUIRED)["iss"] == ISSUER
    assert [key["kid"] for key in ring.jwks()["keys"]] == [kid]


def test_a_key_not_named_by_its_thumbprint_is_refused_at_start(tmp_path: Path) -> None:
    """Prevents signing under a kid that names another key."""
    kid = signing.create_key(tmp_path)
    (tmp_path / f"{kid}.pem").rename(tmp_path / "renamed.pem")
    with pytest.raises(signing.ConfigError, match=f"rename it {kid}.pem"):
        signing.check_keys_dir(tmp_path)
    assert signing.load_ring(tmp_path).active is None
