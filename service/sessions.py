"""Moderators' web sessions: the signed session cookie, CSRF tokens and login throttling.

The cookie is signed with ``MODQ_SECRET_KEY``. When that is unset, a random key is made on first
use and kept in Redis (``SET NX``), so sessions survive restarts and work across every worker and
host that shares the Redis; set ``MODQ_SECRET_KEY`` to keep the key out of Redis, and change it to
end every session at once.

The cookie is HttpOnly and SameSite=Lax, and Secure when the request came over TLS (or always,
with ``MODQ_SESSION_COOKIE_SECURE=1``, for a TLS proxy in front). Every form and every JSON write
made with a session carries a CSRF token bound to the session.

A signed cookie alone stays valid until it expires, wherever it was copied to. So each login also
gets a random session id, kept in Redis (as its SHA-256, holding the moderator's email) for as long
as the cookie lives; a session counts only while its id is there. Logging out deletes it, which ends
that one session on every copy of its cookie and leaves the account's other sessions alone.

Failed logins are counted per email and per client address. Each attempt is counted before its
password is checked, with one atomic ``INCR`` per counter, so parallel guesses each see their own
count and no more than the limit ever reach the (slow) password check.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import threading
import time
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
SESSION_ID_FIELD = "session_id"
SESSION_LIFETIME = timedelta(hours=12)  # since the session's last request
# Since the login, however busy the session: a cookie taken from a moderator's browser and kept
# in use stops working at the latest this long after they logged in.
SESSION_MAX_AGE = timedelta(days=7)
SESSION_STARTED_FIELD = "started"
LOGIN_WINDOW_SECONDS = 15 * 60
# Failed logins within LOGIN_WINDOW_SECONDS: for one email from one address (what guessing
# from one place gets), for one email from anywhere (guessing spread over many addresses), and
# from one address whatever the email. Counting an email's first failures per address means that
# someone who only knows a moderator's email cannot lock them out from their own address: that
# takes MAX_FAILURES_PER_EMAIL failures, more than one address may make.
MAX_FAILURES_PER_EMAIL_AT_ADDRESS = 5
MAX_FAILURES_PER_EMAIL = 50
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
        PERMANENT_SESSION_LIFETIME=SESSION_LIFETIME,
    )
    app.session_interface = ModqSessionInterface()


def moderator_store() -> ModeratorStore:
    services = get_services()
    return ModeratorStore(services.redis, services.keys)


def _session_key(session_id: str) -> str:
    # Only the hash is stored, so reading Redis does not give away cookies' session ids.
    digest = hashlib.sha256(session_id.encode()).hexdigest()
    return get_services().keys.web_session(digest)


def _session_holder(session_id: str) -> str | None:
    """The email whose live session this is, or None once it was logged out or expired.

    Flask signs the cookie afresh on every request, so it lives 12 hours from the last one; the
    stored id is given the same lifetime on each look-up (``GETEX``), so the two end together.
    """
    holder = get_services().redis.getex(_session_key(session_id), ex=SESSION_LIFETIME)
    return holder.decode() if isinstance(holder, bytes) else holder


def _end_session(session_id: str | None) -> None:
    if session_id:
        get_services().redis.delete(_session_key(str(session_id)))


def current_moderator() -> Moderator | None:
    """The active moderator logged in with this request's session, or None.

    None also when the session was logged out (its id is no longer stored) or the account was
    disabled since.
    """
    if "moderator_account" not in g:
        email = session.get("moderator")
        session_id = session.get(SESSION_ID_FIELD)
        account = None
        if email and session_id and _too_old():
            _end_session(str(session_id))
        elif email and session_id and _session_holder(str(session_id)) == email:
            account = moderator_store().get(email)
        g.moderator_account = account if account is not None and account.active else None
    return g.moderator_account


def _too_old() -> bool:
    """Whether this session began more than ``SESSION_MAX_AGE`` ago. A session from before
    sessions recorded their start is given one now."""
    started = session.get(SESSION_STARTED_FIELD)
    if not isinstance(started, int | float):
        session[SESSION_STARTED_FIELD] = time.time()
        return False
    return time.time() - started > SESSION_MAX_AGE.total_seconds()


def log_in(moderator: Moderator) -> None:
    """Start a fresh session for ``moderator`` (a new id and CSRF token, nothing kept from before).

    A session this browser already had is ended first, so its cookie cannot be replayed.
    """
    _end_session(session.get(SESSION_ID_FIELD))
    session.clear()
    session_id = secrets.token_urlsafe(32)
    get_services().redis.set(_session_key(session_id), moderator.email, ex=SESSION_LIFETIME)
    session.permanent = True
    session["moderator"] = moderator.email
    session[SESSION_ID_FIELD] = session_id
    session[SESSION_STARTED_FIELD] = time.time()
    session[CSRF_FIELD] = secrets.token_urlsafe(32)
    g.moderator_account = moderator


def log_out() -> None:
    """End this session on the server, so a copy of its cookie stops working too, and clear it."""
    _end_session(session.get(SESSION_ID_FIELD))
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


# Takes back one counted attempt. A counter that expired meanwhile is left alone: a bare DECR
# would make it anew at -1 with no expiry, a free attempt kept for ever.
_UNCOUNT_SCRIPT = """
if redis.call('EXISTS', KEYS[1]) == 1 then
    return redis.call('DECR', KEYS[1])
end
return 0
"""


def _failure_counters(email: str) -> list[tuple[str, int]]:
    """(key, limit) of the counters a login attempt for ``email`` from here counts in; the
    address's last."""
    keys = get_services().keys
    address = client_address()
    return [
        (keys.login_failures(f"email-at:{address}:{email}"), MAX_FAILURES_PER_EMAIL_AT_ADDRESS),
        (keys.login_failures(f"email:{email}"), MAX_FAILURES_PER_EMAIL),
        (keys.login_failures(f"address:{address}"), MAX_FAILURES_PER_ADDRESS),
    ]


def _uncount(keys: list[str]) -> None:
    connection = get_services().redis
    uncount = connection.register_script(_UNCOUNT_SCRIPT)
    for key in keys:
        uncount(keys=[key])


def count_login_attempt(email: str) -> int | None:
    """Count a login attempt for ``email`` from this address, before its password is checked.

    The attempt counts as a failure until :func:`login_succeeded` takes it back. An attempt over
    either limit is refused and not counted, so retrying a locked email does not use up the
    address's allowance.

    :return: seconds until another attempt may be made when this one is refused, else None.
    """
    counters = _failure_counters(email)
    pipe = get_services().redis.pipeline(transaction=False)
    for key, _ in counters:
        pipe.incr(key)
        pipe.expire(key, LOGIN_WINDOW_SECONDS, nx=True)
        pipe.ttl(key)
    replies = pipe.execute()
    for index, (_, limit) in enumerate(counters):
        count, ttl = replies[3 * index], replies[3 * index + 2]
        if int(count) > limit:
            _uncount([key for key, _ in counters])
            return max(1, int(ttl))
    return None


def login_succeeded(email: str) -> None:
    """Clear the email's failures and take back this attempt from the address's count."""
    *email_keys, address_key = (key for key, _ in _failure_counters(email))
    get_services().redis.delete(*email_keys)
    _uncount([address_key])
