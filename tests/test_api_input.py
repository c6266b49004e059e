"""What intake takes and what it refuses: strings that are not Unicode text, re-sent comments in
another Unicode form, full batches, chunked bodies, JSON constants, languages, content types,
rate limits a batch can never meet, and a Redis that refuses writes."""

from __future__ import annotations

import io
import json
import unicodedata

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from service import create_app
from service.config import DEFAULT_MAX_BATCH_BODY_BYTES, Settings
from service.localredis import free_port
from tests.moderation_support import Moderator, review_everything

PLAIN_KO = "오늘 기사 잘 읽었습니다. 좋은 정보 감사합니다."
PLAIN_EN = "The council should publish the budget before the vote next week."


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def error_of(response) -> dict:
    body = response.get_json()
    assert set(body) == {"error"}, body
    return body["error"]


def raw_post(client, key: str, body: bytes, path: str = "/v1/comments", **headers):
    return client.post(
        path, data=body, headers={**auth(key), "Content-Type": "application/json", **headers}
    )


# --- strings that are not Unicode text ---------------------------------------------------------


def with_lone_surrogate(field: str) -> bytes:
    """A comment whose ``field`` holds a JSON ``\\ud800`` escape with no low half after it."""
    body = {"id": "s1", "text": "hello there", "article_id": "a1", "author": {"id": "u1"}}
    marker = "LONE-SURROGATE"
    if field.startswith("author."):
        body["author"][field.removeprefix("author.")] = f"x {marker} y"
    elif field == "metadata":
        body["metadata"] = {"note": f"x {marker} y"}
    else:
        body[field] = f"x {marker} y"
    return json.dumps(body).replace(marker, "\\ud800").encode()


LONE_SURROGATE_FIELDS = ["text", "id", "article_id", "author.id", "author.name", "metadata"]


@pytest.mark.parametrize("field", LONE_SURROGATE_FIELDS)
def test_a_lone_surrogate_is_refused_naming_the_field_and_the_queue_stays_readable(
    client, ingest_key, moderator_key, services, field
):
    review_everything(services)
    response = raw_post(client, ingest_key, with_lone_surrogate(field))
    assert response.status_code == 400
    error = error_of(response)
    assert error["field"] == field and "surrogate" in error["message"]
    assert services.comments.get("demo", "s1") is None
    moderator = Moderator(client, moderator_key)
    assert moderator.get("/queue").status_code == 200
    assert moderator.claim().status_code == 200


def test_a_lone_surrogate_in_a_batch_is_that_items_error(client, ingest_key, services):
    review_everything(services)
    body = json.dumps(
        {
            "comments": [
                {"id": "ok", "text": PLAIN_EN},
                {"id": "bad-text", "text": "LONE"},
                {"id": "LONE", "text": PLAIN_EN},
                {"id": "bad-name", "text": PLAIN_EN, "author": {"id": "u", "name": "LONE"}},
            ]
        }
    ).replace("LONE", "\\udfff")
    response = raw_post(client, ingest_key, body.encode(), path="/v1/comments/batch")
    assert response.status_code == 200
    ok, bad_text, bad_id, bad_name = response.get_json()["results"]
    assert ok["status"] == "pending_review"
    assert bad_text["id"] == "bad-text" and bad_text["error"]["field"] == "comments[1].text"
    assert bad_id["id"] is None and bad_id["error"]["field"] == "comments[2].id"
    assert bad_name["error"]["field"] == "comments[3].author.name"
    assert {bad_text["status_code"], bad_id["status_code"], bad_name["status_code"]} == {400}
    assert services.comments.queue_ids("demo") == ["ok"]


# Text as a client's JSON encoder may write it: any code point, lone surrogates included.
any_code_points = st.text(
    alphabet=st.one_of(st.characters(codec=None), st.characters(categories=["Cs"])),
    min_size=1,
    max_size=20,
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    field=st.sampled_from(["text", "article_id", "author.id", "author.name"]), value=any_code_points
)
@example(field="text", value="lone \ud800 in text")
@example(field="author.name", value="\udc00")
def test_whatever_a_field_holds_intake_and_the_queue_never_fail(
    client, ingest_key, moderator_key, services, field, value
):
    review_everything(services)
    comment: dict = {"id": "fz", "text": "a fine comment", "author": {"id": "u1"}}
    if field.startswith("author."):
        comment["author"][field.removeprefix("author.")] = value
    else:
        comment[field] = value
    # ensure_ascii writes a lone surrogate as its \uXXXX escape, as JavaScript's encoder does.
    response = raw_post(client, ingest_key, json.dumps(comment).encode())
    assert response.status_code in (200, 400, 422), response.get_data()[:300]
    if response.status_code == 400:
        assert error_of(response)["field"] == field
    moderator = Moderator(client, moderator_key)
    queue = moderator.get("/queue")
    assert queue.status_code == 200
    for item in queue.get_json()["items"]:
        assert moderator.decide(item["id"], "approve").status_code == 200


# --- the same text in another Unicode form is a retry ------------------------------------------


@pytest.mark.parametrize(
    "resent",
    [
        pytest.param(unicodedata.normalize("NFD", PLAIN_KO), id="nfd"),
        pytest.param(PLAIN_KO + "\n", id="trailing-newline"),
        pytest.param("  " + PLAIN_KO + "\r\n", id="surrounding-whitespace"),
        pytest.param(PLAIN_KO.replace(" ", " \u200b", 1), id="zero-width-space"),
    ],
)
def test_resending_the_text_in_another_form_keeps_the_moderators_decision(
    ingest, client, moderator_key, services, resent
):
    review_everything(services)
    assert resent != PLAIN_KO
    assert ingest({"id": "k1", "text": PLAIN_KO}).get_json()["status"] == "pending_review"
    decided = Moderator(client, moderator_key).decide("k1", "approve")
    assert decided.status_code == 200, decided.get_json()
    before = ingest({"id": "k1", "text": PLAIN_KO}).get_json()
    assert before["status"] == "approved"
    again = ingest({"id": "k1", "text": resent})
    assert again.status_code == 200
    assert again.get_json() == before
    stored = services.comments.get("demo", "k1")
    assert stored["status"] == "approved" and stored["text"] == PLAIN_KO
    assert services.comments.queue_ids("demo") == []


def test_a_changed_word_is_still_an_edit(ingest, client, moderator_key, services):
    review_everything(services)
    ingest({"id": "k2", "text": PLAIN_KO})
    Moderator(client, moderator_key).decide("k2", "approve")
    edited = ingest({"id": "k2", "text": PLAIN_KO.replace("좋은", "나쁜")}).get_json()
    assert edited["status"] == "pending_review"
    assert services.comments.queue_ids("demo") == ["k2"]


# --- body size ---------------------------------------------------------------------------------


KOREAN_SYLLABLES = "".join(c for c in PLAIN_KO if "가" <= c <= "힣")


@pytest.mark.parametrize(
    ("characters", "escaped_bytes"),
    [
        (KOREAN_SYLLABLES, 6),  # a Hangul syllable escaped is \uXXXX
        ("😀🙂👍🔥🎉", 12),  # an emoji outside the BMP is a surrogate pair, \uXXXX\uXXXX
    ],
    ids=["korean", "emoji"],
)
def test_a_full_batch_of_longest_comments_fits_with_ascii_escapes(
    client, ingest_key, services, characters, escaped_bytes
):
    # The worst cases of one code point per character, every character written as an escape.
    text = (characters * 250)[:250]
    comments = [
        {
            "id": f"article-2024-000123-comment-{index:06d}",
            "text": text[index % 5 :] + text[: index % 5],
            "article_id": "article-2024-000123",
            "author": {"id": f"reader-{index:06d}", "name": "독자"},
            "language": "ko",
        }
        for index in range(100)
    ]
    body = json.dumps({"comments": comments}).encode()  # every non-ASCII character escaped
    assert 100 * 250 * escaped_bytes < len(body) <= DEFAULT_MAX_BATCH_BODY_BYTES
    response = raw_post(client, ingest_key, body, path="/v1/comments/batch")
    assert response.status_code == 200, response.get_data()[:300]
    results = response.get_json()["results"]
    assert len(results) == 100 and all("error" not in result for result in results)


@pytest.fixture
def small_limit_client(settings, scorer, site):
    """A client of an app whose body limit is 2 KiB (Redis shared with the ``site`` fixture)."""
    limited = Settings(redis_url=settings.redis_url, cache_seconds=0, max_body_bytes=2048)
    return create_app(limited, scorer=scorer).test_client()


def chunked_post(client, key: str, body: bytes):
    """POST ``body`` without Content-Length, chunked, as gunicorn hands it to the app."""
    return client.post(
        "/v1/comments",
        input_stream=io.BytesIO(body),
        headers={**auth(key), "Content-Type": "application/json", "Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )


@pytest.mark.parametrize(
    ("padding", "status"),
    [
        pytest.param(0, 200, id="short"),
        pytest.param(2048, 200, id="exactly-the-limit"),
        pytest.param(2049, 413, id="one-byte-over"),
        pytest.param(100_000, 413, id="100-kb-of-spaces"),
    ],
)
def test_a_chunked_body_over_the_limit_is_413_not_cut_short(
    small_limit_client, ingest_key, padding, status
):
    comment = json.dumps({"id": "ch", "text": PLAIN_EN}).encode()
    body = comment + b" " * max(0, padding - len(comment))
    response = chunked_post(small_limit_client, ingest_key, body)
    assert response.status_code == status, response.get_data()[:300]
    if status == 413:
        assert error_of(response)["code"] == "payload_too_large"
        assert "2048" in error_of(response)["message"]


def test_a_chunked_body_of_broken_json_over_the_limit_is_413(small_limit_client, ingest_key):
    body = json.dumps({"id": "ch", "text": "a" * 5000}).encode()
    response = chunked_post(small_limit_client, ingest_key, body)
    assert response.status_code == 413


# --- what JSON may hold, languages and content types ------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        b'{"id": "n", "text": "hi", "metadata": {"a": NaN}}',
        b'{"id": "n", "text": "hi", "metadata": {"a": Infinity}}',
        b'{"id": "n", "text": "hi", "metadata": {"a": -Infinity}}',
        b'{"id": "n", "text": "hi", "metadata": {"a": 1e999}}',
    ],
)
def test_numbers_json_cannot_hold_are_400(client, ingest_key, services, raw):
    response = raw_post(client, ingest_key, raw)
    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid_request"
    assert services.comments.get("demo", "n") is None


@pytest.mark.parametrize("language", ["en", "EN", "en-US", "en_GB", " en "])
def test_a_language_tag_is_stored_as_its_language(ingest, services, language):
    response = ingest({"id": "l1", "text": PLAIN_EN, "language": language})
    assert response.status_code == 200
    assert response.get_json()["language"] == "en"
    assert services.comments.get("demo", "l1")["language"] == "en"


@pytest.mark.parametrize("language", ["!!", "12", "e", "english language", "en--"])
def test_a_language_that_is_not_a_tag_is_400(ingest, language):
    response = ingest({"id": "l2", "text": PLAIN_EN, "language": language})
    assert response.status_code == 400
    assert error_of(response)["field"] == "language"


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "text/html"]
)
def test_a_body_declared_as_something_other_than_json_is_415(client, ingest_key, content_type):
    body = json.dumps({"id": "ct", "text": PLAIN_EN}).encode()
    response = raw_post(client, ingest_key, body, **{"Content-Type": content_type})
    assert response.status_code == 415
    error = error_of(response)
    assert error["code"] == "unsupported_media_type" and content_type in error["message"]


@pytest.mark.parametrize(
    "content_type", [None, "application/json; charset=utf-8", "application/merge-patch+json"]
)
def test_json_or_no_content_type_is_read_as_json(client, ingest_key, content_type):
    body = json.dumps({"id": "ct", "text": PLAIN_EN}).encode()
    headers = (
        auth(ingest_key)
        if content_type is None
        else {**auth(ingest_key), "Content-Type": content_type}
    )
    response = client.post("/v1/comments", data=body, headers=headers)
    assert response.status_code == 200, response.get_json()


# --- rate limits -------------------------------------------------------------------------------


def batch(prefix: str, count: int, text: str = PLAIN_EN) -> dict:
    return {"comments": [{"id": f"{prefix}{i}", "text": f"{text} {i}"} for i in range(count)]}


def test_a_batch_larger_than_the_whole_limit_is_refused_as_unsendable(ingest, services):
    services.sites.update("demo", rate_limits={"key": "5/minute", "address": "30/minute"})
    response = ingest(batch("b", 6), path="/v1/comments/batch")
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "batch_over_rate_limit" and error["limit"] == 5
    assert "5/minute" in error["message"] and "at most 5" in error["message"]
    assert ingest(batch("b", 5), path="/v1/comments/batch").status_code == 200


def test_a_retry_over_the_limit_gets_its_stored_result(ingest, services):
    services.sites.update("demo", rate_limits={"key": "1/minute"})
    first = ingest({"id": "r1", "text": PLAIN_EN})
    assert first.status_code == 200
    retry = ingest({"id": "r1", "text": PLAIN_EN})
    assert retry.status_code == 200 and retry.get_json() == first.get_json()
    assert ingest({"id": "r1", "text": PLAIN_EN + " edited"}).status_code == 429
    assert ingest({"id": "r2", "text": PLAIN_EN}).status_code == 429


def test_a_comment_that_can_never_be_stored_gets_its_422_and_is_not_counted(ingest, services):
    services.sites.update("demo", rate_limits={"key": "1/minute"})
    assert ingest({"id": "e1", "text": ""}).status_code == 422
    assert ingest({"id": "e2", "text": "   "}).status_code == 422
    assert ingest({"id": "ok", "text": PLAIN_EN}).status_code == 200
    # At the limit, a text that can never be stored is still told so, not to come back later.
    assert ingest({"id": "e3", "text": "x" * 300}).status_code == 422
    assert ingest({"id": "new", "text": PLAIN_EN}).status_code == 429
    # In a batch too: its refused items keep their own errors beside the others' 429s.
    batch = {"comments": [{"id": "n1", "text": PLAIN_EN}, {"id": "n2", "text": ""}]}
    answer = ingest(batch, path="/v1/comments/batch")
    assert answer.status_code == 200
    assert [r["status_code"] for r in answer.get_json()["results"]] == [429, 422]


def test_a_batch_retry_over_the_limit_gets_its_stored_results(ingest, services):
    services.sites.update("demo", rate_limits={"key": "2/minute"})
    first = ingest(batch("r", 2), path="/v1/comments/batch")
    assert first.status_code == 200
    retry = ingest(batch("r", 2), path="/v1/comments/batch")
    assert retry.status_code == 200 and retry.get_json() == first.get_json()
    one_of_them = ingest({"comments": batch("r", 2)["comments"][1:]}, path="/v1/comments/batch")
    assert one_of_them.get_json()["results"] == first.get_json()["results"][1:]
    mixed = {"comments": [batch("r", 2)["comments"][0], {"id": "new", "text": PLAIN_EN}]}
    answer = ingest(mixed, path="/v1/comments/batch")
    assert answer.status_code == 200
    stored, refused = answer.get_json()["results"]
    assert stored == first.get_json()["results"][0]
    assert refused["id"] == "new" and refused["status_code"] == 429
    assert refused["error"]["code"] == "rate_limited" and refused["error"]["retry_after"] > 0
    fresh = {"comments": [{"id": "new", "text": PLAIN_EN}, {"id": "new2", "text": PLAIN_EN}]}
    assert ingest(fresh, path="/v1/comments/batch").status_code == 429


def test_invalid_batch_items_are_not_counted(ingest, services):
    services.sites.update("demo", rate_limits={"key": "2/minute"})
    comments = [{"id": "v1", "text": PLAIN_EN}, {"id": "x"}, {"id": "y", "text": "  "}, 5]
    response = ingest({"comments": comments}, path="/v1/comments/batch")
    assert response.status_code == 200
    assert [r.get("status_code") for r in response.get_json()["results"]] == [None, 400, 422, 400]
    assert ingest({"id": "v2", "text": PLAIN_EN}).status_code == 200
    assert ingest({"id": "v3", "text": PLAIN_EN}).status_code == 429


# --- a Redis that refuses writes ---------------------------------------------------------------


@pytest.fixture
def redis_out_of_memory(redis_client):
    redis_client.config_set("maxmemory", "1")
    try:
        yield
    finally:
        redis_client.config_set("maxmemory", "0")


@pytest.fixture
def redis_read_only(redis_client):
    # A replica of a primary that is not there keeps answering reads and refuses every write.
    redis_client.replicaof("127.0.0.1", free_port())
    try:
        yield
    finally:
        redis_client.replicaof("NO", "ONE")


@pytest.mark.parametrize(
    ("refusal", "reason"),
    [("redis_out_of_memory", "maxmemory"), ("redis_read_only", "read-only")],
)
def test_a_redis_that_refuses_writes_is_503_with_retry_after(
    request, ingest, client, ingest_key, services, refusal, reason
):
    services.sites.get("demo")  # the site and key are stored before Redis refuses writes
    request.getfixturevalue(refusal)
    single = ingest({"id": "m1", "text": PLAIN_EN})
    batched = ingest(batch("m", 2), path="/v1/comments/batch")
    for response in (single, batched):
        assert response.status_code == 503
        assert int(response.headers["Retry-After"]) >= 1
        error = error_of(response)
        assert error["code"] == "storage_unavailable" and reason in error["message"]
        assert error["retry_after"] == int(response.headers["Retry-After"])
    assert services.comments.get("demo", "m1") is None


@pytest.mark.parametrize(
    "reply",
    [
        "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSCRIPT.",
        "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist.",
        "OOM command not allowed when used memory > 'maxmemory'. script: abc, on @user_script:1.",
    ],
)
def test_refusals_that_redis_py_leaves_generic_are_told_apart(reply):
    import redis

    from service.errors import refusal_reason

    assert refusal_reason(redis.exceptions.ResponseError(reply))
    assert (
        refusal_reason(redis.exceptions.ResponseError("WRONGTYPE Operation against a key")) is None
    )


@pytest.mark.slow
def test_gunicorn_refuses_a_chunked_body_over_the_limit(redis_server, redis_client, tmp_path):
    """Through the real server: a chunked body has no length up front, and is still refused."""
    import requests

    from tests.test_serve import gazette_ingest_key, serving, stop

    env = {"MODQ_REDIS_URL": redis_server.url, "WEB_CONCURRENCY": "1",
           "MODQ_MAX_BODY_BYTES": "4096", "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}  # fmt: skip
    with serving(env, tmp_path / "serve.log") as (server, base):
        secret = gazette_ingest_key(redis_client)
        comment = json.dumps({"id": "c1", "text": PLAIN_EN}).encode()

        def post_chunked(body: bytes) -> requests.Response:
            # A generator body is sent with Transfer-Encoding: chunked and no Content-Length.
            pieces = (body[i : i + 1000] for i in range(0, len(body), 1000))
            return requests.post(
                f"{base}/v1/comments",
                data=pieces,
                headers={**auth(secret), "Content-Type": "application/json"},
                timeout=10,
            )

        assert post_chunked(comment).status_code == 200
        padded = post_chunked(comment + b" " * 100_000)
        assert padded.status_code == 413, padded.text
        assert padded.json()["error"]["code"] == "payload_too_large"
        cut = post_chunked(json.dumps({"id": "c2", "text": "a" * 70_000}).encode())
        assert cut.status_code == 413, cut.text
        assert stop(server) == 0


@pytest.mark.parametrize("field", ["reporter_id", "reason"])
def test_a_lone_surrogate_in_a_reader_report_is_refused_naming_the_field(client, ingest_key, field):
    assert (
        raw_post(client, ingest_key, json.dumps({"id": "r1", "text": "hi"}).encode()).status_code
        == 200
    )
    body = {"reporter_id": "reader-1", "reason": "spam"}
    body[field] = "x LONE-SURROGATE y"
    raw = json.dumps(body).replace("LONE-SURROGATE", "\\ud800").encode()
    response = raw_post(client, ingest_key, raw, path="/v1/comments/r1/reports")
    assert response.status_code == 400
    assert error_of(response)["field"] == field
