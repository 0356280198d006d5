"""SMS senders: the HTTP gateway sender against a real local server, and its two twins."""

import io
import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from flask import Flask

from identity import sms
from identity.sms import (
    ConsoleSmsSender,
    HttpSmsSender,
    RecordingSmsSender,
    SmsFailed,
    SmsRefused,
    get_sender,
    mask_number,
)

NUMBER = "+96512344567"
MASKED = "+965****4567"
TEXT = "رمز التحقق: 493817"
TOKEN = "gateway-secret-token"
HANG = "hang"
DROP = "drop"


@dataclass
class Seen:
    """One request as the gateway received it."""

    path: str
    headers: dict[str, str]
    body: Any
    at: float


@dataclass
class Gateway:
    """A scripted SMS gateway: answers each POST with the next status in script (then 200).

    HANG holds the answer back until the test ends; DROP closes the connection without answering.
    """

    url: str = ""
    script: list[int | str] = field(default_factory=list)
    requests: list[Seen] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    location: str = ""

    def sender(self, **options: Any) -> HttpSmsSender:
        options.setdefault("backoff", 0)
        return HttpSmsSender(self.url, TOKEN, **options)


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    """Run a real HTTP server on 127.0.0.1 in a background thread, for one test."""
    state = Gateway()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            body = json.loads(self.rfile.read(length).decode("utf-8"))
            state.requests.append(
                Seen(self.path, dict(self.headers.items()), body, time.monotonic())
            )
            action = state.script.pop(0) if state.script else 200
            if action == DROP:
                self.close_connection = True
                return
            if action == HANG:
                state.release.wait(5)
                action = 200
            try:
                self.send_response(int(action))
                if state.location:
                    self.send_header("Location", state.location)
                self.send_header("Content-Length", "0")
                self.end_headers()
            except OSError:
                pass  # the client gave up waiting

        def do_GET(self) -> None:
            state.requests.append(Seen(self.path, dict(self.headers.items()), None, 0))
            self.send_response(200)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/v1/sms"
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    yield state
    state.release.set()
    server.shutdown()
    server.server_close()
    thread.join(5)


def closed_port() -> int:
    """Return a local port that nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# The HTTP gateway sender


@pytest.mark.parametrize("status", [200, 202, 204])
def test_any_2xx_is_accepted_with_json_body_and_bearer_token(gateway: Gateway, status: int) -> None:
    gateway.script = [status]

    gateway.sender().send(NUMBER, TEXT)

    assert len(gateway.requests) == 1
    seen = gateway.requests[0]
    assert seen.path == "/v1/sms"
    assert seen.body == {"to": NUMBER, "text": TEXT}
    assert seen.headers["Authorization"] == f"Bearer {TOKEN}"
    assert seen.headers["Content-Type"] == "application/json"


@pytest.mark.parametrize("status", [500, 503, 429])
def test_a_transient_failure_is_retried_until_accepted(gateway: Gateway, status: int) -> None:
    gateway.script = [status, status, 200]

    gateway.sender(attempts=3).send(NUMBER, TEXT)

    assert len(gateway.requests) == 3
    assert all(seen.body == {"to": NUMBER, "text": TEXT} for seen in gateway.requests)


def test_retries_wait_longer_after_each_attempt(gateway: Gateway) -> None:
    gateway.script = [503, 503, 200]

    gateway.sender(attempts=3, backoff=0.05).send(NUMBER, TEXT)

    first, second, third = (seen.at for seen in gateway.requests)
    assert second - first >= 0.05
    assert third - second >= 0.10


def test_gives_up_after_the_configured_attempts(gateway: Gateway) -> None:
    gateway.script = [503, 503, 503, 200]

    with pytest.raises(SmsFailed, match="HTTP 503"):
        gateway.sender(attempts=3).send(NUMBER, TEXT)

    assert len(gateway.requests) == 3


@pytest.mark.parametrize("status", [400, 410, 422])
def test_a_client_error_is_final_and_not_retried(gateway: Gateway, status: int) -> None:
    """A 4xx about the message is the gateway refusing this number: SmsRefused, not an outage."""
    gateway.script = [status, 200]

    with pytest.raises(SmsRefused, match=f"HTTP {status}"):
        gateway.sender(attempts=3).send(NUMBER, TEXT)

    assert len(gateway.requests) == 1


@pytest.mark.parametrize("script", [[500, 500], [503, 503], [429, 429], [HANG, HANG], [DROP, DROP]])
def test_a_failing_gateway_is_an_outage_not_a_refusal(
    gateway: Gateway, script: list[int | str]
) -> None:
    """Only 5xx, 429, lost connections and timeouts may open sign-in's gateway-wide breaker."""
    gateway.script = script

    with pytest.raises(SmsFailed) as failed:
        gateway.sender(timeout=0.3, attempts=2).send(NUMBER, TEXT)

    assert not isinstance(failed.value, SmsRefused)


@pytest.mark.parametrize("status", [401, 403, 404, 405, 407])
def test_a_gateway_refusing_our_token_or_address_is_an_outage(
    gateway: Gateway, status: int
) -> None:
    """Prevents a wrong token or URL passing for one number's refusal: every sign-in would
    silently send nothing while answering as usual, and no breaker would say so."""
    gateway.script = [status, 200]

    with pytest.raises(SmsFailed, match=f"HTTP {status}") as failed:
        gateway.sender(attempts=3).send(NUMBER, TEXT)

    assert not isinstance(failed.value, SmsRefused)
    assert len(gateway.requests) == 1  # final: asking again cannot help


def test_a_refused_connection_is_an_outage_not_a_refusal() -> None:
    sender = HttpSmsSender(f"http://127.0.0.1:{closed_port()}/v1/sms", TOKEN, attempts=1)

    with pytest.raises(SmsFailed) as failed:
        sender.send(NUMBER, TEXT)

    assert not isinstance(failed.value, SmsRefused)


def test_a_redirect_is_not_followed(gateway: Gateway) -> None:
    """Following a redirect would hand the bearer token to whatever the Location names."""
    gateway.script = [302]
    gateway.location = "/elsewhere"

    with pytest.raises(SmsFailed, match="HTTP 302"):
        gateway.sender(attempts=3).send(NUMBER, TEXT)

    assert [seen.path for seen in gateway.requests] == ["/v1/sms"]


def test_a_gateway_that_does_not_answer_in_time_is_not_asked_again(gateway: Gateway) -> None:
    """A timed-out gateway may still send the message: a second attempt could send it twice."""
    gateway.script = [HANG, 200]

    with pytest.raises(SmsFailed, match="timed out"):
        gateway.sender(timeout=0.3, attempts=3).send(NUMBER, TEXT)

    assert len(gateway.requests) == 1


def test_a_refused_connection_raises_sms_failed() -> None:
    sender = HttpSmsSender(f"http://127.0.0.1:{closed_port()}/v1/sms", TOKEN, attempts=2, backoff=0)

    with pytest.raises(SmsFailed, match="ConnectionRefusedError") as failed:
        sender.send(NUMBER, TEXT)

    assert "after 2 attempt(s)" in str(failed.value)


def test_a_connection_dropped_without_an_answer_is_retried(gateway: Gateway) -> None:
    gateway.script = [DROP, 200]

    gateway.sender(attempts=2).send(NUMBER, TEXT)

    assert len(gateway.requests) == 2


@pytest.mark.parametrize(
    ("script", "kind"),
    [([503, 503], "HTTP 503"), ([401], "HTTP 401"), ([HANG, HANG], "timed out")],
)
def test_the_failure_is_logged_once_with_the_masked_number_and_never_the_code_or_token(
    gateway: Gateway, caplog: pytest.LogCaptureFixture, script: list[int | str], kind: str
) -> None:
    """The text holds a one-time code: logs must let staff diagnose without revealing it."""
    gateway.script = script

    with caplog.at_level(logging.DEBUG), pytest.raises(SmsFailed) as failed:
        gateway.sender(timeout=0.3, attempts=2).send(NUMBER, TEXT)

    errors = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert errors[0].name == "identity.sms"
    line = errors[0].getMessage()
    assert MASKED in line
    assert kind in line
    for secret in (TEXT, "493817", TOKEN, NUMBER):
        assert secret not in caplog.text
        assert secret not in str(failed.value)


@pytest.mark.parametrize(
    "url",
    ["file:///etc/passwd", "ftp://sms.example/send", "sms.example/send", "http:///no-host", ""],
)
def test_only_http_and_https_urls_are_accepted(url: str) -> None:
    with pytest.raises(ValueError, match="http"):
        HttpSmsSender(url, TOKEN)


def test_https_url_is_accepted() -> None:
    assert HttpSmsSender("https://sms.example/send", TOKEN).host == "sms.example"


def test_the_token_is_not_in_the_repr() -> None:
    assert TOKEN not in repr(HttpSmsSender("https://sms.example/send", TOKEN))


# The development and test twins


def test_console_sender_prints_the_message_to_the_given_stream() -> None:
    stream = io.StringIO()

    ConsoleSmsSender(stream).send(NUMBER, TEXT)

    assert stream.getvalue() == f"SMS to {NUMBER}: {TEXT}\n"


def test_console_sender_prints_to_stdout_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    ConsoleSmsSender().send(NUMBER, "123456")

    assert capsys.readouterr().out == f"SMS to {NUMBER}: 123456\n"


def test_recording_sender_keeps_messages_in_order_and_finds_the_latest_per_number() -> None:
    sender = RecordingSmsSender()

    sender.send(NUMBER, "first")
    sender.send("+96599998888", "other")
    sender.send(NUMBER, "second")

    assert sender.messages == [(NUMBER, "first"), ("+96599998888", "other"), (NUMBER, "second")]
    assert sender.last_to(NUMBER) == "second"
    assert sender.last_to("+96500000000") is None
    sender.clear()
    assert sender.messages == []
    assert sender.last_to(NUMBER) is None


def test_recording_sender_fail_next_simulates_an_outage_for_n_sends() -> None:
    sender = RecordingSmsSender()
    sender.fail_next = 2

    for _ in range(2):
        with pytest.raises(SmsFailed):
            sender.send(NUMBER, "lost")
    sender.send(NUMBER, "delivered")

    assert sender.messages == [(NUMBER, "delivered")]
    assert sender.fail_next == 0


def test_recording_sender_refuses_the_numbers_in_refuse() -> None:
    sender = RecordingSmsSender()
    sender.refuse.add(NUMBER)

    with pytest.raises(SmsRefused):
        sender.send(NUMBER, "refused")
    sender.send("+96599998888", "delivered")

    assert sender.messages == [("+96599998888", "delivered")]


def test_recording_sender_is_safe_to_share_between_threads() -> None:
    sender = RecordingSmsSender()

    def send_many(worker: int) -> None:
        for i in range(200):
            sender.send(f"+965{worker}", str(i))

    threads = [threading.Thread(target=send_many, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(sender.messages) == 1600
    assert all(sender.last_to(f"+965{n}") == "199" for n in range(8))


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("+96512344567", "+965****4567"),
        ("+9651234567", "+965***4567"),
        ("+447700900123", "+447*****0123"),
        ("12345678", "********"),
        ("", ""),
    ],
)
def test_mask_number_keeps_only_the_first_and_last_four_characters(
    number: str, masked: str
) -> None:
    assert mask_number(number) == masked


# Wiring into the app


def make_app(**config: Any) -> Flask:
    app = Flask(__name__)
    app.config.update(config)
    sms.init_app(app)
    return app


@pytest.mark.parametrize(
    ("config", "kind"),
    [
        ({"SMS_BACKEND": "console"}, ConsoleSmsSender),
        ({"SMS_BACKEND": "recording"}, RecordingSmsSender),
        (
            {
                "SMS_BACKEND": "http",
                "SMS_HTTP_URL": "https://sms.example/v1",
                "SMS_HTTP_TOKEN": "t",
            },
            HttpSmsSender,
        ),
    ],
)
def test_init_app_builds_the_sender_named_by_sms_backend(
    config: dict[str, str], kind: type
) -> None:
    app = make_app(**config)

    with app.app_context():
        assert isinstance(get_sender(), kind)


def test_init_app_passes_url_and_token_to_the_http_sender(gateway: Gateway) -> None:
    app = make_app(SMS_BACKEND="http", SMS_HTTP_URL=gateway.url, SMS_HTTP_TOKEN=TOKEN)

    with app.app_context():
        get_sender().send(NUMBER, TEXT)

    assert gateway.requests[0].headers["Authorization"] == f"Bearer {TOKEN}"


@pytest.mark.parametrize(
    "config",
    [
        {"SMS_BACKEND": "carrier-pigeon"},
        {"SMS_BACKEND": "http", "SMS_HTTP_TOKEN": "t"},
        {"SMS_BACKEND": "http", "SMS_HTTP_URL": "https://sms.example/v1"},
    ],
)
def test_init_app_refuses_an_unusable_configuration(config: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="SMS_"):
        make_app(**config)
