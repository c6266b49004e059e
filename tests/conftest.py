"""Fixtures: a real Redis server on a free port, the real shipped model, and the Flask app."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from service import create_app
from service.config import Settings
from service.localredis import find_redis_server

# prometheus-client picks single- or multi-process value storage once, when first imported, from
# PROMETHEUS_MULTIPROC_DIR. The tests run apps in this process, so it is imported here first, with
# the variable unset; servers under test are separate processes and set it themselves.
os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
import prometheus_client  # noqa: E402, F401


def free_port(below: int = 65536) -> int:
    """A TCP port nothing listens on, under ``below``."""
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if port < below:
            return port


class RedisServer:
    """A redis-server process of the test run's own, on a free port, keeping nothing on disk."""

    def __init__(self, *extra: str) -> None:
        # A cluster node also listens on port + 10000 for its bus.
        self.port = free_port(below=55536 if "--cluster-enabled" in extra else 65536)
        self.dir = tempfile.mkdtemp(prefix="modq-redis-")
        self.extra = extra
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                find_redis_server(),
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                self.dir,
                *self.extra,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.02)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    yield server
    server.cleanup()


@pytest.fixture
def redis_client(redis_server: RedisServer) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_server.url)
    client.flushdb()
    yield client
    client.close()


@pytest.fixture(scope="session")
def scorer():
    from model.scorer import load_default_model

    return load_default_model()


@pytest.fixture
def settings(redis_server: RedisServer) -> Settings:
    # No in-process caching, so revocations and site changes show at once in tests.
    return Settings(redis_url=redis_server.url, cache_seconds=0)


@pytest.fixture
def app(settings: Settings, scorer, redis_client):
    app = create_app(settings, scorer=scorer)
    app.config["TESTING"] = True
    return app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def services(app):
    return app.extensions["modq"]


@pytest.fixture
def site(services):
    return services.sites.create("demo")


@pytest.fixture
def ingest_key(services, site) -> str:
    return services.api_keys.create(site.name, "ingest")[1]


@pytest.fixture
def moderator_key(services, site) -> str:
    return services.api_keys.create(site.name, "moderator")[1]


@pytest.fixture
def ingest(client, ingest_key):
    """POST a comment as the demo site's backend."""

    def post(body, path="/v1/comments", key=ingest_key):
        return client.post(path, json=body, headers={"Authorization": f"Bearer {key}"})

    return post


@pytest.fixture
def artifacts_dir() -> Path:
    path = Path(os.environ.get("MODQ_TEST_ARTIFACTS", "test-artifacts"))
    path.mkdir(parents=True, exist_ok=True)
    return path
