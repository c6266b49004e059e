"""Moderators' web sessions: the signed session cookie, CSRF tokens and login throttling.

The cookie is signed with ``MODQ_SECRET_KEY``. When that is unset, a random key is made on first
use and kept in Redis (``SET NX``), so sessions survive restarts and work across every worker and
host that shares the Redis; set ``MODQ_SECRET_KEY`` to keep the key out of Redis, and change it to
end every session at once.

The cookie is HttpOnly and SameSite=Lax, and Secure when the request came over TLS (or always,
with ``MODQ_SESSION_COOKIE_SECURE=1``, for a TLS proxy in front). Every form and every JSON write
made with a session carries a CSRF token bound to the session.
"""

from __future__ import annotations

import hmac
import logging
import secrets
import threading
from datetime import timedelta

import redis
from flask import Flask, g, request, session
from flask.sessions import SecureCookieSessionInterface

from service.errors import Forbidden
from service.extensions import get_services
from service.moderators import Moderator, ModeratorStore

log = logging.getLogger(__name__)

CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
LOGIN_WINDOW_SECONDS = 15 * 60
MAX_FAILURES_PER_EMAIL = 5
MAX_FAILURES_PER_ADDRESS = 30


class ModqSessionInterface(SecureCookieSessionInterface):
    """The signed cookie session, with a lazily found key and TLS-aware ``Secure`` flag."""

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def get_signing_serializer(self, app: Flask):
        if not app.secret_key:
            with self._lock:
                if not app.secret_key:
                    try:
                        app.secret_key = _stored_secret(app)
                    except redis.RedisError:
                        return None
        return super().get_signing_serializer(app)

    def open_session(self, app: Flask, request):
        # API callers send no session cookie: an empty session costs them no key lookup or
        # signature check. A login still gets a signed cookie when the session is saved.
        if app.config["SESSION_COOKIE_NAME"] not in request.cookies:
            return self.session_class()
        return super().open_session(app, request)

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"]) or request.is_secure


def _stored_secret(app: Flask) -> str:
    services = app.extensions["modq"]
    key = services.keys.session_secret()
    if services.redis.set(key, secrets.token_urlsafe(48), nx=True):
        log.warning("MODQ_SECRET_KEY is unset: made a session key and stored it in Redis")
    stored = services.redis.get(key)
    return stored.decode() if isinstance(stored, bytes) else stored


def init_app(app: Flask) -> None:
    """Configure the session cookie on ``app``."""
    settings = app.extensions["modq"].settings
    app.secret_key = settings.secret_key
    app.config.update(
        SESSION_COOKIE_NAME="modq_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.session_cookie_secure,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
    )
    app.session_interface = ModqSessionInterface()


def moderator_store() -> ModeratorStore:
    services = get_services()
    return ModeratorStore(services.redis, services.keys)


def current_moderator() -> Moderator | None:
    """The active moderator logged in with this request's session, or None."""
    if "moderator_account" not in g:
        email = session.get("moderator")
        account = moderator_store().get(email) if email else None
        g.moderator_account = account if account is not None and account.active else None
    return g.moderator_account


def log_in(moderator: Moderator) -> None:
    """Start a fresh session for ``moderator`` (a new CSRF token, nothing kept from before)."""
    session.clear()
    session.permanent = True
    session["moderator"] = moderator.email
    session[CSRF_FIELD] = secrets.token_urlsafe(32)
    g.moderator_account = moderator


def log_out() -> None:
    session.clear()
    g.moderator_account = None


def csrf_token() -> str:
    """This session's CSRF token, made on first use."""
    token = session.get(CSRF_FIELD)
    if not token:
        token = secrets.token_urlsafe(32)
        session[CSRF_FIELD] = token
    return token


def check_csrf(presented: str | None = None) -> None:
    """Refuse a write whose CSRF token (form field or header) is not this session's.

    :raise 403: the token is missing or wrong.
    """
    if presented is None:
        presented = request.headers.get(CSRF_HEADER) or request.form.get(CSRF_FIELD)
    expected = session.get(CSRF_FIELD)
    if not expected or not presented or not hmac.compare_digest(str(expected), str(presented)):
        raise Forbidden("Missing or wrong CSRF token; reload the page and try again.", code="csrf")


def client_address() -> str:
    return request.remote_addr or "unknown"


def login_retry_after(email: str) -> int | None:
    """Seconds until another login attempt for ``email`` from this address is allowed, or None."""
    services = get_services()
    keys = [
        services.keys.login_failures(f"email:{email}"),
        services.keys.login_failures(f"address:{client_address()}"),
    ]
    pipe = services.redis.pipeline(transaction=False)
    for key in keys:
        pipe.get(key)
        pipe.ttl(key)
    email_count, email_ttl, address_count, address_ttl = pipe.execute()
    if email_count is not None and int(email_count) >= MAX_FAILURES_PER_EMAIL:
        return max(1, int(email_ttl))
    if address_count is not None and int(address_count) >= MAX_FAILURES_PER_ADDRESS:
        return max(1, int(address_ttl))
    return None


def login_failed(email: str) -> None:
    """Count a failed login against the email and the client address."""
    services = get_services()
    pipe = services.redis.pipeline(transaction=False)
    for scope in (f"email:{email}", f"address:{client_address()}"):
        key = services.keys.login_failures(scope)
        pipe.incr(key)
        pipe.expire(key, LOGIN_WINDOW_SECONDS, nx=True)
    pipe.execute()


def login_succeeded(email: str) -> None:
    services = get_services()
    services.redis.delete(services.keys.login_failures(f"email:{email}"))
