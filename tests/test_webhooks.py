"""Webhook delivery to a real local HTTP receiver: signatures, retries, dead letters, hangs."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from service import create_app
from service.webhooks import WebhookDispatcher, verify
from tests.moderation_support import Moderator, queue_comments, review_everything

SECRET = "whsec-test-1234"


class Receiver:
    """A news site's webhook endpoint: records what arrives, answers as told."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        self.statuses: list[int] = []  # answers to give, in order; then 200
        self.hang_seconds = 0.0
        self.arrived = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (the stdlib's name)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if receiver.hang_seconds:
                    time.sleep(receiver.hang_seconds)
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                receiver.received.append(
                    {"headers": dict(self.headers), "body": body, "status": status}
                )
                receiver.arrived.set()
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/hooks/modq"

    def accepted(self) -> list[dict]:
        return [r for r in self.received if r["status"] == 200]


@pytest.fixture
def receiver():
    receiver = Receiver()
    receiver.thread.start()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


@pytest.fixture
def app(settings, redis_client, scorer):
    # A prefix of its own, so no dispatcher of another test's app touches these events.
    settings = dataclasses.replace(settings, key_prefix="whtest", webhook_delivery=False)
    app = create_app(settings, scorer=scorer)
    app.config["TESTING"] = True
    return app


@pytest.fixture
def dispatcher(services):
    dispatcher = WebhookDispatcher(
        services.redis,
        services.keys,
        services.sites,
        timeout=0.5,
        max_attempts=3,
        backoff_seconds=0.05,
        poll_seconds=0.02,
    )
    dispatcher.start()
    yield dispatcher
    dispatcher.stop()


@pytest.fixture
def queued(services, ingest, receiver):
    review_everything(services)
    services.sites.update("demo", webhook_url=receiver.url, webhook_secret=SECRET)
    return queue_comments(ingest, 3)


def wait_for(condition, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_each_decision_is_posted_signed(client, moderator_key, queued, receiver, dispatcher):
    moderator = Moderator(client, moderator_key)
    moderator.decide(queued[0], "reject", labels=["spam"])
    moderator.decide(queued[1], "approve")
    wait_for(lambda: len(receiver.accepted()) == 2)
    for request in receiver.accepted():
        headers, body = request["headers"], request["body"]
        timestamp = headers["X-Modq-Timestamp"]
        assert abs(int(timestamp) - time.time()) < 60
        expected = hmac.new(
            SECRET.encode(), f"{timestamp}.".encode() + body, hashlib.sha256
        ).hexdigest()
        assert headers["X-Modq-Signature"] == f"sha256={expected}"
        assert verify(SECRET, timestamp, body, headers["X-Modq-Signature"])
        assert not verify("wrong", timestamp, body, headers["X-Modq-Signature"])
        assert not verify(SECRET, str(int(timestamp) - 3600), body, headers["X-Modq-Signature"])
    events = {
        json.loads(r["body"])["comment_id"]: json.loads(r["body"]) for r in receiver.accepted()
    }
    assert events[queued[0]]["decision"] == "reject"
    assert events[queued[0]]["labels"] == ["spam"]
    assert events[queued[0]]["status"] == "rejected"
    assert events[queued[1]]["decision"] == "approve"
    assert all(e["at"] and e["id"].startswith("evt_") for e in events.values())


def test_failed_deliveries_are_retried_with_backoff(
    client, moderator_key, queued, receiver, dispatcher, services
):
    receiver.statuses = [500, 503]
    Moderator(client, moderator_key).decide(queued[0], "approve")
    wait_for(lambda: len(receiver.accepted()) == 1)
    assert [r["status"] for r in receiver.received] == [500, 503, 200]
    bodies = {r["body"] for r in receiver.received}
    assert len({json.loads(b)["id"] for b in bodies}) == 1
    assert services.redis.hlen(services.keys.webhook_events("demo")) == 0


def test_after_the_last_attempt_an_event_is_a_dead_letter_admins_replay(
    client, moderator_key, queued, receiver, dispatcher, app
):
    receiver.statuses = [500, 500, 500]
    Moderator(client, moderator_key).decide(queued[0], "reject", labels=["abuse"])
    admin = app.test_client()
    from service.moderation_api import get_moderation

    with app.app_context():
        get_moderation().moderators.create("admin@example.org", "long enough pw", [], admin=True)
    with admin.session_transaction() as session:
        session["moderator"] = "admin@example.org"
        session["csrf_token"] = "token"

    def dead_letters():
        return admin.get("/v1/sites/demo/webhooks/dead-letters").get_json()["dead_letters"]

    wait_for(lambda: len(dead_letters()) == 1)
    letter = dead_letters()[0]
    assert letter["attempts"] == 3 and letter["last_error"] == "HTTP 500"
    assert letter["event"]["comment_id"] == queued[0]
    assert (
        client.get(
            "/v1/sites/demo/webhooks/dead-letters",
            headers={"Authorization": f"Bearer {moderator_key}"},
        ).status_code
        == 403
    )
    refused = admin.post("/v1/sites/demo/webhooks/dead-letters/replay", json={})
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "csrf"
    replayed = admin.post(
        "/v1/sites/demo/webhooks/dead-letters/replay", json={}, headers={"X-CSRF-Token": "token"}
    )
    assert replayed.get_json()["replayed"] == [letter["event"]["id"]]
    wait_for(lambda: len(receiver.accepted()) == 1)
    assert dead_letters() == []


def test_a_hanging_receiver_slows_neither_moderation_nor_intake(
    client, moderator_key, ingest, queued, receiver, dispatcher, services
):
    receiver.hang_seconds = 3
    moderator = Moderator(client, moderator_key)
    moderator.decide(queued[0], "approve")
    receiver.arrived.wait(0.3)
    started = time.monotonic()
    assert moderator.decide(queued[1], "approve").status_code == 200
    assert moderator.decide(queued[2], "reject").status_code == 200
    assert ingest({"id": "late", "text": "one more comment"}).status_code == 200
    assert time.monotonic() - started < 1.5
    # The attempts time out after 0.5 s each and are counted as failures, not waited for.
    wait_for(
        lambda: any(
            json.loads(v).get("attempts", 0) >= 1
            for v in services.redis.hvals(services.keys.webhook_events("demo"))
        ),
        seconds=5,
    )
