"""Sites: the news sites that send comments, each with its own limits, thresholds and word lists."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import redis

from model.campaigns import DEFAULT_CAMPAIGN_COPIES
from service.keys import SITE_NAME, RedisKeys
from service.ratelimits import SCOPES as RATE_LIMIT_SCOPES
from service.ratelimits import check_limit_text

CATEGORIES = ("spam", "abuse")
DEFAULT_MAX_LENGTH = 250
DEFAULT_REVIEW = {"spam": 0.5, "abuse": 0.5}
DEFAULT_REJECT = {"spam": 0.9, "abuse": 0.9}
DEFAULT_RETENTION_DAYS = 90


class SiteError(ValueError):
    """A site name or setting is invalid, or the site does not exist."""


def utcnow() -> str:
    """The current time as ISO-8601 UTC with a ``Z`` suffix."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Site:
    """One news site's moderation settings."""

    name: str
    max_length: int = DEFAULT_MAX_LENGTH
    review_thresholds: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_REVIEW))
    reject_thresholds: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_REJECT))
    banned_words: tuple[str, ...] = ()
    suspect_words: tuple[str, ...] = ()
    rate_limits: dict[str, str] = field(default_factory=dict)
    created_at: str = ""
    # Where moderator decisions are posted, and the key they are signed with.
    webhook_url: str | None = None
    webhook_secret: str | None = None
    # How long a comment's record (and so its queue entry) is kept.
    retention_days: int = DEFAULT_RETENTION_DAYS
    # Copies of one text within the campaign window from which it counts as spam; 0 is off.
    campaign_copies: int = DEFAULT_CAMPAIGN_COPIES

    @property
    def retention_seconds(self) -> int:
        return self.retention_days * 86_400

    def validate(self) -> None:
        """Check the settings are consistent.

        :raise SiteError: with a message naming the bad setting.
        """
        if not SITE_NAME.match(self.name):
            raise SiteError(
                f"site name {self.name!r} must be 1-63 lowercase letters, digits, '-' or '_'"
            )
        if not 1 <= self.max_length <= 100_000:
            raise SiteError(f"max length must be between 1 and 100000, got {self.max_length}")
        if not 1 <= self.retention_days <= 3650:
            raise SiteError(f"retention must be 1 to 3650 days, got {self.retention_days}")
        for kind, thresholds in (
            ("review", self.review_thresholds),
            ("reject", self.reject_thresholds),
        ):
            for category, value in thresholds.items():
                if category not in CATEGORIES:
                    raise SiteError(
                        f"unknown category {category!r} in {kind} threshold; "
                        f"use one of {', '.join(CATEGORIES)}"
                    )
                if not 0.0 <= value <= 1.0:
                    raise SiteError(f"{kind} threshold {category}={value} must be within 0..1")
        if self.campaign_copies != 0 and not 2 <= self.campaign_copies <= 1000:
            raise SiteError(
                f"campaign copies must be 0 (off) or 2 to 1000, got {self.campaign_copies}"
            )
        for scope, text in self.rate_limits.items():
            if scope not in RATE_LIMIT_SCOPES:
                raise SiteError(
                    f"unknown rate limit scope {scope!r}; use one of {', '.join(RATE_LIMIT_SCOPES)}"
                )
            try:
                check_limit_text(text)
            except ValueError as error:
                raise SiteError(str(error)) from None
        for category in CATEGORIES:
            if self.review_thresholds[category] > self.reject_thresholds[category]:
                raise SiteError(
                    f"review threshold for {category} ({self.review_thresholds[category]}) "
                    f"is above its reject threshold ({self.reject_thresholds[category]})"
                )

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, raw: str | bytes) -> Site:
        data = json.loads(raw)
        data["banned_words"] = tuple(data.get("banned_words", ()))
        data["suspect_words"] = tuple(data.get("suspect_words", ()))
        known = cls.__dataclass_fields__
        return cls(**{k: v for k, v in data.items() if k in known})

    def public(self) -> dict:
        """The settings as shown by ``modq sites show`` and the API; the webhook secret is masked."""
        settings = asdict(self)
        if settings.get("webhook_secret"):
            settings["webhook_secret"] = "(set)"
        return settings


def changed(site: Site, changes: dict[str, Any]) -> Site:
    """``site`` with the given settings changed; None leaves a setting as it is.

    Thresholds and rate limits are merged into the current ones (an empty limit removes that
    scope's limit); word lists are replaced; an empty webhook URL or secret clears it.

    :raise SiteError: an unknown setting, or the result is invalid.
    """
    unknown = set(changes) - _SETTINGS
    if unknown:
        raise SiteError(f"unknown site setting(s): {', '.join(sorted(unknown))}")
    updates: dict[str, Any] = {}
    for name, value in changes.items():
        if value is None:
            continue
        if name in ("review_thresholds", "reject_thresholds"):
            value = {**getattr(site, name), **value}
        elif name == "rate_limits":
            value = {k: v for k, v in {**site.rate_limits, **value}.items() if v}
        elif name in ("banned_words", "suspect_words"):
            value = tuple(value)
        elif name in ("webhook_url", "webhook_secret"):
            value = value or None
        updates[name] = value
    result = replace(site, **updates)
    result.validate()
    return result


# Settings a site can be created or updated with: every field but its identity.
_SETTINGS = frozenset(Site.__dataclass_fields__) - {"name", "created_at"}


class SiteStore:
    """Reads and writes site settings in Redis.

    :param connection: a Redis client.
    :param keys: the key builder.
    """

    def __init__(self, connection: redis.Redis, keys: RedisKeys) -> None:
        self.connection = connection
        self.keys = keys

    def get(self, name: str) -> Site | None:
        """The site called ``name``, or None."""
        if not SITE_NAME.match(name):
            return None
        raw = self.connection.get(self.keys.site_config(name))
        return Site.from_json(raw) if raw is not None else None

    def require(self, name: str) -> Site:
        """The site called ``name``.

        :raise SiteError: there is no such site.
        """
        site = self.get(name)
        if site is None:
            raise SiteError(f"no site called {name!r}; create it with `modq sites create {name}`")
        return site

    def create(self, name: str, **settings: Any) -> Site:
        """Create a site; settings not given (see :class:`Site`) take their defaults.

        :raise SiteError: the name is taken or a setting is invalid.
        """
        site = changed(Site(name=name, created_at=utcnow()), settings)
        if not self.connection.set(self.keys.site_config(name), site.to_json(), nx=True):
            raise SiteError(f"site {name!r} already exists; change it with `modq sites update`")
        self.connection.sadd(self.keys.sites(), name)
        return site

    def update(self, name: str, **settings: Any) -> Site:
        """Change the given settings of an existing site (see :func:`changed`), keeping the others.

        :raise SiteError: no such site, or a setting is invalid.
        """
        site = changed(self.require(name), settings)
        self.connection.set(self.keys.site_config(name), site.to_json())
        return site

    def names(self) -> list[str]:
        """All site names, sorted."""
        return sorted(
            n.decode() if isinstance(n, bytes) else n
            for n in self.connection.smembers(self.keys.sites())
        )
