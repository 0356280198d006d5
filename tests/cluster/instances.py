"""Real `hawiya serve` instances (gunicorn) for the cluster tests, and a small HTTP client.

Each instance is its own process group on a free 127.0.0.1 port, waited for on /healthz and
always stopped (TERM, then KILL), with the helpers the benchmarks start their servers with
(bench/servers.py). Instances get their whole configuration from the environment, as in
production.
"""

import http.client
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from bench.servers import PROJECT_ROOT, bench_env, free_port, stop, wait_healthy

BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class Answer:
    """One HTTP answer."""

    status: int
    headers: Mapping[str, str]
    body: bytes
    set_cookies: tuple[str, ...] = ()

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    @property
    def error_code(self) -> str:
        """The code of the one error shape, checking that the body has that shape."""
        body = self.json
        assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
        return str(body["error"]["code"])


def settings_env(**settings: str) -> dict[str, str]:
    """This environment without any HAWIYA_* variable, plus the given HAWIYA_ settings."""
    return bench_env(**settings)


def hawiya(env: Mapping[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run a `hawiya` command with this environment; return what it did (never raises)."""
    return subprocess.run(
        [str(BIN / "hawiya"), *args], env=dict(env), cwd=PROJECT_ROOT,
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


@dataclass
class Instance:
    """One running `hawiya serve`: its port, its gunicorn master and its log."""

    name: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        form: Mapping[str, str] | None = None,
    ) -> Answer:
        """Send one request on a new connection (gunicorn's sync workers close each one)."""
        sent = dict(headers or {})
        data: bytes | None = None
        if body is not None:
            data = json.dumps(body).encode()
            sent.setdefault("Content-Type", "application/json")
        elif form is not None:
            data = urlencode(form).encode()
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request(method, path, data, sent)
            response = connection.getresponse()
            cookies = tuple(response.headers.get_all("Set-Cookie") or ())
            return Answer(response.status, dict(response.getheaders()), response.read(), cookies)
        finally:
            connection.close()

    def get(self, path: str, **options: Any) -> Answer:
        return self.request("GET", path, **options)

    def post(self, path: str, body: Any = None, **options: Any) -> Answer:
        return self.request("POST", path, body, **options)

    def workers(self) -> set[int]:
        """The pids of the gunicorn workers, the master's children."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return {int(pid) for pid in children.read_text().split()}

    def kill_worker(self, pid: int) -> None:
        """SIGKILL one worker of this instance (never anything else)."""
        assert pid in self.workers(), f"{pid} is not a worker of {self.name}"
        os.kill(pid, signal.SIGKILL)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


class Browser:
    """A person's browser against one instance: keeps cookies, sends forms with the CSRF token."""

    def __init__(self, instance: Instance, address: str) -> None:
        self.instance = instance
        self.address = address
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, form: Mapping[str, str] | None = None) -> Answer:
        headers = {"X-Forwarded-For": self.address, "Accept": "text/html"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        answer = self.instance.request(method, path, headers=headers, form=form)
        for header in answer.set_cookies:
            for morsel in SimpleCookie(header).values():
                self.cookies[morsel.key] = morsel.value
        return answer


def serve_command(port: int, workers: int) -> list[str]:
    return [
        str(BIN / "hawiya"), "serve", "--host", "127.0.0.1", "--port", str(port),
        "--workers", str(workers),
    ]  # fmt: skip


@contextmanager
def running(
    env: Mapping[str, str], folder: Path, names: tuple[str, ...], workers: int = 2
) -> Iterator[list[Instance]]:
    """Start one `hawiya serve` per name, all at once; yield them when all answer; stop them all."""
    with ExitStack() as stack:
        started = []
        for name in names:
            port = free_port()
            log = folder / f"{name}.log"
            with log.open("wb") as out:
                process = subprocess.Popen(
                    serve_command(port, workers), cwd=PROJECT_ROOT, env=dict(env),
                    stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                )  # fmt: skip
            stack.callback(stop, process)
            started.append(Instance(name, port, process, log))
        for instance in started:
            wait_healthy(instance.port, instance.process, instance.log)
        yield started
