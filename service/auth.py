"""Bearer-key authentication for the JSON API."""

from __future__ import annotations

import functools
from collections.abc import Callable

from flask import g, request

from service.apikeys import ApiKey, hash_key
from service.errors import Forbidden, Unauthorized
from service.extensions import get_services
from service.sites import Site


def presented_key() -> str | None:
    """The key in ``Authorization: Bearer <key>``, or None when the header is absent."""
    header = request.headers.get("Authorization")
    if header is None:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise Unauthorized("Authorization header must be 'Bearer <key>'.")
    return value.strip()


def authenticate(secret: str | None, role: str) -> tuple[ApiKey, Site]:
    """The key record and its site for a presented key that has ``role``.

    :raise 401: no key, an unknown key or a revoked key.
    :raise 403: a valid key of another role.
    """
    if not secret:
        raise Unauthorized("Missing API key: send 'Authorization: Bearer <key>'.")
    services = get_services()
    key = services.key_cache.get(hash_key(secret), lambda: services.api_keys.find(secret))
    if key is None:
        raise Unauthorized("Unknown API key.")
    if not key.active:
        raise Unauthorized(f"API key {key.id} was revoked at {key.revoked_at}.")
    if key.role != role:
        raise Forbidden(
            f"This endpoint needs {_with_article(role)} key; key {key.id} is"
            f" {_with_article(key.role)} key."
        )
    site = services.site_cache.get(key.site, lambda: services.sites.get(key.site))
    if site is None:
        raise Unauthorized(
            f"API key {key.id} belongs to site {key.site!r}, which no longer exists."
        )
    return key, site


def require_key(role: str) -> Callable:
    """Decorate a view so it runs only for a bearer key of ``role``; sets ``g.api_key`` and ``g.site``."""

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            g.api_key, g.site = authenticate(presented_key(), role)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def _with_article(role: str) -> str:
    """ "an ingest", "a moderator"."""
    return f"an {role}" if role[0] in "aeiou" else f"a {role}"
