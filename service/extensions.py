"""The service's connections and stores, built once per app and reached through :func:`get_services`."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import redis
import redis.sentinel
from flask import current_app

from model.scorer import Scorer
from service.apikeys import ApiKeyStore
from service.comments import CommentStore
from service.config import Settings
from service.keys import RedisKeys
from service.labels import LabelStore
from service.ratelimits import RateLimiter
from service.registry import ModelProvider, ModelRegistry
from service.sites import SiteStore

T = TypeVar("T")


SENTINEL_SCHEME = "redis+sentinel://"


def sentinel_master(url: str, **options) -> redis.Redis:
    """A client for the master Sentinel names: ``redis+sentinel://[user:pass@]host:port[,...]/service``.

    The same URL form as the ``limits`` library's, so the rate limiter reads it too. The client asks
    the sentinels for the current master when it connects, so it follows a failover.

    :raise ValueError: the URL names no sentinel or no service.
    """
    rest = url[len(SENTINEL_SCHEME) :]
    auth, _, rest = rest.rpartition("@")
    hosts, _, service = rest.partition("/")
    service = service.strip("/")
    sentinels = []
    for host in filter(None, hosts.split(",")):
        name, _, port = host.rpartition(":")
        if not name or not port.isdigit():
            raise ValueError(f"sentinel address {host!r} must be host:port")
        sentinels.append((name, int(port)))
    if not sentinels or not service:
        raise ValueError("write it as redis+sentinel://host:port[,host:port...]/service_name")
    if auth:
        username, _, password = auth.rpartition(":")
        options.update(username=username or None, password=password)
    sentinel_options = {k: v for k, v in options.items() if k in ("username", "password")}
    # The sentinels themselves get the same bounds as the master, so a hanging sentinel fails
    # fast too.
    for timeout in ("socket_timeout", "socket_connect_timeout"):
        sentinel_options[timeout] = options.get(timeout)
    sentinel = redis.sentinel.Sentinel(sentinels, sentinel_kwargs=sentinel_options, **options)
    return sentinel.master_for(service)


def connect_redis(settings: Settings) -> redis.Redis:
    """A Redis client for ``settings.redis_url`` with bounded timeouts, so an outage fails fast.

    ``redis+sentinel://`` URLs go through Sentinel (:func:`sentinel_master`); with
    ``settings.redis_cluster`` the URL is one node of a Redis Cluster.
    """
    options = dict(
        socket_timeout=settings.redis_timeout_seconds,
        socket_connect_timeout=settings.redis_timeout_seconds,
        health_check_interval=30,
    )
    if settings.redis_url.startswith(SENTINEL_SCHEME):
        return sentinel_master(settings.redis_url, **options)
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
    models: ModelProvider
    key_cache: TtlCache = field(init=False)
    site_cache: TtlCache = field(init=False)

    def __post_init__(self) -> None:
        self.key_cache = TtlCache(self.settings.cache_seconds)
        self.site_cache = TtlCache(self.settings.cache_seconds)

    @classmethod
    def build(
        cls, settings: Settings, scorer: Scorer, connection: redis.Redis | None = None
    ) -> Services:
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
            models=ModelProvider(ModelRegistry(connection, keys), scorer),
        )

    def queue_summary(self, site: str) -> tuple[int, float | None]:
        """How many comments of ``site`` wait for review, and when the oldest arrived (unix time)."""
        return self.comments.queue_length(site), self.comments.oldest_pending(site)

    def scorer_for(self, site: str) -> Scorer:
        """The model that scores comments of ``site``: its promoted one, else the default."""
        return self.models.scorer_for(site)


def get_services() -> Services:
    """The current app's services."""
    return current_app.extensions["modq"]
