"""Stored comment results and the review queue they feed, written together atomically.

Each comment is one JSON document under ``comment`` (its text, scores, reasons, decision and status).
A comment whose status is ``pending_review`` is also a member of the site's ``queue`` sorted set,
scored by urgency. Both writes happen in one Lua script, so no reader ever sees a result that says
``pending_review`` without its queue entry, or a queue entry whose result is gone.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass

import redis

from service.keys import RedisKeys

STATUS_FOR_DECISION = {"approve": "approved", "review": "pending_review", "reject": "rejected"}

# Store scored comments of one site, each unless the same id already holds the same text (an
# idempotent retry). A changed text is an edit: the record is replaced and its one queue entry is
# added, re-scored or removed; a lease on the old text ends with it. One call takes a whole batch.
# KEYS: queue, leases, queue-since, then one comment key per record.
# ARGV: time to live in seconds (0 keeps it), now (unix time), then per record: record JSON, text
# hash, queued (1/0), urgency, comment id. Returns, per record, the stored JSON for a retry or
# false for a write.
_STORE_SCRIPT = """
local ttl = tonumber(ARGV[1])
local results = {}
for i = 4, #KEYS do
  local base = 3 + (i - 4) * 5
  local record, hash, queued, urgency, id = ARGV[base], ARGV[base + 1], ARGV[base + 2],
    ARGV[base + 3], ARGV[base + 4]
  local existing = redis.call('GET', KEYS[i])
  local retry = false
  if existing then
    local ok, old = pcall(cjson.decode, existing)
    retry = ok and old['text_sha256'] == hash
  end
  if retry then
    results[#results + 1] = existing
  else
    if ttl > 0 then
      redis.call('SET', KEYS[i], record, 'EX', ttl)
    else
      redis.call('SET', KEYS[i], record)
    end
    redis.call('ZREM', KEYS[2], id)
    if queued == '1' then
      redis.call('ZADD', KEYS[1], urgency, id)
      redis.call('ZADD', KEYS[3], 'NX', ARGV[2], id)
    else
      redis.call('ZREM', KEYS[1], id)
      redis.call('ZREM', KEYS[3], id)
    end
    results[#results + 1] = false
  end
end
return results
"""


def text_hash(text: str) -> str:
    """The fingerprint that tells a retry (same text) from an edit (new text)."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class StoreOutcome:
    """The record now stored for a comment, and whether this call wrote it."""

    record: dict
    created: bool


def public_result(record: dict) -> dict:
    """The API's view of a stored comment record."""
    return {
        "id": record["id"],
        "site": record["site"],
        "decision": record["decision"],
        "status": record["status"],
        "scores": record["scores"],
        "reasons": record["reasons"],
        "model_version": record["model_version"],
        "language": record["language"],
        "received_at": record["received_at"],
    }


class CommentStore:
    """Stores comment results and keeps the review queue in step with them.

    :param connection: a Redis client (or cluster client).
    :param keys: the key builder.
    """

    def __init__(self, connection: redis.Redis, keys: RedisKeys) -> None:
        self.connection = connection
        self.keys = keys
        self._store = connection.register_script(_STORE_SCRIPT)

    def get(self, site: str, comment_id: str) -> dict | None:
        """The stored record of one comment, or None."""
        raw = self.connection.get(self.keys.comment(site, comment_id))
        return json.loads(raw) if raw is not None else None

    def store(self, record: dict, ttl_seconds: int = 0) -> StoreOutcome:
        """Store a freshly scored record unless the same comment with the same text is stored.

        :return: the record now in Redis (the earlier one for a retry) and whether it was written.
        """
        return self.store_many([record], ttl_seconds)[0]

    def store_many(self, records: list[dict], ttl_seconds: int = 0) -> list[StoreOutcome]:
        """Store records of one site in one atomic script call (one round trip)."""
        if not records:
            return []
        site = records[0]["site"]
        keys = [self.keys.queue(site), self.keys.leases(site), self.keys.queue_since(site)]
        args: list = [ttl_seconds, repr(time.time())]
        for record in records:
            if record["site"] != site:
                raise ValueError("store_many takes records of one site")
            keys.append(self.keys.comment(site, record["id"]))
            args += [
                json.dumps(record, ensure_ascii=False, separators=(",", ":")),
                record["text_sha256"],
                "1" if record["status"] == "pending_review" else "0",
                repr(float(record["urgency"])),
                record["id"],
            ]
        outcomes = []
        for record, existing in zip(records, self._store(keys=keys, args=args), strict=True):
            if existing:
                outcomes.append(StoreOutcome(json.loads(existing), created=False))
            else:
                outcomes.append(StoreOutcome(record, created=True))
        return outcomes

    def queue_ids(self, site: str, limit: int = 100) -> list[str]:
        """Pending comment ids, most urgent first."""
        ids = self.connection.zrevrange(self.keys.queue(site), 0, limit - 1)
        return [i.decode() if isinstance(i, bytes) else i for i in ids]

    def oldest_pending(self, site: str) -> float | None:
        """When the longest-waiting pending comment entered the queue (unix time), or None.

        ``queue-since`` is kept with the queue by every script that adds or removes an entry; an
        id found there that is no longer queued is dropped here, so the answer is always right.
        """
        since, queue = self.keys.queue_since(site), self.keys.queue(site)
        while True:
            head = self.connection.zrange(since, 0, 9, withscores=True)
            if not head:
                return None
            pipe = self.connection.pipeline(transaction=False)
            for comment_id, _ in head:
                pipe.zscore(queue, comment_id)
            for (comment_id, entered), score in zip(head, pipe.execute(), strict=True):
                if score is not None:
                    return float(entered)
                self.connection.zrem(since, comment_id)

    def queue_length(self, site: str) -> int:
        """How many comments wait for review."""
        return int(self.connection.zcard(self.keys.queue(site)))
