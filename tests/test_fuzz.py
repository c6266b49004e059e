"""schemathesis against the served OpenAPI document: generated requests to every operation, no 5xx,
every response as the document describes it.

Runs in process against the Flask app (schemathesis's WSGI transport) with a real Redis and the real
model. Intake operations are called with an ingest key, the moderators' operations with a moderator
key of the site in their path, so generated requests get past authentication and reach the code
behind it. Bounded by a count per operation and a wall-clock budget for the whole run.
"""

from __future__ import annotations

import time

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck, given
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.moderation_support import queue_comments, review_everything

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
MIN_REQUESTS = 1000
# Valid requests per operation, then requests that break the document (wrong types, missing
# fields, out-of-range values), which must be refused with a documented 4xx.
EXAMPLES = {GenerationMode.POSITIVE: 60, GenerationMode.NEGATIVE: 40}
BUDGET_SECONDS = 240


def headers_for(path: str, ingest_key: str, moderator_key: str) -> dict[str, str]:
    """The bearer key an operation takes; none for the public ones (they ignore it)."""
    key = moderator_key if path.startswith("/v1/sites/") else ingest_key
    return {"Authorization": f"Bearer {key}"}


def run_operation(
    operation, headers: dict, examples: int, deadline: float, mode: GenerationMode
) -> int:
    """Call ``operation`` with up to ``examples`` generated cases; how many were sent."""
    sent = [0]
    overrides = {"site": "demo"} if "{site}" in operation.path else None

    @hypothesis.settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
    )
    @given(case=operation.as_strategy(mode, path_parameters=overrides))
    def check(case) -> None:
        if time.monotonic() > deadline:
            return
        sent[0] += 1
        case.call_and_validate(headers=headers, checks=CHECKS)

    try:
        check()
    except hypothesis.errors.Unsatisfiable:
        # Nothing to break in an operation with no parameters and no body.
        assert mode is GenerationMode.NEGATIVE and sent[0] == 0
    return sent[0]


@pytest.mark.slow
def test_every_operation_answers_as_documented(
    app, client, ingest, ingest_key, moderator_key, services
):
    """No generated request gets a 5xx; each response's status, headers and body are documented."""
    # Some comments in the queue, so reads and decisions meet real items as well as unknown ones.
    review_everything(services)
    # Limits generous enough never to be reached, so the limiter runs on every generated request.
    services.sites.update(
        "demo",
        rate_limits={"key": "100000/minute", "author": "100000/minute", "address": "100000/minute"},
    )
    queue_comments(ingest, 12)
    schema = schemathesis.openapi.from_wsgi("/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10
    deadline = time.monotonic() + BUDGET_SECONDS
    sent = {}
    for operation in operations:
        headers = headers_for(operation.path, ingest_key, moderator_key)
        for mode, examples in EXAMPLES.items():
            label = f"{operation.label} ({mode.value})"
            sent[label] = run_operation(operation, headers, examples, deadline, mode)
    assert sum(sent.values()) >= MIN_REQUESTS, sent
