"""Labeled examples: every moderator decision (and feedback a site sends) becomes training data.

One hash per site maps an example id to its JSON example, so a later decision on the same comment
replaces the earlier one and export can stream the whole set with HSCAN. Author ids never enter an
example in the clear: they are hashed with a random per-site salt.

A moderator's decision is kept under the comment's modq id. Feedback from a Perspective client
names the comment by the platform's own id, which is kept as ``perspective:<id>`` (its
``comment_id`` too, so `labels export`, `labels import` and `modq train --labels` all see the two
apart): feedback on a platform's comment ``q1`` never replaces a moderator's decision on modq's
comment ``q1``, nor the other way round.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Iterator

import redis

from service.keys import RedisKeys

LABEL_CATEGORIES = ("spam", "abuse")
PERSPECTIVE_ID_PREFIX = "perspective:"


class LabelStore:
    """Reads and writes a site's labeled examples.

    :param connection: a Redis client.
    :param keys: the key builder.
    """

    def __init__(self, connection: redis.Redis, keys: RedisKeys) -> None:
        self.connection = connection
        self.keys = keys

    def author_hash(self, site: str, author_id: str | None) -> str | None:
        """The salted hash that stands for an author id in labeled examples."""
        if not author_id:
            return None
        key = self.keys.label_salt(site)
        self.connection.set(key, secrets.token_hex(16), nx=True)
        salt = self.connection.get(key)
        salt = salt.decode() if isinstance(salt, bytes) else salt
        return hashlib.sha256(f"{salt}:{author_id}".encode()).hexdigest()[:32]

    @staticmethod
    def example(
        *,
        site: str,
        text: str,
        labels: dict[str, int],
        decided_at: str,
        source: str,
        language: str | None = None,
        comment_id: str | None = None,
        author_hash: str | None = None,
        model_scores: dict[str, float] | None = None,
        model_version: str | None = None,
        community_id: str | None = None,
    ) -> dict:
        """A labeled example in the export format (``labels`` holds 0 or 1 per category).

        Only the categories ``labels`` names are kept: a category a label source says nothing of
        (Perspective feedback on TOXICITY only, a history imported with an abuse column only)
        stays unknown, and training and evaluation leave the example out of that category's head
        instead of counting it as a clean comment. ``community_id`` (the community a platform's
        feedback came from) is kept only when given.
        """
        example = {
            "comment_id": comment_id,
            "site": site,
            "text": text,
            "language": language,
            "labels": {c: int(bool(labels[c])) for c in LABEL_CATEGORIES if c in labels},
            "decided_at": decided_at,
            "source": source,
            "author_hash": author_hash,
            "model_scores": model_scores,
            "model_version": model_version,
        }
        if community_id is not None:
            example["community_id"] = community_id
        return example

    @staticmethod
    def perspective_comment_id(client_id: str) -> str:
        """The ``comment_id`` of a Perspective client's feedback on its comment ``client_id``."""
        return PERSPECTIVE_ID_PREFIX + client_id

    @staticmethod
    def example_id(example: dict) -> str:
        """Where an example is kept: by comment id, else by the hash of its text.

        The id is also what fixes an example in or out of the held-out set
        (``training.evaluate.held_out``), so it must come out the same from a stored example
        and from its exported line; it depends on ``comment_id`` and ``text`` only.
        """
        if example.get("comment_id"):
            return str(example["comment_id"])
        return (
            "text:" + hashlib.sha256(example["text"].encode("utf-8", "surrogatepass")).hexdigest()
        )

    def record(self, example: dict, pipeline: redis.client.Pipeline | None = None) -> None:
        """Keep an example, replacing any earlier one for the same comment."""
        target = pipeline if pipeline is not None else self.connection
        target.hset(
            self.keys.labels(example["site"]),
            self.example_id(example),
            json.dumps(example, ensure_ascii=False, separators=(",", ":")),
        )

    def remove(self, site: str, example_ids: list[str]) -> int:
        """Forget examples; returns how many there were."""
        if not example_ids:
            return 0
        return int(self.connection.hdel(self.keys.labels(site), *example_ids))

    def count(self, site: str) -> int:
        return int(self.connection.hlen(self.keys.labels(site)))

    def iter(self, site: str, since: str | None = None) -> Iterator[dict]:
        """Stream a site's examples (decided at or after ``since``, an ISO-8601 time, when given)."""
        for _, raw in self.connection.hscan_iter(self.keys.labels(site), count=500):
            example = json.loads(raw)
            if since is None or example["decided_at"] >= since:
                yield example
