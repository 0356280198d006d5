"""Faults under a real instance: Redis gone, PostgreSQL cut off, a slow SMS gateway, a dead worker.

The instance (2 workers) has a Redis of its own, which the tests kill and start again on the
same port, and reaches PostgreSQL through a TCP proxy the tests can cut. Every fault is undone
in a `finally`, so one failing test leaves the next a working instance.
"""

import http.client
import itertools
import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from bench.servers import free_port
from identity.audit.chain import subject_for_civil_id
from identity.models import Beneficiary, VerificationEvent
from identity.register.beneficiaries import Record
from tests.apps import unavailable
from tests.cluster.conftest import CLUSTER_DATABASE_URL, PURPOSE, Cluster, PrefixedRedis
from tests.cluster.instances import Answer, Browser, Instance, hawiya, running
from tests.cluster.services import REDIS_SERVER, RedisServer, TcpProxy, wait_until
from tests.factories import csrf_from


@dataclass
class Faulty:
    """The instance and the faults the tests can cause it."""

    instance: Instance
    redis: RedisServer
    proxy: TcpProxy
    store: PrefixedRedis


@pytest.fixture(scope="module")
def faulty(cluster: Cluster) -> Iterator[Faulty]:
    """One instance of 2 workers, on a Redis of its own and behind a proxy to PostgreSQL."""
    if not shutil.which(REDIS_SERVER):
        unavailable(f"{REDIS_SERVER} is not installed (Debian package redis-server)")
    redis_server = RedisServer(free_port())
    proxy = TcpProxy(CLUSTER_DATABASE_URL.port or 5432)
    through_proxy = CLUSTER_DATABASE_URL.set(port=proxy.port)
    env = cluster.env(
        DATABASE_URL=through_proxy.render_as_string(hide_password=False),
        REDIS_URL=redis_server.url,
    )
    store = cluster.store(redis_server.url)
    try:
        redis_server.start()
        with running(env, cluster.folder, ("faulty",), workers=2) as (instance,):
            yield Faulty(instance, redis_server, proxy, store)
    finally:
        store.close()
        proxy.stop()
        redis_server.kill()


def start_body(person: Record) -> dict[str, str]:
    return {"civil_id": person.civil_id, "file_number": person.file_number}


def form(person: Record, browser: Browser, path: str = "/login") -> dict[str, str]:
    """The sign-in form, filled in, with the CSRF token of the page it came from."""
    page = browser.request("GET", path)
    assert page.status == 200, page.body[:300]
    return {**start_body(person), "csrf_token": csrf_from(page.text)}


def verdict_path(qr: str) -> str:
    return "/v/" + qr.rsplit("/v/", 1)[1]


def test_with_redis_down_sign_in_answers_503_verification_goes_on_and_both_recover(
    cluster: Cluster, faulty: Faulty
) -> None:
    instance = faulty.instance
    (person,) = cluster.people(1)
    qr, letter = cluster.qr(person), cluster.document(person)
    headers = {"X-Forwarded-For": "10.2.0.1"}
    browser, visitor = Browser(instance, "10.2.0.2"), Browser(instance, "10.2.0.3")
    arabic, english = form(person, browser), form(person, visitor, "/login?lang=en")
    workers = instance.workers()

    faulty.redis.kill()
    try:
        refused = instance.post("/api/v1/auth/start", start_body(person), headers=headers)
        assert refused.status == 503
        assert refused.error_code == "unavailable"
        assert refused.headers.get("Retry-After")
        # A person gets the form back, what they typed kept, and what to do.
        page = browser.request("POST", "/login", arabic)
        assert page.status == 503
        assert "الخدمة مشغولة. حاول مرة أخرى بعد دقيقة." in page.text
        assert person.civil_id in page.text and "Traceback" not in page.text
        page = visitor.request("POST", "/login?lang=en", english)
        assert page.status == 503 and "The service is busy. Try again in a minute." in page.text

        # Checking an ID needs only the register: every worker keeps answering.
        for _ in range(6):
            checked = instance.post(
                "/api/v1/verify", {"qr": qr, "purpose": PURPOSE}, headers=cluster.agency_headers()
            )
            assert checked.status == 200, checked.body
            assert checked.json["result"] == "valid"
        shown = instance.get(verdict_path(qr), headers={"Accept": "text/html"})
        assert shown.status == 200 and 'data-verdict="valid"' in shown.text
        checked = instance.post(
            "/api/v1/verify", {"qr": letter, "purpose": PURPOSE}, headers=cluster.agency_headers()
        )
        assert checked.status == 200 and checked.json["result"] == "valid"
        shown = instance.get("/d/" + letter.rsplit("/d/", 1)[1], headers={"Accept": "text/html"})
        assert shown.status == 200 and 'data-verdict="valid"' in shown.text

        ready = instance.get("/readyz")
        assert ready.status == 503
        assert ready.json["checks"] == {"database": "ok", "store": "unavailable"}
    finally:
        faulty.redis.start()

    # The same processes, no restart: sign-in works again.
    assert all(instance.get("/readyz").status == 200 for _ in range(6))
    assert instance.workers() == workers
    started = instance.post("/api/v1/auth/start", start_body(person), headers=headers)
    assert started.status == 202, started.body
    code = cluster.sink.wait_for(person.phone, 1)[0].code
    signed_in = instance.post(
        "/api/v1/auth/verify", {"txn": started.json["txn"], "code": code}, headers=headers
    )
    assert signed_in.status == 200, signed_in.body
    assert cluster.accounts_of(person) == 1


def test_with_postgresql_cut_off_the_api_answers_503_readyz_says_so_and_both_recover(
    cluster: Cluster, faulty: Faulty
) -> None:
    instance, proxy = faulty.instance, faulty.proxy
    (person,) = cluster.people(1)
    qr = cluster.qr(person)
    credential_id = cluster.credential(person).id
    check = {"qr": qr, "purpose": PURPOSE}
    assert instance.post("/api/v1/verify", check, headers=cluster.agency_headers()).status == 200
    workers = instance.workers()

    proxy.cut()
    try:
        for _ in range(4):
            refused = instance.post("/api/v1/verify", check, headers=cluster.agency_headers())
            assert refused.status == 503, refused.body
            assert refused.error_code == "unavailable"
            assert refused.headers.get("Retry-After")
        revoke = instance.post(
            f"/api/v1/credentials/{credential_id}/revoke", {"reason": "Reported stolen"},
            headers=cluster.backoffice_headers(),
        )  # fmt: skip
        assert revoke.status == 503 and revoke.error_code == "unavailable"
        page = instance.get(verdict_path(qr), headers={"Accept": "text/html"})
        assert page.status == 503 and "الخدمة مشغولة" in page.text
        ready = instance.get("/readyz")
        assert ready.status == 503
        assert ready.json["checks"] == {"database": "unavailable", "store": "ok"}
    finally:
        proxy.restore()

    for _ in range(4):
        checked = instance.post("/api/v1/verify", check, headers=cluster.agency_headers())
        assert checked.status == 200 and checked.json["result"] == "valid"
    assert instance.get("/readyz").status == 200
    assert instance.workers() == workers  # recovered without a restart
    assert cluster.credential(person).status == "active"
    assert cluster.audit_count("credential.revoke", f"credential:{credential_id}") == 0


@pytest.mark.parametrize("delivered", [False, True], ids=["commit-lost", "answer-lost"])
def test_a_revoke_cut_off_at_its_commit_is_applied_whole_or_not_at_all(
    cluster: Cluster, faulty: Faulty, delivered: bool
) -> None:
    """The status and its audit entry are one transaction, even when the network dies at COMMIT."""
    instance, proxy = faulty.instance, faulty.proxy
    (person,) = cluster.people(1)
    credential_id = cluster.credential(person).id
    path = f"/api/v1/credentials/{credential_id}/revoke"
    reason = {"reason": "Reported stolen"}

    proxy.cut_at_commit(deliver=delivered)
    try:
        cut_off = instance.post(path, reason, headers=cluster.backoffice_headers())
        assert proxy.sprung.is_set()
        assert cut_off.status == 503 and cut_off.error_code == "unavailable"
        during = instance.post(path, reason, headers=cluster.backoffice_headers())
        assert during.status == 503
    finally:
        proxy.restore()

    entries = cluster.audit_count("credential.revoke", f"credential:{credential_id}")
    assert (cluster.credential(person).status, entries) == (
        ("revoked", 1) if delivered else ("active", 0)
    )
    retried = instance.post(path, reason, headers=cluster.backoffice_headers())
    assert retried.status == (409 if delivered else 200), retried.body
    assert cluster.credential(person).status == "revoked"
    assert cluster.audit_count("credential.revoke", f"credential:{credential_id}") == 1


def test_a_timed_out_sms_gateway_gets_a_clear_answer_and_nothing_goes_out_twice(
    cluster: Cluster, faulty: Faulty
) -> None:
    instance, sink = faulty.instance, cluster.sink
    (person,) = cluster.people(1)
    headers = {"X-Forwarded-For": "10.2.1.1"}
    subject = subject_for_civil_id(person.civil_id)
    browser = Browser(instance, "10.2.1.2")
    filled = form(person, browser)

    sink.release.clear()
    sink.delay = 60  # far beyond the client's timeout
    try:
        first = instance.post("/api/v1/auth/start", start_body(person), headers=headers)
        assert first.status == 202
        wait_until(lambda: cluster.audit_count("otp.send_failed", subject) == 1, "the SMS to fail")

        refused = instance.post("/api/v1/auth/start", start_body(person), headers=headers)
        assert refused.status == 503 and refused.error_code == "sms-unavailable"
        assert int(refused.headers["Retry-After"]) > 0
        page = browser.request("POST", "/login", filled)
        assert page.status == 503
        assert "لا يمكننا إرسال الرسائل النصية الآن" in page.text

        # The gateway got the message once: an answer that never came is not a reason to resend.
        (late,) = sink.to(person.phone)
        # Its code, should it arrive late, signs nobody in; no account was made.
        used = instance.post(
            "/api/v1/auth/verify", {"txn": first.json["txn"], "code": late.code}, headers=headers
        )
        assert used.status == 400
        assert faulty.store.get(f"otp:code:{person.civil_id}") is None
        assert cluster.accounts_of(person) == 0
    finally:
        sink.delay = 0
        sink.release.set()

    faulty.store.delete("sms:down")  # the outage minute has passed
    again = instance.post("/api/v1/auth/start", start_body(person), headers=headers)
    assert again.status == 202, again.body
    late, fresh = sink.wait_for(person.phone, 2)
    assert fresh.code != late.code
    signed_in = instance.post(
        "/api/v1/auth/verify", {"txn": again.json["txn"], "code": fresh.code}, headers=headers
    )
    assert signed_in.status == 200, signed_in.body
    assert cluster.accounts_of(person) == 1
    assert len(sink.to(person.phone)) == 2
    assert cluster.audit_count("otp.sent", subject) == 1


def test_a_worker_killed_mid_burst_is_replaced_and_every_acknowledged_write_is_durable(
    cluster: Cluster, faulty: Faulty
) -> None:
    instance = faulty.instance
    holders = cluster.people(24)
    credential_ids = [cluster.credential(person).id for person in holders]
    qrs = [cluster.qr(person) for person in holders[:6]]
    newcomers = cluster.unregistered(12)
    revokes = [("revoke", credential_id) for credential_id in credential_ids]
    verifies = [("verify", index) for index in range(48)]
    puts = [("put", person) for person in newcomers]
    interleaved = itertools.zip_longest(verifies[::2], revokes, verifies[1::2], puts)
    jobs: list[tuple[str, object]] = [job for group in interleaved for job in group if job]

    def send(job: tuple[str, object]) -> Answer | None:
        kind, what = job
        try:
            if kind == "revoke":
                return instance.post(
                    f"/api/v1/credentials/{what}/revoke", {"reason": "Burst revocation"},
                    headers=cluster.backoffice_headers(),
                )  # fmt: skip
            if kind == "verify":
                assert isinstance(what, int)
                body = {"qr": qrs[what % len(qrs)], "purpose": f"burst {what}"}
                return instance.post("/api/v1/verify", body, headers=cluster.agency_headers())
            assert isinstance(what, Record)
            record = {
                "file_number": what.file_number, "full_name_ar": what.full_name_ar,
                "full_name_en": what.full_name_en, "phone": what.phone, "status": "active",
            }  # fmt: skip
            return instance.request(
                "PUT", f"/api/v1/beneficiaries/{what.civil_id}", record,
                headers=cluster.backoffice_headers(),
            )  # fmt: skip
        except (OSError, http.client.HTTPException):
            return None  # the worker died with the request: no answer

    before = instance.workers()
    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = [pool.submit(send, job) for job in jobs]
        wait_until(lambda: sum(f.done() for f in futures) >= len(jobs) // 4, "a quarter done")
        victim = min(before)
        instance.kill_worker(victim)
        answers = [future.result() for future in futures]

    wait_until(
        lambda: len(instance.workers()) == 2 and victim not in instance.workers(),
        "gunicorn to replace the worker",
    )
    acknowledged = {i for i, answer in enumerate(answers) if answer and answer.status < 300}
    unanswered = [i for i, answer in enumerate(answers) if answer is None]
    refused = [answers[i] for i, a in enumerate(answers) if a and a.status >= 300]
    assert not refused, [(a.status, a.body[:200]) for a in refused if a]
    print(
        f"\nburst of {len(jobs)}: {len(acknowledged)} acknowledged, {len(unanswered)} cut off "
        f"by SIGKILL of worker {victim}; workers now {sorted(instance.workers())}"
    )

    events = {
        row.purpose
        for row in cluster.query(
            select(VerificationEvent.purpose).where(VerificationEvent.purpose.like("burst %"))
        )
    }
    registered = {
        row.civil_id
        for row in cluster.query(
            select(Beneficiary.civil_id).where(
                Beneficiary.civil_id.in_([person.civil_id for person in newcomers])
            )
        )
    }
    for index in acknowledged:
        kind, what = jobs[index]
        if kind == "verify":
            assert f"burst {what}" in events
        elif kind == "put":
            assert isinstance(what, Record) and what.civil_id in registered
    for person, credential_id in zip(holders, credential_ids, strict=True):
        entries = cluster.audit_count("credential.revoke", f"credential:{credential_id}")
        status = cluster.credential(person).status
        acked = jobs.index(("revoke", credential_id)) in acknowledged
        # Acknowledged: there with its audit entry. Cut off: whole or not at all.
        allowed = {("revoked", 1)} if acked else {("revoked", 1), ("active", 0)}
        assert (status, entries) in allowed
    chain = hawiya(cluster.env(), "audit", "verify")
    assert chain.returncode == 0, chain.stdout + chain.stderr
    after = instance.post(
        "/api/v1/verify", {"qr": qrs[0], "purpose": PURPOSE}, headers=cluster.agency_headers()
    )
    expected = "revoked" if cluster.credential(holders[0]).status == "revoked" else "valid"
    assert after.status == 200 and after.json["result"] == expected
