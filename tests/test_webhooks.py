"""Webhook delivery to a real local HTTP receiver: signatures, retries, dead letters, hangs."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
import weakref

import pytest
import redis
from click.testing import CliRunner

from service.cli import main
from service.webhooks import (
    MAX_ATTEMPTS,
    MAX_BACKOFF_SECONDS,
    WebhookDispatcher,
    WebhookOutbox,
    _loop,
    retry_delay,
    verify,
)
from tests.moderation_support import (
    Moderator,
    log_in_with_form,
    queue_comments,
    review_everything,
)
from tests.webhook_support import SECRET, webhook_test_app


@pytest.fixture
def app(settings, redis_client, scorer):
    return webhook_test_app(settings, scorer, "whtest")


def start_dispatcher(app, **options) -> WebhookDispatcher:
    services = app.extensions["modq"]
    dispatcher = WebhookDispatcher(
        services.redis,
        services.keys,
        services.sites,
        **{
            "timeout": 0.5,
            "max_attempts": 3,
            "backoff_seconds": 0.05,
            "poll_seconds": 0.02,
            "observe": app.extensions["modq.metrics"].count_webhook_delivery,
            **options,
        },
    )
    dispatcher.start()
    return dispatcher


@pytest.fixture
def dispatcher(app):
    dispatcher = start_dispatcher(app)
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
    # Delivered, the event leaves the pending hash (just after the receiver answered).
    wait_for(lambda: services.redis.hlen(services.keys.webhook_events("demo")) == 0)


def test_an_event_of_a_site_without_a_secret_is_never_sent(
    client, moderator_key, queued, receiver, dispatcher, services
):
    # Only stored before a secret was required with every URL; the command line refuses it now.
    services.sites.update("demo", webhook_secret="")  # "" clears it
    Moderator(client, moderator_key).decide(queued[0], "approve")
    wait_for(
        lambda: any(
            json.loads(v).get("last_error") == "the site has no webhook secret"
            for v in services.redis.hvals(services.keys.webhook_events("demo"))
        ),
        seconds=5,
    )
    assert receiver.received == []


def test_after_the_last_attempt_an_event_is_a_dead_letter_admins_replay(
    client, moderator_key, queued, receiver, dispatcher, app
):
    receiver.statuses = [500, 500, 500]
    Moderator(client, moderator_key).decide(queued[0], "reject", labels=["abuse"])
    admin = app.test_client()
    from service.moderation_api import get_moderation

    with app.app_context():
        get_moderation().moderators.create("admin@example.org", "long enough pw", [], admin=True)
    log_in_with_form(admin, "admin@example.org", "long enough pw")
    with admin.session_transaction() as session:
        session["csrf_token"] = "token"

    def dead_letters():
        return admin.get("/v1/sites/demo/webhooks/dead-letters").get_json()["dead_letters"]

    wait_for(lambda: len(dead_letters()) == 1)
    letter = dead_letters()[0]
    assert letter["attempts"] == 3 and letter["last_error"] == "HTTP 500"
    assert letter["event"]["comment_id"] == queued[0]
    # The site's moderator key (the integration running the receiver) sees them too.
    by_key = client.get(
        "/v1/sites/demo/webhooks/dead-letters",
        headers={"Authorization": f"Bearer {moderator_key}"},
    )
    assert by_key.status_code == 200 and by_key.get_json()["dead_letters"] == [letter]
    # A moderator who is a person but not an admin does not.
    with app.app_context():
        get_moderation().moderators.create("mod@example.org", "long enough pw", ["demo"])
    person = app.test_client()
    log_in_with_form(person, "mod@example.org", "long enough pw")
    assert person.get("/v1/sites/demo/webhooks/dead-letters").status_code == 403
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


def distinct_events(receiver) -> list[dict]:
    """The events the receiver accepted, each once, in the order they first arrived."""
    events = {}
    for request in receiver.accepted():
        event = json.loads(request["body"])
        events.setdefault(event["id"], event)
    return list(events.values())


def test_one_comments_events_arrive_in_order_though_the_first_is_retried(
    app, client, moderator_key, queued, receiver, services
):
    # Long enough a backoff that the undo and the new decision are made while the first event
    # waits for its retry; they must wait behind it.
    # A timeout long enough that a reply slowed by a busy machine is not taken for a failure
    # and the event sent again (delivery is at least once; each event is counted once anyway).
    dispatcher = start_dispatcher(app, backoff_seconds=1.0, timeout=5.0)
    try:
        receiver.statuses = [500]
        moderator = Moderator(client, moderator_key)
        assert moderator.decide(queued[0], "reject", labels=["spam"]).status_code == 200
        wait_for(lambda: len(receiver.received) == 1)
        assert moderator.post(f"/queue/{queued[0]}/undo").status_code == 200
        assert moderator.decide(queued[0], "approve").status_code == 200
        wait_for(lambda: len(distinct_events(receiver)) == 3)
    finally:
        dispatcher.stop()
    events = distinct_events(receiver)
    assert [(e["type"], e["decision"]) for e in events] == [
        ("comment.decided", "reject"),
        ("comment.undone", "undo"),
        ("comment.decided", "approve"),
    ]
    sequences = [e["sequence"] for e in events]
    assert sequences == sorted(sequences) and len(set(sequences)) == 3
    held = services.keys.webhook_due("demo") + "-held"
    assert services.redis.hlen(held) == 0  # nothing is left holding the comment


def test_a_receiver_keeping_the_last_sequence_ignores_a_replayed_older_event(
    client, moderator_key, queued, receiver, dispatcher, services
):
    moderator = Moderator(client, moderator_key)
    moderator.decide(queued[0], "reject")
    moderator.decide(queued[0], "approve", overturn=True)
    wait_for(lambda: len(receiver.accepted()) == 2)
    # The receiver of the README: apply an event only when it is newer than the last applied.
    applied: dict[str, int] = {}
    status: dict[str, str] = {}
    deliveries = [json.loads(r["body"]) for r in receiver.accepted()]
    for event in sorted(deliveries, key=lambda e: e["sequence"]) + [deliveries[0]]:
        if event["sequence"] <= applied.get(event["comment_id"], -1):
            continue
        applied[event["comment_id"]] = event["sequence"]
        status[event["comment_id"]] = event["status"]
    assert status[queued[0]] == "approved"


def test_retries_back_off_to_ten_minutes_and_last_about_a_day():
    waits = [retry_delay(attempt) for attempt in range(1, MAX_ATTEMPTS)]
    assert waits[:4] == [2.0, 4.0, 8.0, 16.0]
    assert max(waits) == MAX_BACKOFF_SECONDS
    assert 23 * 3600 <= sum(waits) <= 25 * 3600
    # A receiver down for a few minutes is still retried well before the last attempt.
    assert sum(waits[:10]) < 30 * 60


def test_a_site_whose_receiver_hangs_leaves_slots_to_the_others(app, services, receiver):
    for name in ("hangs", "waits"):
        services.sites.create(name, webhook_url=receiver.url, webhook_secret=SECRET)
    dispatcher = WebhookDispatcher(services.redis, services.keys, services.sites, concurrency=4)
    due = {"hangs": [f"h{i}" for i in range(10)], "waits": ["w0"]}

    def take_due(site, now, hold, limit):
        return [due[site].pop(0)] if due[site] else []

    submitted: list[tuple[str, str]] = []
    dispatcher.outbox.take_due = take_due  # type: ignore[method-assign]
    # Deliveries that never end: the receiver of "hangs" hangs, so slots are not given back.
    dispatcher._submit = lambda site, event: submitted.append((site, event))  # type: ignore[method-assign]
    for _ in range(3):
        dispatcher.run_once()
    by_site = [site for site, _ in submitted]
    assert by_site.count("waits") == 1  # served although "hangs" has ten events due
    assert by_site.count("hangs") == 2  # at most half of the four slots


def test_while_redis_is_down_the_loop_backs_off_and_logs_now_and_then(caplog):
    stop = threading.Event()

    class Failing:
        poll_seconds = 0.0001
        calls = 0

        def run_once(self) -> int:
            self.calls += 1
            if self.calls <= 24:
                raise redis.exceptions.ConnectionError("down")
            stop.set()
            return 0

    dispatcher = Failing()
    with caplog.at_level(logging.INFO, logger="service.webhooks"):
        _loop(weakref.ref(dispatcher), stop)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert [w.split("(")[1].split(" ")[0] for w in warnings] == ["1", "10", "20"]
    assert any("after 24 failed polls" in r.getMessage() for r in caplog.records)


def test_only_sites_with_a_webhook_are_polled(app, services, receiver):
    for name in ("quiet", "other"):
        services.sites.create(name)
    services.sites.create("hooked", webhook_url=receiver.url, webhook_secret=SECRET)
    dispatcher = WebhookDispatcher(services.redis, services.keys, services.sites)
    polled: list[str] = []
    take_due = dispatcher.outbox.take_due

    def recording(site, *args):
        polled.append(site)
        return take_due(site, *args)

    dispatcher.outbox.take_due = recording  # type: ignore[method-assign]
    dispatcher._executor = None  # nothing is due, so nothing is submitted
    for _ in range(3):
        assert dispatcher.run_once() == 0
    assert polled == ["hooked"] * 3


def test_deliveries_and_waiting_events_show_in_the_metrics(
    client, moderator_key, queued, receiver, dispatcher
):
    receiver.statuses = [500, 500, 500, 503]
    moderator = Moderator(client, moderator_key)
    moderator.decide(queued[0], "reject")
    wait_for(lambda: len(receiver.received) == 3)  # the third failure makes a dead letter
    moderator.decide(queued[1], "approve")
    wait_for(lambda: len(receiver.accepted()) == 1)

    def metrics() -> str:
        return client.get("/metrics").get_data(as_text=True)

    wait_for(lambda: 'outcome="delivered",site="demo"} 1.0' in metrics())
    text = metrics()
    assert 'modq_webhook_deliveries_total{outcome="failed",site="demo"} 3.0' in text
    assert 'modq_webhook_deliveries_total{outcome="dead_letter",site="demo"} 1.0' in text
    assert 'modq_webhook_dead_letters{site="demo"} 1.0' in text
    assert 'modq_webhook_pending{site="demo"} 0.0' in text


def test_webhooks_purge_deletes_dead_letters_by_age_or_id(
    client, moderator_key, queued, receiver, dispatcher, services
):
    receiver.statuses = [500] * 9  # three attempts each: every event becomes a dead letter
    moderator = Moderator(client, moderator_key)
    for comment_id in queued:
        moderator.decide(comment_id, "reject", labels=["spam"])
    outbox = WebhookOutbox(services.redis, services.keys)
    wait_for(lambda: len(outbox.dead_letters("demo")) == 3)
    dispatcher.stop()
    letters = {d["event"]["comment_id"]: d for d in outbox.dead_letters("demo")}
    old = letters[queued[0]]
    # One whose last attempt failed long ago.
    old["failed_at"] = "2000-01-01T00:00:00.000Z"
    services.redis.hset(services.keys.webhook_dead("demo"), old["event"]["id"], json.dumps(old))

    runner = CliRunner()

    def modq(*args: str):
        # The Redis the service uses: one server, or a cluster (tests/test_cluster_webhooks.py).
        env = {
            "MODQ_REDIS_URL": services.settings.redis_url,
            "MODQ_REDIS_CLUSTER": "1" if services.settings.redis_cluster else "",
            "MODQ_KEY_PREFIX": "whtest",
        }
        return runner.invoke(main, list(args), env=env, catch_exceptions=False)

    assert modq("webhooks", "purge", "--site", "demo", "--older-than", "0").exit_code == 2
    aged = modq("webhooks", "purge", "--site", "demo", "--older-than", "7")
    assert aged.exit_code == 0, aged.output
    assert f"purged {old['event']['id']} (comment.decided of comment {queued[0]}" in aged.output
    assert aged.output.strip().endswith("purged 1 dead letters")
    assert {d["event"]["comment_id"] for d in outbox.dead_letters("demo")} == set(queued[1:])

    by_id = modq("webhooks", "purge", "--site", "demo", "--id", letters[queued[1]]["event"]["id"])
    assert by_id.output.strip().endswith("purged 1 dead letters")
    assert [d["event"]["comment_id"] for d in outbox.dead_letters("demo")] == [queued[2]]

    everything = modq("webhooks", "purge", "--site", "demo")
    assert everything.output.strip().endswith("purged 1 dead letters")
    assert outbox.dead_letters("demo") == []
    assert modq("webhooks", "dead-letters", "--site", "demo").output == ""
    # The outbox itself is untouched: nothing is waiting to be sent again.
    assert services.redis.hlen(services.keys.webhook_events("demo")) == 0


def test_a_receiver_dripping_its_answer_is_cut_off_at_the_timeout():
    """Each socket operation within the timeout is not enough: the whole attempt is bounded."""
    import socket

    from service.webhooks import post

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    stop = threading.Event()

    def drip() -> None:
        connection, _ = server.accept()
        with connection:
            connection.recv(65536)
            connection.sendall(b"HTTP/1.1 200 OK\r\n")
            while not stop.wait(0.2):  # a header line every 0.2 s, never the end of them
                try:
                    connection.sendall(b"X-Slow: yes\r\n")
                except OSError:
                    return

    thread = threading.Thread(target=drip, daemon=True)
    thread.start()
    started = time.monotonic()
    try:
        with pytest.raises(TimeoutError, match="no answer within 1 s"):
            post(f"http://127.0.0.1:{server.getsockname()[1]}/hook", b"{}", {}, timeout=1.0)
    finally:
        stop.set()
        server.close()
    assert time.monotonic() - started < 3  # per read alone, it would run until stopped
