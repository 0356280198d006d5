"""Servers for the benchmarks: gunicorn or `hawiya serve` as child processes, always stopped.

Each server runs from this virtualenv on a free 127.0.0.1 port in its own process group, is
waited for on /healthz, and is stopped (TERM, then KILL after 10 s) even when the bench fails.
"""

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
WORKER_CLASS = "sync"
SECRET = "bench-" + "0" * 58  # set explicitly, so nothing is generated into instance/


def bench_env(**settings: str) -> dict[str, str]:
    """Return this environment without any HAWIYA_* setting, plus the given ones."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("HAWIYA_")}
    env.update({f"HAWIYA_{name}": value for name, value in settings.items()})
    return env


def hawiya(env: dict[str, str], *args: str) -> str:
    """Run a hawiya command; return its output, or raise with its error output."""
    done = subprocess.run(
        [str(BIN / "hawiya"), *args], env=env, cwd=PROJECT_ROOT, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise RuntimeError(f"hawiya {' '.join(args)} failed: {done.stderr.strip()[-2000:]}")
    return done.stdout


def free_port() -> int:
    """Return a TCP port that is free on 127.0.0.1 now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_healthy(port: int, server: subprocess.Popen[bytes], log: Path) -> None:
    """Wait until the server answers /healthz; raise if it exits or takes over 30 s."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited: {log.read_text(errors='replace')[-2000:]}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                connection.close()
                return
            connection.close()
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the server did not answer /healthz within 30 s on port {port}")


def stop(server: subprocess.Popen[bytes]) -> None:
    """Stop the server's process group: TERM, then KILL after 10 s."""
    if server.poll() is not None:
        return
    try:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()
    except ProcessLookupError:
        server.wait()


@dataclass(frozen=True)
class Server:
    """A running server: its port, and its main process (gunicorn's workers are its children)."""

    port: int
    pid: int

    def cpu_seconds(self) -> float:
        """Return the CPU time the server's main process and its workers have used so far."""
        ticks = 0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rpartition(")")[2].split()
            except OSError:  # a process that ended meanwhile
                continue
            pid, parent = int(stat.parent.name), int(fields[1])
            if self.pid in (pid, parent):
                ticks += int(fields[11]) + int(fields[12])  # utime, stime
        return ticks / os.sysconf("SC_CLK_TCK")


@contextmanager
def _serve(command: Callable[[int], list[str]], env: dict[str, str], log: Path) -> Iterator[Server]:
    """Run command(port) on a free port; yield the server once it is healthy; always stop it."""
    port = free_port()
    with log.open("wb") as errors:
        server = subprocess.Popen(
            command(port), cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=errors,
            start_new_session=True,
        )  # fmt: skip
    try:
        wait_healthy(port, server, log)
        yield Server(port, server.pid)
    finally:
        stop(server)


def served(
    app: str, workers: int, env: dict[str, str], log: Path
) -> AbstractContextManager[Server]:
    """Serve a WSGI app (`module:attr`) with gunicorn on a free local port; yield the server."""

    def command(port: int) -> list[str]:
        return [
            str(BIN / "gunicorn"), "--workers", str(workers), "--worker-class", WORKER_CLASS,
            "--bind", f"127.0.0.1:{port}", "--log-level", "warning", "--no-control-socket", app,
        ]  # fmt: skip

    return _serve(command, env, log)


def hawiya_served(workers: int, env: dict[str, str], log: Path) -> AbstractContextManager[Server]:
    """Run `hawiya serve` (the production command, access log included) on a free local port."""

    def command(port: int) -> list[str]:
        return [str(BIN / "hawiya"), "serve", "--port", str(port), "--workers", str(workers)]

    return _serve(command, env, log)
