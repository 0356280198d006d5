"""The store contract, run against both the in-process store and a real Redis."""

import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from uuid import uuid4

import pytest
import redis

from identity.store import MemoryStore, RedisStore, Store, StoreUnavailable, from_url

REDIS_URL = os.environ.get("HAWIYA_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
CLOSED_PORT_URL = "redis://127.0.0.1:1/0"


class FakeClock:
    """A monotonic clock that only moves when told to."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=["memory", "redis"])
def store(request: pytest.FixtureRequest, clock: FakeClock) -> Iterator[Store]:
    if request.param == "memory":
        yield MemoryStore(clock=clock)
        return
    prefix = f"test:{uuid4().hex}:"
    redis_store = RedisStore(REDIS_URL, prefix=prefix)
    try:
        redis_store.ping()
    except StoreUnavailable as exc:
        message = f"Redis is not reachable at {REDIS_URL}: {exc.__cause__}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message} (CI must test against a real Redis)")
        pytest.skip(message)
    yield redis_store
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=f"{prefix}*"))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
def wait(store: Store, clock: FakeClock) -> Callable[[float], None]:
    """Let time pass: move the fake clock for memory, really sleep for Redis."""
    return clock.advance if isinstance(store, MemoryStore) else time.sleep


def all_at_once(threads: int, call: Callable[[], Any]) -> list[Any]:
    """Run call in that many threads released together; return their results."""
    barrier = threading.Barrier(threads)

    def run() -> Any:
        barrier.wait()
        return call()

    with ThreadPoolExecutor(threads) as pool:
        futures = [pool.submit(run) for _ in range(threads)]
        return [future.result() for future in futures]


def test_set_then_get(store: Store) -> None:
    assert store.set("code", "123456", 60) is True
    assert store.get("code") == "123456"
    assert store.get("other") is None


def test_set_overwrites_by_default(store: Store) -> None:
    store.set("code", "old", 60)
    assert store.set("code", "new", 60) is True
    assert store.get("code") == "new"


def test_only_if_absent_refuses_to_overwrite(store: Store) -> None:
    assert store.set("lock", "first", 60, only_if_absent=True) is True
    assert store.set("lock", "second", 60, only_if_absent=True) is False
    assert store.get("lock") == "first"


def test_ttl_must_be_positive(store: Store) -> None:
    with pytest.raises(ValueError):
        store.set("code", "123456", 0)
    with pytest.raises(ValueError):
        store.incr("count", -1)


def test_keys_expire_after_their_ttl(store: Store, wait: Callable[[float], None]) -> None:
    store.set("code", "123456", 1)
    store.set("lock", "held", 1, only_if_absent=True)
    store.incr("count", 1)
    wait(1.2)
    assert store.get("code") is None
    assert store.ttl("code") is None
    assert store.set("lock", "again", 60, only_if_absent=True) is True
    assert store.incr("count", 60) == 1


def test_take_returns_the_value_once(store: Store) -> None:
    store.set("code", "123456", 60)
    assert store.take("code") == "123456"
    assert store.take("code") is None
    assert store.get("code") is None


def test_delete_reports_whether_something_was_deleted(store: Store) -> None:
    store.set("session", "data", 60)
    assert store.delete("session") is True
    assert store.get("session") is None
    assert store.delete("session") is False


def test_incr_counts_from_one(store: Store) -> None:
    assert [store.incr("count", 60) for _ in range(3)] == [1, 2, 3]
    assert store.get("count") == "3"


def test_incr_keeps_its_first_expiry(store: Store) -> None:
    store.incr("count", 100)
    store.incr("count", 1000)
    ttl = store.ttl("count")
    assert ttl is not None and 98 <= ttl <= 100


def test_incr_by_adds_and_tells_the_seconds_left_of_its_first_window(
    store: Store, wait: Callable[[float], None]
) -> None:
    assert store.incr_by("count", 5, 100)[0] == 5
    wait(1.1)
    count, left = store.incr_by("count", 3, 1000)
    assert count == 8 and 97 <= left <= 99
    assert store.incr("count", 100) == 9


@pytest.mark.parametrize("amount", [0, -1, True, 1.5])
def test_incr_by_refuses_what_is_not_a_positive_whole_number(store: Store, amount: Any) -> None:
    with pytest.raises(ValueError, match="amount"):
        store.incr_by("count", amount, 60)
    assert store.get("count") is None


def test_ttl_reports_seconds_left(store: Store) -> None:
    store.set("code", "123456", 300)
    ttl = store.ttl("code")
    assert ttl is not None and 298 <= ttl <= 300
    assert store.ttl("missing") is None


def test_memory_store_sweeps_expired_keys(clock: FakeClock) -> None:
    store = MemoryStore(clock=clock)
    for n in range(100):
        store.set(f"never-read-{n}", "x", 1)
    clock.advance(MemoryStore.SWEEP_INTERVAL + 1)
    store.set("fresh", "x", 60)
    assert len(store._entries) == 1


def test_prefixes_keep_stores_apart(store: Store) -> None:
    other = (
        MemoryStore(prefix="other:")
        if isinstance(store, MemoryStore)
        else RedisStore(REDIS_URL, prefix=f"test:{uuid4().hex}:")
    )
    store.set("code", "123456", 60)
    assert other.get("code") is None


def test_only_one_concurrent_set_if_absent_wins(store: Store) -> None:
    results = all_at_once(20, lambda: store.set("lock", "held", 60, only_if_absent=True))
    assert results.count(True) == 1


def test_only_one_concurrent_take_gets_the_value(store: Store) -> None:
    store.set("code", "123456", 60)
    results = all_at_once(20, lambda: store.take("code"))
    assert results.count("123456") == 1
    assert results.count(None) == 19


def test_concurrent_incr_loses_no_update(store: Store) -> None:
    results = all_at_once(20, lambda: [store.incr("count", 60) for _ in range(50)])
    assert sorted(n for thread in results for n in thread) == list(range(1, 1001))
    assert store.get("count") == "1000"


def test_concurrent_incr_by_loses_no_update(store: Store) -> None:
    results = all_at_once(20, lambda: [store.incr_by("count", 3, 60)[0] for _ in range(50)])
    assert sorted(n for thread in results for n in thread) == list(range(3, 3001, 3))


def test_add_counts_adds_to_named_counters(store: Store) -> None:
    assert store.counts("metrics") == {}
    store.add_counts("metrics", {"http:2xx": 1, "verify:valid": 2})
    store.add_counts("metrics", {"http:2xx": 1})
    store.add_counts("metrics", {})
    assert store.counts("metrics") == {"http:2xx": 2, "verify:valid": 2}
    assert store.counts("other") == {}


@pytest.mark.parametrize("amounts", [{"a": 1, "b": 1.5}, {"a": 1, "": 1}, {"a": 1, "b": "1"}])
def test_add_counts_refuses_what_is_not_a_whole_number_and_adds_nothing(
    store: Store, amounts: dict[str, Any]
) -> None:
    with pytest.raises(ValueError):
        store.add_counts("metrics", amounts)
    assert store.counts("metrics") == {}


def test_counters_never_expire(store: Store, wait: Callable[[float], None]) -> None:
    store.add_counts("metrics", {"http:2xx": 1})
    wait(1.2)
    assert store.counts("metrics") == {"http:2xx": 1}
    assert store.ttl("metrics") is None


def test_concurrent_add_counts_loses_no_update(store: Store) -> None:
    all_at_once(20, lambda: [store.add_counts("metrics", {"a": 1, "b": 2}) for _ in range(50)])
    assert store.counts("metrics") == {"a": 1000, "b": 2000}


UNREACHABLE_CALLS: dict[str, Callable[[Store], object]] = {
    "ping": lambda s: s.ping(),
    "get": lambda s: s.get("k"),
    "set": lambda s: s.set("k", "v", 60),
    "delete": lambda s: s.delete("k"),
    "take": lambda s: s.take("k"),
    "incr": lambda s: s.incr("k", 60),
    "incr_by": lambda s: s.incr_by("k", 2, 60),
    "ttl": lambda s: s.ttl("k"),
    "add_counts": lambda s: s.add_counts("k", {"a": 1}),
    "counts": lambda s: s.counts("k"),
}


@pytest.mark.parametrize("call", UNREACHABLE_CALLS.values(), ids=list(UNREACHABLE_CALLS))
def test_unreachable_redis_raises_store_unavailable(call: Callable[[Store], object]) -> None:
    with pytest.raises(StoreUnavailable) as excinfo:
        call(RedisStore(CLOSED_PORT_URL))
    assert isinstance(excinfo.value.__cause__, redis.exceptions.ConnectionError)


def test_from_url_without_url_gives_memory_store() -> None:
    assert isinstance(from_url(None), MemoryStore)
    assert isinstance(from_url(""), MemoryStore)


def test_from_url_with_url_gives_redis_store() -> None:
    assert isinstance(from_url(REDIS_URL), RedisStore)
