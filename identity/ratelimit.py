"""Fixed-window rate limits on the store: one atomic increment per request."""

import logging

from identity.errors import TooManyRequests
from identity.store import StoreUnavailable, get_store

log = logging.getLogger(__name__)


def hit(bucket: str, limit: int, window: int, *, fail_open: bool = False) -> None:
    """Count one request in `bucket`; refuse with 429 and Retry-After past `limit` per window.

    When the store cannot be reached the request is refused (StoreUnavailable, a 503), unless
    `fail_open`: then it goes on uncounted. Only limits that share out capacity may fail open;
    a limit that stops guessing (codes, passwords, document numbers) must fail closed.
    """
    key = f"rl:{bucket}"
    store = get_store()
    try:
        count = store.incr(key, window)
    except StoreUnavailable:
        if not fail_open:
            raise
        log.warning("rate limit %s not counted: the store is unreachable", bucket)
        return
    if count > limit:
        raise TooManyRequests(retry_after=max(store.ttl(key) or window, 1))
