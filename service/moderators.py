"""Moderator accounts: who may log in to the web UI, for which sites, and whether as an admin.

Passwords are kept only as a slow salted hash (scrypt through Werkzeug), so a copy of the database
does not give the passwords away cheaply.
"""

from __future__ import annotations

import functools
import json
import re
import secrets
from dataclasses import asdict, dataclass, replace

import redis
from werkzeug.security import check_password_hash, generate_password_hash

from service.keys import SITE_NAME, RedisKeys
from service.sites import utcnow

EMAIL = re.compile(r"^[^@\s:{}]+@[^@\s:{}]+\.[^@\s:{}]+$")
MIN_PASSWORD_LENGTH = 10
PASSWORD_METHOD = "scrypt:32768:8:1"


class ModeratorError(ValueError):
    """An account cannot be created or changed as asked."""


def normalize_email(email: str) -> str:
    """The form an email is stored and looked up under."""
    return email.strip().lower()


@functools.cache
def _dummy_hash() -> str:
    # Checked when the email is unknown, so a wrong email takes as long as a wrong password.
    return generate_password_hash(secrets.token_hex(16), method=PASSWORD_METHOD)


def generate_password() -> str:
    """A random password for an account created without one."""
    return secrets.token_urlsafe(15)


@dataclass(frozen=True)
class Moderator:
    """One moderator account."""

    email: str
    password_hash: str
    sites: tuple[str, ...] = ()
    admin: bool = False
    created_at: str = ""
    disabled_at: str | None = None

    @property
    def active(self) -> bool:
        return self.disabled_at is None

    @property
    def identity(self) -> str:
        """How the moderator is named in leases and the audit log."""
        return self.email

    def may_moderate(self, site: str) -> bool:
        """Whether the account may see and act on ``site``."""
        return self.active and (self.admin or site in self.sites)

    def public(self) -> dict:
        data = asdict(self)
        del data["password_hash"]
        data["sites"] = list(self.sites)
        return data

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, raw: str | bytes) -> Moderator:
        data = json.loads(raw)
        data["sites"] = tuple(data.get("sites", ()))
        return cls(**data)


class ModeratorStore:
    """Creates, finds, verifies and disables moderator accounts in Redis.

    :param connection: a Redis client.
    :param keys: the key builder.
    """

    def __init__(self, connection: redis.Redis, keys: RedisKeys) -> None:
        self.connection = connection
        self.keys = keys

    def get(self, email: str) -> Moderator | None:
        """The account for ``email``, active or disabled, or None."""
        email = normalize_email(email)
        if not EMAIL.match(email):
            return None
        raw = self.connection.get(self.keys.moderator(email))
        return Moderator.from_json(raw) if raw is not None else None

    def create(self, email: str, password: str, sites: list[str], admin: bool = False) -> Moderator:
        """Create an account.

        :raise ModeratorError: the email is invalid or taken, the password too short, a site
            name invalid, or no site given for a non-admin.
        """
        email = normalize_email(email)
        if not EMAIL.match(email):
            raise ModeratorError(f"{email!r} is not an email address")
        if len(password) < MIN_PASSWORD_LENGTH:
            raise ModeratorError(
                f"the password must have at least {MIN_PASSWORD_LENGTH} characters"
            )
        for site in sites:
            if not SITE_NAME.match(site):
                raise ModeratorError(f"invalid site name {site!r}")
        if not sites and not admin:
            raise ModeratorError("give at least one --site, or --admin for all sites")
        moderator = Moderator(
            email=email,
            password_hash=generate_password_hash(password, method=PASSWORD_METHOD),
            sites=tuple(dict.fromkeys(sites)),
            admin=admin,
            created_at=utcnow(),
        )
        if not self.connection.set(self.keys.moderator(email), moderator.to_json(), nx=True):
            raise ModeratorError(f"a moderator {email} already exists")
        self.connection.sadd(self.keys.moderators(), email)
        return moderator

    def disable(self, email: str) -> Moderator:
        """Disable an account: it can no longer log in, and its open sessions stop working.

        :raise ModeratorError: no such account.
        """
        moderator = self.get(email)
        if moderator is None:
            raise ModeratorError(f"no moderator {normalize_email(email)}")
        if moderator.active:
            moderator = replace(moderator, disabled_at=utcnow())
            self.connection.set(self.keys.moderator(moderator.email), moderator.to_json())
        return moderator

    def verify(self, email: str, password: str) -> Moderator | None:
        """The active account whose email and password these are, or None."""
        moderator = self.get(email)
        if moderator is None:
            check_password_hash(_dummy_hash(), password)
            return None
        if not check_password_hash(moderator.password_hash, password) or not moderator.active:
            return None
        return moderator

    def list(self) -> list[Moderator]:
        """Every account, by email."""
        emails = sorted(
            e.decode() if isinstance(e, bytes) else e
            for e in self.connection.smembers(self.keys.moderators())
        )
        found = (self.get(email) for email in emails)
        return [m for m in found if m is not None]
