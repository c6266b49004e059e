"""The service's connections and stores, built once per app and reached through :func:`get_services`."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import redis
from flask import current_app

from model.scorer import Scorer
from service.apikeys import ApiKeyStore
from service.comments import CommentStore
from service.config import Settings
from service.keys import RedisKeys
from service.labels import LabelStore
from service.ratelimits import RateLimiter
from service.sites import SiteStore

T = TypeVar("T")


def connect_redis(settings: Settings) -> redis.Redis:
    """A Redis client for ``settings.redis_url`` with bounded timeouts, so an outage fails fast."""
    options = dict(
        socket_timeout=settings.redis_timeout_seconds,
        socket_connect_timeout=settings.redis_timeout_seconds,
        health_check_interval=30,
    )
    if settings.redis_cluster:
        return redis.cluster.RedisCluster.from_url(settings.redis_url, **options)
    return redis.Redis.from_url(settings.redis_url, **options)


class TtlCache(Generic[T]):
    """A small per-process cache of values that change rarely (API keys, site settings).

    A change made by another process is seen here after at most ``seconds``.
    """

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self.clock = clock
        self._entries: dict[str, tuple[float, T | None]] = {}

    def get(self, key: str, load: Callable[[], T | None]) -> T | None:
        if self.seconds <= 0:
            return load()
        now = self.clock()
        hit = self._entries.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        value = load()
        if len(self._entries) > 10_000:
            self._entries.clear()
        self._entries[key] = (now + self.seconds, value)
        return value


@dataclass
class Services:
    """Everything a request handler needs, built by ``create_app``."""

    settings: Settings
    redis: redis.Redis
    keys: RedisKeys
    sites: SiteStore
    api_keys: ApiKeyStore
    comments: CommentStore
    labels: LabelStore
    rate_limiter: RateLimiter
    scorer: Scorer
    key_cache: TtlCache = field(init=False)
    site_cache: TtlCache = field(init=False)

    def __post_init__(self) -> None:
        self.key_cache = TtlCache(self.settings.cache_seconds)
        self.site_cache = TtlCache(self.settings.cache_seconds)

    @classmethod
    def build(cls, settings: Settings, scorer: Scorer, connection: redis.Redis | None = None) -> Services:
        connection = connection if connection is not None else connect_redis(settings)
        keys = RedisKeys(settings.key_prefix)
        return cls(
            settings=settings,
            redis=connection,
            keys=keys,
            sites=SiteStore(connection, keys),
            api_keys=ApiKeyStore(connection, keys),
            comments=CommentStore(connection, keys),
            labels=LabelStore(connection, keys),
            rate_limiter=RateLimiter(settings),
            scorer=scorer,
        )

    def queue_summary(self, site: str) -> tuple[int, float | None]:
        """How many comments of ``site`` wait for review, and when the oldest arrived (unix time)."""
        return self.comments.queue_length(site), None

    def scorer_for(self, site: str) -> Scorer:
        """The model that scores comments of ``site``."""
        return self.scorer


def get_services() -> Services:
    """The current app's services."""
    return current_app.extensions["modq"]
