"""API keys: created once and shown once, stored only as a SHA-256 hash.

Keys are 32 random bytes, so a fast hash is enough to make a stolen database useless; the lookup is
by hash, and the stored hash is compared in constant time as well.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import asdict, dataclass

import redis

from service.keys import RedisKeys
from service.sites import utcnow

ROLES = ("ingest", "moderator")
_PREFIX = {"ingest": "mqi_", "moderator": "mqm_"}


class ApiKeyError(ValueError):
    """A key cannot be created or revoked as asked."""


def hash_key(key: str) -> str:
    """The stored form of a key."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class ApiKey:
    """What the service knows of one key (never the key itself)."""

    id: str
    site: str
    role: str
    created_at: str
    key_hash: str
    revoked_at: str | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def public(self) -> dict:
        data = asdict(self)
        del data["key_hash"]
        return data


class ApiKeyStore:
    """Creates, finds and revokes API keys in Redis.

    :param connection: a Redis client.
    :param keys: the key builder.
    """

    def __init__(self, connection: redis.Redis, keys: RedisKeys) -> None:
        self.connection = connection
        self.keys = keys

    def create(self, site: str, role: str) -> tuple[ApiKey, str]:
        """Make a new key for ``site`` with ``role``.

        :return: the stored record and the key itself, which is not kept anywhere.
        :raise ApiKeyError: the role is unknown.
        """
        if role not in ROLES:
            raise ApiKeyError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
        secret = _PREFIX[role] + secrets.token_urlsafe(32)
        record = ApiKey(
            id="key_" + secrets.token_hex(6),
            site=site,
            role=role,
            created_at=utcnow(),
            key_hash=hash_key(secret),
        )
        self.connection.set(self.keys.api_key(record.key_hash), json.dumps(asdict(record)))
        self.connection.hset(self.keys.api_key_index(), record.id, record.key_hash)
        return record, secret

    def find(self, secret: str) -> ApiKey | None:
        """The active or revoked record for a presented key, or None if it is unknown."""
        digest = hash_key(secret)
        raw = self.connection.get(self.keys.api_key(digest))
        if raw is None:
            return None
        record = ApiKey(**json.loads(raw))
        if not hmac.compare_digest(record.key_hash, digest):
            return None
        return record

    def list(self, site: str | None = None) -> list[ApiKey]:
        """Every key (of one site when given), oldest first."""
        hashes = self.connection.hvals(self.keys.api_key_index())
        if not hashes:
            return []
        # One key per record, so they may sit on different cluster nodes: a plain pipeline.
        pipe = self.connection.pipeline(transaction=False)
        for digest in hashes:
            pipe.get(self.keys.api_key(digest.decode()))
        raws = pipe.execute()
        records = [ApiKey(**json.loads(raw)) for raw in raws if raw is not None]
        if site is not None:
            records = [r for r in records if r.site == site]
        return sorted(records, key=lambda r: r.created_at)

    def revoke(self, key_or_id: str) -> ApiKey:
        """Revoke a key given either the key itself or its id.

        :raise ApiKeyError: no such key.
        """
        digest = self.connection.hget(self.keys.api_key_index(), key_or_id)
        digest = digest.decode() if digest is not None else hash_key(key_or_id)
        raw = self.connection.get(self.keys.api_key(digest))
        if raw is None:
            raise ApiKeyError("no such key; `modq keys list` shows key ids")
        record = ApiKey(**json.loads(raw))
        if record.active:
            record = ApiKey(**{**asdict(record), "revoked_at": utcnow()})
            self.connection.set(self.keys.api_key(digest), json.dumps(asdict(record)))
        return record
