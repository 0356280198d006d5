"""Rate limits: `hit` counts every request in the store, `share` counts in leases."""

import os
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from uuid import uuid4

import pytest
import redis
from flask import Flask

from identity import ratelimit, store
from identity.errors import TooManyRequests
from identity.store import RedisStore, StoreUnavailable

REDIS_URL = os.environ.get("HAWIYA_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


class CountingStore(RedisStore):
    """A real Redis store that counts the round trips of `incr_by`."""

    trips = 0

    def incr_by(self, key: str, amount: int, ttl: int) -> tuple[int, float]:
        self.trips += 1
        return super().incr_by(key, amount, ttl)


@pytest.fixture
def prefix() -> Iterator[str]:
    """A key prefix of this test's own in the test Redis, emptied afterwards."""
    prefix = f"test:{uuid4().hex}:"
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.exceptions.ConnectionError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis is not reachable at {REDIS_URL} (CI must test against it)")
        pytest.skip(f"Redis is not reachable at {REDIS_URL}: {exc}")
    yield prefix
    keys = list(client.scan_iter(match=f"{prefix}*"))
    if keys:
        client.delete(*keys)
    client.close()


def process(prefix: str) -> Flask:
    """An app as one worker process holds it: its own leases, the shared Redis."""
    app = Flask(__name__)
    app.extensions[store.EXTENSION_KEY] = CountingStore(REDIS_URL, prefix=prefix)
    return app


def admitted(app: Flask, bucket: str, limit: int, window: int = 60) -> bool:
    """Whether one request of bucket is admitted by this process."""
    with app.app_context():
        try:
            ratelimit.share(bucket, limit, window)
        except TooManyRequests:
            return False
    return True


def test_a_lease_is_one_percent_of_the_limit_from_one_to_twenty() -> None:
    assert [ratelimit.lease_size(n) for n in (1, 3, 199, 600, 1999, 100_000)] == [
        1, 1, 1, 6, 19, 20
    ]  # fmt: skip


def test_a_small_limit_is_counted_exactly(prefix: str) -> None:
    app = process(prefix)
    assert [admitted(app, "a", 3) for _ in range(5)] == [True, True, True, False, False]


def test_two_processes_together_never_exceed_the_limit_and_take_a_lease_per_round_trip(
    prefix: str,
) -> None:
    first, second = process(prefix), process(prefix)

    def hammer(app: Flask) -> int:
        return sum(admitted(app, "agency:1", 1000) for _ in range(700))

    with ThreadPoolExecutor(4) as pool:
        total = sum(pool.map(hammer, [first, second, first, second]))
    # 2,800 asked: the limit admitted, none lost, since every lease was spent whole.
    assert total == 1000
    trips = sum(app.extensions[store.EXTENSION_KEY].trips for app in (first, second))
    # A round trip per lease of 10 while under the limit, then one per process when it is met.
    assert 100 <= trips <= 104


def test_a_refusal_says_when_the_window_ends(prefix: str) -> None:
    app = process(prefix)
    assert admitted(app, "b", 1, window=30)
    with app.app_context(), pytest.raises(TooManyRequests) as refused:
        ratelimit.share("b", 1, 30)
    assert 28 <= refused.value.retry_after <= 30


def test_an_unspent_lease_ends_with_its_window(prefix: str) -> None:
    app = process(prefix)
    assert admitted(app, "c", 500, window=1)  # a lease of 5, one spent
    time.sleep(1.1)
    # The next window starts afresh: its first request takes a new lease.
    assert admitted(app, "c", 500, window=1)
    assert app.extensions[store.EXTENSION_KEY].trips == 2


def test_while_the_store_is_down_a_shared_limit_goes_on_uncounted(
    prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = process(prefix)

    def down(*_args: object) -> tuple[int, float]:
        raise StoreUnavailable("down")

    monkeypatch.setattr(app.extensions[store.EXTENSION_KEY], "incr_by", down)
    assert all(admitted(app, "d", 1) for _ in range(3))
