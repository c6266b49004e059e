"""The one-line JSON access log: who asked (client address, user agent), never what they sent."""

from __future__ import annotations

import io
import json
import logging
import os

import pytest

from service import create_app
from service.logs import MAX_USER_AGENT_CHARS, JsonFormatter

TEXT = "Distinctive words: periwinkle xylophone"


@pytest.fixture
def access_lines():
    """The access log's records, formatted as the service writes them, parsed back."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    access = logging.getLogger("modq.access")
    previous = access.level
    access.addHandler(handler)
    access.setLevel(logging.INFO)

    def lines() -> list[dict]:
        return [json.loads(line) for line in stream.getvalue().splitlines()]

    yield lines
    access.removeHandler(handler)
    access.setLevel(previous)


@pytest.fixture
def proxied(settings, scorer, redis_client):
    """The app behind one trusted proxy (``MODQ_TRUSTED_PROXIES=1``)."""
    app = create_app(settings, scorer=scorer, proxies=1)
    app.config["TESTING"] = True
    return app


def post_comment(client, key: str, **headers: str):
    return client.post(
        "/v1/comments",
        json={"id": "c1", "text": TEXT},
        headers={"Authorization": f"Bearer {key}", **headers},
    )


def test_each_request_logs_the_client_address_and_user_agent(client, ingest_key, access_lines):
    response = post_comment(client, ingest_key, **{"User-Agent": "news-backend/3.2 (+ops)"})
    assert response.status_code == 200
    [line] = access_lines()
    assert line["path"] == "/v1/comments" and line["status"] == 200 and line["site"] == "demo"
    assert line["remote_addr"] == "127.0.0.1"
    assert line["user_agent"] == "news-backend/3.2 (+ops)"
    assert line["pid"] == os.getpid()  # which worker served it
    logged = json.dumps(line)
    assert ingest_key not in logged and TEXT not in logged


def test_a_moderator_keys_requests_log_their_site_too(client, moderator_key, access_lines):
    response = client.get(
        "/v1/sites/demo/queue/stats", headers={"Authorization": f"Bearer {moderator_key}"}
    )
    assert response.status_code == 200
    [line] = access_lines()
    assert line["site"] == "demo"


def test_a_long_user_agent_is_cut_and_a_missing_one_left_out(client, access_lines):
    client.get("/healthz", headers={"User-Agent": "x" * 5000})
    client.get("/healthz", headers={"User-Agent": ""})
    long, empty = access_lines()
    assert long["user_agent"] == "x" * MAX_USER_AGENT_CHARS
    assert "user_agent" not in empty


@pytest.mark.parametrize(
    ("trusted", "logged"), [(True, "203.0.113.7"), (False, "127.0.0.1")], ids=["proxy", "direct"]
)
def test_the_address_comes_from_x_forwarded_for_only_behind_a_trusted_proxy(
    app, proxied, access_lines, trusted, logged
):
    client = (proxied if trusted else app).test_client()
    client.get("/healthz", headers={"X-Forwarded-For": "203.0.113.7"})
    [line] = access_lines()
    assert line["remote_addr"] == logged
