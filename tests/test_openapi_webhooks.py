"""The OpenAPI document's ``webhooks``: what modq POSTs to a site, checked against real deliveries.

A site's receiver is written from the document alone, so the events the dispatcher really sends
(body and headers) must validate against the documented schemas, and the worked signature example
must be what ``service.webhooks.sign`` computes.
"""

from __future__ import annotations

import json
import time

import jsonschema_rs
import pytest

from service.openapi import (
    EXAMPLE_BODY,
    EXAMPLE_EVENT,
    EXAMPLE_SECRET,
    EXAMPLE_SIGNATURE,
    EXAMPLE_TIMESTAMP,
)
from service.webhooks import sign, verify
from tests.moderation_support import Moderator, queue_comments, review_everything
from tests.test_webhooks import start_dispatcher
from tests.webhook_support import SECRET, webhook_test_app

EVENT_TYPES = ("comment.decided", "comment.undone")


@pytest.fixture
def app(settings, redis_client, scorer):
    return webhook_test_app(settings, scorer, "oawhtest")


@pytest.fixture
def webhooks(client) -> dict:
    response = client.get("/v1/openapi.json")
    assert response.status_code == 200
    return response.get_json()["webhooks"]


def body_validator(webhooks: dict, event_type: str) -> jsonschema_rs.Draft202012Validator:
    content = webhooks[event_type]["post"]["requestBody"]["content"]["application/json"]
    return jsonschema_rs.Draft202012Validator(content["schema"], validate_formats=True)


def check_headers(webhooks: dict, event_type: str, headers: dict) -> None:
    """Every documented header is present and matches its schema."""
    for parameter in webhooks[event_type]["post"]["parameters"]:
        assert parameter["in"] == "header"
        value = headers.get(parameter["name"])
        assert value is not None or not parameter["required"], parameter["name"]
        jsonschema_rs.Draft202012Validator(parameter["schema"]).validate(value)


def wait_for(condition, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_the_served_document_describes_both_events_and_the_signature(webhooks):
    assert set(webhooks) == set(EVENT_TYPES)
    for event_type in EVENT_TYPES:
        operation = webhooks[event_type]["post"]
        headers = {p["name"] for p in operation["parameters"]}
        assert {"X-Modq-Timestamp", "X-Modq-Signature", "X-Modq-Event-Id"} <= headers
        assert "2XX" in operation["responses"]
        assert "HMAC-SHA256" in operation["description"]
        assert EXAMPLE_SIGNATURE in operation["description"]
        # The document's own example is valid under its own schema.
        content = operation["requestBody"]["content"]["application/json"]
        body_validator(webhooks, event_type).validate(content["example"])


def test_the_worked_signature_example_is_what_modq_computes():
    assert json.loads(EXAMPLE_BODY) == EXAMPLE_EVENT
    assert sign(EXAMPLE_SECRET, EXAMPLE_TIMESTAMP, EXAMPLE_BODY.encode()) == EXAMPLE_SIGNATURE
    assert verify(
        EXAMPLE_SECRET,
        EXAMPLE_TIMESTAMP,
        EXAMPLE_BODY.encode(),
        EXAMPLE_SIGNATURE,
        now=int(EXAMPLE_TIMESTAMP),
    )


def test_delivered_events_validate_against_the_documented_schemas(
    app, client, services, ingest, moderator_key, receiver, webhooks
):
    review_everything(services)
    services.sites.update("demo", webhook_url=receiver.url, webhook_secret=SECRET)
    rejected, approved = queue_comments(ingest, 2)
    moderator = Moderator(client, moderator_key)
    assert moderator.decide(rejected, "reject", labels=["spam"]).status_code == 200
    assert moderator.decide(approved, "approve").status_code == 200
    assert moderator.post(f"/queue/{approved}/undo").status_code == 200

    dispatcher = start_dispatcher(app)
    try:
        wait_for(lambda: len(receiver.accepted()) == 3)
    finally:
        dispatcher.stop()

    seen = set()
    for delivery in receiver.accepted():
        event = json.loads(delivery["body"])
        event_type = event["type"]
        seen.add(event_type)
        schema = webhooks[event_type]["post"]["requestBody"]["content"]["application/json"]
        body_validator(webhooks, event_type).validate(event)
        # Nothing sent that the document does not describe.
        assert set(event) == set(schema["schema"]["properties"])
        check_headers(webhooks, event_type, delivery["headers"])
        assert delivery["headers"]["X-Modq-Event-Id"] == event["id"]
        # Verified exactly as the document says, from the raw body.
        timestamp = delivery["headers"]["X-Modq-Timestamp"]
        expected = sign(SECRET, timestamp, delivery["body"])
        assert delivery["headers"]["X-Modq-Signature"] == expected
    assert seen == set(EVENT_TYPES)


@pytest.mark.parametrize(
    ("event_type", "change"),
    [
        ("comment.decided", {"decision": "undo"}),
        ("comment.undone", {"type": "comment.decided"}),
        ("comment.decided", {"sequence": "1795860902114372"}),
        ("comment.decided", {"at": "yesterday"}),
    ],
)
def test_the_schemas_refuse_a_wrong_event(webhooks, event_type, change):
    event = {**EXAMPLE_EVENT, "type": event_type, **change}
    if event_type == "comment.undone":
        event.update(decision="undo", labels=[])
    assert not body_validator(webhooks, event_type).is_valid(event)
