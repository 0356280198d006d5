"""QR codes: rendered by identity.qr (segno), read back by an independent decoder (zxing-cpp)."""

import base64
import io
import json
import random
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import segno
import zxingcpp
from PIL import Image

from identity import qr
from identity.digital_id import credentials
from identity.models import Credential
from tests.apps import make_app

LOCAL_URL = "http://127.0.0.1:5000"
PUBLIC_URL = "https://hawiya.housing.gov.kw"  # 29 characters, https
LONGEST_URL = "https://check.hawiya.housing.gov.kw"  # 35: the most HAWIYA_PUBLIC_URL may be
LARGEST_INDEX = 2**31 - 1  # the status index of the 2,147,483,647th credential: the most digits


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def real_phone_url(base: str, tmp: Path) -> str:
    """A phone ID URL exactly as the card shows it: a real ES256 token from a real key."""
    app = make_app(tmp, PUBLIC_URL=base)
    with app.app_context():
        credential = Credential(id=credentials.new_id(), status_index=LARGEST_INDEX)
        return credentials.phone_token(credential).url


def document_url(seed: int = 11) -> str:
    return f"{PUBLIC_URL}/d/{b64url(random.Random(seed).randbytes(16))}"


@pytest.fixture(params=[LOCAL_URL, PUBLIC_URL, LONGEST_URL], ids=["local", "public", "longest"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return real_phone_url(request.param, tmp_path)


def decode(png: bytes) -> list[zxingcpp.Barcode]:
    return list(zxingcpp.read_barcodes(Image.open(io.BytesIO(png))))


def decode_one(png: bytes) -> zxingcpp.Barcode:
    found = decode(png)
    assert len(found) == 1, f"expected one QR code, the decoder found {len(found)}"
    assert found[0].format == zxingcpp.BarcodeFormat.QRCode
    return found[0]


def extra(barcode: zxingcpp.Barcode) -> dict[str, object]:
    """The decoder's QR details: DataMask, Version, ECLevel, …"""
    details = barcode.extra
    assert isinstance(details, dict)
    return details


def test_the_phone_token_carries_nothing_personal_its_status_list_place_and_lives_a_minute(
    url: str,
) -> None:
    token = credentials.from_numeric(url.rsplit("/", 1)[1])
    assert token is not None
    header, claims, signature = token.split(".")
    decoded = json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))
    assert set(decoded) == {"alg", "typ", "kid"} and len(decoded["kid"]) == 43
    payload = json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))
    assert set(payload) == {"iss", "sub", "iat", "exp", "sli"}
    assert len(payload["sub"]) == 16  # 96 random bits
    assert payload["sli"] == LARGEST_INDEX
    assert payload["exp"] - payload["iat"] == 60
    assert len(signature) == 86


def test_the_dense_form_holds_the_token_in_a_numeric_segment_a_sixth_smaller(url: str) -> None:
    prefix, digits = qr.segments(url)
    assert prefix.endswith("/v/") and digits.isdigit()
    in_bytes = segno.make_qr(url, error="m", boost_error=False, mode="byte")
    assert qr.version(url, qr.PHONE_ERROR) < int(in_bytes.version)
    # The same token as a JWS, in bytes as before: the dense form is smaller still.
    as_jws = f"{prefix}{credentials.from_numeric(digits)}"
    assert qr.version(url, qr.PHONE_ERROR) < qr.version(as_jws, qr.PHONE_ERROR)


def test_only_a_long_run_of_digits_at_the_end_gets_a_segment_of_its_own() -> None:
    assert qr.segments("https://x.example/v/" + "1" * 30) == ["https://x.example/v/", "1" * 30]
    assert qr.segments("https://x.example:5000/d/12") == ["https://x.example:5000/d/12"]
    assert qr.segments("1" * 40) == ["1" * 40]
    assert qr.segments("https://x.example/" + "1" * 30 + "a") == [
        "https://x.example/" + "1" * 30 + "a"
    ]


def test_phone_url_round_trips_at_m(url: str) -> None:
    barcode = decode_one(qr.png(url, qr.PHONE_ERROR))
    assert barcode.text == url
    assert barcode.ec_level == "M"
    assert extra(barcode)["DataMask"] == qr.MASK
    assert extra(barcode)["Version"] == str(qr.version(url, qr.PHONE_ERROR))


def test_phone_url_fits_the_design_version_at_m(url: str) -> None:
    assert qr.version(url, qr.PHONE_ERROR) <= qr.PHONE_MAX_VERSION


def test_document_url_round_trips_at_q_within_version_5() -> None:
    url = document_url()
    assert len(url.rsplit("/", 1)[1]) == 22
    barcode = decode_one(qr.png(url, qr.DOCUMENT_ERROR))
    assert barcode.text == url
    assert barcode.ec_level == "Q"
    assert extra(barcode)["Version"] == str(qr.version(url, qr.DOCUMENT_ERROR))
    assert qr.version(url, qr.DOCUMENT_ERROR) <= qr.DOCUMENT_MAX_VERSION


def test_error_level_is_not_boosted() -> None:
    # A short text leaves room for a higher level in the same version; segno would boost it.
    for level in ("m", "q"):
        assert decode_one(qr.png("HAWIYA", level)).ec_level == level.upper()


def test_arabic_text_round_trips() -> None:
    text = "هوية المستفيد: محمد عبدالله — رقم ١٢٣٤٥"
    assert decode_one(qr.png(text, qr.DOCUMENT_ERROR)).text == text


def test_max_version_overflow_raises_value_error() -> None:
    url = document_url()
    needed = qr.version(url, qr.DOCUMENT_ERROR)
    assert qr.make(url, qr.DOCUMENT_ERROR, max_version=needed).version == needed
    with pytest.raises(ValueError, match=f"needs QR version {needed}"):
        qr.make(url, qr.DOCUMENT_ERROR, max_version=needed - 1)
    with pytest.raises(ValueError):
        qr.png(url, qr.DOCUMENT_ERROR, max_version=needed - 1)
    with pytest.raises(ValueError):
        qr.svg(url, qr.DOCUMENT_ERROR, max_version=needed - 1)


def test_svg_is_inline_well_formed_and_self_contained(url: str) -> None:
    markup = qr.svg(url, qr.PHONE_ERROR, title='Hawiya ID <"test"> & co')
    assert markup.startswith("<svg")
    assert "<?xml" not in markup
    root = ET.fromstring(markup)  # raises on malformed XML
    assert root.tag.rsplit("}", 1)[-1] == "svg"
    title = root.find("{*}title")
    assert title is not None
    assert title.text == 'Hawiya ID <"test"> & co'
    # No external references: no links, images, styles or scripts; no URL but the namespace.
    for element in root.iter():
        assert element.tag.rsplit("}", 1)[-1] in {"svg", "title", "path"}
        for name, value in element.attrib.items():
            assert "href" not in name
            assert "url(" not in value
            assert "http" not in value
    assert "http" not in markup.replace("http://www.w3.org/2000/svg", "")
    # The size follows the version, scale and border asked for.
    modules = 17 + 4 * qr.version(url, qr.PHONE_ERROR) + 2 * 4
    assert root.attrib["width"] == str(modules * 4)


def test_svg_without_title_has_none() -> None:
    root = ET.fromstring(qr.svg("HAWIYA"))
    assert root.find("{*}title") is None
    assert root.find("title") is None
