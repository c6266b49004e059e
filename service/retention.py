"""Privacy: erasing one author's data from a site (``modq authors forget``).

Retention itself needs no process: intake stores each comment record with a time to live of the
site's ``retention_days`` (default 90), and the record carries its scores, decision and status (its
result), so both expire together. Decisions and reports keep that time to live (``KEEPTTL``).

Forgetting an author finds their comments by scanning the site's comment records (there is no
author index to keep in step), then removes each comment in one Lua script over keys of the site:
the record (and with it the result), its queue entry and lease, its reader reports, its undo
record and its labeled example. Labeled examples kept without a comment id are matched by the
author's salted hash. The audit log, which names comments and moderators but never authors or
text, stays as it is: it is append-only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import redis

from service.keys import RedisKeys, as_text
from service.labels import LabelStore

_SCAN_BATCH = 500

# KEYS: comment, queue, leases, lease-holders, labels, reports, undo, queue-since.
# ARGV: comment id, author id. Removes the comment only if it is still that author's.
# Returns {comment removed, queue entry removed, label removed, reports removed}.
_FORGET_SCRIPT = """
local raw = redis.call('GET', KEYS[1])
if not raw then return {0, 0, 0, 0} end
local ok, record = pcall(cjson.decode, raw)
if not ok or type(record['author']) ~= 'table' or record['author']['id'] ~= ARGV[2] then
  return {0, 0, 0, 0}
end
redis.call('DEL', KEYS[1])
local queued = redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[8], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('HDEL', KEYS[4], ARGV[1])
local label = redis.call('HDEL', KEYS[5], ARGV[1])
local reports = redis.call('HLEN', KEYS[6])
redis.call('DEL', KEYS[6], KEYS[7])
return {1, queued, label, reports}
"""


@dataclass
class Forgotten:
    """How much of one author's data was removed."""

    comments: int = 0
    results: int = 0
    queue_items: int = 0
    labels: int = 0
    reports: int = 0

    def lines(self) -> list[str]:
        return [
            f"comments: {self.comments}",
            f"results: {self.results}",
            f"queue items: {self.queue_items}",
            f"labels: {self.labels}",
            f"reader reports: {self.reports}",
        ]


class AuthorEraser:
    """Finds and erases one author's comments on a site.

    :param connection: a Redis client (or cluster client).
    :param keys: the key builder.
    """

    def __init__(self, connection: redis.Redis, keys: RedisKeys) -> None:
        self.connection = connection
        self.keys = keys
        self._forget = connection.register_script(_FORGET_SCRIPT)

    def comment_ids(self, site: str, author_id: str) -> list[str]:
        """Ids of the site's stored comments whose author id is ``author_id``."""
        prefix = self.keys.comment(site, "")
        found: list[str] = []
        batch: list[bytes] = []

        def check(names: list[bytes]) -> None:
            for name, raw in zip(names, self.connection.mget(names), strict=True):
                if raw is None:
                    continue  # expired or removed since the scan saw it
                author = json.loads(raw).get("author") or {}
                if author.get("id") == author_id:
                    found.append(as_text(name)[len(prefix) :])

        for name in self.connection.scan_iter(
            match=self.keys.comment(site, "*"), count=_SCAN_BATCH
        ):
            batch.append(name)
            if len(batch) >= _SCAN_BATCH:
                check(batch)
                batch = []
        if batch:
            check(batch)
        return found

    def forget(self, site: str, author_id: str) -> Forgotten:
        """Erase the author's comments on ``site`` with everything kept about them.

        :return: how many comments (each with its result), queue entries, labeled examples and
            reader reports were removed.
        """
        removed = Forgotten()
        for comment_id in self.comment_ids(site, author_id):
            done, queued, label, reports = self._forget(
                keys=[
                    self.keys.comment(site, comment_id),
                    self.keys.queue(site),
                    self.keys.leases(site),
                    self.keys.lease_holders(site),
                    self.keys.labels(site),
                    self.keys.reports(site, comment_id),
                    self.keys.undo(site, comment_id),
                    self.keys.queue_since(site),
                ],
                args=[comment_id, author_id],
            )
            removed.comments += int(done)
            removed.results += int(done)  # the result is stored in the comment's record
            removed.queue_items += int(queued)
            removed.labels += int(label)
            removed.reports += int(reports)
        removed.labels += self._forget_labels_by_hash(site, author_id)
        # The author's history counters (approved, rejected, reported) on this site.
        self.connection.delete(self.keys.author(site, author_id))
        return removed

    def _forget_labels_by_hash(self, site: str, author_id: str) -> int:
        """Remove labeled examples of the author kept without their comment (e.g. imported)."""
        labels = LabelStore(self.connection, self.keys)
        if not self.connection.exists(self.keys.label_salt(site)):
            return 0  # no example of this site was ever attributed to an author
        author_hash = labels.author_hash(site, author_id)
        fields = [
            field
            for field, raw in self.connection.hscan_iter(self.keys.labels(site), count=_SCAN_BATCH)
            if json.loads(raw).get("author_hash") == author_hash
        ]
        return labels.remove(site, [as_text(f) for f in fields])
