"""``MODQ_REDIS_TIMEOUT``: read from the environment and carried by every Redis client modq builds."""

from __future__ import annotations

import socket
import time

import pytest
import redis

from service.config import DEFAULT_REDIS_TIMEOUT_SECONDS, ConfigError, Settings
from service.extensions import connect_redis
from service.ratelimits import RateLimiter
from tests.conftest import RedisServer

TIMEOUTS = ("socket_timeout", "socket_connect_timeout")


def timeouts_of(client: redis.Redis) -> dict:
    kwargs = client.connection_pool.connection_kwargs
    return {name: kwargs.get(name) for name in TIMEOUTS}


@pytest.mark.parametrize(
    ("value", "seconds"),
    [(None, DEFAULT_REDIS_TIMEOUT_SECONDS), ("", DEFAULT_REDIS_TIMEOUT_SECONDS), ("5", 5.0)]
    + [("0.25", 0.25), (" 1.5 ", 1.5)],
)
def test_the_timeout_is_read_in_seconds(value, seconds):
    environ = {} if value is None else {"MODQ_REDIS_TIMEOUT": value}
    assert Settings.from_env(environ).redis_timeout_seconds == seconds


@pytest.mark.parametrize("value", ["0", "-1", "two", "nan", "inf", "1e999", "2s"])
def test_an_unusable_timeout_is_refused_by_name(value):
    with pytest.raises(ConfigError, match="MODQ_REDIS_TIMEOUT must be a positive number"):
        Settings.from_env({"MODQ_REDIS_TIMEOUT": value})


def test_the_main_client_and_the_rate_limiter_carry_it(redis_server):
    settings = Settings.from_env({"MODQ_REDIS_URL": redis_server.url, "MODQ_REDIS_TIMEOUT": "0.7"})
    client = connect_redis(settings)
    assert client.ping()
    assert timeouts_of(client) == dict.fromkeys(TIMEOUTS, 0.7)
    storage = RateLimiter(settings).strategy.storage
    assert storage.check()
    assert timeouts_of(storage.storage) == dict.fromkeys(TIMEOUTS, 0.7)


def test_a_redis_that_never_answers_fails_instead_of_hanging():
    # A socket that takes connections (through its backlog) and never answers, like a hung server.
    with socket.create_server(("127.0.0.1", 0)) as silent:
        port = silent.getsockname()[1]
        settings = Settings.from_env(
            {"MODQ_REDIS_URL": f"redis://127.0.0.1:{port}/0", "MODQ_REDIS_TIMEOUT": "0.2"}
        )
        client = connect_redis(settings)
        with pytest.raises(redis.exceptions.TimeoutError):
            client.ping()
        client.close()


def test_the_sentinels_and_the_master_they_name_carry_it():
    # Building the client connects to nothing, so addresses where no sentinel runs will do.
    settings = Settings.from_env(
        {
            "MODQ_REDIS_URL": "redis+sentinel://127.0.0.1:1,127.0.0.1:2/mymaster",
            "MODQ_REDIS_TIMEOUT": "0.7",
        }
    )
    master = connect_redis(settings)
    assert timeouts_of(master) == dict.fromkeys(TIMEOUTS, 0.7)
    sentinels = master.connection_pool.sentinel_manager.sentinels
    assert [timeouts_of(s) for s in sentinels] == [dict.fromkeys(TIMEOUTS, 0.7)] * 2
    limiter_storage = RateLimiter(settings).strategy.storage
    assert timeouts_of(limiter_storage.storage) == dict.fromkeys(TIMEOUTS, 0.7)


def test_the_rate_limiters_sentinel_connections_carry_it():
    settings = Settings(
        redis_url="redis+sentinel://127.0.0.1:1/mymaster", redis_timeout_seconds=0.7
    )
    sentinels = RateLimiter(settings).strategy.storage.sentinel.sentinels
    assert [timeouts_of(s) for s in sentinels] == [dict.fromkeys(TIMEOUTS, 0.7)]


@pytest.fixture(scope="module")
def one_node_cluster():
    """A Redis Cluster of one master that owns every slot."""
    node = RedisServer("--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf")
    node.start()
    admin = redis.Redis(port=node.port)
    admin.execute_command("CLUSTER ADDSLOTSRANGE", 0, 16383)
    deadline = time.monotonic() + 30
    while admin.execute_command("CLUSTER INFO")["cluster_state"] != "ok":
        assert time.monotonic() < deadline, "the one-node cluster did not come up"
        time.sleep(0.05)
    admin.close()
    yield node
    node.cleanup()


def test_every_cluster_node_client_carries_it(one_node_cluster):
    settings = Settings.from_env(
        {
            "MODQ_REDIS_URL": one_node_cluster.url,
            "MODQ_REDIS_CLUSTER": "1",
            "MODQ_REDIS_TIMEOUT": "0.7",
        }
    )
    cluster = connect_redis(settings)
    assert cluster.ping()
    nodes = cluster.get_nodes()
    assert nodes
    assert all(timeouts_of(n.redis_connection) == dict.fromkeys(TIMEOUTS, 0.7) for n in nodes)
    storage = RateLimiter(settings).strategy.storage
    assert storage.check()
    limiter_nodes = storage.storage.get_nodes()
    assert all(
        timeouts_of(n.redis_connection) == dict.fromkeys(TIMEOUTS, 0.7) for n in limiter_nodes
    )
    cluster.close()


@pytest.mark.parametrize(("policy", "warned"), [("allkeys-lru", True), ("noeviction", False)])
def test_a_redis_that_may_evict_modqs_keys_is_named_at_start(
    settings, scorer, redis_client, caplog, policy, warned
):
    from service import create_app

    redis_client.config_set("maxmemory-policy", policy)
    try:
        with caplog.at_level("WARNING", logger="modq.health"):
            create_app(settings, scorer=scorer)
    finally:
        redis_client.config_set("maxmemory-policy", "noeviction")
    said = [r.getMessage() for r in caplog.records if "maxmemory-policy" in r.getMessage()]
    assert bool(said) is warned
    if warned:
        assert "allkeys-lru" in said[0] and "noeviction" in said[0]
