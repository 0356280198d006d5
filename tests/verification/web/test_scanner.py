"""The scanner at /scan: its page, and photos of QR codes uploaded and decoded on the server."""

import io
import struct
import zlib
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from werkzeug.test import TestResponse

from identity import qr
from tests.apps import https_client
from tests.factories import FATIMA, add_people, csrf_from, make_pdf, web_sign_in
from verification import photos
from verification.web import scanner

PUBLIC = "http://127.0.0.1:5000"  # the testing app's PUBLIC_URL
FOREIGN = "This QR code is not a Hawiya verification code."
NO_QR = "No QR code was found in this photo."
NOT_AN_IMAGE = "This file is not a photo we can read."
TOO_LARGE = "The photo is too large."
TOO_MANY_PIXELS = "The photo has too many pixels."


@pytest.fixture
def holder(app: Flask) -> FlaskClient:
    """Fatima's phone, signed in, showing her digital ID."""
    add_people(app, FATIMA)
    return web_sign_in(app)


def card_url(holder: FlaskClient) -> str:
    """The text in the QR of the holder's card right now."""
    state = holder.get("/me/card.json", headers={"Accept": "application/json"}).json
    assert state is not None
    return str(state["qr"])


def upload(client: FlaskClient, data: bytes, filename: str = "photo.png") -> TestResponse:
    """Post a photo through the scanner's form, as the browser does (?lang=en: English text)."""
    token = csrf_from(client.get("/scan?lang=en").text)
    return client.post(
        "/scan",
        data={"csrf_token": token, "image": (io.BytesIO(data), filename)},
        content_type="multipart/form-data",
    )


def message(response: TestResponse) -> str:
    """The text of the upload's alert on a re-rendered page."""
    assert 'role="alert"' in response.text
    return response.text.split("data-upload-error>", 1)[1].split("</p>", 1)[0]


def encoded(image: Image.Image, kind: str) -> bytes:
    out = io.BytesIO()
    image.save(out, kind)
    return out.getvalue()


def qr_image(text: str) -> Image.Image:
    return Image.open(io.BytesIO(qr.png(text))).convert("RGB")


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims the given size, with almost no pixel data (as a bomb would)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body)
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    pixels = zlib.compress(b"\0" * 64)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def test_the_page_offers_the_camera_and_the_upload(client: FlaskClient, app: Flask) -> None:
    page = client.get("/scan")
    assert page.status_code == 200
    assert 'dir="rtl"' in page.text and 'lang="ar"' in page.text
    assert f'data-public-url="{app.config["PUBLIC_URL"]}"' in page.text
    assert 'src="/static/vendor/jsQR.js"' in page.text and 'src="/static/scan.js"' in page.text
    assert 'enctype="multipart/form-data"' in page.text and 'name="csrf_token"' in page.text
    assert '<label for="image">' in page.text and 'id="image" name="image"' in page.text
    english = client.get("/scan?lang=en")
    assert 'dir="ltr"' in english.text and "Scan a QR code" in english.text
    assert FOREIGN in english.text  # handed to the script for the camera's codes
    for path in ("/static/vendor/jsQR.js", "/static/scan.js", "/static/vendor/jsQR.LICENSE.txt"):
        assert client.get(path).status_code == 200, path
    assert "https://" not in client.get("/static/scan.js").text  # nothing from elsewhere


def test_a_photo_of_a_phone_id_opens_its_verdict(holder: FlaskClient, app: Flask) -> None:
    url = card_url(holder)
    verifier = https_client(app)
    response = upload(verifier, qr.png(url))
    assert response.status_code == 303
    token = url.rsplit("/", 1)[1]
    assert response.headers["Location"] == f"/v/{token}"
    verdict = verifier.get(response.headers["Location"])
    assert verdict.status_code == 200
    assert 'data-verdict="valid"' in verdict.text
    assert FATIMA.full_name_en in verdict.text


@pytest.mark.parametrize("kind", ["JPEG", "WEBP", "GIF", "PNG"])
def test_each_accepted_kind_of_photo_is_read(holder: FlaskClient, app: Flask, kind: str) -> None:
    url = card_url(holder)
    response = upload(https_client(app), encoded(qr_image(url), kind), f"photo.{kind.lower()}")
    assert response.status_code == 303
    assert response.headers["Location"] == "/v/" + url.rsplit("/", 1)[1]


def test_a_code_on_a_transparent_background_is_read(client: FlaskClient) -> None:
    code = Image.open(io.BytesIO(qr.png(PUBLIC + "/d/AbCdEfGhIjKlMnOpQrSt_-12"))).convert("L")
    # Black modules on fully transparent pixels that are black too: only the alpha draws it.
    clear = Image.new("RGBA", code.size, (0, 0, 0, 0))
    clear.putalpha(code.point(lambda value: 255 - value))
    response = upload(client, encoded(clear, "PNG"))
    assert response.status_code == 303
    assert response.headers["Location"] == "/d/AbCdEfGhIjKlMnOpQrSt_-12"


def test_a_photo_taken_of_a_screen_is_read(client: FlaskClient) -> None:
    """A skewed, smaller code in a larger, noisy photo, saved as a phone would (JPEG)."""
    code = qr_image(PUBLIC + "/d/AbCdEfGhIjKlMnOpQrSt_-12").resize((300, 300))
    photo = Image.effect_noise((1200, 900), 40).convert("RGB")
    photo.paste(code.rotate(12, expand=True, fillcolor="white"), (420, 250))
    response = upload(client, encoded(photo, "JPEG"), "IMG_0001.jpg")
    assert response.status_code == 303
    assert response.headers["Location"] == "/d/AbCdEfGhIjKlMnOpQrSt_-12"


def test_a_document_code_opens_its_page_on_this_site(client: FlaskClient) -> None:
    response = upload(client, qr.png(PUBLIC + "/d/AbCdEfGhIjKlMnOpQrSt_-12", error="q"))
    assert response.status_code == 303
    assert response.headers["Location"] == "/d/AbCdEfGhIjKlMnOpQrSt_-12"


@pytest.mark.parametrize(
    "text",
    [
        "https://evil.example/v/eyJhbGciOiJFUzI1NiJ9.e30.c2ln",
        "https://evil.example/d/AbCdEfGhIjKlMnOpQrSt",
        "http://127.0.0.1:5000.evil.example/v/a.b.c",
        "http://127.0.0.1:5001/v/a.b.c",
        "https://127.0.0.1:5000/v/a.b.c",
        "http://evil.example@127.0.0.1:5000/v/a.b.c",
        "http://127.0.0.1:5000/login",
        "http://127.0.0.1:5000/v/../login",
        "http://127.0.0.1:5000/v/a.b.c/../../login",
        "http://127.0.0.1:5000/d/%2F%2Fevil.example",
        "javascript:alert(1)//http://127.0.0.1:5000/v/a.b.c",
        "Just some text",
        "WIFI:S:Office;T:WPA;P:secret;;",
    ],
)
def test_a_code_that_is_not_ours_is_not_followed(client: FlaskClient, text: str) -> None:
    response = upload(client, qr.png(text))
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert message(response) == FOREIGN


def test_the_message_is_in_arabic_by_default(client: FlaskClient) -> None:
    token = csrf_from(client.get("/scan").text)
    response = client.post(
        "/scan",
        data={"csrf_token": token, "image": (io.BytesIO(qr.png("https://evil.example")), "a.png")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert 'dir="rtl"' in response.text and 'role="alert"' in response.text


def test_a_photo_with_no_qr_code_says_so(client: FlaskClient) -> None:
    photo = Image.linear_gradient("L").resize((640, 480)).convert("RGB")
    response = upload(client, encoded(photo, "JPEG"), "photo.jpg")
    assert response.status_code == 400
    assert message(response).startswith(NO_QR)


def tiny_png() -> bytes:
    return encoded(Image.new("RGB", (1, 1), "white"), "PNG")


def truncated_png() -> bytes:
    whole = qr.png(PUBLIC + "/v/a.b.c")
    return whole[: len(whole) // 2]


def other_kind(kind: str) -> Callable[[], bytes]:
    return lambda: encoded(qr_image(PUBLIC + "/v/a.b.c"), kind)


@pytest.mark.parametrize(
    ("make", "filename", "status", "expected"),
    [
        (lambda: b"", "empty.png", 415, NOT_AN_IMAGE),
        (make_pdf, "letter.pdf", 415, NOT_AN_IMAGE),
        (make_pdf, "disguised.png", 415, NOT_AN_IMAGE),
        (lambda: b"\x89PNG\r\n\x1a\n" + b"\0" * 200, "broken.png", 415, NOT_AN_IMAGE),
        (truncated_png, "half.png", 415, NOT_AN_IMAGE),
        (lambda: bytes(range(256)) * 40, "noise.jpg", 415, NOT_AN_IMAGE),
        (other_kind("BMP"), "code.bmp", 415, NOT_AN_IMAGE),
        (other_kind("TIFF"), "code.tiff", 415, NOT_AN_IMAGE),
        (lambda: b"<svg xmlns='http://www.w3.org/2000/svg'/>", "code.svg", 415, NOT_AN_IMAGE),
        (tiny_png, "dot.png", 400, NO_QR),
        (lambda: png_header_only(8000, 6000), "huge.png", 413, TOO_MANY_PIXELS),
        (lambda: png_header_only(20000, 20000), "bomb.png", 413, TOO_MANY_PIXELS),
        (lambda: png_header_only(2**31 - 1, 2**31 - 1), "absurd.png", 413, TOO_MANY_PIXELS),
        (lambda: b"\xff\xd8\xff" + b"\0" * (photos.MAX_UPLOAD - 2), "big.jpg", 413, TOO_LARGE),
    ],
)
def test_a_bad_upload_gets_a_clear_message_not_an_error(
    client: FlaskClient,
    make: Callable[[], bytes],
    filename: str,
    status: int,
    expected: str,
) -> None:
    response = upload(client, make(), filename)
    assert response.status_code == status
    assert message(response).startswith(expected)
    assert 'aria-invalid="true"' in response.text


def test_a_body_over_the_cap_is_refused_before_it_is_read(client: FlaskClient) -> None:
    response = upload(client, b"\xff\xd8\xff" + b"\0" * (6 * 1024 * 1024))
    assert response.status_code == 413
    assert message(response).startswith(TOO_LARGE)


def test_a_form_without_a_photo_asks_for_one(client: FlaskClient) -> None:
    token = csrf_from(client.get("/scan?lang=en").text)
    response = client.post("/scan", data={"csrf_token": token})
    assert response.status_code == 400
    assert message(response) == "Choose a photo of the QR code to upload."
    empty = client.post(
        "/scan",
        data={"csrf_token": token, "image": (io.BytesIO(b""), "")},
        content_type="multipart/form-data",
    )
    assert empty.status_code == 400


def test_the_upload_needs_the_form_token(client: FlaskClient, app: Flask) -> None:
    client.get("/scan")
    photo = qr.png(PUBLIC + "/d/AbCdEfGhIjKlMnOpQrSt_-12")
    for token in (None, "forged", csrf_from(https_client(app).get("/scan").text)):
        data: dict[str, object] = {"image": (io.BytesIO(photo), "code.png")}
        if token:
            data["csrf_token"] = token
        response = client.post(
            "/scan", data=data, content_type="multipart/form-data",
            headers={"Accept": "application/json"},
        )  # fmt: skip
        assert response.status_code == 400, token
        assert response.json is not None and response.json["error"]["code"] == "csrf-failed"
        assert "Location" not in response.headers


def test_uploads_are_rate_limited(client: FlaskClient) -> None:
    photo = tiny_png()
    for _ in range(scanner.UPLOADS_PER_CLIENT):
        assert upload(client, photo).status_code == 400
    limited = upload(client, photo)
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) > 0
    assert message(limited).startswith("Too many attempts.")


HERE = "https://hawiya.example/"


@pytest.mark.parametrize(
    ("text", "public", "expected"),
    [
        (PUBLIC + "/v/aa.bb.cc", PUBLIC, "/v/aa.bb.cc"),
        (PUBLIC + "/v/aa.bb.cc/", PUBLIC, "/v/aa.bb.cc"),
        (PUBLIC + "/v/aa.bb.cc?utm=1#x", PUBLIC, "/v/aa.bb.cc"),
        ("  " + PUBLIC + "/d/AbCdEfGhIjKlMnOp \n", PUBLIC, "/d/AbCdEfGhIjKlMnOp"),
        ("HTTP://127.0.0.1:5000/v/aa.bb.cc", PUBLIC, "/v/aa.bb.cc"),
        ("https://hawiya.example/v/aa.bb.cc", PUBLIC, "/v/aa.bb.cc"),  # the page's own origin
        ("https://HAWIYA.example:443/d/AbCdEfGhIjKlMnOp", PUBLIC, "/d/AbCdEfGhIjKlMnOp"),
        ("https://gov.example/hawiya/v/aa.bb.cc", "https://gov.example/hawiya", "/v/aa.bb.cc"),
        ("https://gov.example/v/aa.bb.cc", "https://gov.example/hawiya", None),
        ("https://gov.example/hawiyax/v/aa.bb.cc", "https://gov.example/hawiya", None),
        (PUBLIC + "/v/", PUBLIC, None),
        (PUBLIC + "/v/.hidden", PUBLIC, None),
        (PUBLIC + "/v/a/b", PUBLIC, None),
        (PUBLIC + "/d/" + "A" * 65, PUBLIC, None),
        (PUBLIC + "/x/aa.bb.cc", PUBLIC, None),
        (PUBLIC + "\\@evil.example/v/aa.bb.cc", PUBLIC, None),
        ("http://127.0.0.1:notaport/v/aa.bb.cc", PUBLIC, None),
        ("ftp://127.0.0.1:5000/v/aa.bb.cc", PUBLIC, None),
        (PUBLIC + "/v/" + "a" * 5000, PUBLIC, None),
        # A control, format or space character inside: URL parsers would drop some silently.
        (PUBLIC + "/v/aa.b\tb.cc", PUBLIC, None),
        (PUBLIC + "/v/aa.bb.c\nc", PUBLIC, None),
        (PUBLIC + "/v/aa.bb.c\r\nc", PUBLIC, None),
        ("http://127.0.0.1:50\t00/v/aa.bb.cc", PUBLIC, None),
        ("ht\ntp://127.0.0.1:5000/v/aa.bb.cc", PUBLIC, None),
        (PUBLIC + "/d/AbCdEfGh\x00IjKlMnOp", PUBLIC, None),
        (PUBLIC + "/d/AbCdEfGh\u200bIjKlMnOp", PUBLIC, None),
        (PUBLIC + "/v/aa.bb.cc\u202e", PUBLIC, None),
        (PUBLIC + "/v/aa.bb\x85.cc", PUBLIC, None),
    ],
)
def test_which_texts_are_ours(text: str, public: str, expected: str | None) -> None:
    assert scanner.local_path(text, public, HERE) == expected


def test_a_site_under_a_path_keeps_its_path() -> None:
    here = "https://gov.example/hawiya/"
    text = "https://gov.example/hawiya/v/aa.bb.cc"
    assert scanner.local_path(text, "https://gov.example/hawiya", here) == "/hawiya/v/aa.bb.cc"


@pytest.mark.parametrize("size", [(70_000, 1), (1, 70_000), (photos.MAX_SIDE + 1, 2)])
def test_an_image_too_wide_or_too_tall_is_refused_not_an_error(
    client: FlaskClient, size: tuple[int, int]
) -> None:
    """Prevents a 500: a 70,000 × 1 PNG passed the pixel budget and the decoder refused it."""
    response = upload(client, encoded(Image.new("L", size, 255), "PNG"), "strip.png")
    assert response.status_code == 400
    assert message(response).startswith("This image is too wide or too tall")
