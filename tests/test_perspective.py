"""The Perspective API methods under /perspective/v1alpha1, driven the way Coral Talk drives them.

Request bodies are the ones Coral Talk's client builds (coralproject/talk,
server/src/core/server/services/perspective/perspective.ts, and the older
server/src/core/server/services/moderation/perspective.ts), and responses are read the way Coral
reads them (``result.data.attributeScores[model].summaryScore.value``).
"""

from __future__ import annotations

import json
import socket
from itertools import pairwise
from urllib.parse import urlsplit

import jsonschema_rs
import pytest
from googleapiclient import discovery
from googleapiclient.errors import HttpError

from service import create_app
from service.config import Settings
from service.perspective import PerspectiveError
from service.perspective_spans import MAX_SPANS, merged_spans, sentence_spans

ENDPOINT = "http://localhost:8000/perspective/v1alpha1"  # what the admin enters in Coral
ABUSE_EN = "You are a stupid idiot and a worthless piece of garbage, shut up moron"
PLAIN_EN = "The council should publish the budget before the vote next week."
ABUSE_KO = "이 미친 개새끼야 닥쳐 병신아"
PLAIN_KO = "오늘 기사 잘 읽었습니다. 좋은 정보 감사합니다."
SPAM_EN = "Check out my channel!!! subscribe for FREE iPhone giveaway http://bit.ly/xyz123"
ATTRIBUTES = (
    "TOXICITY",
    "SEVERE_TOXICITY",
    "INSULT",
    "PROFANITY",
    "THREAT",
    "IDENTITY_ATTACK",
    "SPAM",
)


def coral_url(operation: str, key: str) -> str:
    """The URL Coral's sendToPerspective builds: endpoint path joined with the operation, ?key=."""
    return f"{urlsplit(ENDPOINT).path}/{operation}?key={key}"


def coral_analyze_body(text: str, language: str = "en", model: str = "TOXICITY") -> dict:
    """formatBody() for operation "comments:analyze" (doNotStore defaults to true in Coral)."""
    return {
        "comment": {"text": text},
        "doNotStore": True,
        "requestedAttributes": {model: {}},
        "languages": [language],
    }


def coral_suggest_body(text: str, comment_id: str, status: str, model: str = "TOXICITY") -> dict:
    """formatBody() for operation "comments:suggestscore" (APPROVED is 0, DELETED is 1)."""
    return {
        "comment": {"text": text},
        "context": {
            "entries": [
                {
                    "text": json.dumps(
                        {
                            "url": f"https://news.example/story-1?commentID={comment_id}",
                            "reply_to_id_Coral_comment_id": None,
                            "Coral_comment_id": comment_id,
                        }
                    )
                }
            ]
        },
        "attributeScores": {model: {"summaryScore": {"value": 0 if status == "APPROVED" else 1}}},
        "languages": ["en"],
        "communityId": "Coral:https://news.example",
        "clientToken": f"comment:{comment_id}",
    }


@pytest.fixture
def analyze(client, ingest_key):
    def post(body, key=ingest_key, **kwargs):
        return client.post(coral_url("comments:analyze", key), json=body, **kwargs)

    return post


@pytest.fixture
def suggest(client, ingest_key):
    def post(body, key=ingest_key):
        return client.post(coral_url("comments:suggestscore", key), json=body)

    return post


def coral_score(response, model="TOXICITY") -> float:
    """What Coral's toxic phase reads: result.data.attributeScores[model].summaryScore.value."""
    assert response.status_code == 200, response.get_json()
    return response.get_json()["attributeScores"][model]["summaryScore"]["value"]


def google_error(response, status: int, grpc_status: str) -> dict:
    """The error object, after checking Google's shape and the HTTP status."""
    assert response.status_code == status, response.get_json()
    assert response.is_json
    body = response.get_json()
    assert set(body) == {"error"}
    error = body["error"]
    assert {"code", "message", "status"} <= set(error)
    assert error["code"] == status and error["status"] == grpc_status
    return error


def error_type(error: dict) -> str:
    return error["details"][0]["errorType"]


# --- comments:analyze, as Coral sends it ---------------------------------------------------


@pytest.mark.parametrize(
    ("abusive", "plain", "language"),
    [
        (ABUSE_EN, PLAIN_EN, "en"),
        (ABUSE_KO, PLAIN_KO, "ko"),
        # Coral maps every locale it has no Perspective model for to "en", Korean included.
        (ABUSE_KO, PLAIN_KO, "en"),
    ],
)
def test_coral_analyze_scores_abusive_above_plain(analyze, abusive, plain, language):
    abusive_score = coral_score(analyze(coral_analyze_body(abusive, language)))
    plain_score = coral_score(analyze(coral_analyze_body(plain, language)))
    assert 0.0 <= plain_score < 0.5 <= abusive_score <= 1.0
    assert abusive_score > plain_score


def test_coral_analyze_response_has_perspective_shape(analyze):
    body = analyze(coral_analyze_body(ABUSE_EN)).get_json()
    assert body == {
        "attributeScores": {
            "TOXICITY": {
                "summaryScore": {
                    "value": body["attributeScores"]["TOXICITY"]["summaryScore"]["value"],
                    "type": "PROBABILITY",
                }
            }
        },
        "languages": ["en"],
        "detectedLanguages": ["en"],
    }


def test_every_attribute_is_scored_and_severe_toxicity_is_lower(analyze):
    request = {
        "comment": {"text": ABUSE_EN},
        "requestedAttributes": {a: {} for a in ATTRIBUTES},
        "languages": ["en"],
    }
    scores = analyze(request).get_json()["attributeScores"]
    assert list(scores) == list(ATTRIBUTES)
    values = {name: entry["summaryScore"]["value"] for name, entry in scores.items()}
    assert values["SEVERE_TOXICITY"] < values["TOXICITY"]
    for name in ("INSULT", "PROFANITY", "THREAT", "IDENTITY_ATTACK"):
        assert values[name] == values["TOXICITY"]
    assert values["SPAM"] < 0.5


def test_spam_attribute_reads_the_spam_model(analyze):
    assert coral_score(analyze(coral_analyze_body(SPAM_EN, model="SPAM")), "SPAM") >= 0.5
    assert coral_score(analyze(coral_analyze_body(PLAIN_EN, model="SPAM")), "SPAM") < 0.5


def test_attribute_name_is_echoed_as_requested(analyze):
    body = analyze(coral_analyze_body(ABUSE_EN, model="toxicity_experimental")).get_json()
    assert list(body["attributeScores"]) == ["toxicity_experimental"]


@pytest.mark.parametrize(("text", "detected"), [(PLAIN_EN, "en"), (PLAIN_KO, "ko")])
def test_language_is_detected_when_not_given(analyze, text, detected):
    body = analyze({"comment": {"text": text}, "requestedAttributes": {"TOXICITY": {}}}).get_json()
    assert body["languages"] == [detected]
    assert body["detectedLanguages"] == [detected]


def test_client_token_is_echoed_only_when_sent(analyze):
    body = {
        **coral_analyze_body(PLAIN_EN),
        "clientToken": "req-42",
        "communityId": "forum/x",
        "sessionId": "s1",
    }
    assert analyze(body).get_json()["clientToken"] == "req-42"
    assert "clientToken" not in analyze(coral_analyze_body(PLAIN_EN)).get_json()


def test_score_threshold_leaves_out_lower_scores(analyze):
    body = {
        "comment": {"text": PLAIN_EN},
        "languages": ["en"],
        "requestedAttributes": {
            "TOXICITY": {"scoreThreshold": 0.9, "scoreType": "PROBABILITY"},
            "SPAM": {"scoreThreshold": 0},
        },
    }
    assert list(analyze(body).get_json()["attributeScores"]) == ["SPAM"]
    body["requestedAttributes"] = {"TOXICITY": {"scoreThreshold": 0.9}}
    answer = analyze(body).get_json()
    assert "attributeScores" not in answer and answer["languages"] == ["en"]


def test_span_annotations_score_each_sentence_with_code_point_offsets(analyze):
    text = "What kind of idiot name is foo? Sorry, I like your name."
    body = {
        "comment": {"text": text},
        "languages": ["en"],
        "spanAnnotations": True,
        "requestedAttributes": {"TOXICITY": {}, "SPAM": {}},
    }
    scores = analyze(body).get_json()["attributeScores"]
    spans = scores["TOXICITY"]["spanScores"]
    assert [(s["begin"], s["end"]) for s in spans] == [(0, 31), (32, 56)]
    assert [text[s["begin"] : s["end"]] for s in spans] == [
        "What kind of idiot name is foo?",
        "Sorry, I like your name.",
    ]
    assert spans[0]["score"]["value"] > spans[1]["score"]["value"]
    assert all(s["score"]["type"] == "PROBABILITY" for s in spans)
    assert [(s["begin"], s["end"]) for s in scores["SPAM"]["spanScores"]] == [(0, 31), (32, 56)]


def utf16_slice(text: str, begin: int, end: int) -> str:
    """``text[begin:end]`` as JavaScript's ``slice`` reads it: offsets in UTF-16 code units."""
    return text.encode("utf-16-le")[2 * begin : 2 * end].decode("utf-16-le")


def test_span_offsets_count_utf16_units_as_perspective_does(analyze):
    text = "👍🏽 좋은 기사네요.\n" + ABUSE_KO + " 😀 Great work 😀😀! You are a stupid idiot."
    body = {
        "comment": {"text": text},
        "spanAnnotations": True,
        "requestedAttributes": {"TOXICITY": {}},
    }
    spans = analyze(body).get_json()["attributeScores"]["TOXICITY"]["spanScores"]
    assert [utf16_slice(text, s["begin"], s["end"]) for s in spans] == [
        "👍🏽 좋은 기사네요.",
        ABUSE_KO + " 😀 Great work 😀😀!",
        "You are a stupid idiot.",
    ]
    # The emoji with its skin tone is 2 code points and 4 UTF-16 units.
    assert spans[1]["begin"] == len("👍🏽 좋은 기사네요.\n") + 2
    assert spans[2]["score"]["value"] > spans[0]["score"]["value"]


def test_snake_case_field_names_are_read_as_protobuf_json_reads_them(analyze):
    body = {
        "comment": {"text": ABUSE_EN},
        "requested_attributes": {"SEVERE_TOXICITY": {"score_type": "PROBABILITY"}, "SPAM": {}},
        "span_annotations": True,
        "client_token": "t-1",
        "do_not_store": True,
    }
    answer = analyze(body).get_json()
    assert set(answer["attributeScores"]) == {"SEVERE_TOXICITY", "SPAM"}
    assert "spanScores" in answer["attributeScores"]["SPAM"]
    assert answer["clientToken"] == "t-1"
    threshold = {"comment": {"text": PLAIN_EN}}
    threshold["requested_attributes"] = {"TOXICITY": {"score_threshold": 0.99}}
    assert "attributeScores" not in analyze(threshold).get_json()
    both = {**body, "requestedAttributes": {"TOXICITY": {}}}
    response = analyze(both)
    assert response.status_code == 400
    assert "'requestedAttributes' is given twice" in response.get_json()["error"]["message"]


def test_drop_unsupported_attributes_leaves_out_what_modq_does_not_score(analyze):
    requested = {"TOXICITY": {}, "SEXUALLY_EXPLICIT": {}, "FLIRTATION": {}}
    refused = analyze({"comment": {"text": ABUSE_EN}, "requestedAttributes": requested})
    assert refused.status_code == 400
    body = {
        "comment": {"text": ABUSE_EN},
        "requestedAttributes": requested,
        "dropUnsupportedAttributes": True,
    }
    assert set(analyze(body).get_json()["attributeScores"]) == {"TOXICITY"}
    french = {**body, "comment": {"text": "Quel article, merci."}, "languages": ["fr"]}
    answer = analyze(french)
    assert answer.status_code == 200 and "attributeScores" not in answer.get_json()
    assert answer.get_json()["languages"] == ["fr"]


def test_the_key_may_come_in_googles_api_key_header(client, ingest_key):
    response = client.post(
        "/perspective/v1alpha1/comments:analyze",
        json=coral_analyze_body(PLAIN_EN),
        headers={"X-Goog-Api-Key": ingest_key},
    )
    assert response.status_code == 200, response.get_json()


def test_without_span_annotations_there_are_no_span_scores(analyze):
    entry = analyze(coral_analyze_body(ABUSE_EN)).get_json()["attributeScores"]["TOXICITY"]
    assert "spanScores" not in entry


def test_span_scores_of_a_text_of_many_short_lines_are_capped_and_cover_it(analyze):
    # 20 KB of one-character lines (10,000 sentences) with abuse at the end, as in the security
    # review: each sentence scored on its own held a worker for over a second and answered 6.7 MB.
    text = "a\n" * 10_000 + ABUSE_EN
    names = [*ATTRIBUTES, "TOXICITY_EXPERIMENTAL", "INSULT_EXPERIMENTAL"]
    body = {
        "comment": {"text": text},
        "languages": ["en"],
        "spanAnnotations": True,
        "requestedAttributes": {name: {} for name in names},
    }
    response = analyze(body)
    assert response.status_code == 200, response.get_json()
    scores = response.get_json()["attributeScores"]
    assert list(scores) == names
    for entry in scores.values():
        assert 1 < len(entry["spanScores"]) <= MAX_SPANS
    spans = [(s["begin"], s["end"]) for s in scores["TOXICITY"]["spanScores"]]
    # In order, not overlapping, and every sentence inside one span.
    assert spans == sorted(spans)
    assert all(end <= begin for (_, end), (begin, _) in pairwise(spans))
    assert spans[0][0] == 0 and spans[-1][1] == len(text)
    values = [s["score"]["value"] for s in scores["TOXICITY"]["spanScores"]]
    assert values[-1] == max(values) and values[-1] > values[0]
    assert len(response.get_data()) < 200_000


def test_comments_up_to_the_span_limit_keep_one_span_per_sentence(analyze):
    text = " ".join(f"Sentence number {i} is fine." for i in range(MAX_SPANS))
    body = {
        "comment": {"text": text},
        "spanAnnotations": True,
        "requestedAttributes": {"TOXICITY": {}},
    }
    spans = analyze(body).get_json()["attributeScores"]["TOXICITY"]["spanScores"]
    assert [(s["begin"], s["end"]) for s in spans] == sentence_spans(text)


@pytest.mark.parametrize(
    "spans",
    [
        [(2 * i, 2 * i + 1) for i in range(10_000)],  # all short
        [(0, 5000), *((5001 + 2 * i, 5002 + 2 * i) for i in range(500))],  # one long, many short
        [(2 * i, 2 * i + 1) for i in range(MAX_SPANS + 1)],  # one over the limit
        [(i * 101, i * 101 + 100) for i in range(MAX_SPANS * 3)],  # all the same length
    ],
)
def test_merged_spans_are_at_most_the_limit_and_cover_every_sentence(spans):
    merged = merged_spans(spans)
    assert len(merged) <= MAX_SPANS
    assert merged[0][0] == spans[0][0] and merged[-1][1] == spans[-1][1]
    # Each merged span starts and ends on a sentence's bounds, after the one before it.
    assert {begin for begin, _ in merged} <= {begin for begin, _ in spans}
    assert {end for _, end in merged} <= {end for _, end in spans}
    assert all(end < begin for (_, end), (begin, _) in pairwise(merged))


def test_a_long_sentence_among_many_short_ones_keeps_its_own_span():
    spans = [(0, 5000), *((5001 + 2 * i, 5002 + 2 * i) for i in range(500))]
    assert merged_spans(spans)[0] == (0, 5000)


def redis_snapshot(redis_client) -> dict:
    return {key: redis_client.dump(key) for key in redis_client.scan_iter(count=1000)}


@pytest.mark.parametrize("do_not_store", [True, False])
def test_analyze_leaves_no_trace_in_redis(analyze, redis_client, do_not_store):
    analyze(coral_analyze_body(PLAIN_EN))  # warm anything lazily created on a first request
    before = redis_snapshot(redis_client)
    dbsize = redis_client.dbsize()
    body = {
        **coral_analyze_body(ABUSE_EN + " unique-marker-7731"),
        "doNotStore": do_not_store,
        "spanAnnotations": True,
        "clientToken": "t",
        "communityId": "c",
    }
    assert analyze(body).status_code == 200
    assert redis_client.dbsize() == dbsize
    assert redis_snapshot(redis_client) == before
    assert not any(b"unique-marker-7731" in value for value in before.values())


def unstored_count(client) -> float:
    for line in client.get("/metrics").get_data(as_text=True).splitlines():
        if line.startswith("modq_unstored_analyses_total "):
            return float(line.split()[1])
    raise AssertionError("modq_unstored_analyses_total is not in /metrics")


def test_do_not_store_requests_are_only_counted(analyze, client):
    before = unstored_count(client)
    analyze(coral_analyze_body(PLAIN_EN))
    analyze({**coral_analyze_body(PLAIN_EN), "doNotStore": False})
    assert unstored_count(client) == before + 1


# --- errors ---------------------------------------------------------------------------------

PERSPECTIVE_ERROR_TYPE = "type.googleapis.com/google.commentanalyzer.v1alpha1.Error"
TOO_LONG = "a" * (20 * 1024 + 1)


@pytest.mark.parametrize(
    ("body", "message", "kind"),
    [
        ({"requestedAttributes": {"TOXICITY": {}}}, "Comment must be non-empty.", "COMMENT_EMPTY"),
        (coral_analyze_body(""), "Comment must be non-empty.", "COMMENT_EMPTY"),
        (coral_analyze_body(" \u200b\n"), "Comment must be non-empty.", "COMMENT_EMPTY"),
        (coral_analyze_body(TOO_LONG), "Comment text too long.", "COMMENT_TOO_LONG"),
        (
            {"comment": {"text": PLAIN_EN}},
            "Missing requested_attributes",
            "NO_REQUESTED_ATTRIBUTES",
        ),
        (
            {"comment": {"text": PLAIN_EN}, "requestedAttributes": {}},
            "Missing requested_attributes",
            "NO_REQUESTED_ATTRIBUTES",
        ),
        (
            coral_analyze_body(PLAIN_EN, model="SEXUALLY_EXPLICIT"),
            "Unknown requested attribute: SEXUALLY_EXPLICIT",
            "INVALID_REQUEST",
        ),
        (
            {
                **coral_analyze_body(PLAIN_EN),
                "requestedAttributes": {"TOXICITY": {"scoreType": "RAW"}},
            },
            "Requested score type RAW is not supported by attribute TOXICITY",
            "INVALID_REQUEST",
        ),
        (
            coral_analyze_body("C'est un commentaire tout à fait normal.", "fr"),
            "Attribute TOXICITY does not support request languages: fr",
            "LANGUAGE_NOT_SUPPORTED_BY_ATTRIBUTE",
        ),
        (
            {**coral_analyze_body(PLAIN_EN), "languages": ["en", "de"]},
            "Attribute TOXICITY does not support request languages: en, de",
            "LANGUAGE_NOT_SUPPORTED_BY_ATTRIBUTE",
        ),
        (
            {
                "comment": {
                    "text": "Je pense que le maire a raison et que nous sommes tous d'accord."
                },
                "requestedAttributes": {"INSULT": {}},
            },
            "Attribute INSULT does not support request languages: fr",
            "LANGUAGE_NOT_SUPPORTED_BY_ATTRIBUTE",
        ),
        (
            {"comment": {"text": "12345 !!! 678"}, "requestedAttributes": {"TOXICITY": {}}},
            "Unable to detect language",
            "LANGUAGE_DETECTION_FAILED",
        ),
        (
            {**coral_analyze_body(PLAIN_EN), "comment": {"text": PLAIN_EN, "type": "HTML"}},
            "Currently, only 'PLAIN_TEXT' comments are supported",
            "INVALID_REQUEST",
        ),
        (
            {**coral_analyze_body(PLAIN_EN), "comment": {"text": PLAIN_EN, "type": "MARKDOWN"}},
            "Unknown text type",
            "INVALID_REQUEST",
        ),
        (
            coral_analyze_body(123),
            "Invalid value at 'comment.text' (TYPE_STRING), 123",
            "INVALID_REQUEST",
        ),
        (
            {**coral_analyze_body(PLAIN_EN), "doNotStore": "yes"},
            "Invalid value at 'doNotStore' (TYPE_BOOL), \"yes\"",
            "INVALID_REQUEST",
        ),
        (
            {
                **coral_analyze_body(PLAIN_EN),
                "requestedAttributes": {"TOXICITY": {"scoreThreshold": "hi"}},
            },
            "Invalid value at 'requestedAttributes.TOXICITY.scoreThreshold' (TYPE_FLOAT), \"hi\"",
            "INVALID_REQUEST",
        ),
        (
            {**coral_analyze_body(PLAIN_EN), "languages": "en"},
            "Invalid value at 'languages' (TYPE_STRING), \"en\"",
            "INVALID_REQUEST",
        ),
        (
            {
                **coral_analyze_body(PLAIN_EN),
                "context": {
                    "entries": [{"text": "a"}],
                    "articleAndParentComment": {"article": {"text": "b"}},
                },
            },
            "Context can have either entries or article_and_parent_comment, but both fields were "
            "populated.",
            "INVALID_REQUEST",
        ),
    ],
)
def test_invalid_requests_get_perspectives_error(analyze, body, message, kind):
    error = google_error(analyze(body), 400, "INVALID_ARGUMENT")
    assert error["message"] == message
    assert error["details"][0]["@type"] == PERSPECTIVE_ERROR_TYPE
    assert error_type(error) == kind


def test_an_attribute_requested_under_two_spellings_is_refused(analyze):
    # Names match whatever their case; without this, one attribute spelt thousands of ways would
    # multiply the answer (and its span scores) as many times.
    body = {**coral_analyze_body(ABUSE_EN), "requestedAttributes": {"TOXICITY": {}, "toxicity": {}}}
    error = google_error(analyze(body), 400, "INVALID_ARGUMENT")
    assert error["message"] == "Attribute TOXICITY is requested twice: TOXICITY, toxicity"
    assert error_type(error) == "INVALID_REQUEST"


def test_unsupported_language_error_names_attribute_and_languages(analyze):
    error = google_error(analyze(coral_analyze_body(PLAIN_EN, "es")), 400, "INVALID_ARGUMENT")
    assert error["details"][0]["languageNotSupportedByAttributeError"] == {
        "requestedLanguages": ["es"],
        "attribute": "TOXICITY",
    }


@pytest.mark.parametrize(
    "raw", [b"{not json", b"[1, 2]", b"\xff\xfe", b'{"comment": {"text": "\\ud800"}}']
)
def test_malformed_json_is_invalid_argument(client, ingest_key, raw):
    response = client.post(
        coral_url("comments:analyze", ingest_key), data=raw, content_type="application/json"
    )
    error = google_error(response, 400, "INVALID_ARGUMENT")
    assert error["message"].startswith("Invalid JSON payload received.")


@pytest.mark.parametrize("operation", ["comments:analyze", "comments:suggestscore"])
def test_oversized_body_is_a_comment_too_long_not_a_quota(client, ingest_key, operation):
    # RESOURCE_EXHAUSTED would tell Google's clients to retry; the comment can never fit.
    body = json.dumps(coral_analyze_body("a" * 270_000))
    response = client.post(
        coral_url(operation, ingest_key), data=body, content_type="application/json"
    )
    error = google_error(response, 400, "INVALID_ARGUMENT")
    limit = client.application.config["MAX_CONTENT_LENGTH"]
    assert error["message"] == f"Comment text too long (the request body is over {limit} bytes)."
    assert error["details"][0]["errorType"] == "COMMENT_TOO_LONG"


@pytest.mark.parametrize("operation", ["comments:analyze", "comments:suggestscore"])
@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
def test_a_body_that_is_not_json_is_415_unimplemented(client, ingest_key, operation, content_type):
    body = json.dumps(coral_analyze_body(PLAIN_EN))
    response = client.post(coral_url(operation, ingest_key), data=body, content_type=content_type)
    error = google_error(response, 415, "UNIMPLEMENTED")
    assert "application/json" in error["message"]


def test_missing_key_is_permission_denied(client):
    response = client.post("/perspective/v1alpha1/comments:analyze", json=coral_analyze_body("hi"))
    error = google_error(response, 403, "PERMISSION_DENIED")
    assert error["message"] == "The request is missing a valid API key."


@pytest.mark.parametrize("operation", ["comments:analyze", "comments:suggestscore"])
def test_unknown_key_in_query_is_invalid_argument_as_google_answers(client, operation):
    response = client.post(coral_url(operation, "mq_not_a_key"), json=coral_analyze_body("hi"))
    error = google_error(response, 400, "INVALID_ARGUMENT")
    assert error["message"] == "API key not valid. Please pass a valid API key."
    assert error["details"][0]["reason"] == "API_KEY_INVALID"


def test_revoked_key_is_refused(analyze, services, ingest_key):
    services.api_keys.revoke(ingest_key)
    error = google_error(analyze(coral_analyze_body(PLAIN_EN)), 400, "INVALID_ARGUMENT")
    assert error["message"] == "API key not valid. Please pass a valid API key."
    assert "revoked" in error["details"][0]["metadata"]["detail"]


def test_bearer_key_works_and_a_bad_one_is_unauthenticated(client, ingest_key):
    path = "/perspective/v1alpha1/comments:analyze"
    good = client.post(
        path, json=coral_analyze_body(PLAIN_EN), headers={"Authorization": f"Bearer {ingest_key}"}
    )
    assert coral_score(good) < 0.5
    bad = client.post(
        path, json=coral_analyze_body(PLAIN_EN), headers={"Authorization": "Bearer mq_wrong"}
    )
    google_error(bad, 401, "UNAUTHENTICATED")
    basic = client.post(
        path, json=coral_analyze_body(PLAIN_EN), headers={"Authorization": "Basic dXNlcjpwdw=="}
    )
    google_error(basic, 401, "UNAUTHENTICATED")


def test_moderator_key_is_permission_denied(analyze, moderator_key):
    error = google_error(
        analyze(coral_analyze_body(PLAIN_EN), key=moderator_key), 403, "PERMISSION_DENIED"
    )
    assert "ingest" in error["message"]


def test_unknown_perspective_method_is_404_not_found(client, ingest_key):
    google_error(client.post(coral_url("comments:classify", ingest_key), json={}), 404, "NOT_FOUND")
    google_error(client.get("/perspective/v1alpha1"), 404, "NOT_FOUND")


@pytest.mark.parametrize("operation", ["comments:analyze", "comments:suggestscore"])
@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE"])
def test_a_method_other_than_post_is_405_unimplemented(client, ingest_key, operation, method):
    response = client.open(coral_url(operation, ingest_key), method=method)
    error = google_error(response, 405, "UNIMPLEMENTED")
    assert error["message"] == f"{method} is not allowed; {operation} takes POST."
    assert response.headers["Allow"] == "POST"


@pytest.mark.parametrize(
    ("http_status", "grpc_status"),
    [
        # Codes whose HTTP mapping in google/rpc/code.proto is the status.
        (400, "INVALID_ARGUMENT"),
        (401, "UNAUTHENTICATED"),
        (403, "PERMISSION_DENIED"),
        (404, "NOT_FOUND"),
        (409, "ABORTED"),
        (429, "RESOURCE_EXHAUSTED"),
        (500, "INTERNAL"),
        (501, "UNIMPLEMENTED"),
        (503, "UNAVAILABLE"),
        (504, "DEADLINE_EXCEEDED"),
        # No code maps to these; see _GRPC_STATUS in service/perspective.py for the choices.
        (405, "UNIMPLEMENTED"),
        (413, "RESOURCE_EXHAUSTED"),
        (415, "UNIMPLEMENTED"),
        (418, "UNKNOWN"),
    ],
)
def test_error_status_name_goes_with_the_http_status(http_status, grpc_status):
    error = PerspectiveError(http_status, "message")
    assert (error.http_status, error.status) == (http_status, grpc_status)


def test_modq_api_keeps_its_own_error_shape(client):
    body = client.get("/v1/no-such-thing").get_json()
    assert body["error"]["code"] == "not_found"


def test_redis_outage_is_unavailable_not_500(scorer):
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = Settings(
        redis_url=f"redis://127.0.0.1:{port}/0", cache_seconds=0, redis_timeout_seconds=0.2
    )
    client = create_app(settings, scorer=scorer).test_client()
    response = client.post(coral_url("comments:analyze", "mq_any"), json=coral_analyze_body("hi"))
    google_error(response, 503, "UNAVAILABLE")
    assert response.headers["Retry-After"]


# --- comments:suggestscore ------------------------------------------------------------------


def examples(services) -> dict[str, dict]:
    """Feedback examples by the platform's comment id (kept as ``perspective:<id>``)."""
    return {
        example["comment_id"].removeprefix("perspective:"): example
        for example in services.labels.iter("demo")
        if example["comment_id"] and example["comment_id"].startswith("perspective:")
    }


@pytest.mark.parametrize(("status", "abuse"), [("DELETED", 1), ("APPROVED", 0)])
def test_coral_feedback_becomes_a_labeled_example(suggest, services, status, abuse):
    response = suggest(coral_suggest_body(ABUSE_EN, "c-100", status))
    assert response.status_code == 200
    assert response.get_json() == {"clientToken": "comment:c-100"}  # what Coral checks
    example = examples(services)["c-100"]
    assert example["comment_id"] == "perspective:c-100"
    assert example["labels"] == {"abuse": abuse}  # a rejection may be spam: left unknown
    assert example["source"] == "perspective_feedback"
    assert example["site"] == "demo" and example["text"] == ABUSE_EN
    assert example["community_id"] == "Coral:https://news.example"
    assert example["language"] == "en"
    assert set(example["model_scores"]) == {"spam", "abuse"} and example["model_version"]
    assert example["decided_at"].endswith("Z")


def test_later_feedback_on_a_comment_replaces_the_earlier(suggest, services):
    suggest(coral_suggest_body(PLAIN_KO, "c-7", "DELETED"))
    suggest(coral_suggest_body(PLAIN_KO, "c-7", "APPROVED"))
    assert services.labels.count("demo") == 1
    assert examples(services)["c-7"]["labels"]["abuse"] == 0
    assert examples(services)["c-7"]["language"] == "ko"


@pytest.mark.parametrize(("decision", "abuse"), [("DELETED", 1), ("APPROVED", 0)])
def test_older_coral_feedback_naming_the_decision_is_understood(suggest, services, decision, abuse):
    body = coral_suggest_body(ABUSE_EN, "c-old", "DELETED")
    body["attributeScores"] = {decision: {"summaryScore": {"value": 1}}}
    body["languages"] = ["EN"]
    assert suggest(body).get_json() == {"clientToken": "comment:c-old"}
    assert examples(services)["c-old"]["labels"]["abuse"] == abuse


def test_spam_feedback_labels_spam(suggest, services):
    body = coral_suggest_body(SPAM_EN, "c-spam", "DELETED", model="SPAM")
    suggest(body)
    assert examples(services)["c-spam"]["labels"] == {"spam": 1}  # SPAM says nothing of abuse


def test_perspective_docs_feedback_example_without_coral_token(suggest, services):
    body = {
        "comment": {
            "text": "I guess it comes down a simple choice: Get busy living, or get busy dying."
        },
        "attributeScores": {"TOXICITY": {"summaryScore": {"value": 0}}},
        "communityId": "/forum/movies",
        "clientToken": "comment-53922",
    }
    assert suggest(body).get_json() == {"clientToken": "comment-53922"}
    (example,) = services.labels.iter("demo")
    assert example["comment_id"] is None and example["labels"]["abuse"] == 0


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {**coral_suggest_body(PLAIN_EN, "c1", "DELETED"), "attributeScores": {}},
            "Missing attribute_scores",
        ),
        (
            {
                **coral_suggest_body(PLAIN_EN, "c1", "DELETED"),
                "attributeScores": {"FLIRTATION": {"summaryScore": {"value": 1}}},
            },
            "Unknown requested attribute: FLIRTATION",
        ),
        (
            {
                **coral_suggest_body(PLAIN_EN, "c1", "DELETED"),
                "attributeScores": {"TOXICITY": {"summaryScore": {"value": "high"}}},
            },
            "Invalid value at 'attributeScores.TOXICITY.summaryScore.value' (TYPE_FLOAT), \"high\"",
        ),
        (coral_suggest_body("", "c1", "DELETED"), "Comment must be non-empty."),
        (
            {
                **coral_suggest_body(PLAIN_EN, "c1", "DELETED"),
                "attributeScores": {"TOXICITY": {"summaryScore": {"value": 5}}},
            },
            "Invalid value at 'attributeScores.TOXICITY.summaryScore.value' (TYPE_FLOAT), 5: "
            "a score is from 0 to 1",
        ),
        (
            {
                **coral_suggest_body(PLAIN_EN, "c1", "DELETED"),
                "attributeScores": {"SPAM": {"summaryScore": {"value": -0.25}}},
            },
            "Invalid value at 'attributeScores.SPAM.summaryScore.value' (TYPE_FLOAT), -0.25: "
            "a score is from 0 to 1",
        ),
        (
            {
                **coral_suggest_body(PLAIN_EN, "c1", "DELETED"),
                "attributeScores": {
                    "INSULT": {
                        "summaryScore": {"value": 1},
                        "spanScores": [{"begin": 0, "end": 4, "score": {"value": 1.5}}],
                    }
                },
            },
            "Invalid value at 'attributeScores.INSULT.spanScores[0].score.value' (TYPE_FLOAT), "
            "1.5: a score is from 0 to 1",
        ),
    ],
)
def test_invalid_feedback_is_refused_and_not_kept(suggest, services, body, message):
    error = google_error(suggest(body), 400, "INVALID_ARGUMENT")
    assert error["message"] == message
    assert services.labels.count("demo") == 0


def test_feedback_needs_an_ingest_key(client, services, moderator_key):
    body = coral_suggest_body(PLAIN_EN, "c1", "APPROVED")
    google_error(
        client.post("/perspective/v1alpha1/comments:suggestscore", json=body),
        403,
        "PERMISSION_DENIED",
    )
    google_error(
        client.post(coral_url("comments:suggestscore", moderator_key), json=body),
        403,
        "PERMISSION_DENIED",
    )
    assert services.labels.count("demo") == 0


@pytest.mark.parametrize("value", [0, 1, 0.5, 1.0])
def test_feedback_scores_at_the_ends_of_the_range_are_kept(suggest, services, value):
    body = coral_suggest_body(PLAIN_EN, "c-edge", "DELETED")
    body["attributeScores"] = {"TOXICITY": {"summaryScore": {"value": value}}}
    assert suggest(body).status_code == 200
    assert examples(services)["c-edge"]["labels"]["abuse"] == int(value >= 0.5)


# --- rate limits ----------------------------------------------------------------------------


def perspective_call(client, ingest_key, operation: str, n: int, **kwargs):
    """The ``n``-th call of ``operation`` as Coral sends it (a new comment id each time)."""
    body = (
        coral_analyze_body(PLAIN_EN)
        if operation == "comments:analyze"
        else coral_suggest_body(PLAIN_EN, f"c-{n}", "APPROVED")
    )
    return client.post(coral_url(operation, ingest_key), json=body, **kwargs)


@pytest.mark.parametrize("operation", ["comments:analyze", "comments:suggestscore"])
def test_key_rate_limit_is_429_resource_exhausted_with_retry_after(
    client, ingest_key, services, operation
):
    services.sites.update("demo", rate_limits={"key": "2/minute"})
    statuses = [perspective_call(client, ingest_key, operation, n).status_code for n in range(2)]
    assert statuses == [200, 200]
    examples_before = services.labels.count("demo")
    response = perspective_call(client, ingest_key, operation, 2)
    error = google_error(response, 429, "RESOURCE_EXHAUSTED")
    retry_after = int(response.headers["Retry-After"])
    assert 1 <= retry_after <= 60
    assert "2/minute per key" in error["message"]
    assert error["details"] == [
        {
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": "RATE_LIMIT_EXCEEDED",
            "domain": "modq",
        },
        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": f"{retry_after}s"},
    ]
    assert services.labels.count("demo") == examples_before  # a refused suggestion is not kept


@pytest.mark.parametrize("operation", ["comments:analyze", "comments:suggestscore"])
def test_address_rate_limit_counts_each_client_address(client, ingest_key, services, operation):
    services.sites.update("demo", rate_limits={"address": "1/minute"})

    def call(n: int, address: str):
        environ = {"REMOTE_ADDR": address}
        return perspective_call(client, ingest_key, operation, n, environ_overrides=environ)

    assert call(0, "192.0.2.1").status_code == 200
    google_error(call(1, "192.0.2.1"), 429, "RESOURCE_EXHAUSTED")
    assert call(2, "192.0.2.2").status_code == 200


def test_perspective_calls_and_intake_share_the_keys_allowance(client, ingest_key, services):
    services.sites.update("demo", rate_limits={"key": "3/minute"})
    headers = {"Authorization": f"Bearer {ingest_key}"}
    assert client.post("/v1/comments", json={"id": "i1", "text": PLAIN_EN}, headers=headers)
    assert perspective_call(client, ingest_key, "comments:analyze", 0).status_code == 200
    assert perspective_call(client, ingest_key, "comments:suggestscore", 1).status_code == 200
    google_error(
        perspective_call(client, ingest_key, "comments:analyze", 2), 429, "RESOURCE_EXHAUSTED"
    )
    response = client.post("/v1/comments", json={"id": "i2", "text": PLAIN_EN}, headers=headers)
    assert response.status_code == 429


def test_invalid_calls_use_none_of_the_allowance(analyze, services):
    services.sites.update("demo", rate_limits={"key": "1/minute"})
    for _ in range(3):
        google_error(analyze(coral_analyze_body("")), 400, "INVALID_ARGUMENT")
    assert analyze(coral_analyze_body(PLAIN_EN)).status_code == 200


@pytest.fixture
def openapi(client) -> dict:
    return client.get("/v1/openapi.json").get_json()


@pytest.mark.parametrize("operation", ["comments:analyze", "comments:suggestscore"])
def test_openapi_document_describes_the_perspective_methods(openapi, operation):
    post = openapi["paths"][f"/perspective/v1alpha1/{operation}"]["post"]
    responses = post["responses"]
    assert {"200", "400", "401", "403", "404", "405", "415", "429", "503"} <= set(responses)
    assert "413" not in responses  # an over-size body is a COMMENT_TOO_LONG 400
    assert "COMMENT_TOO_LONG" in responses["400"]["description"]
    assert "Allow" in responses["405"]["headers"]
    assert "Retry-After" in responses["429"]["headers"]
    for status, grpc in [
        ("404", "NOT_FOUND"),
        ("405", "UNIMPLEMENTED"),
        ("429", "RESOURCE_EXHAUSTED"),
    ]:
        assert responses[status]["description"].startswith(grpc)


@pytest.mark.parametrize("operation", ["comments:analyze", "comments:suggestscore"])
def test_openapi_document_says_a_key_is_required_in_the_query_or_a_bearer_header(
    openapi, operation
):
    # An empty requirement ({}) would say anonymous calls are allowed; they get 403.
    post = openapi["paths"][f"/perspective/v1alpha1/{operation}"]["post"]
    assert post["security"] == [
        {"bearer": []},
        {"perspectiveKey": []},
        {"perspectiveKeyHeader": []},
    ]
    scheme = openapi["components"]["securitySchemes"]["perspectiveKey"]
    assert (scheme["type"], scheme["in"], scheme["name"]) == ("apiKey", "query", "key")
    header = openapi["components"]["securitySchemes"]["perspectiveKeyHeader"]
    assert (header["type"], header["in"], header["name"]) == ("apiKey", "header", "X-Goog-Api-Key")
    # The key is described once, by the scheme, not again as a parameter.
    assert not any(p["name"] == "key" for p in post.get("parameters", []))


def test_openapi_languages_admit_the_codes_the_service_scores(openapi, analyze):
    analyze_body = openapi["paths"]["/perspective/v1alpha1/comments:analyze"]["post"]["requestBody"]
    schema = analyze_body["content"]["application/json"]["schema"]["properties"]["languages"]
    assert "enum" not in schema["items"]
    validator = jsonschema_rs.Draft202012Validator(schema)
    for code in ("en", "ko", "EN", "Ko", "en-US", "en_GB", "ko-KR"):
        assert validator.is_valid([code]), code
        assert analyze(coral_analyze_body(PLAIN_EN, code)).status_code == 200, code
    for code in ("fr", "es-ES", "eng", "kor", "", "e"):
        assert not validator.is_valid([code]), code


def test_a_client_built_by_googles_library_from_the_discovery_document_calls_modq(
    server, ingest_key
):
    # Perspective's own Python sample, with only discoveryServiceUrl changed.
    client = discovery.build(
        "commentanalyzer",
        "v1alpha1",
        developerKey=ingest_key,
        discoveryServiceUrl=f"{server}/perspective/$discovery/rest?version=v1alpha1",
        static_discovery=False,
        cache_discovery=False,
    )
    comments = client.comments()

    def toxicity(text: str) -> float:
        body = {"comment": {"text": text}, "requestedAttributes": {"TOXICITY": {}}}
        answer = comments.analyze(body=body).execute()
        assert answer["detectedLanguages"] == ["en"]
        return answer["attributeScores"]["TOXICITY"]["summaryScore"]["value"]

    assert (
        toxicity("You are a pathetic idiot, shut up")
        > 0.5
        > toxicity("Thanks for the thorough reporting on the council vote.")
    )
    suggestion = {
        "comment": {"text": "Go back where you came from, loser"},
        "attributeScores": {"TOXICITY": {"summaryScore": {"value": 1}}},
        "clientToken": "comment:c-17",
    }
    assert comments.suggestscore(body=suggestion).execute() == {"clientToken": "comment:c-17"}
    with pytest.raises(HttpError) as refused:
        comments.analyze(body={"comment": {"text": "hi"}, "requestedAttributes": {}}).execute()
    assert refused.value.status_code == 400


def test_the_discovery_document_roots_the_methods_at_the_address_asked(client):
    document = client.get(
        "/perspective/$discovery/rest?version=v1alpha1", base_url="https://modq.example.org"
    ).get_json()
    assert document["rootUrl"] == "https://modq.example.org/perspective/"
    methods = document["resources"]["comments"]["methods"]
    assert {name: method["path"] for name, method in methods.items()} == {
        "analyze": "v1alpha1/comments:analyze",
        "suggestscore": "v1alpha1/comments:suggestscore",
    }
    assert client.get("/perspective/$discovery/rest").get_json() == {
        **document,
        "rootUrl": "http://localhost/perspective/",
        "baseUrl": "http://localhost/perspective/",
    }


def test_a_discovery_document_of_another_version_is_404_not_found(client):
    response = client.get("/perspective/$discovery/rest?version=v1")
    error = google_error(response, 404, "NOT_FOUND")
    assert "v1alpha1" in error["message"]
