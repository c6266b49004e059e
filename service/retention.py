"""Privacy: a site's retention applied to what is stored (``modq sites update --retention-days``)
and erasing one author's data from a site (``modq authors forget``).

Retention needs no process while it stays the same: intake stores each comment record with a
time to live of the site's ``retention_days`` (default 90), and the record carries its scores,
decision and status (its result), so both expire together. Decisions keep that time to live
(``KEEPTTL``), and a comment's reader reports take it on when they are filed. When the retention
changes, ``RetentionKeeper`` gives every stored record (and its reports) the expiry the new
retention means for it, counted from when it arrived: a shorter retention removes at once the
comments older than it.

Forgetting an author finds their comments by scanning the site's comment records (there is no
author index to keep in step), then removes each comment in one Lua script over keys of the site:
the record (and with it the result), its queue entry and lease, its reader reports, its undo
record and its labeled example. Labeled examples kept without a comment id are matched by the
author's salted hash. The audit log, which names comments and moderators but never authors or
text, stays as it is: it is append-only.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

import redis

from service.keys import RedisKeys, as_text
from service.labels import LabelStore

_SCAN_BATCH = 500

# KEYS: comment, queue, leases, lease-holders, labels, reports, undo, queue-since.
# ARGV: comment id, and optionally an author id: then the comment is removed only if it is
# still that author's. Returns {comment removed, queue entry removed, label removed, reports
# removed}.
_ERASE_SCRIPT = """
local raw = redis.call('GET', KEYS[1])
if not raw then return {0, 0, 0, 0} end
if ARGV[2] then
  local ok, record = pcall(cjson.decode, raw)
  if not ok or type(record['author']) ~= 'table' or record['author']['id'] ~= ARGV[2] then
    return {0, 0, 0, 0}
  end
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


# KEYS: comment records, then their reader-report hashes in the same order. ARGV: now (unix ms),
# then for each record the arrival time read with it and its new expiry (unix ms). A record still
# the one read (same arrival time) gets the expiry, and so do its reports; an expiry already past
# removes both. Returns {records given an expiry, records removed}.
_RETENTION_SCRIPT = """
local n = #KEYS / 2
local kept, removed = 0, 0
for i = 1, n do
  local raw = redis.call('GET', KEYS[i])
  local ok, record = pcall(cjson.decode, raw or '')
  if raw and ok and type(record) == 'table' and record['received_at'] == ARGV[2 * i] then
    local expiry = ARGV[2 * i + 1]
    if tonumber(expiry) <= tonumber(ARGV[1]) then
      redis.call('DEL', KEYS[i], KEYS[n + i])
      removed = removed + 1
    else
      redis.call('PEXPIREAT', KEYS[i], expiry)
      redis.call('PEXPIREAT', KEYS[n + i], expiry)
      kept = kept + 1
    end
  end
end
return {kept, removed}
"""

# KEYS: reader-report hashes, then their comment records in the same order. Removes the reports
# of comments that are gone (stored before reports took on their comment's expiry).
_ORPHAN_REPORTS_SCRIPT = """
local n = #KEYS / 2
local removed = 0
for i = 1, n do
  if redis.call('EXISTS', KEYS[n + i]) == 0 then
    removed = removed + redis.call('DEL', KEYS[i])
  end
end
return removed
"""


def _batches(names: Iterator[bytes], size: int = _SCAN_BATCH) -> Iterator[list[bytes]]:
    """Key names from a scan, ``size`` at a time."""
    batch: list[bytes] = []
    for name in names:
        batch.append(name)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


@dataclass
class Retained:
    """What applying a retention did to a site's stored comments."""

    comments: int = 0  # given the new expiry
    removed: int = 0  # older than the retention: removed with their reports
    orphan_reports: int = 0  # reader reports of comments already gone


class RetentionKeeper:
    """Applies a site's retention to the comments it has stored.

    :param connection: a Redis client (or cluster client).
    :param keys: the key builder.
    """

    def __init__(self, connection: redis.Redis, keys: RedisKeys) -> None:
        self.connection = connection
        self.keys = keys
        self._retain = connection.register_script(_RETENTION_SCRIPT)
        self._orphans = connection.register_script(_ORPHAN_REPORTS_SCRIPT)

    def apply(self, site: str, retention_days: int) -> Retained:
        """Give each stored comment of ``site`` (and its reader reports) the expiry
        ``retention_days`` after it arrived; remove those older than that, and the reader
        reports of comments already gone. It scans the site's keys, a few seconds per million
        comments; a comment that arrives meanwhile is stored with the new retention anyway."""
        done = Retained()
        prefix = self.keys.comment(site, "")
        span_ms = retention_days * 86_400_000
        for names in _batches(
            self.connection.scan_iter(match=self.keys.comment(site, "*"), count=_SCAN_BATCH)
        ):
            comments, args = [], []
            for name, raw in zip(names, self.connection.mget(names), strict=True):
                arrived = _received_at(raw)
                if arrived is None:
                    continue  # gone since the scan saw it, or not a record modq wrote
                comments.append(as_text(name)[len(prefix) :])
                args += [arrived[0], arrived[1] + span_ms]
            if not comments:
                continue
            reports = [self.keys.reports(site, c) for c in comments]
            kept, removed = self._retain(
                keys=[self.keys.comment(site, c) for c in comments] + reports,
                args=[int(time.time() * 1000), *args],
            )
            done.comments += int(kept)
            done.removed += int(removed)
        report_prefix = self.keys.reports(site, "")
        for names in _batches(
            self.connection.scan_iter(match=self.keys.reports(site, "*"), count=_SCAN_BATCH)
        ):
            comments = [as_text(name)[len(report_prefix) :] for name in names]
            done.orphan_reports += int(
                self._orphans(
                    keys=[self.keys.reports(site, c) for c in comments]
                    + [self.keys.comment(site, c) for c in comments]
                )
            )
        return done


def _received_at(raw: bytes | None) -> tuple[str, int] | None:
    """The arrival time a stored record carries, as stored and in unix milliseconds; None if
    there is no record or it carries none."""
    if raw is None:
        return None
    try:
        arrived = json.loads(raw).get("received_at")
        return arrived, round(datetime.fromisoformat(arrived).timestamp() * 1000)
    except (ValueError, TypeError, AttributeError):
        return None


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


class CommentEraser:
    """Erases comments of a site: one by its id (the site withdrew it), or every one of an
    author (``modq authors forget``).

    :param connection: a Redis client (or cluster client).
    :param keys: the key builder.
    """

    def __init__(self, connection: redis.Redis, keys: RedisKeys) -> None:
        self.connection = connection
        self.keys = keys
        self._erase = connection.register_script(_ERASE_SCRIPT)

    def comment_ids(self, site: str, author_id: str) -> list[str]:
        """Ids of the site's stored comments whose author id is ``author_id``."""
        prefix = self.keys.comment(site, "")
        found: list[str] = []
        for names in _batches(
            self.connection.scan_iter(match=self.keys.comment(site, "*"), count=_SCAN_BATCH)
        ):
            for name, raw in zip(names, self.connection.mget(names), strict=True):
                if raw is None:
                    continue  # expired or removed since the scan saw it
                author = json.loads(raw).get("author") or {}
                if author.get("id") == author_id:
                    found.append(as_text(name)[len(prefix) :])
        return found

    def forget(self, site: str, author_id: str) -> Forgotten:
        """Erase the author's comments on ``site`` with everything kept about them.

        :return: how many comments (each with its result), queue entries, labeled examples and
            reader reports were removed.
        """
        removed = Forgotten()
        for comment_id in self.comment_ids(site, author_id):
            done, queued, label, reports = self.erase_comment(site, comment_id, author_id)
            removed.comments += done
            removed.results += done  # the result is stored in the comment's record
            removed.queue_items += queued
            removed.labels += label
            removed.reports += reports
        removed.labels += self._forget_labels_by_hash(site, author_id)
        # The author's history counters (approved, rejected, reported) on this site.
        self.connection.delete(self.keys.author(site, author_id))
        return removed

    def erase_comment(
        self, site: str, comment_id: str, author_id: str | None = None
    ) -> tuple[int, int, int, int]:
        """Erase one comment of ``site`` with everything kept about it: its record and result,
        its queue entry and lease, its labeled example, reader reports and undo record; with
        ``author_id``, only while the comment is that author's.

        :return: 1 or 0 for the comment, its queue entry and its labeled example, and how many
            reader reports it had.
        """
        found = self._erase(
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
            args=[comment_id] if author_id is None else [comment_id, author_id],
        )
        done, queued, label, reports = (int(n) for n in found)
        return done, queued, label, reports

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
