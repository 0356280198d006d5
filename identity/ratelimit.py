"""Fixed-window rate limits on the store.

`hit` counts each request in the store (one atomic increment): the limits that stop guessing.
`share` counts in leases: a process takes up to LEASE_SHARE of a window's limit in one increment
and spends it locally, so a capacity shared out between agencies costs a round trip per lease,
not per request. A lease is counted in the store when it is taken, so the requests admitted in a
window never exceed the limit; what a process leases and does not spend before the window ends
is lost, at most LEASE_SHARE of the limit per process and window.
"""

import logging
import threading
import time
from dataclasses import dataclass

from flask import current_app

from identity.errors import TooManyRequests
from identity.store import StoreUnavailable, get_store

log = logging.getLogger(__name__)

LEASE_SHARE = 0.01  # of a window's limit, taken by a process at once
MAX_LEASE = 20  # requests in one lease, whatever the limit
LEASES_EXTENSION = "hawiya.rate-leases"


def hit(bucket: str, limit: int, window: int) -> None:
    """Count one request in `bucket`; refuse with 429 and Retry-After past `limit` per window.

    When the store cannot be reached the request is refused (StoreUnavailable, a 503): a limit
    that stops guessing (codes, passwords, document numbers) fails closed. Only `share`, for a
    capacity shared out, goes on uncounted.
    """
    key = f"rl:{bucket}"
    store = get_store()
    count = store.incr(key, window)
    if count > limit:
        raise TooManyRequests(retry_after=max(store.ttl(key) or window, 1))


def lease_size(limit: int) -> int:
    """Return how many requests of a window's `limit` one lease holds (1 for small limits)."""
    return max(1, min(MAX_LEASE, int(limit * LEASE_SHARE)))


@dataclass
class Lease:
    """What this process may still admit of one bucket's window, and when that window ends."""

    left: int
    until: float  # time.monotonic()
    full: bool  # the window's limit was reached: nothing more until it ends


class Leases:
    """One app's leases, by bucket; a lock, since a threaded server shares them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._leases: dict[str, Lease] = {}

    def spend(self, bucket: str, limit: int, window: int) -> None:
        """Admit one request of `bucket` from its lease, taking a new lease when it is spent.

        Refuses with 429 when the window's limit is reached; goes on uncounted while the store
        is unreachable: a shared capacity fails open, unlike `hit`.
        """
        now = time.monotonic()
        with self._lock:
            lease = self._leases.get(bucket)
            if lease is not None and now < lease.until:
                if lease.left > 0:
                    lease.left -= 1
                    return
                if lease.full:
                    raise TooManyRequests(retry_after=max(int(lease.until - now + 0.999), 1))
            size = lease_size(limit)
            try:
                count, seconds_left = get_store().incr_by(f"rl:{bucket}", size, window)
            except StoreUnavailable:
                log.warning("rate limit %s not counted: the store is unreachable", bucket)
                return
            # Of this lease, only what was under the limit before it may be admitted.
            granted = max(0, min(size, limit - (count - size)))
            # A lease ends a little before its window does, so that none of it is spent after
            # the store has started the next window.
            until = now + seconds_left - 0.05
            self._leases[bucket] = Lease(max(granted - 1, 0), until, full=granted < size)
            if granted == 0:
                raise TooManyRequests(retry_after=max(int(seconds_left + 0.999), 1))


def share(bucket: str, limit: int, window: int) -> None:
    """Count one request of a shared capacity in leases (see the module); 429 past the limit."""
    leases: Leases = current_app.extensions.setdefault(LEASES_EXTENSION, Leases())
    leases.spend(bucket, limit, window)
