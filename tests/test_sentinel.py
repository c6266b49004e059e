"""The service reaches its Redis through Sentinel when MODQ_REDIS_URL is a redis+sentinel:// URL."""

from __future__ import annotations

import subprocess
import time

import pytest
import redis

from service import create_app
from service.apikeys import ApiKeyStore
from service.config import Settings
from service.extensions import connect_redis
from service.keys import RedisKeys
from service.localredis import find_redis_server, free_port
from service.sites import SiteStore
from tests.conftest import RedisServer


@pytest.fixture(scope="module")
def sentinel_url(tmp_path_factory, redis_server: RedisServer):
    """A real redis-server in sentinel mode, watching the test Redis as master ``modq-main``."""
    port = free_port()
    config = tmp_path_factory.mktemp("sentinel") / "sentinel.conf"
    config.write_text(
        f"port {port}\nbind 127.0.0.1\nsentinel monitor modq-main 127.0.0.1 {redis_server.port} 1\n"
    )
    process = subprocess.Popen(
        [find_redis_server(), str(config), "--sentinel"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    with redis.Redis(port=port) as client:
        while True:
            try:
                if client.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", "modq-main"):
                    break
            except redis.ConnectionError:
                pass
            if time.monotonic() > deadline:
                process.kill()
                raise RuntimeError("redis sentinel did not start")
            time.sleep(0.05)
    yield f"redis+sentinel://127.0.0.1:{port}/modq-main"
    process.terminate()
    process.wait(timeout=10)


def test_connect_redis_finds_the_master_through_sentinel(sentinel_url, redis_client):
    client = connect_redis(Settings(redis_url=sentinel_url))
    try:
        client.set("modq:sentinel-probe", "1")
        assert redis_client.get("modq:sentinel-probe") == b"1"
    finally:
        client.close()


@pytest.mark.parametrize(
    "url",
    ["redis+sentinel://127.0.0.1:26379", "redis+sentinel:///main", "redis+sentinel://host/main"],
)
def test_a_sentinel_url_without_address_or_service_is_refused(url):
    with pytest.raises(ValueError):
        connect_redis(Settings(redis_url=url))


def test_intake_works_through_sentinel(sentinel_url, redis_client, scorer):
    keys = RedisKeys()
    SiteStore(redis_client, keys).create("news", rate_limits={"key": "100/minute"})
    _, secret = ApiKeyStore(redis_client, keys).create("news", "ingest")
    app = create_app(Settings(redis_url=sentinel_url, cache_seconds=0), scorer=scorer)
    answer = app.test_client().post(
        "/v1/comments",
        json={"id": "c-1", "text": "Thanks, good read."},
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["id"] == "c-1"
    assert redis_client.exists(keys.comment("news", "c-1"))
    app.extensions["modq"].redis.close()
    app.extensions["modq"].rate_limiter.strategy.storage.storage.close()
