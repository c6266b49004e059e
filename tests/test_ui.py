"""The web UI without a browser: login, sessions, CSRF, security headers, escaping, site access."""

from __future__ import annotations

import re

import pytest

from service.moderation_api import get_moderation
from tests.moderation_support import review_everything

PASSWORD = "correct horse battery"


@pytest.fixture
def accounts(app, site, services):
    services.sites.create("other")
    with app.app_context():
        store = get_moderation().moderators
        store.create("demo@example.org", PASSWORD, ["demo"])
        store.create("other@example.org", PASSWORD, ["other"])


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def log_in(client, email="demo@example.org", password=PASSWORD):
    token = csrf_of(client.get("/ui/login").get_data(as_text=True))
    return client.post(
        "/ui/login", data={"email": email, "password": password, "csrf_token": token}
    )


def test_pages_send_security_headers_and_no_inline_script(client, accounts):
    response = client.get("/ui/login")
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert not re.search(r"<script(?![^>]*\bsrc=)", response.get_data(as_text=True))
    assert client.get("/healthz").headers["X-Content-Type-Options"] == "nosniff"


def test_login_sets_a_protected_cookie_and_logout_needs_the_token(client, accounts):
    response = log_in(client)
    assert response.status_code == 302
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    assert client.get("/ui/sites/demo/queue").status_code == 200
    assert client.post("/ui/logout").status_code == 403
    page = client.get("/ui/sites/demo/queue").get_data(as_text=True)
    assert client.post("/ui/logout", data={"csrf_token": csrf_of(page)}).status_code == 302
    assert client.get("/ui/sites/demo/queue").status_code == 302


def test_the_cookie_is_secure_over_tls(app, accounts):
    client = app.test_client()
    token = csrf_of(client.get("/ui/login", base_url="https://localhost").get_data(as_text=True))
    response = client.post(
        "/ui/login",
        base_url="https://localhost",
        data={"email": "demo@example.org", "password": PASSWORD, "csrf_token": token},
    )
    assert "Secure" in response.headers["Set-Cookie"]


def test_login_without_the_form_token_is_refused(client, accounts):
    response = client.post("/ui/login", data={"email": "demo@example.org", "password": PASSWORD})
    assert response.status_code == 403


def test_failed_logins_are_rate_limited(client, accounts):
    for _ in range(5):
        assert log_in(client, password="wrong password!").status_code == 401
    limited = log_in(client)
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) > 0


def test_comment_markup_is_shown_as_text(client, accounts, services, ingest):
    review_everything(services)
    ingest({"id": "x1", "text": '<script>alert(1)</script><img src=x onerror="alert(2)">'})
    log_in(client)
    html = client.get("/ui/sites/demo/queue").get_data(as_text=True)
    text = re.sub(r"</?mark[^>]*>", "", re.search(r'<p class="text"[^>]*>(.*?)</p>', html).group(1))
    assert text.startswith("&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x")
    assert "<img src=x" not in html and "<script>alert" not in html


def test_a_card_lists_a_reason_for_each_score(client, accounts, services, ingest):
    review_everything(services)
    ingest({"id": "r1", "text": "You are an idiot"})
    log_in(client)
    html = client.get("/ui/sites/demo/queue").get_data(as_text=True)
    reasons = re.search(r'<ul class="reasons">(.*?)</ul>', html).group(1)
    assert "<li>abuse: &#34;idiot&#34;</li>" in reasons
    # A low score's reason is shown, quieter than the ones that flagged the comment.
    assert '<li class="quiet">spam: no word or signal stood out</li>' in reasons


def test_a_moderator_reaches_only_their_sites(client, accounts, services, ingest):
    review_everything(services)
    ingest({"id": "x1", "text": "hello"})
    log_in(client, "other@example.org")
    assert client.get("/ui/sites/demo/queue").status_code == 403
    assert client.get("/ui/sites/demo/audit").status_code == 403
    assert client.get("/v1/sites/demo/queue").status_code == 403
    page = client.get("/ui/sites/other/queue").get_data(as_text=True)
    token = csrf_of(page)
    refused = client.post(
        "/v1/sites/demo/queue/x1/decision",
        json={"decision": "approve"},
        headers={"X-CSRF-Token": token},
    )
    assert refused.status_code == 403
    assert services.comments.get("demo", "x1")["status"] == "pending_review"


def test_session_writes_to_the_api_need_the_csrf_header(client, accounts, services, ingest):
    review_everything(services)
    ingest({"id": "x1", "text": "hello"})
    log_in(client)
    assert (
        client.post("/v1/sites/demo/queue/x1/decision", json={"decision": "approve"}).status_code
        == 403
    )
    token = csrf_of(client.get("/ui/sites/demo/queue").get_data(as_text=True))
    accepted = client.post(
        "/v1/sites/demo/queue/x1/decision",
        json={"decision": "approve"},
        headers={"X-CSRF-Token": token},
    )
    assert accepted.status_code == 200
    assert accepted.get_json()["moderator"] == "demo@example.org"


def test_form_buttons_decide_without_javascript(client, accounts, services, ingest):
    review_everything(services)
    for comment_id in ("f1", "f2", "f3"):
        ingest({"id": comment_id, "text": f"comment {comment_id}"})
    log_in(client)
    token = csrf_of(client.get("/ui/sites/demo/queue").get_data(as_text=True))
    client.post("/ui/sites/demo/decide", data={"csrf_token": token, "one": "reject-spam|f1"})
    client.post(
        "/ui/sites/demo/decide",
        data={"csrf_token": token, "bulk": "approve", "selected": ["f2", "f3"]},
    )
    statuses = {c: services.comments.get("demo", c)["status"] for c in ("f1", "f2", "f3")}
    assert statuses == {"f1": "rejected", "f2": "approved", "f3": "approved"}
    html = client.get("/ui/sites/demo/history").get_data(as_text=True)
    assert html.count("demo@example.org</td>") == 3
