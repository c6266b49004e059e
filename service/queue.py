"""The review queue as moderators work it: listing, leases, decisions, undo and reader reports.

Pending comments are members of the site's ``queue`` sorted set (written by intake together with
the comment record). Claiming does not take an item out of the queue: it adds the id to ``leases``
(scored by the lease's expiry) and names the holder in ``lease-holders``. A lease therefore ends by
itself when its time passes, with no worker process: every claim first drops the expired leases,
and every check treats a lease whose expiry has passed as absent.

Every state change is one Lua script over keys of one site (Redis Cluster safe). Decisions and
reports use compare-and-set on the stored record: Python reads the record, builds the new one, and
the script writes it only if the record is still byte for byte what was read; otherwise the caller
reads again. That is what makes two moderators unable to both decide one item.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import redis

from service import audit, metrics, webhooks
from service.comments import STATUS_FOR_DECISION, CommentStore
from service.errors import Conflict, InvalidRequest, NotFound
from service.keys import RedisKeys, as_text
from service.labels import LABEL_CATEGORIES, LabelStore
from service.sites import Site, utcnow

DEFAULT_LEASE_SECONDS = 300
MAX_LEASE_SECONDS = 3600
UNDO_SECONDS = 15
ORDERS = ("urgent", "oldest", "uncertain")
DECISIONS = ("approve", "reject")
MAX_LIMIT = 200
MAX_SCAN = 20_000
REPORT_BOOST = 0.25
_CHUNK = 500
_RETRIES = 20

# KEYS: queue, leases, lease-holders. ARGV: now, lease expiry, moderator, limit, candidate ids...
_CLAIM_SCRIPT = """
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])
for _, id in ipairs(expired) do
  redis.call('HDEL', KEYS[3], id)
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])
local claimed = {}
local limit = tonumber(ARGV[4])
for i = 5, #ARGV do
  if #claimed >= limit then break end
  local id = ARGV[i]
  if redis.call('ZSCORE', KEYS[1], id) and not redis.call('ZSCORE', KEYS[2], id) then
    redis.call('ZADD', KEYS[2], ARGV[2], id)
    redis.call('HSET', KEYS[3], id, ARGV[3])
    table.insert(claimed, id)
  end
end
return claimed
"""

# KEYS: leases, lease-holders. ARGV: comment id, moderator, now.
# Returns 1 released, 0 not leased, or {the other holder's name, the lease's expiry}.
_RELEASE_SCRIPT = """
local expires = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not expires or tonumber(expires) <= tonumber(ARGV[3]) then return 0 end
local holder = redis.call('HGET', KEYS[2], ARGV[1])
if holder and holder ~= ARGV[2] then return {holder, expires} end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
return 1
"""

# KEYS: comment, queue, leases, lease-holders, audit, labels, decision counter, undo, author,
#       webhook events, webhook due, queue-since.
# ARGV: record read, new record, comment id, moderator, now, label field, label JSON, undo JSON,
#       undo seconds, author field to add ('' none), author field to take back ('' none),
#       event id ('' none), event JSON, audit field/value pairs...
_DECIDE_SCRIPT = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return {'changed'} end
local expires = redis.call('ZSCORE', KEYS[3], ARGV[3])
if expires and tonumber(expires) > tonumber(ARGV[5]) then
  local holder = redis.call('HGET', KEYS[4], ARGV[3])
  if holder ~= ARGV[4] then return {'leased', holder or '', expires} end
end
redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
redis.call('ZREM', KEYS[2], ARGV[3])
redis.call('ZREM', KEYS[12], ARGV[3])
redis.call('ZREM', KEYS[3], ARGV[3])
redis.call('HDEL', KEYS[4], ARGV[3])
redis.call('HSET', KEYS[6], ARGV[6], ARGV[7])
redis.call('INCR', KEYS[7])
redis.call('EXPIRE', KEYS[7], 7200)
redis.call('SET', KEYS[8], ARGV[8], 'EX', ARGV[9])
if ARGV[10] ~= '' then redis.call('HINCRBY', KEYS[9], ARGV[10], 1) end
if ARGV[11] ~= '' then redis.call('HINCRBY', KEYS[9], ARGV[11], -1) end
if ARGV[12] ~= '' then
  redis.call('HSET', KEYS[10], ARGV[12], ARGV[13])
  redis.call('ZADD', KEYS[11], ARGV[5], ARGV[12])
end
local entry = redis.call('XADD', KEYS[5], '*', unpack(ARGV, 14))
return {'ok', entry}
"""

# KEYS: comment, queue, labels, undo, audit, author, webhook events, webhook due, queue-since.
# ARGV: undo JSON read, comment id, label field, now, event id ('' none), event JSON,
#       audit field/value pairs...
_UNDO_SCRIPT = """
local raw = redis.call('GET', KEYS[4])
if raw ~= ARGV[1] then return {'gone'} end
local undo = cjson.decode(raw)
if redis.call('GET', KEYS[1]) ~= undo['decided'] then return {'changed'} end
redis.call('SET', KEYS[1], undo['previous'], 'KEEPTTL')
if type(undo['queue_score']) == 'string' then
  redis.call('ZADD', KEYS[2], undo['queue_score'], ARGV[2])
  redis.call('ZADD', KEYS[9], 'NX', ARGV[4], ARGV[2])
end
if type(undo['label']) == 'string' then
  redis.call('HSET', KEYS[3], ARGV[3], undo['label'])
else
  redis.call('HDEL', KEYS[3], ARGV[3])
end
if type(undo['author_added']) == 'string' then
  redis.call('HINCRBY', KEYS[6], undo['author_added'], -1)
end
if type(undo['author_removed']) == 'string' then
  redis.call('HINCRBY', KEYS[6], undo['author_removed'], 1)
end
redis.call('DEL', KEYS[4])
if ARGV[5] ~= '' then
  redis.call('HSET', KEYS[7], ARGV[5], ARGV[6])
  redis.call('ZADD', KEYS[8], ARGV[4], ARGV[5])
end
local entry = redis.call('XADD', KEYS[5], '*', unpack(ARGV, 7))
return {'ok', entry}
"""

# KEYS: comment, queue, reports, author, queue-since. ARGV: record read, new record ('' unchanged),
# reporter, report JSON, base urgency, boost per reader, comment id, now. The reports expire with
# the record (the site's retention).
# Returns {added, report count, queued}.
_REPORT_SCRIPT = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return {-1, 0, 0} end
local added = redis.call('HSETNX', KEYS[3], ARGV[3], ARGV[4])
local ttl = redis.call('PTTL', KEYS[1])
if ttl > 0 then redis.call('PEXPIRE', KEYS[3], ttl) end
local count = redis.call('HLEN', KEYS[3])
if added == 0 then return {0, count, 0} end
if ARGV[9] == '1' then redis.call('HINCRBY', KEYS[4], 'reports', 1) end
if ARGV[2] == '' then return {1, count, 0} end
redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
local score = tonumber(ARGV[5]) + tonumber(ARGV[6]) * count
redis.call('ZADD', KEYS[2], tostring(score), ARGV[7])
redis.call('ZADD', KEYS[5], 'NX', ARGV[8], ARGV[7])
return {1, count, 1}
"""


def iso(unix: float) -> str:
    """A unix time as ISO-8601 UTC, as every stored and shown time is."""
    moment = datetime.fromtimestamp(unix, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def stored_time(value: str) -> str:
    """A date or time someone typed ("2026-01-31", "2026-01-31T12:00:00+09:00"; UTC when no
    zone is given) in the form times are stored in, so they compare as strings.

    :raise ValueError: ``value`` is no ISO-8601 date or time.
    """
    moment = datetime.fromisoformat(value.strip())
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return iso(moment.timestamp())


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True)
class QueueFilter:
    """Which pending items to list or claim, and in what order."""

    category: str | None = None
    language: str | None = None
    article_id: str | None = None
    order: str = "urgent"

    def check(self) -> None:
        """:raise 400: an unknown order or category."""
        if self.order not in ORDERS:
            raise InvalidRequest(f"'order' must be one of {', '.join(ORDERS)}.", field="order")
        known = (*LABEL_CATEGORIES, "reported")
        if self.category is not None and self.category not in known:
            raise InvalidRequest(f"'category' must be one of {', '.join(known)}.", field="category")

    @property
    def narrows(self) -> bool:
        return any(v is not None for v in (self.category, self.language, self.article_id))


@dataclass(frozen=True)
class Decision:
    """One moderator decision as asked for."""

    comment_id: str
    decision: str
    labels: tuple[str, ...] = ()
    note: str = ""
    overturn: bool = False


def uncertainty(record: dict) -> float:
    """How close the model was to undecided: the smallest distance of a score from 0.5."""
    return min((abs(p - 0.5) for p in record["scores"].values()), default=0.5)


def example_labels(record: dict, decision: str, labels: tuple[str, ...]) -> dict[str, int]:
    """The training labels a decision stands for.

    Given labels that name a category ("spam", "Abuse") win. An approval without them is clean
    on every category; a rejection without them (no labels, or only the site's own tags such as
    "offtopic") is taken to be for the category the model scored highest.
    """
    named = {label.casefold() for label in labels}.intersection(LABEL_CATEGORIES)
    if named:
        return {c: int(c in named) for c in LABEL_CATEGORIES}
    if decision == "approve":
        return {c: 0 for c in LABEL_CATEGORIES}
    top = max(LABEL_CATEGORIES, key=lambda c: record["scores"].get(c, 0.0))
    return {c: int(c == top) for c in LABEL_CATEGORIES}


class ReviewQueue:
    """Lists, leases and decides a site's pending comments.

    :param connection: a Redis client.
    :param keys: the key builder.
    :param labels: where each decision's labeled example is kept.
    """

    def __init__(self, connection: redis.Redis, keys: RedisKeys, labels: LabelStore) -> None:
        self.connection = connection
        self.keys = keys
        self.labels = labels
        self.comments = CommentStore(connection, keys)
        self._claim = connection.register_script(_CLAIM_SCRIPT)
        self._release = connection.register_script(_RELEASE_SCRIPT)
        self._decide = connection.register_script(_DECIDE_SCRIPT)
        self._undo = connection.register_script(_UNDO_SCRIPT)
        self._report = connection.register_script(_REPORT_SCRIPT)

    # Reading ---------------------------------------------------------------------------------
    def _records(self, site: str, ids: list[str]) -> list[dict]:
        if not ids:
            return []
        raws = self.connection.mget([self.keys.comment(site, i) for i in ids])
        expired = [i for i, raw in zip(ids, raws, strict=True) if raw is None]
        if expired:
            self._drop_expired(site, expired)
        return [json.loads(raw) for raw in raws if raw is not None]

    def _drop_expired(self, site: str, ids: list[str]) -> None:
        """Take ids whose record has expired (the site's retention) off the queue and leases.

        Intake writes a record and its queue entry together, so a queue entry without a record
        means the record's time to live ran out; the entry goes the first time it is seen.
        """
        pipe = self.connection.pipeline(transaction=False)
        pipe.zrem(self.keys.queue(site), *ids)
        pipe.zrem(self.keys.queue_since(site), *ids)
        pipe.zrem(self.keys.leases(site), *ids)
        pipe.hdel(self.keys.lease_holders(site), *ids)
        pipe.execute()

    def _scan(self, site: str) -> Iterator[dict]:
        """Pending records, most urgent first, read in chunks."""
        for start in range(0, MAX_SCAN, _CHUNK):
            ids = [
                as_text(i)
                for i in self.connection.zrevrange(self.keys.queue(site), start, start + _CHUNK - 1)
            ]
            yield from self._records(site, ids)
            if len(ids) < _CHUNK:
                return

    def _leases(self, site: str, ids: list[str], now: float) -> dict[str, tuple[str, float]]:
        """Active leases among ``ids``: id to (holder, expiry)."""
        if not ids:
            return {}
        pipe = self.connection.pipeline(transaction=False)
        for comment_id in ids:
            pipe.zscore(self.keys.leases(site), comment_id)
        pipe.hmget(self.keys.lease_holders(site), ids)
        *expiries, holders = pipe.execute()
        return {
            comment_id: (as_text(holder or b""), expiry)
            for comment_id, expiry, holder in zip(ids, expiries, holders, strict=True)
            if expiry is not None and expiry > now
        }

    def _matches(self, site: Site, record: dict, where: QueueFilter, reported: set[str]) -> bool:
        if where.language is not None and record.get("language") != where.language:
            return False
        if where.article_id is not None and record.get("article_id") != where.article_id:
            return False
        if where.category == "reported":
            return record["id"] in reported
        if where.category is not None:
            threshold = site.review_thresholds.get(where.category, 0.5)
            return record["scores"].get(where.category, 0.0) >= threshold or any(
                h.get("category") == where.category for h in record.get("highlights", ())
            )
        return True

    def _reported(self, site: str, ids: list[str]) -> set[str]:
        pipe = self.connection.pipeline(transaction=False)
        for comment_id in ids:
            pipe.exists(self.keys.reports(site, comment_id))
        return {i for i, found in zip(ids, pipe.execute(), strict=True) if found}

    def _select(
        self, site: Site, where: QueueFilter, limit: int, skip_leased: bool, now: float
    ) -> list[dict]:
        selected: list[dict] = []
        complete_scan = where.order != "urgent"
        chunk: list[dict] = []
        for record in self._scan(site.name):
            chunk.append(record)
            if len(chunk) < _CHUNK:
                continue
            selected.extend(self._keep(site, chunk, where, skip_leased, now))
            chunk = []
            if not complete_scan and len(selected) >= limit:
                break
        selected.extend(self._keep(site, chunk, where, skip_leased, now))
        if where.order == "oldest":
            selected.sort(key=lambda r: (r["received_at"], r["id"]))  # ids break ties within a ms
        elif where.order == "uncertain":
            selected.sort(key=uncertainty)
        return selected[:limit]

    def _keep(
        self, site: Site, records: list[dict], where: QueueFilter, skip_leased: bool, now: float
    ) -> list[dict]:
        ids = [r["id"] for r in records]
        reported = self._reported(site.name, ids) if where.category == "reported" else set()
        leased = self._leases(site.name, ids, now) if skip_leased else {}
        return [
            r for r in records if r["id"] not in leased and self._matches(site, r, where, reported)
        ]

    def items(self, site: str, records: list[dict], now: float | None = None) -> list[dict]:
        """Queue items for records: the comment with its reports, author history and lease."""
        if not records:
            return []
        now = time.time() if now is None else now
        ids = [r["id"] for r in records]
        leases = self._leases(site, ids, now)
        pipe = self.connection.pipeline(transaction=False)
        for record in records:
            pipe.hgetall(self.keys.reports(site, record["id"]))
            author_id = (record.get("author") or {}).get("id")
            pipe.hgetall(self.keys.author(site, author_id or ""))
        answers = pipe.execute()
        items = []
        for index, record in enumerate(records):
            reports = sorted(
                (
                    {"reporter_id": as_text(k), **json.loads(v)}
                    for k, v in answers[2 * index].items()
                ),
                key=lambda r: r["at"],
            )
            # A comment without an author id has no history (such comments share no author).
            history = (
                {as_text(k): int(v) for k, v in answers[2 * index + 1].items()}
                if (record.get("author") or {}).get("id")
                else {}
            )
            holder, expiry = leases.get(record["id"], (None, None))
            items.append(
                {
                    "id": record["id"],
                    "site": record["site"],
                    "text": record["text"],
                    "language": record.get("language"),
                    "article_id": record.get("article_id"),
                    "author": record.get("author"),
                    "author_history": {
                        "approved": history.get("approved", 0),
                        "rejected": history.get("rejected", 0),
                        "reports": history.get("reports", 0),
                    },
                    "scores": record["scores"],
                    "reasons": record.get("reasons", []),
                    "highlights": record.get("highlights", []),
                    "status": record["status"],
                    "decision": record["decision"],
                    "model_decision": record.get("model_decision", record["decision"]),
                    "model_version": record.get("model_version"),
                    "received_at": record["received_at"],
                    "updated_at": record.get("updated_at"),
                    "urgency": record.get("urgency"),
                    "reports": reports,
                    "report_count": len(reports),
                    "moderation": record.get("moderation"),
                    "lease_holder": holder,
                    "lease_expires_at": iso(expiry) if expiry is not None else None,
                }
            )
        return items

    def list(self, site: Site, where: QueueFilter | None = None, limit: int = 50) -> list[dict]:
        """Pending items (leased ones too, with their holder), in the asked order."""
        where = where or QueueFilter()
        where.check()
        now = time.time()
        records = self._select(site, where, limit, skip_leased=False, now=now)
        return self.items(site.name, records, now)

    def item(self, site: str, comment_id: str) -> dict | None:
        """One comment of the site as a queue item, pending or not."""
        records = self._records(site, [comment_id])
        return self.items(site, records)[0] if records else None

    def stats(self, site: str, now: float | None = None) -> dict:
        """Pending and leased counts, the oldest pending item's age, decisions in the last hour."""
        now = time.time() if now is None else now
        minute = int(now // 60)
        pipe = self.connection.pipeline(transaction=False)
        pipe.zcard(self.keys.queue(site))
        pipe.zcount(self.keys.leases(site), f"({now}", "+inf")
        # One GET per minute rather than MGET: cluster pipelines refuse multi-key commands.
        for m in range(minute - 59, minute + 1):
            pipe.get(self.keys.decision_count(site, m))
        pending, leased, *counts = pipe.execute()
        entered = self.comments.oldest_pending(site)
        oldest = iso(entered) if entered is not None else None
        age = max(0, int(now - entered)) if entered is not None else None
        return {
            "site": site,
            "pending": int(pending),
            "leased": int(leased),
            "available": max(0, int(pending) - int(leased)),
            "oldest_received_at": oldest,
            "oldest_age_seconds": age,
            "decisions_last_hour": sum(int(c) for c in counts if c is not None),
        }

    # Leases ----------------------------------------------------------------------------------
    def claim(
        self,
        site: Site,
        moderator: str,
        limit: int = 10,
        lease_seconds: int = DEFAULT_LEASE_SECONDS,
        where: QueueFilter | None = None,
    ) -> tuple[list[dict], float]:
        """Lease up to ``limit`` unleased pending items to ``moderator``.

        Expired leases are dropped first, so their items are handed out again.

        :return: the leased items and the unix time the leases expire.
        """
        where = where or QueueFilter()
        where.check()
        now = time.time()
        expires = now + lease_seconds
        keys = [
            self.keys.queue(site.name),
            self.keys.leases(site.name),
            self.keys.lease_holders(site.name),
        ]
        claimed: list[str] = []
        # Claimers racing for the same candidates each get a disjoint share; whoever comes up
        # short looks again at what is still unleased.
        for _ in range(_RETRIES):
            want = limit - len(claimed)
            candidates = self._select(site, where, want * 3 + 10, skip_leased=True, now=now)
            if not candidates:
                break
            got = self._claim(
                keys=keys, args=[now, expires, moderator, want, *[r["id"] for r in candidates]]
            )
            claimed.extend(as_text(i) for i in got)
            if len(claimed) >= limit or len(candidates) < want * 3 + 10 and not got:
                break
        records = self._records(site.name, claimed)
        return self.items(site.name, records, now), expires

    def release(self, site: str, comment_id: str, moderator: str) -> bool:
        """Give a lease back early.

        :return: whether the caller held a lease on it.
        :raise 404: the comment is not in the queue.
        :raise 409: someone else holds the lease.
        """
        if self.connection.zscore(self.keys.queue(site), comment_id) is None:
            raise NotFound(f"Comment {comment_id!r} is not in the review queue of site '{site}'.")
        outcome = self._release(
            keys=[self.keys.leases(site), self.keys.lease_holders(site)],
            args=[comment_id, moderator, time.time()],
        )
        if isinstance(outcome, list):
            holder, until = as_text(outcome[0]), iso(float(outcome[1]))
            raise Conflict(
                f"Comment {comment_id!r} is leased to {holder} until {until}.",
                code="leased",
                lease_holder=holder,
                lease_expires_at=until,
            )
        return outcome == 1

    # Decisions -------------------------------------------------------------------------------
    def decide(self, site: Site, moderator: str, decision: Decision) -> dict:
        """Apply a moderator's decision to one comment of the site, queued or not.

        Writes, in one atomic step: the comment's new status, its removal from the queue and its
        lease, the audit entry, the labeled example, the webhook event and an undo record.

        :raise 404: the site has no such comment.
        :raise 409: the comment is leased to another moderator, or a moderator has already
            decided it and ``overturn`` was not asked for.
        """
        if decision.decision not in DECISIONS:
            raise InvalidRequest("'decision' must be 'approve' or 'reject'.", field="decision")
        key = self.keys.comment(site.name, decision.comment_id)
        for _ in range(_RETRIES):
            raw = self.connection.get(key)
            if raw is None:
                raise NotFound(f"No comment with id {decision.comment_id!r} on site '{site.name}'.")
            record = json.loads(raw)
            settled = self._settled(site, moderator, decision, record)
            if settled is not None:
                return settled
            outcome = self._try_decide(site, moderator, decision, raw, record)
            if outcome is not None:
                metrics.count_moderator_decision(site, decision.decision, record["scores"])
                return outcome
        raise Conflict(f"Comment {decision.comment_id!r} kept changing; try again.", code="busy")

    @staticmethod
    def _settled(site: Site, moderator: str, decision: Decision, record: dict) -> dict | None:
        """The answer to a decision the comment already carries, or None if it is to be made.

        A moderator sending the decision that settled the comment again (a retry after a
        timeout, a bulk request sent twice) gets it back, marked ``replayed``, and nothing is
        written or sent again.

        :raise 409: another decision settled it and ``overturn`` was not asked for; the error's
            ``decided`` says which, by whom and when.
        """
        previous = record.get("moderation")
        if not previous or record["status"] == "pending_review":
            return None
        asked = {"moderator": moderator, "decision": decision.decision, "note": decision.note}
        labels = previous.get("labels", [])  # as recorded, in the order first sent
        same_labels = {label.casefold() for label in labels} == {
            label.casefold() for label in decision.labels
        }
        if same_labels and all(previous.get(name, "") == value for name, value in asked.items()):
            return {
                "id": record["id"],
                "site": site.name,
                **asked,
                "labels": labels,
                "status": record["status"],
                "at": previous["at"],
                "replayed": True,
            }
        if decision.overturn:
            return None
        raise Conflict(
            f"Comment {record['id']!r} was already decided ({previous['decision']}) by "
            f'{previous["moderator"]} at {previous["at"]}; send "overturn": true to replace '
            "that decision.",
            code="already_decided",
            decided={
                "decision": previous["decision"],
                "moderator": previous["moderator"],
                "at": previous["at"],
                "labels": previous.get("labels", []),
                "status": record["status"],
            },
        )

    def _try_decide(
        self, site: Site, moderator: str, decision: Decision, raw: bytes, record: dict
    ) -> dict | None:
        previous = record.get("moderation")
        now = time.time()
        at = iso(now)
        status = STATUS_FOR_DECISION[decision.decision]
        moderation = {
            "moderator": moderator,
            "decision": decision.decision,
            "labels": list(decision.labels),
            "note": decision.note,
            "at": at,
        }
        decided = {
            **record,
            "model_decision": record.get("model_decision", record["decision"]),
            "decision": decision.decision,
            "status": status,
            "moderation": moderation,
            "updated_at": at,
        }
        new_raw = _dumps(decided)
        author_id = (record.get("author") or {}).get("id")
        example = self.labels.example(
            site=site.name,
            text=record["text"],
            labels=example_labels(record, decision.decision, decision.labels),
            decided_at=at,
            source="moderator",
            language=record.get("language"),
            comment_id=record["id"],
            author_hash=self.labels.author_hash(site.name, author_id),
            model_scores=record["scores"],
            model_version=record.get("model_version"),
        )
        label_field = LabelStore.example_id(example)
        previous_label = self.connection.hget(self.keys.labels(site.name), label_field)
        queue_score = self.connection.zscore(self.keys.queue(site.name), record["id"])
        author_added = ""
        if author_id:
            author_added = "approved" if decision.decision == "approve" else "rejected"
        author_removed = ""
        if author_id and previous and record["status"] != "pending_review":
            author_removed = "approved" if previous["decision"] == "approve" else "rejected"
        undo = {
            "moderator": moderator,
            "previous": as_text(raw),
            "decided": new_raw,
            "label": as_text(previous_label) if previous_label is not None else None,
            "queue_score": repr(queue_score) if queue_score is not None else None,
            "author_added": author_added or None,
            "author_removed": author_removed or None,
            "until": now + UNDO_SECONDS,
        }
        event_id, event = webhooks.event_for(
            site, record["id"], decision.decision, status, list(decision.labels), at
        )
        fields = audit.entry_fields(
            comment_id=record["id"],
            moderator=moderator,
            decision=decision.decision,
            at=at,
            labels=list(decision.labels),
            note=decision.note,
            previous_status=record["status"],
            status=status,
            scores=record["scores"],
            model_version=record.get("model_version"),
            model_decision=decided["model_decision"],
        )
        name = site.name
        answer = self._decide(
            keys=[
                self.keys.comment(name, record["id"]),
                self.keys.queue(name),
                self.keys.leases(name),
                self.keys.lease_holders(name),
                self.keys.audit(name),
                self.keys.labels(name),
                self.keys.decision_count(name, int(now // 60)),
                self.keys.undo(name, record["id"]),
                self.keys.author(name, author_id or ""),
                self.keys.webhook_events(name),
                self.keys.webhook_due(name),
                self.keys.queue_since(name),
            ],
            args=[
                raw,
                new_raw,
                record["id"],
                moderator,
                now,
                label_field,
                _dumps(example),
                _dumps(undo),
                UNDO_SECONDS,
                author_added,
                author_removed,
                event_id,
                event,
                *fields,
            ],
        )
        state = as_text(answer[0])
        if state == "changed":
            return None
        if state == "leased":
            holder, until = as_text(answer[1]), iso(float(answer[2]))
            raise Conflict(
                f"Comment {record['id']!r} is leased to {holder} until {until}.",
                code="leased",
                lease_holder=holder,
                lease_expires_at=until,
            )
        return {
            "id": record["id"],
            "site": name,
            "decision": decision.decision,
            "status": status,
            "labels": list(decision.labels),
            "note": decision.note,
            "moderator": moderator,
            "at": at,
            "audit_id": as_text(answer[1]),
            "undo_until": iso(now + UNDO_SECONDS),
            "previous_status": record["status"],
        }

    def undo(self, site: Site, comment_id: str, moderator: str) -> dict:
        """Take back the caller's latest decision on a comment, within a few seconds of it.

        The comment returns to the state it had (to the queue, if it was pending); the decision
        stays in the audit log, followed by an ``undo`` entry.

        :raise 404: nothing to undo (too late, or no decision).
        :raise 403: the latest decision is another moderator's.
        :raise 409: the comment changed since.
        """
        from service.errors import Forbidden

        name = site.name
        raw = self.connection.get(self.keys.undo(name, comment_id))
        if raw is None:
            raise NotFound(
                f"No decision on comment {comment_id!r} can be undone any more "
                f"(undo is possible for {UNDO_SECONDS} seconds)."
            )
        undo = json.loads(raw)
        if undo["moderator"] != moderator:
            raise Forbidden(f"The latest decision on {comment_id!r} is {undo['moderator']}'s.")
        previous, decided = json.loads(undo["previous"]), json.loads(undo["decided"])
        at = utcnow()
        event_id, event = webhooks.event_for(site, comment_id, "undo", previous["status"], [], at)
        fields = audit.entry_fields(
            comment_id=comment_id,
            moderator=moderator,
            decision="undo",
            at=at,
            labels=[],
            note=f"undid {decided['moderation']['decision']}",
            previous_status=decided["status"],
            status=previous["status"],
            scores=previous["scores"],
            model_version=previous.get("model_version"),
            model_decision=previous.get("model_decision", previous["decision"]),
        )
        author_id = (previous.get("author") or {}).get("id")
        label_field = comment_id
        answer = self._undo(
            keys=[
                self.keys.comment(name, comment_id),
                self.keys.queue(name),
                self.keys.labels(name),
                self.keys.undo(name, comment_id),
                self.keys.audit(name),
                self.keys.author(name, author_id or ""),
                self.keys.webhook_events(name),
                self.keys.webhook_due(name),
                self.keys.queue_since(name),
            ],
            args=[raw, comment_id, label_field, time.time(), event_id, event, *fields],
        )
        if as_text(answer[0]) != "ok":
            raise Conflict(
                f"Comment {comment_id!r} changed since the decision; nothing undone.",
                code="changed",
            )
        return {
            "id": comment_id,
            "site": name,
            "status": previous["status"],
            "undone": True,
            "moderator": moderator,
            "at": at,
            "audit_id": as_text(answer[1]),
        }

    # Reader reports --------------------------------------------------------------------------
    def report(self, site: str, comment_id: str, reporter_id: str, reason: str) -> dict:
        """Record a reader's report; an approved comment goes back to the queue.

        Each distinct reader raises the item's priority; one reader's repeats count once.

        :raise 404: the site has no such comment.
        """
        key = self.keys.comment(site, comment_id)
        for _ in range(_RETRIES):
            raw = self.connection.get(key)
            if raw is None:
                raise NotFound(f"No comment with id {comment_id!r} on site '{site}'.")
            record = json.loads(raw)
            now = utcnow()
            requeue = record["status"] in ("approved", "pending_review")
            new_raw = ""
            if requeue:
                new_raw = _dumps({**record, "status": "pending_review", "updated_at": now})
            author_id = (record.get("author") or {}).get("id")
            added, count, queued = self._report(
                keys=[
                    key,
                    self.keys.queue(site),
                    self.keys.reports(site, comment_id),
                    self.keys.author(site, author_id or ""),
                    self.keys.queue_since(site),
                ],
                args=[
                    raw,
                    new_raw,
                    reporter_id,
                    _dumps({"reason": reason, "at": now}),
                    record.get("urgency", 0.0),
                    REPORT_BOOST,
                    comment_id,
                    time.time(),
                    "1" if author_id else "0",  # an authorless comment has no history to count in
                ],
            )
            if added == -1:
                continue
            status = "pending_review" if queued else record["status"]
            return {
                "id": comment_id,
                "site": site,
                "status": status,
                "reports": int(count),
                "counted": bool(added),
            }
        raise Conflict(f"Comment {comment_id!r} kept changing; try again.", code="busy")
