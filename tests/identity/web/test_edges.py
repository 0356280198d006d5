"""What every response shares: one error shape, security headers, languages, health checks."""

import flask
import pytest
from flask import Flask
from flask.testing import FlaskClient

from identity.store import StoreUnavailable
from identity.web.headers import SECURITY_HEADERS


def test_healthz(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok"}


def test_readyz_checks_database_and_store_on_each_backend(any_app: Flask) -> None:
    response = any_app.test_client().get("/readyz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "checks": {"database": "ok", "store": "ok"}}


def test_readyz_is_503_when_the_store_is_down(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    def down() -> None:
        raise StoreUnavailable("down")

    monkeypatch.setattr(app.extensions["hawiya.store"], "ping", down)
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json["checks"] == {"database": "ok", "store": "unavailable"}


def test_readyz_is_503_when_the_database_is_unreachable(tmp_path) -> None:
    from tests.apps import make_app

    app = make_app(tmp_path, DATABASE_URL="postgresql+psycopg://nobody@127.0.0.1:1/none")
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json["checks"]["database"] == "unavailable"


def test_readyz_is_503_when_redis_is_unreachable(tmp_path) -> None:
    from tests.apps import make_app

    app = make_app(tmp_path, REDIS_URL="redis://127.0.0.1:1/0")
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json["checks"]["store"] == "unavailable"


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("get", "/api/v1/nothing-here", 404, "not-found"),
        ("post", "/healthz", 405, "method-not-allowed"),
        ("delete", "/api/v1/nothing-here", 404, "not-found"),
    ],
)
def test_api_errors_have_one_shape(
    client: FlaskClient, method: str, path: str, status: int, code: str
) -> None:
    response = getattr(client, method)(path, headers={"Accept": "application/json"})
    assert response.status_code == status
    assert response.is_json
    assert set(response.json) == {"error"}
    assert response.json["error"]["code"] == code
    assert isinstance(response.json["error"]["message"], str)


def test_method_not_allowed_says_what_is(client: FlaskClient) -> None:
    assert "GET" in client.post("/healthz").headers["Allow"]


def test_people_get_an_error_page_in_their_language(client: FlaskClient) -> None:
    arabic = client.get("/no-such-page", headers={"Accept": "text/html"})
    assert arabic.status_code == 404
    assert 'dir="rtl"' in arabic.text and "الصفحة غير موجودة" in arabic.text
    english = client.get("/no-such-page?lang=en", headers={"Accept": "text/html"})
    assert 'dir="ltr"' in english.text and "Page not found" in english.text


def test_an_unexpected_error_is_a_500_without_internals(app: Flask) -> None:
    @app.get("/api/v1/boom")
    def boom() -> str:
        raise RuntimeError("secret internal detail")

    response = app.test_client().get("/api/v1/boom")
    assert response.status_code == 500
    assert response.json["error"]["code"] == "internal-error"
    assert "secret internal detail" not in response.text
    assert "Traceback" not in response.text


def test_store_outage_is_a_503_with_retry_after(app: Flask) -> None:
    @app.get("/api/v1/needs-store")
    def needs_store() -> str:
        raise StoreUnavailable("redis down")

    response = app.test_client().get("/api/v1/needs-store")
    assert response.status_code == 503
    assert response.json["error"]["code"] == "unavailable"
    assert response.headers["Retry-After"] == "30"


@pytest.mark.parametrize("path", ["/", "/healthz", "/api/v1/nothing-here"])
def test_security_headers_on_every_response(client: FlaskClient, path: str) -> None:
    headers = client.get(path).headers
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["Strict-Transport-Security"].startswith("max-age=")
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["Cache-Control"] == "no-store"
    for name, _value in SECURITY_HEADERS:
        assert len(headers.getlist(name)) == 1, name


def test_a_header_its_view_set_is_kept_and_not_doubled(client: FlaskClient) -> None:
    headers = client.get("/.well-known/jwks.json").headers
    assert headers.getlist("Cache-Control") == ["public, max-age=300"]


def test_static_files_may_be_cached(client: FlaskClient) -> None:
    response = client.get("/static/hawiya.css")
    assert response.status_code == 200
    assert response.headers.get("Cache-Control") != "no-store"


def test_arabic_is_the_default_and_english_is_remembered(client: FlaskClient) -> None:
    page = client.get("/")
    assert '<html lang="ar" dir="rtl">' in page.text
    assert "هويتك الرقمية" in page.text
    english = client.get("/?lang=en")
    assert '<html lang="en" dir="ltr">' in english.text
    assert "lang=en" in english.headers["Set-Cookie"]
    assert '<html lang="en" dir="ltr">' in client.get("/").text


def test_an_unknown_language_falls_back_to_arabic(client: FlaskClient) -> None:
    page = client.get("/?lang=fr")
    assert '<html lang="ar" dir="rtl">' in page.text
    assert "Set-Cookie" not in page.headers


# Host names: the app answers only for its own


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/staff//"), ("GET", "//login"), ("GET", "/login"), ("POST", "/api/v1/auth/start"),
     ("GET", "/healthz")],
)  # fmt: skip
def test_an_untrusted_host_is_a_400_and_never_a_redirect_to_it(
    client: FlaskClient, method: str, path: str
) -> None:
    """Werkzeug's slash-merging redirect built its Location from the Host (`/staff//`)."""
    for accept in ("text/html", "application/json"):
        response = client.open(
            path, method=method, headers={"Host": "evil.example", "Accept": accept}
        )
        assert response.status_code == 400
        assert response.json == {
            "error": {
                "code": "untrusted-host",
                "message": "This server does not answer for that host name.",
            }
        }
        assert "Location" not in response.headers
        assert "evil.example" not in response.text


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1:5000"])
def test_the_configured_hosts_are_answered(client: FlaskClient, host: str) -> None:
    response = client.get("/staff//", headers={"Host": host})
    assert response.status_code == 308
    assert response.location == f"http://{host}/staff/"
    assert client.get("/healthz", headers={"Host": host}).status_code == 200


def test_production_answers_only_for_the_public_url_and_the_hosts_added(tmp_path) -> None:
    from tests.apps import make_app

    app = make_app(
        tmp_path, ENV="production", PUBLIC_URL="https://id.agency.example",
        TRUSTED_HOSTS="10.0.0.11, .internal.example", SMS_BACKEND="http",
        SMS_HTTP_URL="http://127.0.0.1:9/sms", SMS_HTTP_TOKEN="t",
    )  # fmt: skip
    assert app.config["TRUSTED_HOSTS"] == ["id.agency.example", "10.0.0.11", ".internal.example"]
    client = app.test_client()
    for host in ("id.agency.example", "10.0.0.11:8000", "node1.internal.example"):
        assert client.get("/healthz", headers={"Host": host}).status_code == 200, host
    for host in ("localhost", "127.0.0.1", "evil.example", "id.agency.example.evil.example"):
        assert client.get("/healthz", headers={"Host": host}).status_code == 400, host


def test_forwarded_host_is_not_trusted_even_behind_a_trusted_proxy(tmp_path) -> None:
    """X-Forwarded-Host is never read: a proxy passes the Host on (README's nginx sketch)."""
    from tests.apps import make_app

    client = make_app(tmp_path, TRUSTED_PROXIES=1).test_client()
    response = client.get(
        "/staff//",
        headers={"Host": "localhost", "X-Forwarded-Host": "evil.example",
                 "X-Forwarded-For": "10.1.2.3", "X-Forwarded-Proto": "https"},
    )  # fmt: skip
    assert response.status_code == 308
    assert response.location == "https://localhost/staff/"
    forwarded_only = client.get(
        "/healthz", headers={"Host": "evil.example", "X-Forwarded-Host": "localhost"}
    )
    assert forwarded_only.status_code == 400


def test_flasks_cookie_session_is_never_opened_or_sent(app: Flask) -> None:
    """Hawiya's sessions are its own (README, "Security"): Flask's would be a signed cookie."""
    client = app.test_client()
    client.set_cookie("session", "eyJ4IjoxfQ.forged.by-hand")
    response = client.get("/")
    assert "session=" not in " ".join(response.headers.getlist("Set-Cookie"))
    with app.test_request_context("/", headers={"Cookie": "session=eyJ4IjoxfQ.x.y"}):
        assert dict(flask.session) == {}  # the cookie is not even read
        with pytest.raises(RuntimeError):
            flask.session["agency"] = 1  # and a view that would write one fails loudly
