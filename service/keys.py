"""Every Redis key the service uses, built in one place.

All keys live under one prefix (``modq`` by default). Keys that belong to one site carry the site
name as a hash tag (``modq:{site}:...``), so that every multi-key operation touches keys of a single
site and the service runs unchanged against Redis Cluster. Keys that are global (the site index and
the API key table) are only ever used one at a time.
"""

from __future__ import annotations

import re

SITE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


def as_text(value: bytes | str | None) -> str | None:
    """A Redis reply (bytes, as the clients here return them) as text."""
    return value.decode() if isinstance(value, bytes) else value


MODEL_VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class RedisKeys:
    """Builds Redis key names under one prefix.

    :param prefix: the namespace for every key, without a trailing colon.
    """

    def __init__(self, prefix: str = "modq") -> None:
        if not prefix or ":" in prefix or "{" in prefix or "}" in prefix:
            raise ValueError(f"invalid Redis key prefix {prefix!r}")
        self.prefix = prefix

    def _site(self, site: str, kind: str) -> str:
        if not SITE_NAME.match(site):
            raise ValueError(f"invalid site name {site!r}")
        return f"{self.prefix}:{{{site}}}:{kind}"

    # Global keys: each is read or written alone.
    def sites(self) -> str:
        """Set of all site names."""
        return f"{self.prefix}:sites"

    def api_key(self, key_hash: str) -> str:
        """JSON record of one API key, found by the SHA-256 of the key."""
        return f"{self.prefix}:apikey:{key_hash}"

    def rate_limit_prefix(self) -> str:
        """Prefix under which the ``limits`` library keeps its rate-limit counters."""
        return f"{self.prefix}:ratelimit"

    def api_key_index(self) -> str:
        """Hash of key id to key hash, for listing and revoking by id."""
        return f"{self.prefix}:apikeys"

    # Per-site keys, all in the site's hash slot.
    def site_config(self, site: str) -> str:
        """JSON document with the site's limits, thresholds and word lists."""
        return self._site(site, "config")

    def comment(self, site: str, comment_id: str) -> str:
        """JSON record of one comment: text, scores, decision, status."""
        return self._site(site, f"comment:{comment_id}")

    def queue(self, site: str) -> str:
        """Sorted set of comment ids pending review, scored by urgency (higher first)."""
        return self._site(site, "queue")

    def queue_since(self, site: str) -> str:
        """Sorted set of the same pending ids, scored by when each entered the queue (unix time)."""
        return self._site(site, "queue-since")

    def campaigns(self, site: str, slot: int) -> str:
        """Hash of text fingerprint to the number of comments posted with it in one time slot."""
        return self._site(site, f"campaigns:{slot}")

    def leases(self, site: str) -> str:
        """Sorted set of claimed comment ids, scored by lease expiry (unix seconds)."""
        return self._site(site, "leases")

    def audit(self, site: str) -> str:
        """Stream of moderator decisions, append-only."""
        return self._site(site, "audit")

    def labels(self, site: str) -> str:
        """Hash of example id to its latest labeled example: a comment id (a moderator's
        decision), ``perspective:<id>`` (a Perspective client's feedback) or ``text:<hash>``."""
        return self._site(site, "labels")

    def label_salt(self, site: str) -> str:
        """Random salt that author ids are hashed with before they enter labeled examples."""
        return self._site(site, "label-salt")

    # Moderation. Global keys first, each read or written alone.
    def moderator(self, email: str) -> str:
        """JSON record of one moderator account, by lower-cased email."""
        return f"{self.prefix}:moderator:{email}"

    def moderators(self) -> str:
        """Set of every moderator email."""
        return f"{self.prefix}:moderators"

    def session_secret(self) -> str:
        """The web sessions' signing key, made on first start when ``MODQ_SECRET_KEY`` is unset."""
        return f"{self.prefix}:session-secret"

    def web_session(self, session_hash: str) -> str:
        """The email of a moderator's live web session, by the SHA-256 of its id; gone at logout."""
        return f"{self.prefix}:web-session:{session_hash}"

    def login_failures(self, scope: str) -> str:
        """Counter of recent failed logins for one email or client address (``email:...``)."""
        return f"{self.prefix}:login-failures:{scope}"

    def queue_page(self, site: str, moderator: str) -> str:
        """The token of the queue page a moderator opened last on a site (its leases' owner)."""
        return self._site(site, f"queue-page:{moderator}")

    def lease_holders(self, site: str) -> str:
        """Hash of leased comment id to the moderator holding the lease (beside ``leases``)."""
        return self._site(site, "lease-holders")

    def undo(self, site: str, comment_id: str) -> str:
        """The state before a moderator's latest decision on a comment, kept for a few seconds."""
        return self._site(site, f"undo:{comment_id}")

    def decision_count(self, site: str, minute: int) -> str:
        """Counter of decisions made in one minute (unix time // 60), expiring after two hours."""
        return self._site(site, f"decisions:{minute}")

    def reports(self, site: str, comment_id: str) -> str:
        """Hash of reader id to their report (JSON) of one comment; a reader counts once."""
        return self._site(site, f"reports:{comment_id}")

    def author(self, site: str, author_id: str) -> str:
        """Hash of counters of one author's history on the site (decisions, reports)."""
        return self._site(site, f"author:{author_id}")

    def webhook_events(self, site: str) -> str:
        """Hash of event id to a webhook delivery awaiting (re)delivery (JSON)."""
        return self._site(site, "webhook-events")

    def webhook_due(self, site: str) -> str:
        """Sorted set of event ids scored by the unix time of their next delivery attempt."""
        return self._site(site, "webhook-due")

    def webhook_held(self, site: str) -> str:
        """Hash of comment id to whose turn it is among the comment's undelivered events (JSON):
        one comment's events are delivered in the order they were made."""
        return self._site(site, "webhook-held")

    def webhook_dead(self, site: str) -> str:
        """Hash of event id to a delivery that failed every attempt (JSON), until replayed."""
        return self._site(site, "webhook-dead")

    # Model registry. Global keys, each read or written alone; a model's files
    # are a few MB and every host loads them from here.
    def models(self) -> str:
        """Sorted set of registered model versions, scored by registration time (unix seconds)."""
        return f"{self.prefix}:models"

    def model(self, version: str) -> str:
        """Hash of one registered model: its files (bytes) and registration metadata."""
        if not MODEL_VERSION.match(version):
            raise ValueError(f"invalid model version {version!r}")
        return f"{self.prefix}:model:{version}"

    def model_assignments(self) -> str:
        """Hash of site name (``*``: every site) to its active model version; what servers poll."""
        return f"{self.prefix}:model-assignments"

    def model_history(self, site: str | None = None) -> str:
        """List of promoted versions, newest first (the head is active); per site or global."""
        if site is None:
            return f"{self.prefix}:model-history"
        return self._site(site, "model-history")
