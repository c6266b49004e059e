"""What /metrics counts of the moderators' work."""

from __future__ import annotations

from tests.moderation_support import Moderator, queue_comments, review_everything


def test_moderator_decisions_are_counted_apart_from_the_models(
    client, services, ingest, moderator_key
):
    review_everything(services)
    queued = queue_comments(ingest, 3)
    moderator = Moderator(client, moderator_key)
    assert moderator.decide(queued[0], "reject", labels=["spam"]).status_code == 200
    assert moderator.decide(queued[1], "approve").status_code == 200
    assert moderator.decide(queued[2], "approve").status_code == 200
    text = client.get("/metrics").get_data(as_text=True)
    counted = {
        line.split("{", 1)[1].split("}", 1)[0]: float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("modq_decisions_total{") and 'source="moderator"' in line
    }
    # Every category reaches its review threshold (0.0 here), so each decision counts under both.
    assert counted == {
        'category="spam",decision="reject",source="moderator"': 1.0,
        'category="abuse",decision="reject",source="moderator"': 1.0,
        'category="spam",decision="approve",source="moderator"': 2.0,
        'category="abuse",decision="approve",source="moderator"': 2.0,
    }


def test_made_up_http_methods_share_one_series(client):
    for n in range(20):
        client.open("/v1/comments", method=f"M{n:04d}")
    text = client.get("/metrics").get_data(as_text=True)
    series = [line for line in text.splitlines() if line.startswith("modq_http_requests_total{")]
    assert not any('method="M0' in line for line in series)
    assert any('method="other"' in line and line.endswith(" 20.0") for line in series)
