"""Per-site rate limits per API key, per comment author and per client address.

Counted in Redis with the ``limits`` library (the engine behind flask-limiter) using a sliding
window counter, so a limit holds across every worker and host. A site sets its limits with
``modq sites update NAME --rate-limit key=600/minute --rate-limit author=5/minute
--rate-limit address=30/minute``; a scope without a limit costs nothing.
"""

from __future__ import annotations

import math
import time

from limits import parse
from limits.storage import RedisClusterStorage, RedisSentinelStorage, RedisStorage
from limits.strategies import SlidingWindowCounterRateLimiter

from service.config import Settings
from service.errors import ApiError
from service.keys import RedisKeys

SCOPES = ("key", "author", "address")


class RateLimited(ApiError):
    status = 429
    code = "rate_limited"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message, retry_after=retry_after)
        self.retry_after = retry_after


def check_limit_text(text: str) -> str:
    """``text`` if it reads as a rate limit such as ``600/minute`` or ``5 per 10 seconds``.

    :raise ValueError: it does not.
    """
    try:
        parse(text)
    except ValueError:
        raise ValueError(
            f"{text!r} is not a rate limit; write it like 600/minute or 5/second"
        ) from None
    return text


def largest_batch(limits: dict[str, str]) -> tuple[int, str] | None:
    """The most comments one request can ever count, and the limit that sets it, or None.

    A batch counts each comment against the key and address limits; one larger than such a
    limit's whole allowance would be refused however long its sender waited.
    """
    allowances = [
        (parse(limits[scope]).amount, scope) for scope in ("key", "address") if limits.get(scope)
    ]
    return min(allowances) if allowances else None


class RateLimiter:
    """Checks the site's limits for one request.

    :param settings: where Redis is; limits are kept under ``<prefix>:ratelimit``.
    """

    def __init__(self, settings: Settings) -> None:
        prefix = RedisKeys(settings.key_prefix).rate_limit_prefix()
        # The same bounds as the main client (``connect_redis``), so an outage fails fast here too.
        timeouts = {
            "socket_timeout": settings.redis_timeout_seconds,
            "socket_connect_timeout": settings.redis_timeout_seconds,
        }
        if settings.redis_url.startswith("redis+sentinel://"):
            storage = RedisSentinelStorage(
                settings.redis_url,
                key_prefix=prefix,
                use_replicas=False,
                sentinel_kwargs=timeouts,  # the sentinels too, not only the master
                **timeouts,
            )
        elif settings.redis_cluster:
            uri = settings.redis_url.replace("redis://", "redis+cluster://", 1)
            storage = RedisClusterStorage(uri, key_prefix=prefix, **timeouts)
        else:
            storage = RedisStorage(settings.redis_url, key_prefix=prefix, **timeouts)
        self.strategy = SlidingWindowCounterRateLimiter(storage)

    def hit(
        self, site: str, limits: dict[str, str], scope: str, identity: str | None, cost: int = 1
    ) -> None:
        """Count ``cost`` requests of ``identity`` in ``scope`` against the site's limit.

        :raise 429: the limit is reached; ``Retry-After`` says when to try again.
        """
        text = limits.get(scope)
        if not text or not identity:
            return
        item = parse(text)
        if self.strategy.hit(item, site, scope, identity, cost=cost):
            return
        stats = self.strategy.get_window_stats(item, site, scope, identity)
        retry_after = max(1, math.ceil(stats.reset_time - time.time()))
        raise RateLimited(
            f"Rate limit of {text} per {scope} reached for site '{site}'; retry in {retry_after} s.",
            retry_after=retry_after,
        )
