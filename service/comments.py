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
from collections.abc import Sequence
from dataclasses import dataclass

import redis

from model.text import strip_invisible
from service.campaigns import WINDOW_SECONDS
from service.jsonio import dumps_bytes
from service.keys import RedisKeys

STATUS_FOR_DECISION = {"approve": "approved", "review": "pending_review", "reject": "rejected"}

# Store scored comments of one site, each unless the same id already holds the same text (an
# idempotent retry). A changed text is an edit: the record is replaced and its one queue entry is
# added, re-scored or removed; a lease on the old text ends with it. One call takes a whole batch.
# A new text also counts its campaign fingerprints (``service.campaigns``) in the same round trip:
# one counter per fingerprint and time slot; its copies are the largest count over its
# fingerprints in this slot and the previous one. A text that reaches the campaign threshold is
# counted but not stored: the caller raises its spam score and stores it again without counting.
# KEYS: queue, leases, queue-since, this campaign slot, the previous slot, then one comment key
# per record.
# ARGV: time to live in seconds (0 keeps it), now (unix time), campaign threshold (0: off),
# seconds to keep a campaign slot, then per record: record JSON, text hash, queued (1/0), urgency,
# comment id, number of fingerprints, the fingerprints. Returns, per record, the stored JSON for a
# retry, else the text's copies (a number, 0 without fingerprints).
_STORE_SCRIPT = """
local ttl, now, threshold, keep = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local results = {}
local counted = false
local a = 5
for i = 6, #KEYS do
  local record, hash, queued, urgency, id = ARGV[a], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3],
    ARGV[a + 4]
  local prints = tonumber(ARGV[a + 5])
  local first_print = a + 6
  a = first_print + prints
  local existing = redis.call('GET', KEYS[i])
  local retry = false
  if existing then
    local ok, old = pcall(cjson.decode, existing)
    retry = ok and old['text_sha256'] == hash
  end
  if retry then
    results[#results + 1] = existing
  else
    local copies = 0
    for j = first_print, first_print + prints - 1 do
      local n = redis.call('HINCRBY', KEYS[4], ARGV[j], 1)
        + tonumber(redis.call('HGET', KEYS[5], ARGV[j]) or 0)
      if n > copies then copies = n end
      counted = true
    end
    if threshold == 0 or copies < threshold then
      if ttl > 0 then
        redis.call('SET', KEYS[i], record, 'EX', ttl)
      else
        redis.call('SET', KEYS[i], record)
      end
      redis.call('ZREM', KEYS[2], id)
      if queued == '1' then
        redis.call('ZADD', KEYS[1], urgency, id)
        redis.call('ZADD', KEYS[3], 'NX', now, id)
      else
        redis.call('ZREM', KEYS[1], id)
        redis.call('ZREM', KEYS[3], id)
      end
    end
    results[#results + 1] = copies
  end
end
if counted then redis.call('EXPIRE', KEYS[4], keep) end
return results
"""


def text_hash(text: str) -> str:
    """The fingerprint that tells a retry (same text) from an edit (new text).

    Taken over the text as a reader sees it (NFC, without invisible characters or surrounding
    whitespace), the form its length is counted in: a client that re-sends a comment decomposed
    (NFD Hangul from macOS), or with a trailing newline, retries it and does not undo its review.
    """
    return hashlib.sha256(strip_invisible(text).strip().encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class StoreOutcome:
    """What one record's store did.

    ``created``: this call wrote ``record``; otherwise ``record`` is the earlier one of a retry,
    or, when ``campaign`` is set, the record was held back (see ``CommentStore.store_many``).
    """

    record: dict
    created: bool
    copies: int = 0  # comments of the campaign window sharing the text, this one included
    campaign: bool = False  # held back: the text reached the campaign threshold


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

    def get_many(self, site: str, comment_ids: Sequence[str]) -> list[dict | None]:
        """The stored records of comments of one site, in order (None where there is none)."""
        if not comment_ids:
            return []
        raws = self.connection.mget([self.keys.comment(site, i) for i in comment_ids])
        return [json.loads(raw) if raw is not None else None for raw in raws]

    def store(self, record: dict, ttl_seconds: int = 0) -> StoreOutcome:
        """Store a freshly scored record unless the same comment with the same text is stored.

        :return: the record now in Redis (the earlier one for a retry) and whether it was written.
        """
        return self.store_many([record], ttl_seconds)[0]

    def store_many(
        self,
        records: list[dict],
        ttl_seconds: int = 0,
        fingerprints: Sequence[Sequence[str]] | None = None,
        campaign_copies: int = 0,
        now: float | None = None,
    ) -> list[StoreOutcome]:
        """Store records of one site in one atomic script call (one round trip).

        With ``fingerprints`` (one tuple per record), each new text is also counted for campaigns.
        A text with ``campaign_copies`` copies or more (when that is not 0) is counted but not
        written: its outcome has ``campaign`` set, and the caller stores it again, with its spam
        score raised, and without fingerprints so it is not counted twice.
        """
        if not records:
            return []
        if fingerprints is not None and len(fingerprints) != len(records):
            raise ValueError("fingerprints must line up with records")
        site = records[0]["site"]
        now = time.time() if now is None else now
        slot = int(now // WINDOW_SECONDS)
        keys = [
            self.keys.queue(site),
            self.keys.leases(site),
            self.keys.queue_since(site),
            self.keys.campaigns(site, slot),
            self.keys.campaigns(site, slot - 1),
        ]
        args: list = [ttl_seconds, repr(now), campaign_copies, 2 * WINDOW_SECONDS]
        for i, record in enumerate(records):
            if record["site"] != site:
                raise ValueError("store_many takes records of one site")
            prints = fingerprints[i] if fingerprints is not None else ()
            keys.append(self.keys.comment(site, record["id"]))
            args += [
                dumps_bytes(record),
                record["text_sha256"],
                "1" if record["status"] == "pending_review" else "0",
                repr(float(record["urgency"])),
                record["id"],
                len(prints),
                *prints,
            ]
        outcomes = []
        for record, answer in zip(records, self._store(keys=keys, args=args), strict=True):
            if isinstance(answer, bytes | str):
                outcomes.append(StoreOutcome(json.loads(answer), created=False))
            elif campaign_copies and answer >= campaign_copies:
                outcomes.append(StoreOutcome(record, created=False, copies=answer, campaign=True))
            else:
                outcomes.append(StoreOutcome(record, created=True, copies=answer))
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
