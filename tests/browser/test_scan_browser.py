"""The scanner in a real browser: a fake camera showing a QR code, a photo upload, refusals."""

import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from PIL import Image
from playwright.sync_api import Browser, BrowserContext, FilePayload, Page, expect

from identity import qr
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, PHONE_HEIGHT, PHONE_WIDTH, LiveServer
from tests.factories import FATIMA, issue_ids, phone_url

FRAME = (640, 480)  # the fake camera's picture, in pixels (even sides, for 4:2:0)
FOREIGN = "This QR code is not a Hawiya verification code."
DENIED = "Allow the camera in your browser settings, or upload a photo of the code below."
INSECURE = "The camera works only on a secure (https) connection."


def write_y4m(text: str, path: Path, frames: int = 3, fps: int = 10) -> None:
    """Write a short YUV4MPEG2 video of a QR code holding text: Chromium loops it as a camera."""
    code = Image.open(io.BytesIO(qr.png(text, scale=6))).convert("L")
    side = min(FRAME) - 40
    picture = Image.new("L", FRAME, 235)  # a light grey desk, not a perfect white
    picture.paste(code.resize((side, side)), ((FRAME[0] - side) // 2, (FRAME[1] - side) // 2))
    y, cb, cr = picture.convert("RGB").convert("YCbCr").split()
    half = (FRAME[0] // 2, FRAME[1] // 2)
    frame = b"FRAME\n" + y.tobytes() + cb.resize(half).tobytes() + cr.resize(half).tobytes()
    header = f"YUV4MPEG2 W{FRAME[0]} H{FRAME[1]} F{fps}:1 Ip A1:1 C420jpeg\n".encode()
    path.write_bytes(header + frame * frames)


@pytest.fixture(scope="module")
def camera_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The file the fake camera plays; each test writes its own picture into it first."""
    path = tmp_path_factory.mktemp("camera") / "camera.y4m"
    write_y4m("nothing yet", path)
    return path


def launch(browser: Browser, *flags: str) -> Browser:
    """Start another Chromium like the shared one, with these camera flags."""
    return browser.browser_type.launch(
        executable_path=CHROMIUM, headless=True, args=[*CHROMIUM_ARGS, *flags]
    )


@pytest.fixture(scope="module")
def camera_browser(browser: Browser, camera_file: Path) -> Iterator[Browser]:
    """A Chromium whose camera is a video file, and which allows the camera without asking."""
    launched = launch(
        browser,
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={camera_file}",
    )
    yield launched
    launched.close()


@pytest.fixture(scope="module")
def refusing_browser(browser: Browser) -> Iterator[Browser]:
    """A Chromium with a camera, whose user answers "Block" when a page asks for it."""
    launched = launch(browser, "--use-fake-device-for-media-stream", "--deny-permission-prompts")
    yield launched
    launched.close()


def phone_on(browser: Browser) -> BrowserContext:
    """A new phone context, in English, on one of these browsers."""
    context = browser.new_context(
        viewport={"width": PHONE_WIDTH, "height": PHONE_HEIGHT},
        is_mobile=True,
        has_touch=True,
        locale="en-US",
    )
    context.set_default_timeout(10_000)
    return context


@pytest.fixture
def phone(camera_browser: Browser) -> Iterator[Page]:
    """A phone page on the browser with the fake camera."""
    context = phone_on(camera_browser)
    yield context.new_page()
    context.close()


def card_qr(app: Flask) -> str:
    """Issue Fatima's digital ID and return the text of its QR right now."""
    issue_ids(app, FATIMA)
    return phone_url(app)


def photo(name: str, data: bytes, mime: str = "image/png") -> FilePayload:
    """A file for an <input type=file>, given by its bytes."""
    return {"name": name, "mimeType": mime, "buffer": data}


def csp_violations(page: Page) -> list[str]:
    """Collect the page's console reports of Content-Security-Policy refusals."""
    seen: list[str] = []
    page.on(
        "console",
        lambda message: (
            seen.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    return seen


def test_the_camera_reads_a_phone_id_and_opens_its_verdict(
    phone: Page, live_server: LiveServer, camera_file: Path
) -> None:
    text = card_qr(live_server.app)
    # The QR holds the configured PUBLIC_URL, not this server's address: it opens here all the same.
    assert not text.startswith(live_server.url)
    write_y4m(text, camera_file)
    violations = csp_violations(phone)
    requests: list[str] = []
    phone.on("request", lambda request: requests.append(request.url))
    phone.goto(f"{live_server.url}/scan?lang=en")
    token = text.rsplit("/", 1)[1]
    expect(phone).to_have_url(f"{live_server.url}/v/{token}")
    expect(phone.locator("[data-verdict]")).to_have_attribute("data-verdict", "valid")
    expect(phone.get_by_role("heading", level=1)).to_have_text("Valid")
    assert violations == []
    assert all(url.startswith(live_server.url + "/") for url in requests), requests


@pytest.mark.parametrize(
    "text",
    [
        "https://evil.example/v/eyJhbGciOiJFUzI1NiJ9.e30.c2ln",
        # Ours but for a tab inside, which the URL parser would drop: one spelling per code.
        "http://127.0.0.1:50\t00/v/eyJhbGciOiJFUzI1NiJ9.e30.c2ln",
    ],
)
def test_the_camera_does_not_follow_a_code_that_is_not_ours(
    phone: Page, live_server: LiveServer, camera_file: Path, text: str
) -> None:
    """Prevents following a foreign code, or one of ours spelled with a control character."""
    write_y4m(text, camera_file)
    requests: list[str] = []
    phone.on("request", lambda request: requests.append(request.url))
    phone.goto(f"{live_server.url}/scan?lang=en")
    alert = phone.locator("[data-scanner] [role=alert]")
    expect(alert).to_have_text(FOREIGN)
    expect(alert).to_be_visible()
    phone.wait_for_timeout(500)  # a few more frames are read: still here
    assert phone.url == f"{live_server.url}/scan?lang=en"
    assert not any("evil.example" in url for url in requests)
    # The camera keeps running for the next code.
    assert phone.evaluate("document.querySelector('video').srcObject.active") is True


def test_a_refused_camera_says_what_to_do(
    refusing_browser: Browser, live_server: LiveServer
) -> None:
    context = phone_on(refusing_browser)
    page = context.new_page()
    page.goto(f"{live_server.url}/scan?lang=en")
    alert = page.locator("[data-scanner] [role=alert]")
    expect(alert).to_have_text(DENIED)
    expect(page.locator("video")).to_be_hidden()
    expect(page.get_by_role("button", name="Try the camera again")).to_be_visible()
    expect(page.get_by_label("Photo of the QR code")).to_be_visible()
    # Trying again, still refused, says the same.
    page.get_by_role("button", name="Try the camera again").click()
    expect(alert).to_have_text(DENIED)
    context.close()


def test_an_insecure_page_says_the_camera_needs_https(phone: Page, live_server: LiveServer) -> None:
    phone.add_init_script("Object.defineProperty(window, 'isSecureContext', {value: false})")
    phone.goto(f"{live_server.url}/scan?lang=en")
    expect(phone.locator("[data-scanner] [role=alert]")).to_contain_text(INSECURE)
    expect(phone.get_by_role("button", name="Try the camera again")).to_be_hidden()


def test_an_uploaded_photo_opens_the_verdict_in_arabic(page: Page, live_server: LiveServer) -> None:
    """The phone of the shared fixtures: no camera allowed, Arabic, right to left."""
    text = card_qr(live_server.app)
    page.goto(f"{live_server.url}/scan")
    assert page.evaluate("document.documentElement.dir") == "rtl"
    # Nothing is wider than the phone (the file field is, by default).
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_WIDTH
    page.locator("input[type=file]").set_input_files(files=photo("code.png", qr.png(text)))
    page.locator("form[data-upload] button[type=submit]").click()
    expect(page).to_have_url(re.compile(re.escape(f"{live_server.url}/v/")))
    expect(page.locator("[data-verdict]")).to_have_attribute("data-verdict", "valid")


def test_an_uploaded_photo_of_a_foreign_code_is_refused(
    page_en: Page, live_server: LiveServer
) -> None:
    page_en.goto(f"{live_server.url}/scan?lang=en")
    page_en.get_by_label("Photo of the QR code").set_input_files(
        files=photo("code.png", qr.png("https://evil.example/"))
    )
    page_en.get_by_role("button", name="Check the photo").click()
    expect(page_en.locator("#upload-error")).to_have_text(FOREIGN)
    assert page_en.url == f"{live_server.url}/scan"
    expect(page_en.get_by_label("Photo of the QR code")).to_have_attribute("aria-invalid", "true")


def test_a_photo_too_large_is_refused_before_it_is_sent(
    page_en: Page, live_server: LiveServer
) -> None:
    page_en.goto(f"{live_server.url}/scan?lang=en")
    posted: list[str] = []
    page_en.on(
        "request", lambda request: posted.append(request.url) if request.method == "POST" else None
    )
    big = b"\xff\xd8\xff" + b"\0" * (6 * 1024 * 1024)
    page_en.get_by_label("Photo of the QR code").set_input_files(
        files=photo("big.jpg", big, "image/jpeg")
    )
    page_en.get_by_role("button", name="Check the photo").click()
    expect(page_en.locator("#upload-error")).to_contain_text("The photo is too large.")
    assert posted == []
