"""What the fast verify path may not give up, on two instances of two workers each.

Each process holds the agencies and the signing keys in memory (README, "Speed"): a disabled
agency or a retired key is refused within a second on every instance, a new key works at once,
and every answered check is recorded even when a worker is killed under load.
"""

import http.client
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select

from identity import signing
from identity.models import VerificationEvent
from tests.cluster.conftest import PURPOSE, Cluster
from tests.cluster.instances import Instance, running
from tests.cluster.services import wait_until

WINDOW_S = 1.0  # agencies.KNOWN_FOR and signing.RING_CHECKED_FOR
SLACK_S = 0.5  # the time a request takes on a loaded machine


@pytest.fixture(scope="module")
def pair(cluster: Cluster) -> Iterator[list[Instance]]:
    """Instances a and b, 2 workers each, sharing the cluster's database, Redis and keys."""
    with running(cluster.env(), cluster.folder, ("fast-a", "fast-b"), workers=2) as instances:
        yield instances


def check(instance: Instance, qr: str, key: str, purpose: str = PURPOSE) -> int:
    """POST one check with this agency key; return the status."""
    body = {"qr": qr, "purpose": purpose}
    headers = {"Authorization": f"Bearer {key}", "X-Forwarded-For": "10.9.0.7"}
    return instance.post("/api/v1/verify", body, headers=headers).status


def refused_within(instances: list[Instance], refuses: Callable[[Instance], bool]) -> float:
    """Return the seconds until every worker of every instance refuses, from the change.

    Call it right after the change has committed. Polling cannot tell which worker answered (a
    new connection may reach either), so it waits for a first refusal on each instance, then
    until the window has passed since the change, and then asks each instance six times more:
    every worker must refuse by then.
    """
    since = time.monotonic()
    for instance in instances:
        wait_until(lambda i=instance: refuses(i), f"{instance.name} to refuse")
    first = time.monotonic() - since
    time.sleep(max(0.0, since + WINDOW_S - time.monotonic()))
    for instance in instances:
        answers = [refuses(instance) for _ in range(6)]
        assert answers == [True] * 6, f"{instance.name} still accepts after the window: {answers}"
    return first


def test_a_new_agency_works_at_once_and_a_disabled_one_is_refused_within_a_second(
    cluster: Cluster, pair: list[Instance]
) -> None:
    (person,) = cluster.people(1)
    qr = cluster.qr(person)
    for instance in pair:  # both instances hold the agencies in memory now
        assert check(instance, qr, cluster.agency_key) == 200
    runner = cluster.app.test_cli_runner()
    created = runner.invoke(
        args=["agencies", "create", "Window Agency", "--purpose", PURPOSE, "--scope", "status"]
    )
    assert created.exit_code == 0, created.output
    key = created.output.strip().splitlines()[-1]
    for instance in pair:  # not in memory yet: looked up in the register
        assert [check(instance, qr, key) for _ in range(4)] == [200] * 4

    disabled = runner.invoke(args=["agencies", "disable", "Window Agency"])
    assert disabled.exit_code == 0, disabled.output
    took = refused_within(pair, lambda i: check(i, qr, key) == 401)
    assert took <= WINDOW_S + SLACK_S, took
    for instance in pair:
        assert check(instance, qr, cluster.agency_key) == 200  # the others go on
    print(
        f"\na disabled agency: first refused after {took:.2f} s, by every worker after {WINDOW_S} s"
    )


def test_a_new_signing_key_works_at_once_and_a_retired_one_is_refused_within_a_second(
    cluster: Cluster, pair: list[Instance]
) -> None:
    (person,) = cluster.people(1)
    old_qr = cluster.qr(person)
    for instance in pair:
        assert check(instance, old_qr, cluster.agency_key) == 200
    with cluster.app.app_context():
        old_kid = signing.active_kid()
    runner = cluster.app.test_cli_runner()
    rotated = runner.invoke(args=["keys", "rotate"])
    assert rotated.exit_code == 0, rotated.output
    new_qr = cluster.qr(person)  # signed by the new key, in this process
    for instance in pair:
        assert [check(instance, new_qr, cluster.agency_key) for _ in range(4)] == [200] * 4

    def verdict(instance: Instance) -> str:
        body = {"qr": old_qr, "purpose": PURPOSE}
        answer = instance.post("/api/v1/verify", body, headers=cluster.agency_headers())
        assert answer.status == 200, answer.body
        return str(answer.json["result"])

    retired = runner.invoke(args=["keys", "retire", old_kid])
    assert retired.exit_code == 0, retired.output
    took = refused_within(pair, lambda i: verdict(i) == "invalid")
    assert took <= WINDOW_S + SLACK_S, took
    for instance in pair:
        assert check(instance, new_qr, cluster.agency_key) == 200
    print(f"\na retired key: first refused after {took:.2f} s, by every worker after {WINDOW_S} s")


def test_every_answered_check_is_recorded_when_a_worker_is_killed_under_load(
    cluster: Cluster, pair: list[Instance]
) -> None:
    """kill -9 of a worker under load: every answer has its event; no event without a request."""
    instance = pair[0]
    people = cluster.people(4)
    qrs = [cluster.qr(person) for person in people]
    answered: list[str] = []
    cut_off: list[str] = []
    stop = threading.Event()
    lock = threading.Lock()

    def load(thread: int) -> None:
        sent = 0
        while not stop.is_set():
            purpose = f"kill load {thread}-{sent}"
            sent += 1
            try:
                status = check(instance, qrs[thread % len(qrs)], cluster.agency_key, purpose)
            except (OSError, http.client.HTTPException):
                with lock:
                    cut_off.append(purpose)
                continue
            assert status == 200, status
            with lock:
                answered.append(purpose)

    before = instance.workers()
    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = [pool.submit(load, thread) for thread in range(8)]
        wait_until(lambda: len(answered) >= 200, "200 answered checks")
        victim = min(before)
        instance.kill_worker(victim)
        wait_until(lambda: len(answered) >= 600, "600 answered checks")
        stop.set()
        for future in futures:
            future.result()
    wait_until(lambda: len(instance.workers()) == 2, "gunicorn to replace the worker")

    events = {
        row.purpose
        for row in cluster.query(
            select(VerificationEvent.purpose).where(VerificationEvent.purpose.like("kill load %"))
        )
    }
    assert set(answered) <= events, sorted(set(answered) - events)[:10]
    assert events - set(answered) <= set(cut_off)  # an event whose answer the kill cut off
    print(
        f"\nkill -9 of worker {victim} under load: {len(answered)} answers, {len(events)} events, "
        f"{len(cut_off)} requests cut off"
    )
