"""Security: secrets never logged, comment text only at debug, keys and moderators confined to their
role and site through every endpoint, model files verified, the audit log append-only.

The route tests enumerate ``app.url_map``, so an endpoint added later is covered without a change
here: if it takes a site or a comment id, it must not open another site's data.
"""

from __future__ import annotations

import io
import json
import logging
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from model.artifact import MANIFEST, WEIGHTS, ModelFileError
from model.scorer import DEFAULT_MODEL_DIR, load_model
from service.cli import main
from service.logs import JsonFormatter
from service.moderation_api import get_moderation
from tests.moderation_support import csrf_of, log_in_with_form, review_everything

PASSWORD = "tr0ub4dor & 3 staples"
OTHER_TEXT = "OTHER-SITE-PRIVATE comment about the harbour"
SKIPPED_METHODS = {"HEAD", "OPTIONS"}


@pytest.fixture
def log_lines():
    """Every log record of every logger, at every level, formatted as the service writes it."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield stream
    root.removeHandler(handler)
    root.setLevel(previous)


def log_in(client, email: str, password: str = PASSWORD):
    return log_in_with_form(client, email, password)


# --- secrets and comment text in logs -----------------------------------------------------------


def test_keys_and_passwords_are_never_logged(app, client, services, site, redis_server, log_lines):
    runner = CliRunner()
    env = {"MODQ_REDIS_URL": redis_server.url}
    created = runner.invoke(
        main,
        ["keys", "create", "--site", "demo", "--role", "ingest"],
        env=env,
        catch_exceptions=False,
    )
    cli_key = created.output.strip().splitlines()[-1]
    moderator = runner.invoke(
        main,
        ["moderators", "create", "cli@example.org", "--site", "demo", "--generate-password"],
        env=env,
        catch_exceptions=False,
    )
    cli_password = moderator.output.strip().splitlines()[-1]
    with app.app_context():
        get_moderation().moderators.create("mod@example.org", PASSWORD, ["demo"])
    moderator_key = services.api_keys.create("demo", "moderator")[1]
    revoked = services.api_keys.create("demo", "ingest")[1]
    services.api_keys.revoke(revoked)

    bearer = {"Authorization": f"Bearer {cli_key}"}
    client.post("/v1/comments", json={"id": "c1", "text": "hello"}, headers=bearer)
    client.post("/v1/comments", data=b"{broken", headers=bearer)
    client.post(
        "/v1/comments",
        json={"id": "c2", "text": "hi"},
        headers={"Authorization": f"Bearer {revoked}"},
    )
    client.post(
        f"/perspective/v1alpha1/comments:analyze?key={cli_key}",
        json={"comment": {"text": "hello"}, "requestedAttributes": {"TOXICITY": {}}},
    )
    client.get("/v1/sites/demo/queue", headers={"Authorization": f"Bearer {moderator_key}"})
    log_in(client, "mod@example.org", "wrong password")
    log_in(client, "mod@example.org")
    log_in(app.test_client(), "cli@example.org", cli_password)

    logged = log_lines.getvalue()
    assert logged  # the requests above were logged
    for secret in (cli_key, moderator_key, revoked, PASSWORD, cli_password):
        assert secret not in logged
    # Nor their stored hashes' inputs in another form, e.g. the key without its prefix.
    assert cli_key.split("_", 1)[1] not in logged


def test_comment_text_is_not_logged_above_debug(client, ingest, services, log_lines):
    logging.getLogger().setLevel(logging.INFO)
    text = "Distinctive words: periwinkle xylophone"
    services.sites.update("demo", review_thresholds={"spam": 0.0, "abuse": 0.0})
    assert ingest({"id": "t1", "text": text}).status_code == 200
    ingest({"id": "t2", "text": text + " " + "x" * 300})  # 422 too long
    ingest({"id": "t3", "text": text}, path="/v1/comments/batch")  # 400 wrong shape
    ingest({"comments": [{"id": "t4", "text": text}, {"id": 5}]}, path="/v1/comments/batch")
    logged = log_lines.getvalue()
    paths = [json.loads(line).get("path") for line in logged.splitlines()]
    assert "/v1/comments" in paths
    assert "periwinkle" not in logged


# --- roles and sites, endpoint by endpoint ------------------------------------------------------


def api_routes(app):
    """(rule, method) for every endpoint of the app, HEAD and OPTIONS aside."""
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        for method in sorted(rule.methods - SKIPPED_METHODS):
            yield rule, method


def url_of(app, rule, **values) -> str:
    from flask import url_for

    with app.test_request_context():
        return url_for(rule.endpoint, **{k: v for k, v in values.items() if k in rule.arguments})


def write_body(comment_id: str) -> dict:
    """A body every write endpoint would act on, aimed at ``comment_id``."""
    return {
        "decision": "approve",
        "comment_id": comment_id,
        "id": comment_id,
        "decisions": [{"comment_id": comment_id, "decision": "approve"}],
        "ids": ["all"],
        "limit": 50,
        "reporter_id": "reader-9",
        "reason": "spam",
        "overturn": True,
        "labels": ["spam"],
    }


def test_an_ingest_key_reaches_no_moderator_endpoint(app, client, ingest_key, ingest, services):
    review_everything(services)
    ingest({"id": "c1", "text": "hello"})
    checked = 0
    for rule, method in api_routes(app):
        if "site_name" not in rule.arguments:
            continue
        url = url_of(app, rule, site_name="demo", comment_id="c1")
        response = client.open(
            url,
            method=method,
            json=write_body("c1"),
            headers={"Authorization": f"Bearer {ingest_key}"},
        )
        checked += 1
        if rule.rule.startswith("/v1/"):
            assert response.status_code == 403, (method, url, response.status_code)
        else:  # the web UI takes sessions only: a bearer key is not logged in
            assert response.status_code in (302, 401, 403), (method, url, response.status_code)
            assert response.status_code != 302 or "/ui/login" in response.headers["Location"]
    assert checked >= 10
    assert services.comments.get("demo", "c1")["status"] == "pending_review"


@pytest.fixture
def two_sites(app, services, site):
    """Sites demo and other, each with pending comments; ``shared`` is an id both sites use."""
    services.sites.create("other")
    review_everything(services, "demo")
    review_everything(services, "other")
    demo_key = services.api_keys.create("demo", "ingest")[1]
    other_key = services.api_keys.create("other", "ingest")[1]
    client = app.test_client()
    for key, prefix, text in ((demo_key, "a", "demo comment"), (other_key, "b", OTHER_TEXT)):
        for comment_id in (f"{prefix}0", f"{prefix}1", "shared"):
            response = client.post(
                "/v1/comments",
                json={"id": comment_id, "text": f"{text} {comment_id}", "author": {"id": "u1"}},
                headers={"Authorization": f"Bearer {key}"},
            )
            assert response.status_code == 200
    client.post(
        "/v1/comments/b1/reports",
        json={"reporter_id": "r1", "reason": "spam"},
        headers={"Authorization": f"Bearer {other_key}"},
    )
    with app.app_context():
        get_moderation().moderators.create("mod@example.org", PASSWORD, ["demo"])
    return {
        "demo_ingest": demo_key,
        "demo_moderator": services.api_keys.create("demo", "moderator")[1],
    }


def other_site_state(redis_client) -> dict:
    """Every key of site ``other`` and its serialized value."""
    return {key: redis_client.dump(key) for key in redis_client.scan_iter(match="modq:{other}:*")}


def callers(app, two_sites):
    """Clients acting as site demo's ingest key, moderator key and logged-in moderator."""
    for name in ("demo_ingest", "demo_moderator"):
        yield name, app.test_client(), {"Authorization": f"Bearer {two_sites[name]}"}
    session = app.test_client()
    assert log_in(session, "mod@example.org").status_code == 302
    token = csrf_of(session.get("/ui/sites/demo/queue").get_data(as_text=True))
    yield "demo_session", session, {"X-CSRF-Token": token}


def test_no_endpoint_opens_another_sites_comments(app, two_sites, redis_client):
    """Site demo's keys and moderator, on every endpoint that takes a site or a comment id, aimed at
    site other or at its comments: refused or not found, never other's text, nothing changed."""
    before = other_site_state(redis_client)
    assert before
    checked = []
    for caller, client, headers in callers(app, two_sites):
        for rule, method in api_routes(app):
            arguments = rule.arguments & {"site_name", "comment_id"}
            if not arguments:
                continue
            targets = [{"site_name": "other", "comment_id": "b1"}]
            if "site_name" in arguments:
                # The caller's own site, with other's comment id in the path or the body.
                targets.append({"site_name": "demo", "comment_id": "b1"})
            if "comment_id" in arguments:
                targets.append({"site_name": "other", "comment_id": "shared"})
            for values in targets:
                url = url_of(app, rule, **values)
                body = write_body(values["comment_id"])
                if rule.rule.startswith("/ui/"):
                    form = {
                        "csrf_token": headers.get("X-CSRF-Token", ""),
                        "one": f"approve|{values['comment_id']}",
                        "bulk": "approve",
                        "selected": [values["comment_id"]],
                    }
                    response = client.open(url, method=method, data=form, headers=headers)
                else:
                    response = client.open(url, method=method, json=body, headers=headers)
                where = (caller, method, url, response.status_code)
                text = response.get_data(as_text=True)
                assert OTHER_TEXT not in text, where
                refused = (302, 401, 403, 404, 405)
                own_site = values["site_name"] == "demo" and "comment_id" not in arguments
                if "site_name" not in arguments and values["comment_id"] == "shared":
                    # Without a site in the path, the id means the caller's own comment (which
                    # DELETE withdraws: 204).
                    assert response.status_code in (*refused, 200, 204), where
                    body_json = response.get_json(silent=True) or {}
                    assert body_json.get("site", "demo") == "demo", where
                elif own_site:
                    # An endpoint of the caller's own site, other's id only in the body: it may
                    # answer (a bulk result of per-item errors, a page), but about demo only.
                    assert response.status_code < 500, where
                else:
                    assert response.status_code in refused, where
                    if response.status_code == 302:
                        assert "/ui/login" in response.headers["Location"], where
                checked.append(where)
    assert len(checked) >= 30
    assert other_site_state(redis_client) == before


def test_the_shared_id_on_ones_own_site_is_ones_own_comment(app, two_sites):
    client = app.test_client()
    own = client.get(
        "/v1/comments/shared", headers={"Authorization": f"Bearer {two_sites['demo_ingest']}"}
    )
    assert own.status_code == 200 and own.get_json()["site"] == "demo"
    items = client.get(
        "/v1/sites/demo/queue", headers={"Authorization": f"Bearer {two_sites['demo_moderator']}"}
    )
    texts = [item["text"] for item in items.get_json()["items"]]
    assert "demo comment shared" in texts and not any(OTHER_TEXT in t for t in texts)


# --- the audit log ------------------------------------------------------------------------------


def test_no_route_edits_or_deletes_audit_entries(app):
    for rule in app.url_map.iter_rules():
        assert not rule.methods & {"DELETE", "PUT", "PATCH"} or "audit" not in rule.rule, rule
        if "audit" in rule.rule:
            assert rule.methods <= {"GET", "HEAD", "OPTIONS"}, rule


def test_decisions_and_undo_only_add_audit_entries(
    client, ingest, services, moderator_key, redis_client
):
    review_everything(services)
    ingest({"id": "c1", "text": "hello"})
    headers = {"Authorization": f"Bearer {moderator_key}"}
    audit = services.keys.audit("demo")
    decided = client.post(
        "/v1/sites/demo/queue/c1/decision", json={"decision": "reject"}, headers=headers
    )
    assert decided.status_code == 200
    first = redis_client.xrange(audit)
    assert client.post("/v1/sites/demo/queue/c1/undo", headers=headers).status_code == 200
    after = redis_client.xrange(audit)
    assert after[: len(first)] == first and len(after) == len(first) + 1


# --- model files --------------------------------------------------------------------------------


@pytest.fixture
def model_copy(tmp_path) -> Path:
    folder = tmp_path / "model"
    shutil.copytree(DEFAULT_MODEL_DIR, folder)
    return folder


def test_the_untouched_copy_loads(model_copy):
    assert load_model(model_copy).version


def test_a_tampered_weights_file_is_refused(model_copy):
    weights = model_copy / WEIGHTS
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0x01
    weights.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="does not match the sha256"):
        load_model(model_copy)


def test_a_pickled_array_is_refused_even_with_a_matching_hash(model_copy):
    """A model whose manifest was rewritten to match a weights file that needs unpickling."""
    import hashlib

    with np.load(model_copy / WEIGHTS, allow_pickle=False) as npz:
        arrays = {key: npz[key] for key in npz.files}
    arrays["coef"] = np.array([{"evil": True}], dtype=object)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    (model_copy / WEIGHTS).write_bytes(buffer.getvalue())
    manifest = json.loads((model_copy / MANIFEST).read_text())
    manifest["files"][WEIGHTS] = hashlib.sha256(buffer.getvalue()).hexdigest()
    (model_copy / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(ModelFileError, match="cannot be decoded"):
        load_model(model_copy)


@pytest.mark.parametrize(
    "change", [{"format": "sklearn-pickle"}, {"format_version": 99}, {"files": {}}]
)
def test_an_unknown_model_format_is_refused(model_copy, change):
    manifest = json.loads((model_copy / MANIFEST).read_text())
    (model_copy / MANIFEST).write_text(json.dumps({**manifest, **change}))
    with pytest.raises(ModelFileError):
        load_model(model_copy)


def test_modq_score_with_a_tampered_model_says_so_in_one_line(model_copy):
    (model_copy / "vocabulary.json.gz").write_bytes(b"not the vocabulary")
    result = CliRunner().invoke(
        main,
        ["score"],
        input='{"id": "1", "text": "hi"}\n',
        env={"MODQ_MODEL_PATH": str(model_copy)},
    )
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert "does not match the sha256" in result.output
