"""Privacy: per-site retention of comment records, hashed author ids in labels, and
`modq authors forget` erasing one author's data."""

from __future__ import annotations

import json
import time

import pytest
from click.testing import CliRunner

from service.cli import main
from service.queue import iso
from tests.moderation_support import review_everything

DAY = 86_400


@pytest.fixture
def modq(redis_server, redis_client):
    runner = CliRunner()

    def run(*args: str):
        return runner.invoke(
            main, list(args), env={"MODQ_REDIS_URL": redis_server.url}, catch_exceptions=False
        )

    return run


def ttl_days(redis_client, services, comment_id: str, site: str = "demo") -> float:
    return redis_client.ttl(services.keys.comment(site, comment_id)) / DAY


def test_comments_are_kept_90_days_by_default(ingest, services, redis_client):
    assert ingest({"id": "c1", "text": "Fine article."}).status_code == 200
    assert 89.99 < ttl_days(redis_client, services, "c1") <= 90


def test_retention_is_set_per_site_from_the_command_line(modq, ingest, services, redis_client):
    result = modq("sites", "update", "demo", "--retention-days", "7")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout.split("\n", 1)[1])["retention_days"] == 7
    ingest({"id": "c7", "text": "Fine article."})
    assert 6.99 < ttl_days(redis_client, services, "c7") <= 7
    assert modq("sites", "update", "demo", "--retention-days", "0").exit_code == 2
    created = modq("sites", "create", "brief", "--retention-days", "30")
    assert json.loads(created.output.split("\n", 1)[1])["retention_days"] == 30


def arrived_days_ago(redis_client, services, comment_id: str, days: float) -> None:
    """Rewrite a stored record as if it had arrived ``days`` ago (its expiry unchanged)."""
    key = services.keys.comment("demo", comment_id)
    record = json.loads(redis_client.get(key))
    record["received_at"] = iso(time.time() - days * DAY)
    redis_client.set(key, json.dumps(record), keepttl=True)


def test_a_changed_retention_applies_to_the_comments_already_stored(
    modq, client, ingest, ingest_key, services, redis_client
):
    for comment_id, age in (("old", 20), ("recent", 2), ("new", 0)):
        assert ingest({"id": comment_id, "text": f"Comment {comment_id}."}).status_code == 200
        if age:
            arrived_days_ago(redis_client, services, comment_id, age)
    reader = {"Authorization": f"Bearer {ingest_key}"}
    for comment_id in ("old", "recent"):
        reported = client.post(
            f"/v1/comments/{comment_id}/reports", json={"reporter_id": "reader-9"}, headers=reader
        )
        assert reported.status_code == 200
    # Reader reports of a comment that expired before reports took on the record's expiry.
    redis_client.hset(services.keys.reports("demo", "gone"), "reader-9", "{}")

    result = modq("sites", "update", "demo", "--retention-days", "7")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout.split("\n", 1)[1])["retention_days"] == 7
    assert result.stderr.strip() == (
        "Retention of 7 days applied to the comments stored: 2 kept until 7 days after they "
        "arrived, 1 older removed, 1 reader reports of comments already gone removed."
    )
    keys = services.keys
    assert not redis_client.exists(keys.comment("demo", "old"), keys.reports("demo", "old"))
    assert not redis_client.exists(keys.reports("demo", "gone"))
    assert 4.99 < ttl_days(redis_client, services, "recent") <= 5
    assert 4.99 < redis_client.ttl(keys.reports("demo", "recent")) / DAY <= 5
    assert 6.99 < ttl_days(redis_client, services, "new") <= 7
    assert client.get("/v1/comments/old", headers=reader).status_code == 404

    # A longer retention gives the comments still stored the longer expiry.
    assert modq("sites", "update", "demo", "--retention-days", "30").exit_code == 0
    assert 27.99 < ttl_days(redis_client, services, "recent") <= 28
    assert 29.99 < ttl_days(redis_client, services, "new") <= 30
    # Other settings leave the stored comments' expiry alone.
    assert modq("sites", "update", "demo", "--max-length", "300").stderr == ""


def test_reader_reports_expire_with_their_comment(
    client, ingest, ingest_key, services, redis_client
):
    services.sites.update("demo", retention_days=10)
    ingest({"id": "c1", "text": "Fine article."})
    reported = client.post(
        "/v1/comments/c1/reports",
        json={"reporter_id": "reader-9", "reason": "spam"},
        headers={"Authorization": f"Bearer {ingest_key}"},
    )
    assert reported.status_code == 200
    record_ttl = redis_client.pttl(services.keys.comment("demo", "c1"))
    reports_ttl = redis_client.pttl(services.keys.reports("demo", "c1"))
    assert 0 < reports_ttl <= record_ttl and record_ttl - reports_ttl < 5_000


def test_a_decision_keeps_the_records_expiry(client, ingest, services, moderator_key, redis_client):
    services.sites.update("demo", retention_days=10)
    review_everything(services)
    ingest({"id": "c1", "text": "Needs a look.", "author": {"id": "u1"}})
    decided = client.post(
        "/v1/sites/demo/queue/c1/decision",
        json={"decision": "approve"},
        headers={"Authorization": f"Bearer {moderator_key}"},
    )
    assert decided.status_code == 200
    assert 9.99 < ttl_days(redis_client, services, "c1") <= 10


def test_an_expired_comment_is_gone_from_reads_listing_and_claims(
    client, ingest, ingest_key, services, moderator_key, redis_client
):
    review_everything(services)
    ingest({"id": "old", "text": "An old comment."})
    ingest({"id": "new", "text": "A new comment."})
    redis_client.pexpire(services.keys.comment("demo", "old"), 1)  # as if 90 days had passed
    while redis_client.exists(services.keys.comment("demo", "old")):
        pass
    moderator = {"Authorization": f"Bearer {moderator_key}"}
    assert (
        client.get(
            "/v1/comments/old", headers={"Authorization": f"Bearer {ingest_key}"}
        ).status_code
        == 404
    )
    listed = client.get("/v1/sites/demo/queue", headers=moderator).get_json()["items"]
    assert [item["id"] for item in listed] == ["new"]
    claimed = client.post("/v1/sites/demo/queue/claim", json={"limit": 10}, headers=moderator)
    assert [item["id"] for item in claimed.get_json()["items"]] == ["new"]
    stats = client.get("/v1/sites/demo/queue/stats", headers=moderator).get_json()
    assert stats["pending"] == 1
    assert redis_client.zrange(services.keys.queue("demo"), 0, -1) == [b"new"]


def test_labels_keep_text_labels_and_hashed_ids_only(
    client, ingest, services, moderator_key, redis_client
):
    review_everything(services)
    ingest(
        {"id": "c1", "text": "Needs a look.", "author": {"id": "reader-4711", "name": "Ann Lee"}}
    )
    client.post(
        "/v1/sites/demo/queue/c1/decision",
        json={"decision": "reject"},
        headers={"Authorization": f"Bearer {moderator_key}"},
    )
    stored = redis_client.hgetall(services.keys.labels("demo"))
    assert len(stored) == 1
    example = json.loads(next(iter(stored.values())))
    assert example["text"] == "Needs a look." and example["labels"]
    assert example["author_hash"] and "reader-4711" not in example["author_hash"]
    raw = b"".join(stored.values())
    assert b"reader-4711" not in raw and b"Ann Lee" not in raw


@pytest.fixture
def authored(app, client, ingest, services, moderator_key, site):
    """Site demo: three comments by u1 (one pending, one decided, one reported), one by u2; site
    other: one by u1."""
    review_everything(services)
    services.sites.create("other")
    review_everything(services, "other")
    other_key = services.api_keys.create("other", "ingest")[1]
    for comment_id, author in (("p1", "u1"), ("d1", "u1"), ("r1", "u1"), ("k2", "u2")):
        ingest(
            {
                "id": comment_id,
                "text": f"Comment {comment_id} by {author}",
                "author": {"id": author, "name": author.upper()},
            }
        )
    client.post(
        "/v1/comments",
        json={"id": "p1", "text": "u1 elsewhere", "author": {"id": "u1"}},
        headers={"Authorization": f"Bearer {other_key}"},
    )
    moderator = {"Authorization": f"Bearer {moderator_key}"}
    for comment_id in ("d1", "k2"):
        assert (
            client.post(
                f"/v1/sites/demo/queue/{comment_id}/decision",
                json={"decision": "reject"},
                headers=moderator,
            ).status_code
            == 200
        )
    ingest_headers = {"Authorization": f"Bearer {services.api_keys.create('demo', 'ingest')[1]}"}
    assert (
        client.post(
            "/v1/comments/r1/reports", json={"reporter_id": "reader-9"}, headers=ingest_headers
        ).status_code
        == 200
    )
    assert (
        client.post("/v1/sites/demo/queue/claim", json={"limit": 10}, headers=moderator).status_code
        == 200
    )


def test_forget_erases_one_authors_data_and_says_how_much(modq, authored, services, redis_client):
    keys = services.keys
    audit_before = redis_client.xlen(keys.audit("demo"))
    result = modq("authors", "forget", "--site", "demo", "--author", "u1")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "Forgot author 'u1' on site 'demo':",
        "  comments: 3",
        "  results: 3",
        "  queue items: 2",  # p1 pending, r1 back in the queue after its report
        "  labels: 1",  # d1's decision
        "  reader reports: 1",
    ]
    for comment_id in ("p1", "d1", "r1"):
        assert redis_client.get(keys.comment("demo", comment_id)) is None
        assert not redis_client.exists(keys.reports("demo", comment_id))
        assert redis_client.zscore(keys.leases("demo"), comment_id) is None
        assert not redis_client.hexists(keys.lease_holders("demo"), comment_id)
    assert [m.decode() for m in redis_client.zrange(keys.queue("demo"), 0, -1)] == []
    assert list(redis_client.hkeys(keys.labels("demo"))) == [b"k2"]
    assert not redis_client.exists(keys.author("demo", "u1"))
    # Another author, and the same author on another site, are untouched; the audit log stays.
    assert redis_client.get(keys.comment("demo", "k2")) is not None
    assert redis_client.exists(keys.author("demo", "u2"))
    assert redis_client.get(keys.comment("other", "p1")) is not None
    assert redis_client.xlen(keys.audit("demo")) == audit_before
    everything = b"".join(
        redis_client.dump(key) or b"" for key in redis_client.scan_iter("modq:{demo}:*")
    )
    assert b"by u1" not in everything

    again = modq("authors", "forget", "--site", "demo", "--author", "u1")
    assert "  comments: 0" in again.output.splitlines()


def test_forget_also_removes_labels_kept_without_their_comment(
    modq, authored, services, redis_client
):
    """A labeled example outlives its comment (retention); the author's hash still finds it."""
    redis_client.delete(services.keys.comment("demo", "d1"))  # as if it had expired
    result = modq("authors", "forget", "--site", "demo", "--author", "u1")
    assert "  comments: 2" in result.output.splitlines()
    assert "  labels: 1" in result.output.splitlines()
    assert list(redis_client.hkeys(services.keys.labels("demo"))) == [b"k2"]


def test_forget_on_an_unknown_site_is_one_line(modq, redis_client):
    result = modq("authors", "forget", "--site", "nowhere", "--author", "u1")
    assert result.exit_code == 1
    assert "no site called 'nowhere'" in result.output
    assert "Traceback" not in result.output


def test_a_site_withdraws_comments_with_everything_kept_about_them(
    authored, client, services, redis_client, ingest_key, moderator_key
):
    keys = services.keys
    demo = {"Authorization": f"Bearer {ingest_key}"}
    audit_before = redis_client.xlen(keys.audit("demo"))
    # p1 pending and leased, d1 decided (a labeled example), r1 reported back into the queue.
    for comment_id in ("p1", "d1", "r1"):
        assert client.delete(f"/v1/comments/{comment_id}", headers=demo).status_code == 204
        assert redis_client.get(keys.comment("demo", comment_id)) is None
        assert not redis_client.exists(keys.reports("demo", comment_id))
        assert redis_client.zscore(keys.leases("demo"), comment_id) is None
        assert not redis_client.hexists(keys.lease_holders("demo"), comment_id)
        assert redis_client.zscore(keys.queue_since("demo"), comment_id) is None
    assert redis_client.zcard(keys.queue("demo")) == 0
    assert list(redis_client.hkeys(keys.labels("demo"))) == [b"k2"]
    assert redis_client.xlen(keys.audit("demo")) == audit_before
    # A retry finds nothing to withdraw; reading or deciding the comment finds nothing either.
    again = client.delete("/v1/comments/p1", headers=demo)
    assert again.status_code == 404 and again.get_json()["error"]["code"] == "not_found"
    assert client.get("/v1/comments/p1", headers=demo).status_code == 404
    decided = client.post(
        "/v1/sites/demo/queue/p1/decision",
        json={"decision": "approve"},
        headers={"Authorization": f"Bearer {moderator_key}"},
    )
    assert decided.status_code == 404
    # Another site's key reaches only its own comments: demo's k2 and its label stay.
    other = {"Authorization": f"Bearer {services.api_keys.create('other', 'ingest')[1]}"}
    assert client.delete("/v1/comments/k2", headers=other).status_code == 404
    assert redis_client.get(keys.comment("demo", "k2")) is not None
    assert client.delete("/v1/comments/p1", headers=other).status_code == 204
    # The id sent again is a new comment, scored and queued anew.
    sent = client.post("/v1/comments", json={"id": "p1", "text": "Back again"}, headers=demo)
    assert sent.status_code == 200 and sent.get_json()["status"] == "pending_review"
