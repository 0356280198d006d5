"""The short-lived state store: OTP codes, counters, sessions and rate limits.

Redis when HAWIYA_REDIS_URL is set; otherwise an in-process store that is only valid for one
process. Both implementations pass the same contract tests (tests/identity/test_store.py).
"""

import functools
import math
import threading
import time
from collections.abc import Callable, Mapping
from typing import ParamSpec, Protocol, TypeVar

import redis
from flask import Flask, current_app
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

EXTENSION_KEY = "hawiya.store"

P = ParamSpec("P")
R = TypeVar("R")


class StoreUnavailable(Exception):
    """The store cannot be reached; callers answer 503 "try again later"."""


class Store(Protocol):
    """Expiring string keys with atomic operations; ttl is in whole seconds (> 0)."""

    def get(self, key: str) -> str | None:
        """Return the value of key, or None if it is missing."""
        ...

    def set(self, key: str, value: str, ttl: int, *, only_if_absent: bool = False) -> bool:
        """Store value under key for ttl seconds; return True if it was written."""
        ...

    def delete(self, key: str) -> bool:
        """Delete key; return True if it existed."""
        ...

    def take(self, key: str) -> str | None:
        """Return and delete the value of key atomically, so only one caller ever gets it."""
        ...

    def incr(self, key: str, ttl: int) -> int:
        """Increment key atomically; ttl starts a fixed window only when the key is created."""
        ...

    def incr_by(self, key: str, amount: int, ttl: int) -> tuple[int, float]:
        """Add amount (> 0) to key atomically, as `incr` does; return the count and seconds left."""
        ...

    def ttl(self, key: str) -> int | None:
        """Return the seconds key has left, or None if it is missing or never expires."""
        ...

    def add_counts(self, key: str, amounts: Mapping[str, int]) -> None:
        """Add each amount to its named counter in key (one round trip); counters never expire."""
        ...

    def counts(self, key: str) -> dict[str, int]:
        """Return every named counter in key ({} if there are none)."""
        ...

    def ping(self) -> None:
        """Raise StoreUnavailable if the backend cannot be reached."""
        ...


def _check_ttl(ttl: int) -> None:
    if not isinstance(ttl, int) or ttl <= 0:
        raise ValueError(f"ttl must be a positive whole number of seconds, not {ttl!r}")


def _check_amount(amount: int) -> None:
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise ValueError(f"amount must be a positive whole number, got {amount!r}")


def _check_amounts(amounts: Mapping[str, int]) -> None:
    for name, amount in amounts.items():
        if not isinstance(name, str) or not name or type(amount) is not int:
            raise ValueError(f"counters are named by text and added whole numbers: {name!r}")


def _unavailable_on_error(method: Callable[P, R]) -> Callable[P, R]:
    """Turn Redis connection and timeout errors into StoreUnavailable."""

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(*args, **kwargs)
        except (RedisConnectionError, RedisTimeoutError) as exc:
            raise StoreUnavailable("the state store cannot be reached") from exc

    return wrapper


# Runs atomically on the server: one round trip, no read-then-write race. Checking TTL rather
# than count == 1 also repairs a counter that somehow lost its expiry.
_INCR_SCRIPT = """
local count = redis.call('INCR', KEYS[1])
if redis.call('TTL', KEYS[1]) == -1 then
    redis.call('EXPIRE', KEYS[1], ARGV[1])
end
return count
"""
# The same for several at once, with the window's milliseconds left (PTTL) beside the count.
_INCR_BY_SCRIPT = """
local count = redis.call('INCRBY', KEYS[1], ARGV[2])
if redis.call('TTL', KEYS[1]) == -1 then
    redis.call('EXPIRE', KEYS[1], ARGV[1])
end
return {count, redis.call('PTTL', KEYS[1])}
"""


class RedisStore:
    """Store backed by Redis, shared by every worker and instance."""

    def __init__(self, url: str, prefix: str = "hawiya:") -> None:
        self._prefix = prefix
        self._client = redis.Redis.from_url(
            url,
            decode_responses=True,
            socket_timeout=2,
            socket_connect_timeout=2,
            health_check_interval=30,
            # One immediate retry covers a pooled connection the server has closed; the
            # default (10 retries with backoff) would hold a request for seconds before the 503.
            retry=Retry(NoBackoff(), 1),
        )
        self._incr = self._client.register_script(_INCR_SCRIPT)
        self._incr_by = self._client.register_script(_INCR_BY_SCRIPT)

    def _key(self, key: str) -> str:
        return self._prefix + key

    @staticmethod
    def _text(value: bytes | str | None) -> str | None:
        return value.decode() if isinstance(value, bytes) else value

    @_unavailable_on_error
    def get(self, key: str) -> str | None:
        """Return the value of key, or None if it is missing."""
        return self._text(self._client.get(self._key(key)))

    @_unavailable_on_error
    def set(self, key: str, value: str, ttl: int, *, only_if_absent: bool = False) -> bool:
        """Store value under key for ttl seconds; return True if it was written."""
        _check_ttl(ttl)
        return bool(self._client.set(self._key(key), value, ex=ttl, nx=only_if_absent))

    @_unavailable_on_error
    def delete(self, key: str) -> bool:
        """Delete key; return True if it existed."""
        return self._client.delete(self._key(key)) > 0

    @_unavailable_on_error
    def take(self, key: str) -> str | None:
        """Return and delete the value of key atomically (GETDEL)."""
        return self._text(self._client.getdel(self._key(key)))

    @_unavailable_on_error
    def incr(self, key: str, ttl: int) -> int:
        """Increment key atomically; ttl starts a fixed window only when the key is created."""
        _check_ttl(ttl)
        return int(self._incr(keys=[self._key(key)], args=[ttl]))

    @_unavailable_on_error
    def incr_by(self, key: str, amount: int, ttl: int) -> tuple[int, float]:
        """Add amount to key atomically, as `incr` does; return the count and seconds left."""
        _check_ttl(ttl)
        _check_amount(amount)
        count, left_ms = self._incr_by(keys=[self._key(key)], args=[ttl, amount])
        return int(count), max(int(left_ms), 0) / 1000

    @_unavailable_on_error
    def ttl(self, key: str) -> int | None:
        """Return the seconds key has left, or None if it is missing or never expires."""
        seconds = self._client.ttl(self._key(key))
        return seconds if seconds >= 0 else None  # -2: missing, -1: no expiry

    @_unavailable_on_error
    def add_counts(self, key: str, amounts: Mapping[str, int]) -> None:
        """Add the amounts to the fields of one hash (HINCRBY each, pipelined: one round trip)."""
        _check_amounts(amounts)
        if not amounts:
            return
        # Each HINCRBY is atomic on its own; no MULTI is needed to lose no update.
        pipeline = self._client.pipeline(transaction=False)
        for name, amount in amounts.items():
            pipeline.hincrby(self._key(key), name, amount)
        pipeline.execute()

    @_unavailable_on_error
    def counts(self, key: str) -> dict[str, int]:
        """Return the fields of the hash as whole numbers."""
        found = self._client.hgetall(self._key(key))
        return {str(self._text(name)): int(value) for name, value in found.items()}

    @_unavailable_on_error
    def ping(self) -> None:
        """Raise StoreUnavailable if Redis cannot be reached."""
        self._client.ping()


class MemoryStore:
    """Store kept in this process's memory; only valid when a single process serves requests."""

    SWEEP_INTERVAL = 60.0

    def __init__(
        self, prefix: str = "hawiya:", clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._prefix = prefix
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[str, float]] = {}  # key -> (value, expires_at)
        self._counts: dict[str, dict[str, int]] = {}  # key -> counters that never expire
        self._next_sweep = clock() + self.SWEEP_INTERVAL

    def _live(self, key: str, now: float) -> tuple[str, float] | None:
        """Return the entry for key if it has not expired, dropping it if it has."""
        entry = self._entries.get(self._prefix + key)
        if entry is not None and entry[1] <= now:
            del self._entries[self._prefix + key]
            return None
        return entry

    def _sweep(self, now: float) -> None:
        # Lazy expiry alone would keep keys that are written once and never read again.
        if now < self._next_sweep:
            return
        self._entries = {k: e for k, e in self._entries.items() if e[1] > now}
        self._next_sweep = now + self.SWEEP_INTERVAL

    def get(self, key: str) -> str | None:
        """Return the value of key, or None if it is missing."""
        with self._lock:
            entry = self._live(key, self._clock())
            return entry[0] if entry else None

    def set(self, key: str, value: str, ttl: int, *, only_if_absent: bool = False) -> bool:
        """Store value under key for ttl seconds; return True if it was written."""
        _check_ttl(ttl)
        with self._lock:
            now = self._clock()
            self._sweep(now)
            if only_if_absent and self._live(key, now) is not None:
                return False
            self._entries[self._prefix + key] = (value, now + ttl)
            return True

    def delete(self, key: str) -> bool:
        """Delete key; return True if it existed."""
        with self._lock:
            existed = self._live(key, self._clock()) is not None
            self._entries.pop(self._prefix + key, None)
            return existed

    def take(self, key: str) -> str | None:
        """Return and delete the value of key atomically."""
        with self._lock:
            entry = self._live(key, self._clock())
            self._entries.pop(self._prefix + key, None)
            return entry[0] if entry else None

    def incr(self, key: str, ttl: int) -> int:
        """Increment key atomically; ttl starts a fixed window only when the key is created."""
        _check_ttl(ttl)
        with self._lock:
            now = self._clock()
            self._sweep(now)
            entry = self._live(key, now)
            count, expires_at = (int(entry[0]) + 1, entry[1]) if entry else (1, now + ttl)
            self._entries[self._prefix + key] = (str(count), expires_at)
            return count

    def incr_by(self, key: str, amount: int, ttl: int) -> tuple[int, float]:
        """Add amount to key atomically, as `incr` does; return the count and seconds left."""
        _check_ttl(ttl)
        _check_amount(amount)
        with self._lock:
            now = self._clock()
            self._sweep(now)
            entry = self._live(key, now)
            count, expires_at = (int(entry[0]), entry[1]) if entry else (0, now + ttl)
            self._entries[self._prefix + key] = (str(count + amount), expires_at)
            return count + amount, expires_at - now

    def ttl(self, key: str) -> int | None:
        """Return the seconds key has left, or None if it is missing."""
        with self._lock:
            now = self._clock()
            entry = self._live(key, now)
            return math.ceil(entry[1] - now) if entry else None

    def add_counts(self, key: str, amounts: Mapping[str, int]) -> None:
        """Add each amount to its named counter in key."""
        _check_amounts(amounts)
        with self._lock:
            counters = self._counts.setdefault(self._prefix + key, {})
            for name, amount in amounts.items():
                counters[name] = counters.get(name, 0) + amount

    def counts(self, key: str) -> dict[str, int]:
        """Return every named counter in key."""
        with self._lock:
            return dict(self._counts.get(self._prefix + key, {}))

    def ping(self) -> None:
        """Do nothing: memory is always reachable."""


def from_url(url: str | None) -> Store:
    """Build a RedisStore for url, or a MemoryStore when no url is given."""
    return RedisStore(url) if url else MemoryStore()


def init_app(app: Flask) -> None:
    """Build the store from REDIS_URL and attach it to app."""
    url = app.config.get("REDIS_URL")
    prefix = app.config.get("STORE_PREFIX", "hawiya:")
    app.extensions[EXTENSION_KEY] = RedisStore(url, prefix) if url else MemoryStore(prefix)


def get_store() -> Store:
    """Return the current app's store."""
    store: Store = current_app.extensions[EXTENSION_KEY]
    return store
