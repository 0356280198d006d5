"""Two instances of two workers each on one PostgreSQL and one Redis behave as one service."""

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from identity.audit.chain import subject_for_civil_id
from identity.register.beneficiaries import Record
from tests.cluster.conftest import PURPOSE, Cluster
from tests.cluster.instances import Answer, Instance, running
from tests.cluster.services import wait_until

VERIFICATIONS = 50


@pytest.fixture(scope="module")
def pair(cluster: Cluster) -> Iterator[list[Instance]]:
    """Instances a and b, 2 workers each, sharing the cluster's database, Redis and keys."""
    with running(cluster.env(), cluster.folder, ("a", "b"), workers=2) as instances:
        yield instances


def verdict(answer: Answer) -> str:
    """The verdict of an API answer or of a verdict page."""
    assert answer.status == 200, answer.body[:300]
    if answer.headers.get("Content-Type", "").startswith("application/json"):
        return str(answer.json["result"])
    marker = 'data-verdict="'
    start = answer.text.index(marker) + len(marker)
    return answer.text[start : answer.text.index('"', start)]


def test_a_revocation_through_one_instance_is_seen_by_every_verification_on_both(
    cluster: Cluster, pair: list[Instance]
) -> None:
    """A revoke that returned is in force for every check after it, on every worker."""
    (person,) = cluster.people(1)
    qr = cluster.qr(person)
    credential_id = cluster.credential(person).id
    path = "/v/" + qr.rsplit("/v/", 1)[1]
    body = {"qr": qr, "purpose": PURPOSE}

    def check(index: int) -> str:
        instance = pair[index % 2]
        if index % 4 < 2:  # half through the agency API, half as a phone camera's page
            return verdict(instance.post("/api/v1/verify", body, headers=cluster.agency_headers()))
        return verdict(instance.get(path, headers={"Accept": "text/html"}))

    assert {check(i) for i in range(4)} == {"valid"}

    go = threading.Event()
    finished: list[float] = []

    def after_revoke(index: int) -> str:
        go.wait()
        result = check(index)
        finished.append(time.perf_counter())
        return result

    with ThreadPoolExecutor(max_workers=10) as pool:
        futures = [pool.submit(after_revoke, i) for i in range(VERIFICATIONS)]
        try:
            revoked = pair[0].post(
                f"/api/v1/credentials/{credential_id}/revoke", {"reason": "Reported stolen"},
                headers=cluster.backoffice_headers(),
            )  # fmt: skip
            returned = time.perf_counter()
        finally:
            go.set()  # never leave the checkers waiting
        results = [future.result() for future in futures]

    assert revoked.status == 200, revoked.body
    assert revoked.json["status"] == "revoked"
    assert len(results) == VERIFICATIONS
    assert results.count("revoked") == VERIFICATIONS, results
    print(
        f"\n{VERIFICATIONS} verifications over 2 instances x 2 workers, all 'revoked', "
        f"the last {max(finished) - returned:.3f} s after the revoke returned"
    )


def test_parallel_starts_for_one_person_across_instances_send_one_sms(
    cluster: Cluster, pair: list[Instance]
) -> None:
    (person,) = cluster.people(1)
    start = {"civil_id": person.civil_id, "file_number": person.file_number}

    def begin(index: int) -> Answer:
        headers = {"X-Forwarded-For": "10.1.0.1"}
        return pair[index % 2].post("/api/v1/auth/start", start, headers=headers)

    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(begin, range(20)))

    assert [answer.status for answer in answers] == [202] * 20
    assert len({answer.json["txn"] for answer in answers}) == 20
    cluster.sink.wait_for(person.phone, 1)
    store = cluster.store()
    # Only a start that claimed the number's quota queues an SMS: one claim, one message.
    assert store.get(f"sms:hour:{person.phone}") == "1"
    store.close()
    assert len(cluster.sink.to(person.phone)) == 1


def test_the_hourly_sms_limit_of_a_number_counts_across_instances(
    cluster: Cluster, pair: list[Instance]
) -> None:
    """Seven people on one mobile number, alternating instances: five SMS, as on one instance."""
    people = cluster.people(7, phone="+96566000777")

    for index, person in enumerate(people):
        answer = pair[index % 2].post(
            "/api/v1/auth/start", {"civil_id": person.civil_id, "file_number": person.file_number},
            headers={"X-Forwarded-For": "10.1.0.2"},
        )  # fmt: skip
        assert answer.status == 202, answer.body

    cluster.sink.wait_for("+96566000777", 5)
    store = cluster.store()
    assert store.get("sms:hour:+96566000777") == "7"  # seven claims ...
    assert store.get("sms:day:+96566000777") == "5"  # ... of which the hour allowed five
    store.close()
    assert len(cluster.sink.to("+96566000777")) == 5
    assert cluster.sink.refused == 0  # every send carried the gateway's token


def test_a_number_the_gateway_refuses_is_not_an_outage_on_either_instance(
    cluster: Cluster, pair: list[Instance]
) -> None:
    """A 4xx for one number made every sign-in answer 503 for 60 s and cleared its cooldown."""
    refused, other = cluster.people(2)
    subject = subject_for_civil_id(refused.civil_id)
    headers = {"X-Forwarded-For": "10.1.0.3"}

    def start(instance: Instance, person: Record) -> Answer:
        body = {"civil_id": person.civil_id, "file_number": person.file_number}
        return instance.post("/api/v1/auth/start", body, headers=headers)

    cluster.sink.refuse.add(refused.phone)
    try:
        first = start(pair[0], refused)
        assert first.status == 202 and set(first.json) == {"txn"}
        wait_until(lambda: cluster.audit_count("otp.send_refused", subject) == 1, "the refusal")
        for instance in pair:  # the same answer as always, and no second try at the gateway
            again = start(instance, refused)
            assert again.status == 202, again.body
        answer = start(pair[1], other)  # everyone else signs in as usual
        assert answer.status == 202, answer.body
        (sms,) = cluster.sink.wait_for(other.phone, 1)
        signed_in = pair[0].post(
            "/api/v1/auth/verify", {"txn": answer.json["txn"], "code": sms.code}, headers=headers
        )
        assert signed_in.status == 200, signed_in.body
    finally:
        cluster.sink.refuse.discard(refused.phone)
    assert cluster.sink.rejected.count(refused.phone) == 1
    assert cluster.audit_count("otp.send_refused", subject) == 1
    assert cluster.audit_count("otp.send_failed", subject) == 0
    store = cluster.store()
    assert store.get("sms:down") is None
    assert store.get(f"otp:cool:{refused.civil_id}") == "1"  # the cooldown holds
    assert store.get(f"otp:code:{refused.civil_id}") is None  # no code nobody received
    store.close()


def test_one_code_verified_in_parallel_on_both_instances_makes_one_session(
    cluster: Cluster, pair: list[Instance]
) -> None:
    (person,) = cluster.people(1)
    headers = {"X-Forwarded-For": "10.1.0.3"}
    started = pair[0].post(
        "/api/v1/auth/start", {"civil_id": person.civil_id, "file_number": person.file_number},
        headers=headers,
    )  # fmt: skip
    assert started.status == 202
    code = cluster.sink.wait_for(person.phone, 1)[0].code
    body = {"txn": started.json["txn"], "code": code}
    store = cluster.store()
    sessions_before = store.count("sess:*")

    with ThreadPoolExecutor(max_workers=10) as pool:
        answers = list(
            pool.map(lambda i: pair[i % 2].post("/api/v1/auth/verify", body, headers=headers),
                     range(10))
        )  # fmt: skip

    accepted = [answer for answer in answers if answer.status == 200]
    assert len(accepted) == 1, [(a.status, a.body) for a in answers]
    assert {a.error_code for a in answers if a.status != 200} <= {"code-expired", "code-invalid"}
    assert store.count("sess:*") == sessions_before + 1
    store.close()
    assert cluster.accounts_of(person) == 1
    assert cluster.audit_count("login.success", subject_for_civil_id(person.civil_id)) == 1
    card = pair[1].get(
        "/api/v1/me/card", headers={"Authorization": f"Bearer {accepted[0].json['access_token']}"}
    )
    assert card.status == 200 and card.json["status"] == "active"
