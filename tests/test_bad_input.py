"""Hostile and broken input: huge, deeply nested, wrongly typed, non-UTF-8 and NUL-containing
bodies, huge headers and unknown fields. None of it may produce a 5xx, and the API answers in its
JSON error shape.

Bodies are sent to every endpoint that takes one (enumerated from the app's URL map, so endpoints
added later are covered too); huge headers also go to the real gunicorn, which refuses them before
the app sees them.
"""

from __future__ import annotations

import json
import socket

import pytest
import requests
from flask import url_for

from service.localredis import free_port
from tests.moderation_support import queue_comments, review_everything
from tests.test_serve import REPO, modq_process, stop, wait_until_healthy


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def strict_json(response):
    """The body as JSON, refusing NaN and Infinity, which are not JSON."""

    def refuse(name):
        raise ValueError(f"non-JSON constant {name} in response")

    return json.loads(response.get_data(as_text=True), parse_constant=refuse)


def deep(levels: int) -> bytes:
    return b'{"id": "x", "text": ' + b"[" * levels + b"]" * levels + b"}"


BAD_BODIES = {
    "empty": b"",
    "not json": b"this is not json",
    "truncated": b'{"id": "x", "text": "hel',
    "array": b"[]",
    "string": b'"just a string"',
    "number": b"12",
    "null": b"null",
    "non utf-8": b'{"id": "x", "text": "caf\xe9"}',
    "utf-16": '{"id": "x", "text": "hi"}'.encode("utf-16"),
    "nul byte outside strings": b'{"id": "x",\x00 "text": "hi"}',
    "nested 40 deep": deep(40),
    "nested 30000 deep": deep(30_000),
    "wrong types": b'{"id": 5, "text": ["a"], "author": "bob", "metadata": [1], "comments": "x",'
    b' "decision": 7, "limit": "many", "comment": 3, "requestedAttributes": []}',
    "nan and infinity": b'{"id": "x", "text": "hi", "metadata": {"a": NaN, "b": Infinity},'
    b' "limit": NaN, "lease_seconds": 1e999}',
    "huge numbers": b'{"id": "x", "text": "hi", "limit": 1' + b"0" * 5000 + b"}",
    "lone surrogate": b'{"id": "\\ud800", "text": "\\udfff", "author": {"id": "\\ud800"}}',
}


def post_routes(app) -> list[str]:
    """Every URL of the app that takes a POST, with its variables filled in."""
    urls = []
    for rule in app.url_map.iter_rules():
        if "POST" not in rule.methods:
            continue
        values = {name: "demo" if "site" in name else "c0" for name in rule.arguments}
        if "rest" in rule.arguments:
            values["rest"] = "comments:analyze"
        with app.test_request_context():
            urls.append(url_for(rule.endpoint, **values))
    return sorted(set(urls))


@pytest.fixture
def queued(ingest, services):
    review_everything(services)
    queue_comments(ingest, 3)


@pytest.mark.parametrize("name", list(BAD_BODIES))
def test_bad_bodies_never_give_a_5xx_on_any_endpoint(
    app, client, ingest_key, moderator_key, queued, name
):
    body = BAD_BODIES[name]
    urls = post_routes(app)
    assert "/v1/comments" in urls and "/v1/comments/batch" in urls
    for url in urls:
        key = moderator_key if url.startswith("/v1/sites/") else ingest_key
        response = client.post(
            url, data=body, headers={**auth(key), "Content-Type": "application/json"}
        )
        assert response.status_code < 500, (url, response.status_code, response.get_data()[:300])
        if url.startswith(("/v1/", "/perspective/")):
            assert response.is_json, (url, response.get_data()[:200])
            strict_json(response)


@pytest.mark.parametrize(
    ("name", "status"),
    [
        ("empty", 400),
        ("not json", 400),
        ("non utf-8", 400),
        ("utf-16", 400),
        ("nul byte outside strings", 400),
        ("nested 40 deep", 400),
        ("nested 30000 deep", 400),
        ("wrong types", 400),
        ("array", 400),
        ("lone surrogate", 400),
        ("nan and infinity", 400),
    ],
)
def test_intake_refuses_broken_bodies_with_400(client, ingest_key, name, status):
    response = client.post("/v1/comments", data=BAD_BODIES[name], headers=auth(ingest_key))
    assert response.status_code == status
    error = strict_json(response)["error"]
    assert error["code"] == "invalid_request" and error["message"]


@pytest.mark.parametrize(
    ("name", "says"),
    [("huge numbers", "5001 digits"), ("nested 30000 deep", "nested deeper than 32 levels")],
)
def test_errors_about_the_json_itself_speak_of_the_body_not_of_python(
    client, ingest_key, name, says
):
    response = client.post("/v1/comments", data=BAD_BODIES[name], headers=auth(ingest_key))
    assert response.status_code == 400
    message = strict_json(response)["error"]["message"]
    assert says in message
    for internal in ("sys.set_int_max_str_digits", "recursion"):
        assert internal not in message


def test_huge_body_is_413_before_it_is_read(client, ingest_key):
    body = json.dumps({"id": "x", "text": "a" * (10 * 1024 * 1024)})
    response = client.post("/v1/comments", data=body, headers=auth(ingest_key))
    assert response.status_code == 413
    assert strict_json(response)["error"]["code"] == "payload_too_large"


def test_nul_and_control_characters_in_text_are_stripped_not_fatal(ingest, services):
    response = ingest({"id": "nul", "text": "hello\x00 wor\x07ld\x1b[31m"})
    assert response.status_code == 200, response.get_json()
    # The stored comment keeps what the reader sent, NUL included; JSON escapes it.
    assert services.comments.get("demo", "nul")["text"] == "hello\x00 wor\x07ld\x1b[31m"
    only_controls = ingest({"id": "nul2", "text": "\x00\x01\x02"})
    assert only_controls.status_code == 422
    assert only_controls.get_json()["error"]["code"] == "text_empty"


@pytest.mark.parametrize("comment_id", ["a\x00b", "line\nbreak", "\u202eevil", ""])
def test_ids_with_control_characters_are_400(ingest, comment_id):
    response = ingest({"id": comment_id, "text": "fine"})
    assert response.status_code == 400
    assert response.get_json()["error"]["field"] == "id"


def test_nan_in_metadata_is_400_and_never_stored(ingest, client, ingest_key):
    raw = b'{"id": "nan", "text": "hello there", "metadata": {"a": NaN}}'
    response = client.post("/v1/comments", data=raw, headers=auth(ingest_key))
    assert response.status_code == 400
    assert "NaN" in strict_json(response)["error"]["message"]
    assert client.get("/v1/comments/nan", headers=auth(ingest_key)).status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"id": "x", "text": 5}, "text"),
        ({"id": "x", "text": None}, "text"),
        ({"id": ["x"], "text": "t"}, "id"),
        ({"id": "x", "text": "t", "author": ["u"]}, "author"),
        ({"id": "x", "text": "t", "author": {"id": 5}}, "author.id"),
        ({"id": "x", "text": "t", "language": {"en": 1}}, "language"),
        ({"id": "x", "text": "t", "metadata": "m"}, "metadata"),
        ({"id": "x", "text": "t", "metadata": {"k": "v" * 5000}}, "metadata"),
        ({"id": "x" * 257, "text": "t"}, "id"),
        ({"id": "x", "text": True}, "text"),
    ],
)
def test_wrongly_typed_fields_are_400_naming_the_field(ingest, body, field):
    response = ingest(body)
    assert response.status_code == 400
    assert response.get_json()["error"]["field"] == field


def test_batch_items_of_every_wrong_shape_get_their_own_error(ingest):
    comments = [
        {"id": "ok", "text": "Fine comment."},
        None,
        5,
        "text",
        [],
        {"id": "x"},
        {"text": "no id"},
        {"id": "y", "text": {"nested": "no"}},
    ]
    response = ingest({"comments": comments}, path="/v1/comments/batch")
    assert response.status_code == 200
    results = response.get_json()["results"]
    assert len(results) == len(comments)
    assert results[0]["status"] == "approved"
    assert all(r["status_code"] == 400 and r["error"]["code"] for r in results[1:])


def test_unknown_fields_are_ignored_and_not_stored(ingest, services, client, ingest_key):
    response = ingest(
        {
            "id": "u1",
            "text": "Nice piece.",
            "is_admin": True,
            "status": "approved",
            "site": "other",
            "decision": "approve",
            "scores": {"spam": 0},
        }
    )
    assert response.status_code == 200
    body = response.get_json()
    assert body["site"] == "demo"
    stored = services.comments.get("demo", "u1")
    assert "is_admin" not in stored and stored["site"] == "demo"


def test_huge_headers_in_the_app_are_harmless(client, ingest_key):
    response = client.post(
        "/v1/comments",
        json={"id": "h", "text": "fine"},
        headers={**auth(ingest_key), "X-Request-ID": "r" * 100_000, "X-Junk": "j" * 100_000},
    )
    assert response.status_code == 200
    assert len(response.headers["X-Request-ID"]) == 32  # a fresh id, not the caller's 100 KB
    unknown = client.post(
        "/v1/comments",
        json={"id": "h", "text": "fine"},
        headers={"Authorization": "Bearer " + "k" * 100_000},
    )
    assert unknown.status_code == 401


def raw_request(port: int, request: bytes) -> bytes:
    """Send raw bytes to the server and read its whole answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.slow
def test_gunicorn_refuses_huge_headers_before_the_app(redis_server, redis_client, tmp_path):
    """gunicorn's own limits: a header line over 8190 bytes or more than 100 headers is 431, a
    request line over 4094 bytes is 414; the server keeps serving."""
    port = free_port()
    log = tmp_path / "serve.log"
    env = {"PORT": str(port), "MODQ_REDIS_URL": redis_server.url, "WEB_CONCURRENCY": "1",
           "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}  # fmt: skip
    server = modq_process(["serve"], env, REPO, log)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_healthy(server, base, log)
        big_header = raw_request(
            port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 10_000 + b"\r\n\r\n"
        )
        assert big_header.startswith(b"HTTP/1.1 431"), big_header[:200]
        many = b"".join(b"X-H%d: v\r\n" % i for i in range(150))
        many_headers = raw_request(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + many + b"\r\n")
        assert many_headers.startswith(b"HTTP/1.1 431"), many_headers[:200]
        long_line = raw_request(
            port, b"GET /v1/comments/" + b"a" * 5000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"
        )
        assert long_line.startswith(b"HTTP/1.1 414"), long_line[:200]
        # Under the limits, large headers reach the app and get its answer.
        fine = requests.get(f"{base}/healthz", headers={"X-Big": "a" * 8000}, timeout=5)
        assert fine.status_code == 200
        assert stop(server) == 0
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()


# --- abuse: rate limits set from the command line -------------------------------------------


def test_rate_limits_are_set_with_the_command_line_and_enforced(
    redis_server, client, ingest_key, services
):
    from click.testing import CliRunner

    from service.cli import main

    runner = CliRunner()
    env = {"MODQ_REDIS_URL": redis_server.url}
    result = runner.invoke(
        main,
        [
            "sites",
            "update",
            "demo",
            "--rate-limit",
            "key=600/minute",
            "--rate-limit",
            "author=2/minute",
            "--rate-limit",
            "address=30/minute",
        ],
        env=env,
    )
    assert result.exit_code == 0, result.output
    assert services.sites.get("demo").rate_limits == {
        "key": "600/minute",
        "author": "2/minute",
        "address": "30/minute",
    }
    for index in range(2):
        ok = client.post(
            "/v1/comments",
            json={"id": f"r{index}", "text": "hi there", "author": {"id": "spammer"}},
            headers=auth(ingest_key),
        )
        assert ok.status_code == 200
    limited = client.post(
        "/v1/comments",
        headers=auth(ingest_key),
        json={"id": "r9", "text": "hi", "author": {"id": "spammer"}},
    )
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
    assert limited.get_json()["error"]["code"] == "rate_limited"

    # "author=" removes that limit; the others stay.
    cleared = runner.invoke(main, ["sites", "update", "demo", "--rate-limit", "author="], env=env)
    assert cleared.exit_code == 0, cleared.output
    assert services.sites.get("demo").rate_limits == {"key": "600/minute", "address": "30/minute"}
    created = runner.invoke(
        main, ["sites", "create", "brief", "--rate-limit", "key=10/second"], env=env
    )
    assert created.exit_code == 0 and services.sites.get("brief").rate_limits == {
        "key": "10/second"
    }


@pytest.mark.parametrize("option", ["planet=5/minute", "author", "author=lots"])
def test_bad_rate_limit_options_are_usage_errors(redis_server, site, option):
    from click.testing import CliRunner

    from service.cli import main

    result = CliRunner().invoke(
        main,
        ["sites", "update", "demo", "--rate-limit", option],
        env={"MODQ_REDIS_URL": redis_server.url},
    )
    assert result.exit_code == 2
    assert "--rate-limit" in result.output
