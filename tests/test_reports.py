"""Reader reports: an approved comment returns to review; distinct readers raise its priority."""

from __future__ import annotations

import pytest

from tests.moderation_support import Moderator


@pytest.fixture
def approved(services, ingest):
    services.sites.update(
        "demo",
        review_thresholds={"spam": 1.0, "abuse": 1.0},
        reject_thresholds={"spam": 1.0, "abuse": 1.0},
    )
    for comment_id in ("a", "b"):
        assert (
            ingest(
                {
                    "id": comment_id,
                    "text": f"A perfectly fine comment {comment_id}",
                    "author": {"id": "writer", "name": "W"},
                }
            ).get_json()["status"]
            == "approved"
        )
    return ["a", "b"]


def report(client, key, comment_id, reporter, reason="offensive"):
    return client.post(
        f"/v1/comments/{comment_id}/reports",
        json={"reporter_id": reporter, "reason": reason},
        headers={"Authorization": f"Bearer {key}"},
    )


def test_a_report_puts_an_approved_comment_back_in_the_queue(
    client, ingest_key, moderator_key, approved
):
    response = report(client, ingest_key, "a", "reader-1", "spam link")
    assert response.status_code == 200
    assert response.get_json() == {
        "id": "a",
        "site": "demo",
        "status": "pending_review",
        "reports": 1,
        "counted": True,
    }
    items = Moderator(client, moderator_key).get("/queue").get_json()["items"]
    assert [i["id"] for i in items] == ["a"]
    assert items[0]["reports"][0]["reason"] == "spam link"
    assert items[0]["reports"][0]["reporter_id"] == "reader-1"
    assert items[0]["author_history"]["reports"] == 1
    status = client.get("/v1/comments/a", headers={"Authorization": f"Bearer {ingest_key}"})
    assert status.get_json()["status"] == "pending_review"


def test_distinct_readers_raise_priority_and_repeats_count_once(
    client, ingest_key, moderator_key, approved
):
    report(client, ingest_key, "a", "reader-1")
    report(client, ingest_key, "b", "reader-1")
    report(client, ingest_key, "b", "reader-2")
    repeat = report(client, ingest_key, "a", "reader-1")
    assert repeat.get_json()["counted"] is False and repeat.get_json()["reports"] == 1
    items = Moderator(client, moderator_key).get("/queue").get_json()["items"]
    assert [(i["id"], i["report_count"]) for i in items] == [("b", 2), ("a", 1)]
    for _ in range(3):
        report(client, ingest_key, "a", "reader-1")
    report(client, ingest_key, "a", "reader-3")
    report(client, ingest_key, "a", "reader-4")
    items = Moderator(client, moderator_key).get("/queue").get_json()["items"]
    assert [(i["id"], i["report_count"]) for i in items] == [("a", 3), ("b", 2)]


def test_a_moderator_approval_holds_until_a_new_reader_reports(
    client, ingest_key, moderator_key, approved
):
    moderator = Moderator(client, moderator_key)
    report(client, ingest_key, "a", "reader-1")
    assert moderator.decide("a", "approve").status_code == 200
    assert report(client, ingest_key, "a", "reader-1").get_json()["status"] == "approved"
    assert report(client, ingest_key, "a", "reader-2").get_json()["status"] == "pending_review"
    assert [i["id"] for i in moderator.get("/queue").get_json()["items"]] == ["a"]
    assert moderator.get("/queue", category="reported").get_json()["items"][0]["id"] == "a"


def test_a_rejected_comment_keeps_its_reports_but_stays_rejected(
    client, ingest_key, moderator_key, approved
):
    Moderator(client, moderator_key).decide("a", "reject", labels=["abuse"])
    assert report(client, ingest_key, "a", "reader-1").get_json()["status"] == "rejected"


@pytest.mark.parametrize(
    "body, status",
    [
        ({"reason": "x"}, 400),
        ({"reporter_id": 5}, 400),
        ({"reporter_id": "r", "reason": ["x"]}, 400),
    ],
)
def test_reports_refuse_malformed_bodies(client, ingest_key, approved, body, status):
    response = client.post(
        "/v1/comments/a/reports", json=body, headers={"Authorization": f"Bearer {ingest_key}"}
    )
    assert response.status_code == status


def test_reports_need_an_ingest_key_of_the_comments_site(
    client, services, ingest_key, moderator_key, approved
):
    assert report(client, moderator_key, "a", "r").status_code == 403
    assert report(client, "", "a", "r").status_code == 401
    services.sites.create("other")
    other = services.api_keys.create("other", "ingest")[1]
    assert report(client, other, "a", "r").status_code == 404
    assert report(client, ingest_key, "nope", "r").status_code == 404
    assert services.comments.get("demo", "a")["status"] == "approved"


def test_reports_on_authorless_comments_count_in_no_authors_history(
    client, ingest, ingest_key, moderator_key, services
):
    services.sites.update(
        "demo",
        review_thresholds={"spam": 1.0, "abuse": 1.0},
        reject_thresholds={"spam": 1.0, "abuse": 1.0},
    )
    for comment_id in ("x", "y"):
        ingest({"id": comment_id, "text": f"A comment without an author {comment_id}"})
        assert report(client, ingest_key, comment_id, "reader-1").status_code == 200
    items = Moderator(client, moderator_key).get("/queue").get_json()["items"]
    assert sorted(i["id"] for i in items) == ["x", "y"]
    assert all(i["author_history"] == {"approved": 0, "rejected": 0, "reports": 0} for i in items)
    assert not services.redis.exists(services.keys.author("demo", ""))
