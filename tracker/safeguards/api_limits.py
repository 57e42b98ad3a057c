"""The Open311 API's rate limit: requests per API key per minute, in a moving window.

Each key has its own limit (``ApiKey.rate_limit_per_minute``); every request that carries a
valid key counts. The counts live in Redis when ``REDIS_URL`` is set, so that every web process
counts the same requests; otherwise (one process, tests) in this process's memory. Should Redis
be down, the count goes on in memory rather than failing the request: a limit that is for a
while per process is better than an API that answers 500.

No Flask here: the ``api`` blueprint makes one ``ApiLimits`` per app and asks it per request.
"""

from __future__ import annotations

import logging
import math
import time

from limits import RateLimitItemPerMinute
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

log = logging.getLogger(__name__)

NAMESPACE = "tracker-open311-key"


class ApiLimits:
    """The counts of every key, in Redis (``redis_url``) or in memory."""

    def __init__(self, redis_url: str | None = None):
        self.memory = MovingWindowRateLimiter(MemoryStorage())
        self.redis_url = redis_url
        self.shared: MovingWindowRateLimiter | None = None

    def _shared(self) -> MovingWindowRateLimiter | None:
        """The Redis counts, connected on first use (a Redis down at start-up fails no request)."""
        if self.redis_url and self.shared is None:
            self.shared = MovingWindowRateLimiter(storage_from_string(self.redis_url))
        return self.shared

    def hit(self, identity: str, per_minute: int) -> int:
        """Count one request of ``identity``: 0 if it is within ``per_minute``, else the seconds
        until the window lets one more through (at least 1). A limit under 1 lets nothing through."""
        if per_minute < 1:
            return 60
        item = RateLimitItemPerMinute(per_minute)
        if self.redis_url:
            try:
                return self._hit(self._shared(), item, identity)
            except Exception as error:  # the storage driver raises errors of its own
                log.warning("rate limit storage unavailable, counting in memory: %s", error)
        return self._hit(self.memory, item, identity)

    @staticmethod
    def _hit(limiter: MovingWindowRateLimiter, item: RateLimitItemPerMinute, identity: str) -> int:
        if limiter.hit(item, NAMESPACE, identity):
            return 0
        reset_at, _remaining = limiter.get_window_stats(item, NAMESPACE, identity)
        return max(1, math.ceil(reset_at - time.time()))
