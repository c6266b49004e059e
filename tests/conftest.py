"""Fixtures: a real Redis server on a free port, the real shipped model, and the Flask app."""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from werkzeug.serving import make_server

from service import create_app
from service.config import Settings
from service.localredis import RedisProcess

# prometheus-client picks single- or multi-process value storage once, when first imported, from
# PROMETHEUS_MULTIPROC_DIR. The tests run apps in this process, so it is imported here first, with
# the variable unset; servers under test are separate processes and set it themselves.
os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
import prometheus_client  # noqa: E402, F401


class RedisServer(RedisProcess):
    """A redis-server of the test run's own, on a free port, keeping nothing on disk unless asked.

    :param extra: redis-server arguments as pairs, e.g. ``"--appendonly", "yes"``.
    """

    def __init__(self, *extra: str) -> None:
        options = {
            name.removeprefix("--"): value
            for name, value in zip(extra[::2], extra[1::2], strict=True)
        }
        super().__init__(Path(tempfile.mkdtemp(prefix="modq-redis-")), options=options)

    @property
    def dir(self) -> str:
        return str(self.directory)

    def start(self) -> None:
        super().start(timeout=10)

    def stop(self) -> None:
        super().stop(timeout=10)

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)


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
    yield app
    # The app's model poller ends with its test, not whenever the app is garbage collected: a
    # model loading in a leftover poller parses numpy's array headers with the ast module while
    # the next test's create_app compiles URL rules with it, and CPython 3.11's ast module is not
    # safe in two threads at once ("SystemError: AST constructor recursion depth mismatch").
    app.extensions["modq"].models.stop_polling()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def server(app) -> Iterator[str]:
    """The app served over HTTP on a free port, for clients that open their own connections (a
    browser, Google's API client library); its base URL."""
    http = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{http.server_port}"
    http.shutdown()


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


@pytest.fixture
def receiver():
    """A news site's webhook endpoint on a free port (``tests.webhook_support.Receiver``)."""
    from tests.webhook_support import Receiver

    receiver = Receiver()
    receiver.thread.start()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()
