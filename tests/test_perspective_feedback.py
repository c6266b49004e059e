"""Perspective feedback and moderators' decisions on the same comment id are two labeled examples.

A platform names comments by its own ids (Coral's ``clientToken`` is ``comment:<id>``), which can
equal the id of a comment modq's intake scored. Feedback is kept as ``perspective:<id>``, so
neither replaces the other, and `labels export`, `labels import` and the retraining code that
keys examples by id (``LabelStore.example_id``) all keep both.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from service.cli import main
from service.labels import LabelStore
from tests.moderation_support import Moderator, review_everything
from tests.test_perspective import coral_suggest_body, coral_url

TEXT = "You are a stupid idiot and nobody wants to read your garbage"


@pytest.fixture
def modq(redis_server, redis_client):
    """Run `modq ARGS...` in process against the test Redis."""
    runner = CliRunner()

    def run(*args: str):
        result = runner.invoke(
            main, list(args), catch_exceptions=False, env={"MODQ_REDIS_URL": redis_server.url}
        )
        assert result.exit_code == 0, result.output
        return result

    return run


@pytest.fixture
def moderator(client, moderator_key) -> Moderator:
    return Moderator(client, moderator_key)


def ingest_q1(services, ingest) -> None:
    review_everything(services)
    response = ingest({"id": "q1", "text": TEXT, "article_id": "a1", "language": "en"})
    assert response.status_code == 200 and response.get_json()["status"] == "pending_review"


def moderator_rejects_q1(moderator: Moderator) -> None:
    assert moderator.decide("q1", "reject", labels=["abuse"]).status_code == 200


def coral_approves_q1(client, ingest_key) -> None:
    body = coral_suggest_body(TEXT, "q1", "APPROVED")
    response = client.post(coral_url("comments:suggestscore", ingest_key), json=body)
    assert response.status_code == 200, response.get_json()


def stored_fields(redis_client, services) -> set[str]:
    return {field.decode() for field in redis_client.hkeys(services.keys.labels("demo"))}


def export(modq, tmp_path, site: str = "demo") -> dict[str, dict]:
    """`modq labels export --site SITE`, by source."""
    out = tmp_path / f"{site}.jsonl"
    modq("labels", "export", "--site", site, "--out", str(out))
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    by_source = {line["source"]: line for line in lines}
    assert len(by_source) == len(lines)
    return by_source


@pytest.mark.parametrize("feedback_first", [True, False], ids=["feedback-first", "moderator-first"])
def test_moderator_decision_and_feedback_on_one_id_both_survive_in_the_export(
    services, ingest, moderator, client, ingest_key, redis_client, modq, tmp_path, feedback_first
):
    ingest_q1(services, ingest)
    if feedback_first:
        coral_approves_q1(client, ingest_key)
        moderator_rejects_q1(moderator)
    else:
        moderator_rejects_q1(moderator)
        coral_approves_q1(client, ingest_key)

    assert stored_fields(redis_client, services) == {"q1", "perspective:q1"}
    exported = export(modq, tmp_path)
    assert set(exported) == {"moderator", "perspective_feedback"}
    assert exported["moderator"]["comment_id"] == "q1"
    assert exported["moderator"]["labels"] == {"spam": 0, "abuse": 1}
    assert exported["perspective_feedback"]["comment_id"] == "perspective:q1"
    assert exported["perspective_feedback"]["labels"] == {
        "abuse": 0
    }  # TOXICITY says nothing of spam
    assert exported["perspective_feedback"]["community_id"] == "Coral:https://news.example"


def test_both_examples_survive_import_and_the_training_read_of_an_export(
    services, ingest, moderator, client, ingest_key, modq, tmp_path
):
    ingest_q1(services, ingest)
    moderator_rejects_q1(moderator)
    coral_approves_q1(client, ingest_key)
    exported = export(modq, tmp_path)

    # `modq train --labels FILE` keys each line by LabelStore.example_id of its comment id and
    # text (a later line with the same id replaces an earlier one), and the same id decides
    # whether the example is held out: the two lines keep the ids they are stored under.
    ids = {
        LabelStore.example_id({"comment_id": line["comment_id"], "text": line["text"]})
        for line in exported.values()
    }
    assert ids == {"q1", "perspective:q1"}

    services.sites.create("gazette")
    modq("labels", "import", "--site", "gazette", str(tmp_path / "demo.jsonl"))
    reimported = export(modq, tmp_path, "gazette")
    assert {source: line["comment_id"] for source, line in reimported.items()} == {
        "moderator": "q1",
        "perspective_feedback": "perspective:q1",
    }


def test_undoing_the_moderator_decision_leaves_the_feedback(
    services, ingest, moderator, client, ingest_key, redis_client
):
    ingest_q1(services, ingest)
    coral_approves_q1(client, ingest_key)
    moderator_rejects_q1(moderator)
    assert moderator.post("/queue/q1/undo").status_code == 200

    assert stored_fields(redis_client, services) == {"perspective:q1"}
    (feedback,) = services.labels.iter("demo")
    assert feedback["source"] == "perspective_feedback"
    assert feedback["labels"]["abuse"] == 0


def test_feedback_without_a_comment_token_is_kept_by_its_text(client, ingest_key, services):
    body = {**coral_suggest_body(TEXT, "q1", "DELETED"), "clientToken": "session-9"}
    assert client.post(coral_url("comments:suggestscore", ingest_key), json=body).status_code == 200
    (example,) = services.labels.iter("demo")
    assert example["comment_id"] is None
    assert LabelStore.example_id(example).startswith("text:")
