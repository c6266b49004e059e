"""The moderators' JSON API: listing, claiming, deciding, undo, audit, and who may do what."""

from __future__ import annotations

import json
import time
from datetime import datetime

import pytest

from tests.moderation_support import Moderator, moderation, queue_comments, review_everything


@pytest.fixture
def queued(services, ingest):
    review_everything(services)
    return queue_comments(ingest, 6)


@pytest.fixture
def alice(client, moderator_key):
    return Moderator(client, moderator_key)


@pytest.fixture
def bob(client, services, site):
    return Moderator(client, services.api_keys.create(site.name, "moderator")[1])


def parse_time(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def test_queue_lists_pending_items_with_what_a_moderator_needs(alice, queued):
    response = alice.get("/queue")
    assert response.status_code == 200
    items = response.get_json()["items"]
    assert sorted(i["id"] for i in items) == sorted(queued)
    item = items[0]
    for field in (
        "id",
        "text",
        "scores",
        "reasons",
        "article_id",
        "author",
        "author_history",
        "received_at",
        "model_version",
        "reports",
        "lease_holder",
        "highlights",
    ):
        assert field in item, field
    assert set(item["scores"]) == {"spam", "abuse"}
    assert item["lease_holder"] is None
    urgencies = [i["urgency"] for i in items]
    assert urgencies == sorted(urgencies, reverse=True)


def test_queue_orders_and_filters(alice, services, ingest, queued):
    oldest = alice.get("/queue", order="oldest").get_json()["items"]
    assert [i["id"] for i in oldest] == queued
    uncertain = alice.get("/queue", order="uncertain").get_json()["items"]
    distances = [min(abs(p - 0.5) for p in i["scores"].values()) for i in uncertain]
    assert distances == sorted(distances)
    queue_comments(ingest, 2, prefix="ko", language="ko", article_id="a2")
    korean = alice.get("/queue", language="ko").get_json()["items"]
    assert sorted(i["id"] for i in korean) == ["ko0", "ko1"]
    assert alice.get("/queue", language="KO-kr").get_json()["items"] == korean
    assert alice.get("/queue", language="!!").status_code == 400
    by_article = alice.get("/queue", article_id="a2").get_json()["items"]
    assert sorted(i["id"] for i in by_article) == ["ko0", "ko1"]
    assert len(alice.get("/queue", limit=2).get_json()["items"]) == 2
    spam = alice.get("/queue", category="spam").get_json()["items"]
    assert all(i["scores"]["spam"] >= 0.0 for i in spam)


@pytest.mark.parametrize(
    "params", [{"order": "random"}, {"limit": "0"}, {"limit": "x"}, {"category": "nonsense"}]
)
def test_queue_refuses_bad_parameters(alice, queued, params):
    response = alice.get("/queue", **params)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_request"


def test_stats_count_pending_leased_and_recent_decisions(alice, queued):
    claimed = {i["id"] for i in alice.claim(2).get_json()["items"]}
    alice.decide(next(c for c in queued if c not in claimed), "approve")
    stats = alice.get("/queue/stats").get_json()
    assert stats["pending"] == 5
    assert stats["leased"] == 2
    assert stats["decisions_last_hour"] == 1
    assert stats["oldest_age_seconds"] >= 0
    assert stats["oldest_received_at"] is not None


def test_claim_leases_items_to_one_moderator_only(alice, bob, queued):
    before = time.time()
    first = alice.claim(4)
    assert first.status_code == 200
    body = first.get_json()
    assert len(body["items"]) == 4
    assert all("id" in i for i in body["items"])
    assert before + 299 <= parse_time(body["lease_expires_at"]) <= time.time() + 301
    second = bob.claim(10).get_json()["items"]
    assert len(second) == 2
    assert not {i["id"] for i in body["items"]} & {i["id"] for i in second}
    assert bob.claim(10).get_json()["items"] == []
    listed = {i["id"]: i for i in alice.get("/queue").get_json()["items"]}
    assert all(listed[i["id"]]["lease_holder"] for i in second)


def test_release_gives_the_item_back(alice, bob, queued):
    claimed = alice.claim(6).get_json()["items"]
    target = claimed[0]["id"]
    assert bob.post(f"/queue/{target}/release").status_code == 409
    response = alice.post(f"/queue/{target}/release")
    assert response.status_code == 200 and response.get_json()["released"] is True
    assert [i["id"] for i in bob.claim(6).get_json()["items"]] == [target]
    assert alice.post("/queue/unknown/release").status_code == 404


def test_decision_on_an_item_leased_to_someone_else_is_refused(
    alice, bob, queued, client, ingest_key
):
    claimed = alice.claim(1).get_json()
    target = claimed["items"][0]["id"]
    refused = bob.decide(target, "reject", labels=["spam"])
    assert refused.status_code == 409
    error = refused.get_json()["error"]
    assert error["code"] == "leased" and error["lease_holder"] == claimed["moderator"]
    assert parse_time(error["lease_expires_at"]) > time.time()
    release = bob.post(f"/queue/{target}/release").get_json()["error"]
    assert release["lease_holder"] == claimed["moderator"]
    assert release["lease_expires_at"] == error["lease_expires_at"]
    accepted = alice.decide(target, "reject", labels=["spam"], note="link farm")
    assert accepted.status_code == 200
    body = accepted.get_json()
    assert body["status"] == "rejected" and body["decision"] == "reject"
    result = client.get(
        f"/v1/comments/{target}", headers={"Authorization": f"Bearer {ingest_key}"}
    ).get_json()
    assert result["status"] == "rejected"
    assert target not in [i["id"] for i in alice.get("/queue").get_json()["items"]]


def test_decision_writes_audit_entry_and_labeled_example(alice, services, queued):
    alice.decide(queued[1], "reject", labels=["spam"], note="advert")
    alice.decide(queued[0], "approve")
    entries = alice.get("/audit").get_json()["entries"]
    assert [e["comment_id"] for e in entries] == [queued[0], queued[1]]
    reject = entries[1]
    assert reject["moderator"].startswith("key:")
    assert reject["decision"] == "reject" and reject["labels"] == ["spam"]
    assert reject["note"] == "advert" and reject["at"]
    assert set(reject["scores"]) == {"spam", "abuse"} and reject["model_version"]
    examples = {e["comment_id"]: e for e in services.labels.iter("demo")}
    assert examples[queued[1]]["labels"] == {"spam": 1, "abuse": 0}
    assert examples[queued[0]]["labels"] == {"spam": 0, "abuse": 0}
    assert examples[queued[1]]["source"] == "moderator"
    assert examples[queued[1]]["author_hash"] not in (None, "u1")


def test_a_rejection_labeled_in_capitals_or_with_a_site_tag_is_no_clean_example(
    alice, services, queued
):
    alice.decide(queued[0], "reject", labels=["Spam"])
    alice.decide(queued[1], "reject", labels=["offtopic"])
    examples = {e["comment_id"]: e for e in services.labels.iter("demo")}
    assert examples[queued[0]]["labels"] == {"spam": 1, "abuse": 0}
    # A tag naming no category: the category the model scored highest, as with no labels.
    assert sum(examples[queued[1]]["labels"].values()) == 1


def test_unqueued_comment_can_be_overturned_and_a_moderator_decision_only_on_purpose(
    alice, bob, services, ingest
):
    services.sites.update(
        "demo",
        review_thresholds={"spam": 0.0, "abuse": 0.0},
        reject_thresholds={"spam": 0.0, "abuse": 0.0},
    )
    assert ingest({"id": "r1", "text": "hello there"}).get_json()["status"] == "rejected"
    first = alice.decide("r1", "approve", note="false positive")
    assert first.status_code == 200 and first.get_json()["status"] == "approved"
    again = bob.decide("r1", "reject", labels=["abuse"])
    assert again.status_code == 409
    error = again.get_json()["error"]
    assert error["code"] == "already_decided"
    assert error["decided"] == {
        "decision": "approve",
        "moderator": first.get_json()["moderator"],
        "at": first.get_json()["at"],
        "labels": [],
        "status": "approved",
    }
    overturned = bob.decide("r1", "reject", labels=["abuse"], overturn=True)
    assert overturned.status_code == 200
    history = alice.get("/audit", comment_id="r1").get_json()["entries"]
    assert [e["decision"] for e in history] == ["reject", "approve"]
    assert history[1]["model_decision"] == "reject"
    examples = {e["comment_id"]: e for e in services.labels.iter("demo")}
    assert examples["r1"]["labels"] == {"spam": 0, "abuse": 1}


def test_bulk_decisions_answer_each_in_order(alice, queued):
    response = alice.post(
        "/queue/decisions",
        {
            "decisions": [
                {"comment_id": queued[0], "decision": "approve"},
                {"comment_id": queued[1], "decision": "reject", "labels": ["spam"]},
                {"comment_id": "missing", "decision": "approve"},
                {"comment_id": queued[2], "decision": "maybe"},
            ]
        },
    )
    assert response.status_code == 200
    results = response.get_json()["results"]
    assert [r.get("status") for r in results[:2]] == ["approved", "rejected"]
    assert results[2]["status_code"] == 404 and results[2]["id"] == "missing"
    assert results[3]["status_code"] == 400
    plain_list = alice.post("/queue/decisions", [{"id": queued[3], "decision": "approve"}])
    assert plain_list.get_json()["results"][0]["status"] == "approved"
    assert alice.get("/queue/stats").get_json()["pending"] == 3


def test_a_repeated_decision_is_answered_as_the_first_and_written_once(alice, bob, queued):
    first = alice.decide(queued[0], "reject", labels=["spam"], note="advert")
    assert first.status_code == 200 and "replayed" not in first.get_json()
    again = alice.decide(queued[0], "reject", labels=["spam"], note="advert")
    assert again.status_code == 200
    replayed = again.get_json()
    assert replayed["replayed"] is True
    for field in ("id", "decision", "status", "labels", "note", "moderator", "at"):
        assert replayed[field] == first.get_json()[field], field
    assert [e["decision"] for e in alice.get("/audit").get_json()["entries"]] == ["reject"]
    # The same labels in another order are the same decision.
    assert alice.decide(queued[4], "reject", labels=["spam", "abuse"]).status_code == 200
    again_reordered = alice.decide(queued[4], "reject", labels=["abuse", "spam"]).get_json()
    assert again_reordered["replayed"] is True
    assert again_reordered["labels"] == ["spam", "abuse"]
    assert alice.decide(queued[4], "reject", labels=["Abuse", "SPAM"]).get_json()["replayed"]
    # Anything else is a new decision: another moderator, or other labels.
    assert bob.decide(queued[0], "reject", labels=["spam"], note="advert").status_code == 409
    assert alice.decide(queued[0], "reject", labels=["abuse"]).status_code == 409
    # A bulk request sent twice: every decision in it is replayed.
    bulk = {"decisions": [{"comment_id": c, "decision": "approve"} for c in queued[1:3]]}
    assert [r["status"] for r in alice.post("/queue/decisions", bulk).get_json()["results"]] == [
        "approved",
        "approved",
    ]
    repeat = alice.post("/queue/decisions", bulk).get_json()["results"]
    assert [r.get("replayed") for r in repeat] == [True, True]
    assert len(alice.get("/audit").get_json()["entries"]) == 4


def test_a_bulk_item_with_an_unusable_id_fails_alone(alice, queued):
    decisions = [
        {"comment_id": queued[0], "decision": "reject", "labels": ["spam"]},
        {"comment_id": "\ud800", "decision": "approve"},
        {"comment_id": queued[1], "decision": "approve", "note": "\udc00"},
    ]
    body = json.dumps({"decisions": decisions})  # lone surrogates written as \uXXXX escapes
    response = alice.client.post(
        "/v1/sites/demo/queue/decisions",
        data=body,
        headers={**alice.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 200
    decided, bad_id, bad_note = response.get_json()["results"]
    assert decided["status"] == "rejected"
    assert bad_id["id"] is None and bad_id["status_code"] == 400
    assert bad_id["error"]["field"] == "decisions[1].comment_id"
    assert bad_note["id"] == queued[1] and bad_note["error"]["field"] == "decisions[2].note"
    assert "surrogate" in bad_note["error"]["message"]
    odd = [
        {"comment_id": None, "id": queued[2], "decision": "approve"},
        {"comment_id": "x" * 300, "decision": "approve"},
    ]
    by_id, too_long = alice.post("/queue/decisions", odd).get_json()["results"]
    assert by_id["id"] == queued[2] and by_id["status"] == "approved"
    assert (
        too_long["status_code"] == 400 and "at most 256 characters" in too_long["error"]["message"]
    )


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        ('[{"comment_id": "c0", "decision": "approve"}]', "text/plain", 415),
        ('[{"comment_id": "c0", "decision": "approve", "note": NaN}]', "application/json", 400),
        ("[" * 40 + "]" * 40, "application/json", 400),
    ],
    ids=["not-json-type", "nan", "too-deep"],
)
def test_a_bulk_array_is_read_as_strictly_as_any_body(alice, queued, body, content_type, status):
    response = alice.client.post(
        "/v1/sites/demo/queue/decisions",
        data=body,
        headers={**alice.headers, "Content-Type": content_type},
    )
    assert response.status_code == status
    assert alice.get("/queue/stats").get_json()["pending"] == len(queued)


def test_bulk_decisions_stop_at_a_redis_refusal_and_keep_what_was_decided(
    alice, queued, app, redis_client, monkeypatch
):
    queue = moderation(app).queue
    decide = queue.decide

    def decide_then_fill_redis(*args, **kwargs):
        answer = decide(*args, **kwargs)
        redis_client.config_set("maxmemory", "1")  # every later write is refused (OOM)
        return answer

    monkeypatch.setattr(queue, "decide", decide_then_fill_redis)
    bulk = {"decisions": [{"comment_id": c, "decision": "approve"} for c in queued[:3]]}
    invalid = {"comment_id": queued[3], "decision": "maybe"}
    try:
        results = alice.post(
            "/queue/decisions", {"decisions": [*bulk["decisions"], invalid]}
        ).get_json()["results"]
    finally:
        redis_client.config_set("maxmemory", "0")
    assert results[3]["status_code"] == 400  # its own error: sending it again would not help
    results = results[:3]
    assert results[0]["status"] == "approved"
    for result in results[1:]:
        assert result["status_code"] == 503
        assert result["error"]["code"] == "storage_unavailable"
        assert result["error"]["retry_after"] > 0
    monkeypatch.setattr(queue, "decide", decide)
    retried = alice.post("/queue/decisions", bulk).get_json()["results"]
    assert [r["status"] for r in retried] == ["approved"] * 3
    assert retried[0]["replayed"] is True and "replayed" not in retried[1]


def test_undo_returns_the_item_to_the_queue_within_seconds(alice, bob, queued):
    alice.decide(queued[0], "reject", labels=["spam"])
    assert bob.post(f"/queue/{queued[0]}/undo").status_code == 403
    undone = alice.post(f"/queue/{queued[0]}/undo")
    assert undone.status_code == 200 and undone.get_json()["status"] == "pending_review"
    assert queued[0] in [i["id"] for i in alice.get("/queue").get_json()["items"]]
    assert alice.post(f"/queue/{queued[0]}/undo").status_code == 404
    decisions = [e["decision"] for e in alice.get("/audit").get_json()["entries"]]
    assert decisions == ["undo", "reject"]


def test_audit_pages_with_a_cursor_and_filters(alice, bob, queued):
    for comment_id in queued[:3]:
        alice.decide(comment_id, "approve")
    for comment_id in queued[3:]:
        bob.decide(comment_id, "reject", labels=["abuse"])
    first = alice.get("/audit", limit=4).get_json()
    assert len(first["entries"]) == 4 and first["next_cursor"]
    rest = alice.get("/audit", limit=4, cursor=first["next_cursor"]).get_json()
    seen = [e["comment_id"] for e in first["entries"] + rest["entries"]]
    assert sorted(seen) == sorted(queued)
    rejects = alice.get("/audit", decision="reject").get_json()["entries"]
    assert sorted(e["comment_id"] for e in rejects) == sorted(queued[3:])
    moderator = rejects[0]["moderator"]
    assert len(alice.get("/audit", moderator=moderator).get_json()["entries"]) == 3
    assert alice.get("/audit", cursor="bogus").status_code == 400
    bogus = alice.get("/audit", decision="bogus")
    assert bogus.status_code == 400 and bogus.get_json()["error"]["field"] == "decision"
    assert len(alice.get("/audit", since="2000-01-01").get_json()["entries"]) == 6
    assert alice.get("/audit", until="2000-01-01T00:00:00+09:00").get_json()["entries"] == []
    for bad in ("garbage", "2026-13-45"):
        response = alice.get("/audit", since=bad)
        assert response.status_code == 400
        assert response.get_json()["error"]["field"] == "since"


def test_audit_log_cannot_be_changed_through_the_api(alice, queued):
    alice.decide(queued[0], "approve")
    for method in ("post", "put", "patch", "delete"):
        response = getattr(alice.client, method)("/v1/sites/demo/audit", headers=alice.headers)
        assert response.status_code == 405


@pytest.mark.parametrize(
    "body, field",
    [
        ({"decision": "maybe"}, "decision"),
        ({}, "decision"),
        ({"decision": "reject", "labels": "spam"}, "labels"),
        ({"decision": "reject", "note": 5}, "note"),
        ({"decision": "approve", "overturn": "yes"}, "overturn"),
    ],
)
def test_decision_refuses_malformed_bodies(alice, queued, body, field):
    response = alice.post(f"/queue/{queued[0]}/decision", body)
    assert response.status_code == 400
    assert response.get_json()["error"]["field"] == field


@pytest.mark.parametrize(
    "body, field",
    [
        ('{"decision": "reject", "note": "lone \\ud800"}', "note"),
        ('{"decision": "reject", "labels": ["spam\\udfff"]}', "labels"),
    ],
)
def test_decision_refuses_text_without_a_utf8_form(alice, queued, body, field):
    # A JSON escape of half a surrogate pair decodes to a string no response or Redis can hold.
    response = alice.client.post(
        f"/v1/sites/{alice.site}/queue/{queued[0]}/decision",
        data=body,
        content_type="application/json",
        headers=alice.headers,
    )
    assert response.status_code == 400
    assert response.get_json()["error"]["field"] == field


def test_decision_on_unknown_comment_is_404(alice, queued):
    assert alice.decide("nope", "approve").status_code == 404


ENDPOINTS = [
    ("get", "/queue", None),
    ("get", "/queue/stats", None),
    ("post", "/queue/claim", {"limit": 1}),
    ("post", "/queue/c0/release", None),
    ("post", "/queue/c0/decision", {"decision": "approve"}),
    ("post", "/queue/c0/undo", None),
    ("post", "/queue/decisions", {"decisions": [{"comment_id": "c0", "decision": "approve"}]}),
    ("get", "/audit", None),
    ("get", "/webhooks/dead-letters", None),
    ("post", "/webhooks/dead-letters/replay", {}),
]


@pytest.mark.parametrize("method, path, body", ENDPOINTS)
def test_every_endpoint_refuses_other_sites_and_other_roles(
    client, services, ingest_key, moderator_key, queued, method, path, body
):
    services.sites.create("other")
    other_key = services.api_keys.create("other", "moderator")[1]
    call = getattr(client, method)
    url = f"/v1/sites/demo{path}"
    assert call(url, json=body).status_code == 401
    wrong_role = call(url, json=body, headers={"Authorization": f"Bearer {ingest_key}"})
    assert wrong_role.status_code == 403
    cross = call(url, json=body, headers={"Authorization": f"Bearer {other_key}"})
    assert cross.status_code == 403
    assert cross.get_json()["error"]["code"] == "forbidden"
    # The other site's moderator changed nothing here.
    assert services.comments.get("demo", "c0")["status"] == "pending_review"
    assert client.get(
        f"/v1/sites/other{path}", headers={"Authorization": f"Bearer {moderator_key}"}
    ).status_code in (403, 405)


def test_openapi_documents_the_moderation_endpoints(client):
    paths = client.get("/v1/openapi.json").get_json()["paths"]
    for path in (
        "/v1/sites/{site}/queue",
        "/v1/sites/{site}/queue/stats",
        "/v1/sites/{site}/queue/claim",
        "/v1/sites/{site}/queue/{comment_id}/release",
        "/v1/sites/{site}/queue/{comment_id}/decision",
        "/v1/sites/{site}/queue/decisions",
        "/v1/sites/{site}/audit",
        "/v1/comments/{comment_id}/reports",
    ):
        assert path in paths, path
