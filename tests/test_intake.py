"""POST /v1/comments and friends, against a real Redis and the shipped model."""

import json

import pytest

SPAM_EN = "Check out my channel!!! subscribe for FREE iPhone giveaway http://bit.ly/xyz123"
ABUSE_EN = "You are a stupid idiot and a worthless piece of garbage, shut up moron"
PLAIN_EN = "The council should publish the budget before the vote next week."
ABUSE_KO = "이 미친 개새끼야 닥쳐 병신아"
PLAIN_KO = "오늘 기사 잘 읽었습니다. 좋은 정보 감사합니다."


def auth(key):
    return {"Authorization": f"Bearer {key}"}


def error_of(response):
    body = response.get_json()
    assert set(body) == {"error"}, body
    assert {"code", "message"} <= set(body["error"])
    return body["error"]


def test_plain_comment_is_approved_with_full_result(ingest):
    response = ingest(
        {"id": "c1", "text": PLAIN_EN, "article_id": "a1", "author": {"id": "u1", "name": "Ann"}}
    )
    assert response.status_code == 200
    body = response.get_json()
    assert body["id"] == "c1" and body["site"] == "demo"
    assert body["decision"] == "approve" and body["status"] == "approved"
    assert set(body["scores"]) == {"spam", "abuse"}
    assert all(0.0 <= p <= 1.0 for p in body["scores"].values())
    assert isinstance(body["reasons"], list)
    assert body["model_version"]
    assert body["language"] == "en"


@pytest.mark.parametrize(
    ("text", "category"), [(SPAM_EN, "spam"), (ABUSE_EN, "abuse"), (ABUSE_KO, "abuse")]
)
def test_bad_comments_are_held_with_reasons(ingest, text, category):
    body = ingest({"id": "bad", "text": text}).get_json()
    assert body["decision"] in ("review", "reject")
    assert body["scores"][category] >= 0.5
    assert any(r.startswith(category) for r in body["reasons"]), body["reasons"]


def test_every_score_of_a_clean_comment_has_a_reason(ingest):
    body = ingest({"id": "clean", "text": "Thanks for the article, very informative."}).get_json()
    assert body["decision"] == "approve"
    for category in body["scores"]:
        assert any(r.startswith(f"{category}: ") for r in body["reasons"]), body["reasons"]


def test_review_comment_is_queued_atomically_with_its_result(ingest, site, services, redis_client):
    services.sites.update(
        "demo",
        review_thresholds={"abuse": 0.01, "spam": 0.01},
        reject_thresholds={"abuse": 1.0, "spam": 1.0},
    )
    body = ingest({"id": "q1", "text": PLAIN_KO}).get_json()
    assert body["status"] == "pending_review"
    assert services.comments.queue_ids("demo") == ["q1"]
    stored = json.loads(redis_client.get(services.keys.comment("demo", "q1")))
    assert stored["status"] == "pending_review" and stored["text"] == PLAIN_KO
    assert {"scores", "reasons", "received_at", "model_version", "language"} <= set(stored)


def test_stored_highlights_carry_terms_and_signal_evidence(ingest, redis_client, services):
    text = "FREE money!!! call 010-1234-5678 now, you idiot"
    ingest({"id": "hl1", "text": text})
    stored = json.loads(redis_client.get(services.keys.comment("demo", "hl1")))
    marks = stored["highlights"]
    assert {m["kind"] for m in marks} == {"term", "signal"}
    phrase = [m for m in marks if m.get("signal") == "promotional phrase"]
    assert phrase and phrase[0]["category"] == "spam" and phrase[0]["text"] == "FREE money"
    # Evidence that is a term already ("idiot", and its profanity signal) is marked once.
    assert len([m for m in marks if m["text"] == "idiot"]) == 1
    assert "010-1234-5678" in {m["text"] for m in marks}
    assert all(m["text"] in text for m in marks)


def test_same_id_same_text_is_idempotent(ingest, services):
    services.sites.update(
        "demo",
        review_thresholds={"abuse": 0.0, "spam": 0.0},
        reject_thresholds={"abuse": 1.0, "spam": 1.0},
    )
    first = ingest({"id": "r1", "text": ABUSE_EN}).get_json()
    second = ingest({"id": "r1", "text": ABUSE_EN}).get_json()
    assert first == second
    assert services.comments.queue_ids("demo") == ["r1"]


def test_same_id_new_text_is_an_edit_with_one_queue_entry(ingest, services):
    services.sites.update(
        "demo",
        review_thresholds={"abuse": 0.3, "spam": 0.3},
        reject_thresholds={"abuse": 1.0, "spam": 1.0},
    )
    first = ingest({"id": "e1", "text": ABUSE_EN}).get_json()
    assert first["status"] == "pending_review"
    edited = ingest({"id": "e1", "text": ABUSE_EN + " really"}).get_json()
    assert edited["status"] == "pending_review"
    assert services.comments.queue_ids("demo") == ["e1"]
    cleaned = ingest({"id": "e1", "text": PLAIN_EN}).get_json()
    assert cleaned["status"] == "approved"
    assert services.comments.queue_ids("demo") == []


def test_get_returns_stored_result(ingest, client, ingest_key):
    created = ingest({"id": "g/1", "text": PLAIN_EN}).get_json()
    fetched = client.get("/v1/comments/g/1", headers=auth(ingest_key))
    assert fetched.status_code == 200
    body = fetched.get_json()
    assert {k: body[k] for k in created} == created
    missing = client.get("/v1/comments/nope", headers=auth(ingest_key))
    assert missing.status_code == 404
    assert "nope" in error_of(missing)["message"]


def test_batch_scores_each_in_order_and_reports_bad_items(ingest, services):
    comments = [{"id": f"b{i}", "text": t} for i, t in enumerate([PLAIN_EN, SPAM_EN, PLAIN_KO])]
    comments.insert(1, {"id": "bad", "text": ""})
    comments.append({"text": "no id"})
    response = ingest({"comments": comments}, path="/v1/comments/batch")
    assert response.status_code == 200
    results = response.get_json()["results"]
    assert [r.get("id") for r in results] == ["b0", "bad", "b1", "b2", None]
    assert results[1]["error"]["code"] == "text_empty" and results[1]["status_code"] == 422
    assert results[4]["error"]["field"] == "comments[4].id"
    assert results[2]["scores"]["spam"] > results[0]["scores"]["spam"]
    again = ingest({"comments": comments[:1]}, path="/v1/comments/batch").get_json()["results"]
    assert again[0] == results[0]


def test_an_id_twice_in_one_batch_is_refused_after_its_first(ingest, services):
    comments = [
        {"id": "d1", "text": PLAIN_EN},
        {"id": "d2", "text": PLAIN_KO},
        {"id": "d1", "text": SPAM_EN},
        {"id": "d1", "text": PLAIN_EN},
    ]
    results = ingest({"comments": comments}, path="/v1/comments/batch").get_json()["results"]
    assert [r.get("status_code") for r in results] == [None, None, 400, 400]
    assert results[2]["id"] == "d1" and results[2]["error"]["code"] == "duplicate_id"
    assert results[2]["error"]["field"] == "comments[2].id"
    assert "comments[0]" in results[2]["error"]["message"]
    assert services.comments.get("demo", "d1")["text"] == PLAIN_EN
    # Whether the first item was valid or not, a repeat of its id is refused.
    invalid_first = [
        {"id": "d3", "text": PLAIN_EN, "language": "!!"},
        {"id": "d3", "text": PLAIN_EN},
        {"id": "d4", "text": ""},
        {"id": "d4", "text": PLAIN_EN},
    ]
    results = ingest({"comments": invalid_first}, path="/v1/comments/batch").get_json()["results"]
    assert [r["error"]["code"] for r in results] == [
        "invalid_request",
        "duplicate_id",
        "text_empty",
        "duplicate_id",
    ]
    assert services.comments.get("demo", "d3") is None


@pytest.mark.parametrize(
    ("body", "status", "size"),
    [({"comments": []}, 400, 0), ({"comments": "x"}, 400, 0), ({}, 400, 0)],
)
def test_batch_shape_errors(ingest, body, status, size):
    response = ingest(body, path="/v1/comments/batch")
    assert response.status_code == status
    assert "comments" in error_of(response)["message"]


def test_batch_over_100_is_refused(ingest):
    comments = [{"id": str(i), "text": "hi"} for i in range(101)]
    response = ingest({"comments": comments}, path="/v1/comments/batch")
    assert response.status_code == 400
    assert "at most 100" in error_of(response)["message"]


# --- authentication and roles ------------------------------------------------------------------


def test_missing_key_is_401(client):
    response = client.post("/v1/comments", json={"id": "1", "text": "hi"})
    assert response.status_code == 401
    assert error_of(response)["code"] == "unauthorized"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("header", ["Bearer mqi_unknown", "Basic abc", "Bearer "])
def test_unknown_or_malformed_key_is_401(client, site, header):
    response = client.post(
        "/v1/comments", json={"id": "1", "text": "hi"}, headers={"Authorization": header}
    )
    assert response.status_code == 401


def test_revoked_key_is_401(ingest, services, ingest_key):
    assert ingest({"id": "1", "text": "hi"}).status_code == 200
    services.api_keys.revoke(ingest_key)
    response = ingest({"id": "2", "text": "hi"})
    assert response.status_code == 401
    assert "revoked" in error_of(response)["message"]


def test_moderator_key_cannot_ingest(ingest, moderator_key):
    response = ingest({"id": "1", "text": "hi"}, key=moderator_key)
    assert response.status_code == 403
    message = error_of(response)["message"]
    assert message.startswith("This endpoint needs an ingest key;")
    assert message.endswith("is a moderator key.")


def test_keys_are_scoped_to_their_site(client, services, ingest_key):
    services.sites.create("other")
    other_key = services.api_keys.create("other", "ingest")[1]
    client.post("/v1/comments", json={"id": "x", "text": PLAIN_EN}, headers=auth(ingest_key))
    response = client.get("/v1/comments/x", headers=auth(other_key))
    assert response.status_code == 404


# --- malformed input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"text": "hi"}, "id"),
        ({"id": "1"}, "text"),
        ({"id": 5, "text": "hi"}, "id"),
        ({"id": "1", "text": ["hi"]}, "text"),
        ({"id": "1", "text": "hi", "author": "bob"}, "author"),
        ({"id": "1", "text": "hi", "author": {"id": 7}}, "author.id"),
        ({"id": "1", "text": "hi", "metadata": [1]}, "metadata"),
        ({"id": "1", "text": "hi", "metadata": {"x": "y" * 3000}}, "metadata"),
        ({"id": "1", "text": "hi", "language": 3}, "language"),
        ({"id": "", "text": "hi"}, "id"),
    ],
)
def test_bad_fields_are_400_naming_the_field(ingest, body, field):
    response = ingest(body)
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "invalid_request"
    assert f"'{field}'" in error["message"]


@pytest.mark.parametrize(
    "raw",
    [b"", b"{not json", b"[1, 2]", b'"text"', b"\xff\xfe{}", b"[" * 100000 + b"]" * 100000],
)
def test_malformed_bodies_are_400(client, ingest_key, raw):
    response = client.post(
        "/v1/comments", data=raw, headers={**auth(ingest_key), "Content-Type": "application/json"}
    )
    assert response.status_code in (400, 413)
    error_of(response)


def test_a_comment_body_over_64_kib_is_413(client, ingest_key):
    body = json.dumps({"id": "1", "text": "a" * (65 * 1024)})
    response = client.post(
        "/v1/comments", data=body, headers={**auth(ingest_key), "Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert "65536" in error_of(response)["message"]


def test_a_batch_body_may_reach_320_kib(client, ingest_key):
    headers = {**auth(ingest_key), "Content-Type": "application/json"}
    padding = " " * (300 * 1024)  # a batch body over 64 KiB but under 320 KiB
    body = json.dumps({"comments": [{"id": "b1", "text": "Thanks for the article"}]}) + padding
    response = client.post("/v1/comments/batch", data=body, headers=headers)
    assert response.status_code == 200, response.get_data()[:300]
    body = json.dumps({"comments": [{"id": "b1", "text": "a" * (321 * 1024)}]})
    response = client.post("/v1/comments/batch", data=body, headers=headers)
    assert response.status_code == 413
    assert "327680" in error_of(response)["message"]


def test_unknown_fields_are_ignored(ingest):
    response = ingest({"id": "1", "text": PLAIN_EN, "colour": "blue"})
    assert response.status_code == 200


@pytest.mark.parametrize("text", ["", "   ", "\n\t ", "\u200b\u200b", "\u00ad"])
def test_empty_text_is_422(ingest, text):
    response = ingest({"id": "1", "text": text})
    assert response.status_code == 422
    assert error_of(response)["code"] == "text_empty"


def test_unknown_path_and_method_are_json(client, ingest_key):
    assert error_of(client.get("/nope"))["code"] == "not_found"
    response = client.delete("/v1/comments", headers=auth(ingest_key))
    assert response.status_code == 405
    assert error_of(response)["code"] == "method_not_allowed"


# --- length limits ----------------------------------------------------------------------------

FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466"
FLAG = "\U0001f1f0\U0001f1f7"


@pytest.mark.parametrize(
    ("unit", "name"),
    [
        ("a", "ascii"),
        ("한", "hangul syllable"),
        ("\u1112\u1161\u11ab", "hangul as conjoining jamo (NFC makes one syllable)"),
        ("e\u0301", "letter with combining mark"),
        ("e\u0301\u0323", "letter with two marks"),
        (FLAG, "flag"),
        (FAMILY, "family emoji joined with ZWJ"),
        ("\U0001f44d\U0001f3fd", "emoji with skin tone"),
    ],
)
def test_250_characters_as_a_reader_sees_them(ingest, unit, name):
    assert ingest({"id": "ok", "text": unit * 250}).status_code == 200, name
    response = ingest({"id": "long", "text": unit * 251})
    assert response.status_code == 422, name
    error = error_of(response)
    assert error["code"] == "text_too_long"
    assert error["limit"] == 250 and error["length"] == 251
    assert "250" in error["message"] and "251" in error["message"]


def test_invisible_characters_do_not_count(ingest):
    text = "a\u200b" * 250 + "\u202e\u00ad\u2060"
    assert ingest({"id": "zw", "text": text}).status_code == 200


def test_a_short_text_padded_with_invisible_characters_or_marks_is_refused(ingest, services):
    for padding in ("\u200b" * 4000, "\u0301" * 4000):
        response = ingest({"id": "pad", "text": "you idiot " + padding})
        assert response.status_code == 422
        error = error_of(response)
        assert error["code"] == "text_too_long" and error["limit"] == 250 * 16
        assert "code points" in error["message"]
    assert services.comments.get("demo", "pad") is None


def test_per_site_length_limit(ingest, services):
    services.sites.update("demo", max_length=10)
    assert ingest({"id": "1", "text": "0123456789"}).status_code == 200
    response = ingest({"id": "2", "text": "0123456789!"})
    assert response.status_code == 422
    assert error_of(response)["limit"] == 10


def test_per_site_thresholds_change_the_decision(ingest, services):
    lenient = ingest({"id": "t1", "text": ABUSE_EN}).get_json()
    services.sites.update(
        "demo", review_thresholds={"abuse": 0.0}, reject_thresholds={"abuse": 0.01}
    )
    strict = ingest({"id": "t2", "text": ABUSE_EN}).get_json()
    assert strict["decision"] == "reject"
    assert lenient["scores"] == strict["scores"]


def test_banned_word_rejects_with_a_reason(ingest, services):
    services.sites.update("demo", banned_words=["zorblax"])
    body = ingest({"id": "w1", "text": "what a Z0RBLAX you are"}).get_json()
    assert body["decision"] == "reject"
    assert 'banned word: "zorblax"' in body["reasons"]


# --- health and documents -----------------------------------------------------------------------


def test_health_endpoints(client, scorer):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz").get_json()
    assert ready["status"] == "ok" and ready["checks"]["model"] == scorer.version


def test_openapi_document_is_served(client):
    document = client.get("/v1/openapi.json").get_json()
    assert document["openapi"].startswith("3.1")
    assert {"/v1/comments", "/v1/comments/batch", "/v1/comments/{comment_id}"} <= set(
        document["paths"]
    )


# --- operations ---------------------------------------------------------------------------------


def test_metrics_count_each_decision_of_a_batch_once(ingest, client, services):
    services.sites.update(
        "demo",
        review_thresholds={"abuse": 0.3, "spam": 0.3},
        reject_thresholds={"abuse": 1.0, "spam": 1.0},
    )
    abusive = [ABUSE_EN, "Shut up, you pathetic idiot."]
    plain = [PLAIN_EN, "Thanks for the clear reporting.", "I disagree with the mayor on this."]
    comments = [{"id": f"a{i}", "text": text} for i, text in enumerate(abusive)]
    comments += [{"id": f"p{i}", "text": text} for i, text in enumerate(plain)]
    ingest({"comments": comments}, path="/v1/comments/batch")
    # A retry is answered from the store and not counted again; an invalid item is not counted.
    retried = [comments[0], comments[2], {"id": "bad"}]
    results = ingest({"comments": retried}, path="/v1/comments/batch").get_json()["results"]
    assert "error" in results[2]
    text = client.get("/metrics").get_data(as_text=True)
    assert 'modq_decisions_total{category="abuse",decision="review",source="model"} 2.0' in text
    assert 'modq_decisions_total{category="none",decision="approve",source="model"} 3.0' in text


def test_request_id_is_echoed_or_made(client):
    given = client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert given.headers["X-Request-ID"] == "abc-123"
    made = client.get("/healthz", headers={"X-Request-ID": "bad id with spaces"})
    assert made.headers["X-Request-ID"] not in ("", "bad id with spaces")


def test_metrics_count_requests_decisions_and_queue(ingest, client, services):
    services.sites.update(
        "demo",
        review_thresholds={"abuse": 0.3, "spam": 0.3},
        reject_thresholds={"abuse": 1.0, "spam": 1.0},
    )
    ingest({"id": "m1", "text": ABUSE_EN})
    ingest({"id": "m2", "text": PLAIN_EN})
    text = client.get("/metrics").get_data(as_text=True)
    assert (
        'modq_http_requests_total{endpoint="comments.create_comment",method="POST",status="200"} 2.0'
        in text
    )
    assert 'modq_decisions_total{category="abuse",decision="review",source="model"} 1.0' in text
    assert 'modq_decisions_total{category="none",decision="approve",source="model"} 1.0' in text
    assert 'modq_queue_depth{site="demo"} 1.0' in text
    assert f'modq_model_info{{version="{services.scorer.version}"}} 1.0' in text


def test_redis_down_is_503_with_retry_after(scorer):
    from service import create_app
    from service.config import Settings
    from service.localredis import free_port

    app = create_app(
        Settings(
            redis_url=f"redis://127.0.0.1:{free_port()}/0",
            cache_seconds=0,
            redis_timeout_seconds=0.5,
        ),
        scorer=scorer,
    )
    client = app.test_client()
    response = client.post(
        "/v1/comments", json={"id": "1", "text": "hi"}, headers={"Authorization": "Bearer mqi_x"}
    )
    assert response.status_code == 503
    assert response.headers["Retry-After"]
    assert error_of(response)["code"] == "storage_unavailable"
    assert client.get("/readyz").status_code == 503
    assert client.get("/healthz").status_code == 200


# --- rate limits --------------------------------------------------------------------------------


def test_rate_limit_per_author_is_429_with_retry_after(ingest, services):
    services.sites.update("demo", rate_limits={"author": "2/minute"})
    author = {"id": "noisy", "name": "N"}
    for i in range(2):
        assert ingest({"id": f"a{i}", "text": PLAIN_EN, "author": author}).status_code == 200
    response = ingest({"id": "a3", "text": PLAIN_EN, "author": author})
    assert response.status_code == 429
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    assert error_of(response)["code"] == "rate_limited"
    other = ingest({"id": "a4", "text": PLAIN_EN, "author": {"id": "quiet"}})
    assert other.status_code == 200


def test_rate_limit_per_key_counts_batch_comments(ingest, services):
    services.sites.update("demo", rate_limits={"key": "3/minute"})
    comments = [{"id": f"k{i}", "text": PLAIN_EN} for i in range(3)]
    assert ingest({"comments": comments}, path="/v1/comments/batch").status_code == 200
    assert ingest({"id": "k9", "text": PLAIN_EN}).status_code == 429


def test_rate_limits_hold_across_app_instances(app, settings, scorer, ingest_key, services):
    from service import create_app

    services.sites.update("demo", rate_limits={"address": "2/minute"})
    other_worker = create_app(settings, scorer=scorer).test_client()
    headers = {"Authorization": f"Bearer {ingest_key}"}
    assert (
        app.test_client()
        .post("/v1/comments", json={"id": "1", "text": "hi"}, headers=headers)
        .status_code
        == 200
    )
    assert (
        other_worker.post(
            "/v1/comments", json={"id": "2", "text": "hi"}, headers=headers
        ).status_code
        == 200
    )
    assert (
        other_worker.post(
            "/v1/comments", json={"id": "3", "text": "hi"}, headers=headers
        ).status_code
        == 429
    )


def test_bad_rate_limits_are_refused(services, site):
    from service.sites import SiteError

    with pytest.raises(SiteError, match="rate limit"):
        services.sites.update("demo", rate_limits={"author": "lots"})
    with pytest.raises(SiteError, match="scope"):
        services.sites.update("demo", rate_limits={"planet": "5/minute"})


def test_a_withdrawn_comment_leaves_the_store_and_the_queue(ingest, client, ingest_key, services):
    services.sites.update("demo", review_thresholds={"abuse": 0.01, "spam": 0.01})
    assert ingest({"id": "w1", "text": PLAIN_EN}).get_json()["status"] == "pending_review"
    assert services.comments.queue_length("demo") == 1
    headers = auth(ingest_key)
    assert client.delete("/v1/comments/w1", headers=headers).status_code == 204
    assert services.comments.queue_length("demo") == 0
    assert client.get("/v1/comments/w1", headers=headers).status_code == 404
    assert error_of(client.delete("/v1/comments/w1", headers=headers))["code"] == "not_found"
    too_long = client.delete(f"/v1/comments/{'x' * 1000}", headers=headers)
    assert error_of(too_long)["code"] == "not_found"
