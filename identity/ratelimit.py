"""Fixed-window rate limits on the store: one atomic increment per request."""

from identity.errors import TooManyRequests
from identity.store import get_store


def hit(bucket: str, limit: int, window: int) -> None:
    """Count one request in `bucket`; refuse with 429 and Retry-After past `limit` per window."""
    key = f"rl:{bucket}"
    store = get_store()
    if store.incr(key, window) > limit:
        raise TooManyRequests(retry_after=max(store.ttl(key) or window, 1))
