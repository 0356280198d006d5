"""Fixtures for tests that drive a real browser: Debian's Chromium, through Playwright.

Only Debian's own package is used (`make test` installs it when missing); Playwright never
downloads a browser build. Every test in this folder carries the `browser` marker, so
`pytest -m "not browser"` leaves them out.
"""

import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright
from werkzeug.serving import make_server

from identity import db
from tests.apps import make_app
from tests.factories import FATIMA, add_people

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",  # CI runs as root, where Chromium's sandbox refuses to start
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
# A phone: the screen of an iPhone 12–15 in CSS pixels, at twice the pixel density.
PHONE_WIDTH, PHONE_HEIGHT, PHONE_SCALE = 390, 844, 2
# An office computer's screen: a common laptop size, at one pixel per CSS pixel.
DESK_WIDTH, DESK_HEIGHT = 1280, 800
HERE = Path(__file__).parent


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: drives a real browser (Chromium)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test of this folder `browser` (this hook sees the whole session's items)."""
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """One headless Chromium for the session; missing, it fails in CI and is skipped elsewhere."""
    if not os.access(CHROMIUM, os.X_OK):
        message = f"{CHROMIUM} is missing: `make test` installs it (apt-get install chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message} (CI must run the browser tests)")
        pytest.skip(message)
    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()
    finally:
        playwright.stop()


@dataclass
class LiveServer:
    """A testing app served over real HTTP, for a real browser."""

    url: str
    app: Flask


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    """Serve a fresh testing app with Fatima in the register on a free port of 127.0.0.1.

    The session cookie is `__Host-hawiya`, which must be Secure. Chromium takes Secure cookies
    from http://127.0.0.1 and http://localhost all the same: they are "potentially trustworthy"
    origins, treated as secure contexts (the sign-in test checks that the cookie is set and
    sent). So the real cookie attributes are tested, with no https and no certificate.
    """
    app = make_app(tmp_path)
    with app.app_context():
        db.upgrade(db.get_db().engine)
    add_people(app, FATIMA)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(f"http://127.0.0.1:{server.server_port}", app)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        app.extensions["hawiya.db"].engine.dispose()


class Phones:
    """Opens pages on a phone or a desk, each in its own browser context; records every request."""

    def __init__(self, browser: Browser) -> None:
        self.browser = browser
        self.contexts: list[BrowserContext] = []
        self.requests: list[str] = []

    def open(self, locale: str = "ar-KW") -> Page:
        """Return a new page in a fresh context (no cookies) with this locale."""
        context = self.browser.new_context(
            viewport={"width": PHONE_WIDTH, "height": PHONE_HEIGHT},
            device_scale_factor=PHONE_SCALE,
            is_mobile=True,
            has_touch=True,
            locale=locale,
        )
        return self._watch(context)

    def open_desk(self, locale: str = "ar-KW") -> Page:
        """Return a new page on an office computer's screen (no touch), recorded the same way."""
        context = self.browser.new_context(
            viewport={"width": DESK_WIDTH, "height": DESK_HEIGHT}, locale=locale
        )
        return self._watch(context)

    def _watch(self, context: BrowserContext) -> Page:
        context.set_default_timeout(10_000)
        context.on("request", lambda request: self.requests.append(request.url))
        self.contexts.append(context)
        return context.new_page()

    def close(self) -> None:
        for context in self.contexts:
            context.close()


@pytest.fixture
def phones(browser: Browser) -> Iterator[Phones]:
    """A factory of phone pages; `phones.requests` lists every URL any of them requested."""
    opened = Phones(browser)
    yield opened
    opened.close()


@pytest.fixture
def page(phones: Phones) -> Page:
    """A page on a phone whose browser speaks Arabic (Kuwait)."""
    return phones.open("ar-KW")


@pytest.fixture
def page_en(phones: Phones) -> Page:
    """A page on a phone whose browser speaks English."""
    return phones.open("en-US")


@pytest.fixture
def desk_page(phones: Phones) -> Page:
    """A page on an office computer whose browser speaks Arabic (Kuwait); requests recorded."""
    return phones.open_desk("ar-KW")
