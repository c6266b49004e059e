"""The client address behind a TLS proxy: X-Forwarded-For counts only from trusted proxies."""

from __future__ import annotations

import re

import pytest

from service import create_app
from service.config import ConfigError, Settings
from service.moderation_api import get_moderation
from service.sessions import MAX_FAILURES_PER_ADDRESS

PASSWORD = "correct horse battery"


@pytest.fixture
def proxied(settings, scorer, redis_client):
    """The app as deployed behind one TLS proxy (``MODQ_TRUSTED_PROXIES=1``)."""
    app = create_app(settings, scorer=scorer, proxies=1)
    app.config["TESTING"] = True
    return app


def log_in(client, email: str, password: str, forwarded_for: str):
    headers = {"X-Forwarded-For": forwarded_for}
    page = client.get("/ui/login", headers=headers).get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    return client.post(
        "/ui/login",
        data={"email": email, "password": password, "csrf_token": token},
        headers=headers,
    )


def fail_logins_from(client, address: str) -> None:
    # A different email each time, so only the per-address limit is reached.
    for attempt in range(MAX_FAILURES_PER_ADDRESS):
        response = log_in(client, f"guess{attempt}@example.org", "wrong password!", address)
        assert response.status_code == 401


def test_behind_a_trusted_proxy_one_client_cannot_lock_out_the_others(proxied):
    proxied.extensions["modq"].sites.create("demo")
    with proxied.app_context():
        get_moderation().moderators.create("demo@example.org", PASSWORD, ["demo"])
    fail_logins_from(proxied.test_client(), "203.0.113.7")
    attacker = log_in(proxied.test_client(), "demo@example.org", PASSWORD, "203.0.113.7")
    assert attacker.status_code == 429
    moderator = log_in(proxied.test_client(), "demo@example.org", PASSWORD, "198.51.100.20")
    assert moderator.status_code == 302


def test_without_trusted_proxies_x_forwarded_for_cannot_dodge_the_limit(app, site):
    with app.app_context():
        get_moderation().moderators.create("demo@example.org", PASSWORD, ["demo"])
    fail_logins_from(app.test_client(), "203.0.113.7")
    # A client that makes up another address is still the same client.
    spoofed = log_in(app.test_client(), "demo@example.org", PASSWORD, "198.51.100.20")
    assert spoofed.status_code == 429


@pytest.mark.parametrize("proxies, separate", [(1, True), (0, False)])
def test_the_per_address_intake_limit_follows_the_forwarded_address(
    settings, scorer, redis_client, proxies, separate
):
    app = create_app(settings, scorer=scorer, proxies=proxies)
    services = app.extensions["modq"]
    services.sites.create("demo", rate_limits={"address": "1/minute"})
    key = services.api_keys.create("demo", "ingest")[1]
    client = app.test_client()

    def post(comment_id: str, address: str) -> int:
        return client.post(
            "/v1/comments",
            json={"id": comment_id, "text": "Thanks for the article."},
            headers={"Authorization": f"Bearer {key}", "X-Forwarded-For": address},
        ).status_code

    assert post("1", "203.0.113.7") == 200
    assert post("2", "203.0.113.7") == 429
    assert post("3", "198.51.100.20") == (200 if separate else 429)


def test_the_proxy_scheme_makes_the_session_cookie_secure(proxied):
    response = proxied.test_client().get("/ui/login", headers={"X-Forwarded-Proto": "https"})
    assert "Secure" in response.headers["Set-Cookie"]


@pytest.mark.parametrize(
    "value, hops", [(None, 0), ("", 0), ("0", 0), ("1", 1), ("2", 2), (" 1 ", 1)]
)
def test_trusted_proxies_setting(value, hops):
    environ = {} if value is None else {"MODQ_TRUSTED_PROXIES": value}
    assert Settings.from_env(environ).trusted_proxies == hops


@pytest.mark.parametrize("value", ["yes", "-1", "1.5", "99"])
def test_an_unusable_trusted_proxies_setting_is_refused(value):
    with pytest.raises(ConfigError, match="MODQ_TRUSTED_PROXIES"):
        Settings.from_env({"MODQ_TRUSTED_PROXIES": value})
