"""Configuration from environment variables, read only when the app or a command starts."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
# One comment with its fields fits many times over in 64 KiB. A full batch (100 comments of
# 250 characters) must fit even when its client writes every character as an escape, as
# json.dumps does by default: 6 bytes for a Hangul syllable (\uXXXX), 12 for an emoji outside
# the Basic Multilingual Plane (a surrogate pair), so 300,000 bytes of text plus ids and fields.
DEFAULT_MAX_BODY_BYTES = 64 * 1024
DEFAULT_MAX_BATCH_BODY_BYTES = 320 * 1024
# A dead or hanging Redis holds a request this long per connect or read, so the request still
# answers 503 well within gunicorn's 30-second worker timeout.
DEFAULT_REDIS_TIMEOUT_SECONDS = 2.0


class ConfigError(Exception):
    """An environment variable holds a value the service cannot use."""


def _int(environ: Mapping[str, str], name: str, default: int, minimum: int = 1) -> int:
    raw = environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    return value


def _positive_seconds(environ: Mapping[str, str], name: str, default: float) -> float:
    raw = (environ.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    # ``not value > 0`` also refuses NaN; an infinite timeout would be no bound at all.
    if not value > 0 or math.isinf(value):
        raise ConfigError(
            f"{name} must be a positive number of seconds (e.g. 2 or 0.5), got {raw!r}"
        )
    return value


@dataclass(frozen=True)
class Settings:
    """Service settings. Every field maps to one environment variable listed in the README."""

    redis_url: str = DEFAULT_REDIS_URL
    key_prefix: str = "modq"
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    max_batch_body_bytes: int = DEFAULT_MAX_BATCH_BODY_BYTES
    model_path: str | None = None
    log_level: str = "INFO"
    cache_seconds: int = 5
    # Every Redis client's connect and read timeout (main, Cluster, Sentinel, rate limits).
    redis_timeout_seconds: float = DEFAULT_REDIS_TIMEOUT_SECONDS
    redis_cluster: bool = False
    # Moderators' web sessions and webhook delivery.
    secret_key: str | None = None
    session_cookie_secure: bool = False
    webhook_delivery: bool = True
    # Proxies in front whose X-Forwarded-For / X-Forwarded-Proto entries are believed (0: none).
    trusted_proxies: int = 0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read settings from the environment (``os.environ`` when not given).

        :raise ConfigError: a variable is set to a value that cannot be used.
        """
        env = os.environ if environ is None else environ
        return cls(
            redis_url=env.get("MODQ_REDIS_URL") or DEFAULT_REDIS_URL,
            key_prefix=env.get("MODQ_KEY_PREFIX") or "modq",
            max_body_bytes=_int(env, "MODQ_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES),
            max_batch_body_bytes=_int(
                env, "MODQ_MAX_BATCH_BODY_BYTES", DEFAULT_MAX_BATCH_BODY_BYTES
            ),
            model_path=env.get("MODQ_MODEL_PATH") or None,
            log_level=(env.get("MODQ_LOG_LEVEL") or "INFO").upper(),
            cache_seconds=_int(env, "MODQ_CACHE_SECONDS", 5, minimum=0),
            redis_timeout_seconds=_positive_seconds(
                env, "MODQ_REDIS_TIMEOUT", DEFAULT_REDIS_TIMEOUT_SECONDS
            ),
            redis_cluster=(env.get("MODQ_REDIS_CLUSTER") or "").lower() in ("1", "true", "yes"),
            secret_key=env.get("MODQ_SECRET_KEY") or None,
            session_cookie_secure=(env.get("MODQ_SESSION_COOKIE_SECURE") or "").lower()
            in ("1", "true", "yes"),
            webhook_delivery=(env.get("MODQ_WEBHOOK_DELIVERY") or "1").lower()
            not in ("0", "false", "no"),
            trusted_proxies=_trusted_proxies(env),
        )


MAX_TRUSTED_PROXIES = 5


def _trusted_proxies(environ: Mapping[str, str]) -> int:
    """How many proxies in front of the service ``MODQ_TRUSTED_PROXIES`` says to trust (0: none).

    Each trusted proxy appends the address it received the request from to ``X-Forwarded-For``;
    the client's address is that many entries from the right. With 0 the header is ignored,
    since any client can send it.

    :raise ConfigError: not a whole number from 0 to ``MAX_TRUSTED_PROXIES``.
    """
    raw = (environ.get("MODQ_TRUSTED_PROXIES") or "0").strip()
    if not raw.isdigit() or int(raw) > MAX_TRUSTED_PROXIES:
        raise ConfigError(
            f"MODQ_TRUSTED_PROXIES must be a number of proxies from 0 to {MAX_TRUSTED_PROXIES}, "
            f"got {raw!r}"
        )
    return int(raw)
