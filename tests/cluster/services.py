"""What the instances talk to besides each other: an SMS sink, a Redis server, a TCP proxy.

Each binds 127.0.0.1 on a port the system picks and is stopped by the fixture that started it.
"""

import contextlib
import json
import re
import selectors
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import redis

SINK_TOKEN = "cluster-sink-token"
REDIS_SERVER = "/usr/bin/redis-server"
# The simple-query message psycopg sends to commit: 'Q', its length (4 + 7), "COMMIT\0".
COMMIT_MESSAGE = b"Q\x00\x00\x00\x0bCOMMIT\x00"


def wait_until(condition: Any, what: str, seconds: float = 20) -> None:
    """Poll condition() until it is true; raise naming `what` if it is not within `seconds`.

    A bound so that a broken server fails the test instead of hanging it, not a timing goal.
    """
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what} after {seconds} s")
        time.sleep(0.05)


@dataclass(frozen=True)
class Sms:
    """One message as the gateway received it."""

    to: str
    text: str

    @property
    def code(self) -> str:
        found = re.search(r"\b(\d{6})\b", self.text)
        assert found is not None, self.text
        return found.group(1)


@dataclass
class SmsSink:
    """An SMS gateway over HTTP that keeps every message it receives (the `http` backend's peer).

    `delay` makes it hold each answer that many seconds (released early by `release`), to play
    a gateway that times out: the message is recorded when it arrives, as a real gateway might
    deliver it even though its answer comes too late. A number in `refuse` is answered 400 (a
    number the gateway will not deliver to) and counted in `rejected`, never delivered.
    """

    url: str = ""
    delay: float = 0.0
    received: list[Sms] = field(default_factory=list)
    refused: int = 0
    refuse: set[str] = field(default_factory=set)
    rejected: list[str] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def to(self, phone: str) -> list[Sms]:
        """Every message received for this number, oldest first."""
        with self.lock:
            return [sms for sms in self.received if sms.to == phone]

    def wait_for(self, phone: str, count: int) -> list[Sms]:
        """Wait until `count` messages reached this number; return them."""
        wait_until(lambda: len(self.to(phone)) >= count, f"{count} SMS to {phone}")
        return self.to(phone)

    def start(self) -> ThreadingHTTPServer:
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length).decode("utf-8"))
                if self.headers.get("Authorization") != f"Bearer {SINK_TOKEN}":
                    with sink.lock:
                        sink.refused += 1
                    self.send_response(401)
                    self.end_headers()
                    return
                with sink.lock:
                    rejected = body["to"] in sink.refuse
                    if rejected:
                        sink.rejected.append(body["to"])
                    else:
                        sink.received.append(Sms(body["to"], body["text"]))
                    delay = sink.delay
                if rejected:
                    self.send_response(400)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if delay:
                    sink.release.wait(delay)
                try:
                    self.send_response(202)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:
                    pass  # the client stopped waiting

            def log_message(self, format: str, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        self.url = f"http://127.0.0.1:{server.server_address[1]}/sms"
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        return server


class RedisServer:
    """A redis-server of our own, without persistence, that a test may kill and start again."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start it on its port (the same one every time) and wait until it answers PING."""
        self.process = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        client = redis.Redis.from_url(self.url, socket_connect_timeout=1)
        try:
            wait_until(self._answers(client), f"redis-server on port {self.port}", 10)
        finally:
            client.close()

    def _answers(self, client: redis.Redis) -> Any:
        def ping() -> bool:
            assert self.process is not None and self.process.poll() is None, "redis-server exited"
            try:
                return bool(client.ping())
            except redis.exceptions.ConnectionError:
                return False

        return ping

    def kill(self) -> None:
        """Kill it at once (SIGKILL): no goodbye to its clients."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, decode_responses=True)


class TcpProxy:
    """A TCP proxy in threads between the app and PostgreSQL, which a test can cut.

    - `cut()` closes every open connection and closes each new one as soon as it arrives, so the
      app sees its database vanish; `restore()` lets connections through again.
    - `cut_at_commit(deliver)` waits for the next COMMIT a client sends, then cuts: with
      deliver=False the COMMIT never reaches the server; with deliver=True it does, and the
      server's answer is dropped, so the app cannot know the transaction was committed.
    """

    def __init__(self, target_port: int) -> None:
        self.target = ("127.0.0.1", target_port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.listener.getsockname()[1]
        self.lock = threading.Lock()
        self.open: set[socket.socket] = set()
        self.is_cut = False
        self.trap: bool | None = None  # None: no trap; else whether the COMMIT is delivered
        self.sprung = threading.Event()
        self.stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    def cut(self) -> None:
        with self.lock:
            self.is_cut = True
            for sock in self.open:
                _close(sock)
            self.open.clear()

    def restore(self) -> None:
        with self.lock:
            self.is_cut, self.trap = False, None

    def cut_at_commit(self, deliver: bool) -> None:
        with self.lock:
            self.trap = deliver
            self.sprung.clear()

    def stop(self) -> None:
        self.stopped = True
        self.cut()
        _close(self.listener)

    def _accept(self) -> None:
        while not self.stopped:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            with self.lock:
                if self.is_cut:
                    _close(client)
                    continue
            try:
                server = socket.create_connection(self.target, timeout=5)
            except OSError:
                _close(client)
                continue
            with self.lock:
                self.open.update((client, server))
            threading.Thread(target=self._pump, args=(client, server), daemon=True).start()

    def _pump(self, client: socket.socket, server: socket.socket) -> None:
        """Copy bytes both ways until either side closes or the proxy cuts them."""
        selector = selectors.DefaultSelector()
        selector.register(client, selectors.EVENT_READ, server)
        selector.register(server, selectors.EVENT_READ, client)
        swallow_answer = sprang = False
        try:
            while True:
                for key, _ in selector.select(timeout=0.5):
                    source: socket.socket = key.fileobj  # type: ignore[assignment]
                    data = source.recv(65536)
                    if not data:
                        return
                    if source is server and swallow_answer:
                        return  # the server answered the COMMIT: drop the answer and cut
                    if source is client and COMMIT_MESSAGE in data:
                        with self.lock:
                            trap, self.trap = self.trap, None
                        if trap is not None:
                            sprang = True
                            self.sprung.set()
                            if not trap:
                                return  # the COMMIT is lost on the way
                            swallow_answer = True
                    key.data.sendall(data)
                with self.lock:
                    if client not in self.open:
                        return
        except OSError:
            return
        finally:
            selector.close()
            if sprang:  # first, so that no connection gets through once the app sees this one end
                self.cut()  # the network died as the COMMIT went by: every connection with it
            with self.lock:
                self.open.discard(client)
                self.open.discard(server)
            _close(client)
            _close(server)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
