"""`hawiya serve` starts gunicorn with the checks applied, and refuses what cannot work."""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from flask import Flask

from identity import signing

HAWIYA = str(Path(sys.executable).with_name("hawiya"))


def test_several_workers_without_redis_are_refused_before_starting(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["serve", "--workers", "2"])
    assert result.exit_code == 2
    assert "needs Redis" in result.output
    assert "Traceback" not in result.output


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_serve_answers_on_the_port_with_two_workers_on_redis(
    tmp_path: Path, redis_url: str
) -> None:
    signing.create_key(tmp_path / "keys")
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("HAWIYA_")},
        "HAWIYA_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.sqlite3'}",
        "HAWIYA_KEYS_DIR": str(tmp_path / "keys"),
        "HAWIYA_SECRET_KEY": "serve-test",
        "HAWIYA_REDIS_URL": redis_url,
    }
    subprocess.run([HAWIYA, "init"], env=env, check=True, capture_output=True)
    server = subprocess.Popen(
        [HAWIYA, "serve", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as answer:
                    assert answer.status == 200
                    break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.2)
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=15)
