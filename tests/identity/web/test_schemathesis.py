"""Schemathesis against a real `hawiya serve`: every check it has, with every kind of credential.

One gunicorn worker on a SQLite file with the in-process store (one worker needs no Redis),
loaded like `hawiya demo` plus a stamped document. Schemathesis reads our OpenAPI document from
the server and runs each of its phases and checks (server errors, status codes, content types,
response schemas and headers, negative and positive data, missing headers, unsupported
methods, ignored authentication...) once per credential, each run bounded in examples and time.
Any failure fails the test with Schemathesis's own report, which names the request to replay.
"""

import io
import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from bench.servers import PROJECT_ROOT, bench_env, free_port, hawiya, stop, wait_healthy
from tests.cluster.instances import BIN, serve_command
from tests.factories import make_pdf

pytestmark = pytest.mark.slow

# Examples per operation and seconds per run: about two minutes in all on a 2-core machine.
MAX_EXAMPLES = 8
MAX_SECONDS = 10
SEED = 12  # reproducible runs: a failure here fails the same way on every machine
DEMO_REGISTER = PROJECT_ROOT / "identity" / "demo" / "beneficiaries.csv"
SMS_CODE = re.compile(r"SMS to (\+[0-9]+): .*?\b([0-9]{6})\b")


@dataclass(frozen=True)
class Served:
    """The running server, its folder and log, and a bearer token of each kind."""

    url: str
    folder: Path
    log: Path
    tokens: dict[str, str]


def last_line(output: str) -> str:
    return output.strip().splitlines()[-1].strip()


def sign_in(url: str, log: Path) -> str:
    """Sign the first demo beneficiary in through the API, reading the code from the console."""
    with DEMO_REGISTER.open(encoding="utf-8") as register:
        register.readline()
        civil_id, file_number, *_ = register.readline().split(",")
    started = requests.post(
        f"{url}/api/v1/auth/start", json={"civil_id": civil_id, "file_number": file_number},
        timeout=10,
    )  # fmt: skip
    assert started.status_code == 202, started.text
    deadline = time.monotonic() + 20
    while not (codes := SMS_CODE.findall(log.read_text(errors="replace"))):
        assert time.monotonic() < deadline, "no SMS code in the server's console"
        time.sleep(0.1)
    verified = requests.post(
        f"{url}/api/v1/auth/verify", json={"txn": started.json()["txn"], "code": codes[-1][1]},
        timeout=10,
    )  # fmt: skip
    assert verified.status_code == 200, verified.text
    return str(verified.json()["access_token"])


def issue_document(url: str, token: str) -> None:
    """Stamp one PDF for the demo beneficiary, so the document routes have one to find."""
    with DEMO_REGISTER.open(encoding="utf-8") as register:
        register.readline()
        civil_id = register.readline().split(",")[0]
    form = {"civil_id": civil_id, "type": "letter", "title": "A letter", "office": "Housing"}
    issued = requests.post(
        f"{url}/api/v1/documents", data=form, files={"file": ("a.pdf", io.BytesIO(make_pdf()))},
        headers={"Authorization": f"Bearer {token}"}, timeout=60,
    )  # fmt: skip
    assert issued.status_code == 201, issued.text


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """A `hawiya serve` with the demo register, an agency, tokens and a signed-in holder."""
    folder = tmp_path_factory.mktemp("schemathesis")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = bench_env(
        DATABASE_URL=f"sqlite:///{folder / 'hawiya.sqlite3'}",
        KEYS_DIR=str(folder / "keys"),
        SECRET_KEY="schemathesis-" + "0" * 51,
        PUBLIC_URL=url,
        SMS_BACKEND="console",
    )
    hawiya(env, "init")
    hawiya(env, "demo")
    scope = "name,civil_id,file_number,phone,status,category"
    tokens = {
        "agency": last_line(hawiya(env, "agencies", "create", "Fuzzing Agency",
                                   "--purpose", "Contract tests", "--scope", scope)),
        "backoffice": last_line(hawiya(env, "tokens", "create", "--role", "backoffice")),
        "metrics": last_line(hawiya(env, "tokens", "create", "--role", "metrics")),
    }  # fmt: skip
    log = folder / "serve.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            serve_command(port, 1), cwd=PROJECT_ROOT, env=env, stdout=out,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        wait_healthy(port, server, log)
        issue_document(url, tokens["backoffice"])
        tokens["holder"] = sign_in(url, log)
        yield Served(url, folder, log, tokens)
    finally:
        stop(server)


def schemathesis(served: Served, credential: str, *options: str) -> None:
    """Run `st run` with every check; fail with its report unless it finds nothing."""
    headers = []
    if credential != "anonymous":
        headers = ["-H", f"Authorization: Bearer {served.tokens[credential]}"]
    command = [
        str(BIN / "st"), "--config-file", str(PROJECT_ROOT / "tests" / "schemathesis.toml"),
        "run", f"{served.url}/api/v1/openapi.json", "--checks", "all",
        "--max-examples", str(MAX_EXAMPLES), "--max-time", str(MAX_SECONDS),
        "--seed", str(SEED), "--workers", "1", "--no-color", "--generation-database", "none",
        *headers, *options,
    ]  # fmt: skip
    logged = served.log.stat().st_size
    # Run from the test's folder: Schemathesis keeps its crash cache in the working directory.
    done = subprocess.run(
        command, cwd=served.folder, capture_output=True, text=True, timeout=MAX_SECONDS * 6,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-12000:] + done.stderr[-4000:]
    with served.log.open("rb") as log:
        log.seek(logged)
        this_run = log.read().decode(errors="replace")
    assert "Traceback" not in this_run, this_run[-6000:]


@pytest.mark.parametrize("credential", ["anonymous", "agency", "metrics", "backoffice"])
def test_the_api_keeps_its_contract(served: Served, credential: str) -> None:
    """Prevents any answer off the OpenAPI document, and any 5xx, for this kind of caller."""
    schemathesis(served, credential)


def test_the_api_keeps_its_contract_for_a_signed_in_holder(served: Served) -> None:
    """Prevents the same for a beneficiary's bearer token; signing out is tried last, since it
    ends the session the other operations are called with."""
    logout = "/api/v1/auth/logout"
    schemathesis(served, "holder", "--exclude-path", logout)
    schemathesis(served, "holder", "--include-path", logout)
