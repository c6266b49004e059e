"""The review queue against a real Redis: key names, lease expiry, and concurrency."""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest

from service.errors import Conflict
from service.keys import RedisKeys
from service.queue import Decision
from tests.moderation_support import Moderator, moderation, queue_comments, review_everything


def test_moderation_keys_have_their_exact_form():
    keys = RedisKeys()
    assert keys.moderator("a@b.example") == "modq:moderator:a@b.example"
    assert keys.moderators() == "modq:moderators"
    assert keys.session_secret() == "modq:session-secret"
    assert keys.login_failures("email:a@b.example") == "modq:login-failures:email:a@b.example"
    assert keys.lease_holders("demo") == "modq:{demo}:lease-holders"
    assert keys.undo("demo", "c1") == "modq:{demo}:undo:c1"
    assert keys.decision_count("demo", 28_000_000) == "modq:{demo}:decisions:28000000"
    assert keys.reports("demo", "c1") == "modq:{demo}:reports:c1"
    assert keys.author("demo", "u1") == "modq:{demo}:author:u1"
    assert keys.webhook_events("demo") == "modq:{demo}:webhook-events"
    assert keys.webhook_due("demo") == "modq:{demo}:webhook-due"
    assert keys.webhook_dead("demo") == "modq:{demo}:webhook-dead"


@pytest.fixture
def queued(services, ingest):
    review_everything(services)
    return queue_comments(ingest, 12)


def test_an_expired_lease_returns_the_item_with_no_worker_running(
    client, services, site, queued, moderator_key
):
    alice = Moderator(client, moderator_key)
    bob = Moderator(client, services.api_keys.create("demo", "moderator")[1])
    leased = alice.claim(12, lease_seconds=1).get_json()["items"]
    assert len(leased) == 12
    assert bob.claim(5).get_json()["items"] == []
    assert bob.decide(leased[0]["id"], "approve").status_code == 409
    time.sleep(1.2)
    assert alice.get("/queue/stats").get_json()["leased"] == 0
    assert bob.decide(leased[0]["id"], "approve").status_code == 200
    again = bob.claim(20).get_json()["items"]
    assert len(again) == 11


def test_concurrent_claimers_never_share_an_item(app, services, queued):
    queue = moderation(app).queue
    site = services.sites.get("demo")
    claims: dict[str, list[str]] = {}
    barrier = threading.Barrier(6)

    def claimer(name: str) -> None:
        barrier.wait()
        mine = []
        while True:
            items, _ = queue.claim(site, name, limit=1)
            if not items:
                break
            mine.extend(i["id"] for i in items)
        claims[name] = mine

    threads = [threading.Thread(target=claimer, args=(f"m{n}",)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    everything = [i for mine in claims.values() for i in mine]
    assert sorted(everything) == sorted(queued)


def test_two_moderators_never_both_decide_one_item(app, services, queued):
    """Many moderators race to decide every item, claimed or not: each is decided exactly once."""
    queue = moderation(app).queue
    site = services.sites.get("demo")
    outcomes: Counter = Counter()
    lock = threading.Lock()
    barrier = threading.Barrier(8)

    def decider(name: str, claim_first: bool) -> None:
        barrier.wait()
        targets = list(queued)
        if claim_first:
            targets = [i["id"] for i in queue.claim(site, name, limit=4)[0]] + targets
        for comment_id in targets:
            try:
                answer = queue.decide(site, name, Decision(comment_id, "reject", ("spam",)))
                # A moderator's own claimed item comes round again: the repeat is replayed.
                result = "replayed" if answer.get("replayed") else "decided"
            except Conflict as error:
                result = error.code
            with lock:
                outcomes[result] += 1

    threads = [threading.Thread(target=decider, args=(f"m{n}", n % 2 == 0)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes["decided"] == len(queued)
    entries = list(moderation(app).audit.iter("demo"))
    assert Counter(e["comment_id"] for e in entries) == Counter(queued)
    assert services.comments.queue_length("demo") == 0


def test_concurrent_http_decisions_on_one_item_give_one_200(app, services, site, queued):
    keys = [services.api_keys.create("demo", "moderator")[1] for _ in range(6)]
    statuses: list[int] = []
    barrier = threading.Barrier(len(keys))

    def decide(key: str) -> None:
        client = app.test_client()
        barrier.wait()
        response = client.post(
            f"/v1/sites/demo/queue/{queued[0]}/decision",
            json={"decision": "approve"},
            headers={"Authorization": f"Bearer {key}"},
        )
        statuses.append(response.status_code)

    threads = [threading.Thread(target=decide, args=(k,)) for k in keys]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200] + [409] * (len(keys) - 1)


def test_an_edit_ends_the_lease_and_requeues_once(client, moderator_key, ingest, queued):
    alice = Moderator(client, moderator_key)
    target = alice.claim(1).get_json()["items"][0]["id"]
    assert ingest({"id": target, "text": "edited text, entirely new"}).status_code == 200
    items = alice.get("/queue").get_json()["items"]
    assert [i["id"] for i in items].count(target) == 1
    assert next(i for i in items if i["id"] == target)["lease_holder"] is None


def test_queue_since_follows_the_queue_through_every_change(
    client, services, site, queued, moderator_key, ingest, redis_client
):
    """The oldest-wait index holds exactly the pending ids after decisions, undo, edits, reports."""

    def index_matches_queue():
        pending = set(redis_client.zrange(services.keys.queue("demo"), 0, -1))
        since = set(redis_client.zrange(services.keys.queue_since("demo"), 0, -1))
        return pending == since

    alice = Moderator(client, moderator_key)
    assert index_matches_queue()
    first_entered = services.comments.oldest_pending("demo")
    assert first_entered is not None and abs(time.time() - first_entered) < 60
    alice.decide(queued[0], "approve")
    assert index_matches_queue()
    assert (
        client.post(f"/v1/sites/demo/queue/{queued[0]}/undo", headers=alice.headers).status_code
        == 200
    )
    assert index_matches_queue()
    ingest({"id": queued[1], "text": "An edited comment that is perfectly fine."})
    assert index_matches_queue()
    alice.decide(queued[2], "approve")
    report = ingest(
        {"reason": "spam", "reporter_id": "r1"}, path=f"/v1/comments/{queued[2]}/reports"
    )
    assert report.status_code == 200
    assert index_matches_queue()
    stats = alice.get("/queue/stats").get_json()
    assert stats["oldest_age_seconds"] is not None and stats["oldest_age_seconds"] < 60
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'modq_queue_oldest_age_seconds{site="demo"}' in metrics
