"""Telling news sites about decisions: signed webhook events, delivered in the background.

A decision writes its event into the site's outbox (``webhook-events`` plus the ``webhook-due``
schedule) in the same atomic step as the decision, so an event is never lost and never delays the
moderator. Each service process runs one dispatcher thread that takes due events of the sites with a
webhook, posts them with a bounded timeout from a small pool of threads (a hanging receiver ties up
one of them for at most the timeout), retries failures with exponential backoff (capped at ten
minutes, for about a day) and, after the last attempt, moves the event to the site's dead letters,
which admins list, replay and purge.

Delivery is at least once: a receiver deduplicates by the event's ``id``. Events of one comment
carry an increasing ``sequence``; while one of them waits for a retry, the comment's later events
wait behind it, and a receiver ignores an event whose ``sequence`` is not above the last it applied
for that comment (a replayed dead letter, or two events that raced). Every attempt carries
``X-Modq-Timestamp`` (unix seconds) and ``X-Modq-Signature: sha256=<hex HMAC-SHA256 of
"<timestamp>.<body>">``, so a receiver can check the sender and refuse replays of old requests.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import http.client
import json
import logging
import math
import os
import secrets
import socket
import threading
import time
import weakref
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from urllib.parse import urlsplit

import redis
from flask import Flask

from service.keys import RedisKeys, as_text
from service.sites import Site, SiteStore, utcnow

log = logging.getLogger(__name__)

SIGNATURE_TOLERANCE_SECONDS = 300
_USER_AGENT = "modq-webhooks/1"

# Retries: 2 s after the first failure, doubling up to every ten minutes; 150 attempts span about
# 24 hours, so a receiver that is down for a deploy or a night loses nothing to dead letters.
BACKOFF_SECONDS = 2.0
MAX_BACKOFF_SECONDS = 600.0
MAX_ATTEMPTS = 150
# How long the list of sites with a webhook is reused before it is read again.
SITES_REFRESH_SECONDS = 5.0
# How often an event held behind an earlier one of its comment looks again.
HOLD_RECHECK_SECONDS = 5.0

# KEYS: webhook due. ARGV: now, when the taken events become due again, how many to take.
# Taken events are pushed back rather than removed, so a process that dies mid-delivery leaves
# them to be retried by another.
_TAKE_DUE_SCRIPT = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
for _, id in ipairs(ids) do
  redis.call('ZADD', KEYS[1], ARGV[2], id)
end
return ids
"""

# The turn of one comment's events, kept in the site's ``webhook held`` hash as JSON per comment:
# ``owner``, the event whose delivery is under way or waiting for a retry, and ``waiting``, the
# [id, sequence] of events of the comment that came up meanwhile. Shared by the scripts below.
_TURN_LUA = """
local function pending(id) return redis.call('HEXISTS', KEYS[1], id) == 1 end
local function still_waiting(entry, except)
  local members = {}
  for _, w in ipairs(entry['waiting'] or {}) do
    if w[1] ~= except and pending(w[1]) then table.insert(members, w) end
  end
  return members
end
-- The earliest of ``members`` becomes the owner, taken out of them and made due now unless it
-- is ``taker`` (already taken for delivery); nil when there are none.
local function next_owner(members, now, taker)
  if #members == 0 then return nil end
  table.sort(members, function(a, b) return tonumber(a[2]) < tonumber(b[2]) end)
  local owner = table.remove(members, 1)[1]
  if owner ~= taker then redis.call('ZADD', KEYS[2], now, owner) end
  return owner
end
local function save(comment, owner, members)
  if owner then
    redis.call('HSET', KEYS[3], comment, cjson.encode({owner = owner, waiting = members}))
  else
    redis.call('HDEL', KEYS[3], comment)
  end
end
"""

# KEYS: webhook events, webhook due, webhook held. ARGV: event id, comment id, sequence (as text:
# cjson would round a number this large), now, recheck seconds. Returns 0 when it is the event's
# turn; else 1, after postponing it until the owner is due (looking again at most recheck seconds
# later).
_HOLD_SCRIPT = (
    _TURN_LUA
    + """
local id, now = ARGV[1], tonumber(ARGV[4])
local raw = redis.call('HGET', KEYS[3], ARGV[2])
local entry = raw and cjson.decode(raw) or {}
local members = still_waiting(entry, id)
local owner = entry['owner']
if owner and owner ~= id and not pending(owner) then owner = nil end
if not owner then
  table.insert(members, {id, ARGV[3]})
  owner = next_owner(members, now, id)
  members = still_waiting({waiting = members}, id)
end
if owner ~= id then table.insert(members, {id, ARGV[3]}) end
save(ARGV[2], owner, members)
if owner == id then return 0 end
local due = tonumber(redis.call('ZSCORE', KEYS[2], owner) or now)
redis.call('ZADD', KEYS[2], math.min(math.max(due, now), now + tonumber(ARGV[5])) + 0.01, id)
return 1
"""
)

# KEYS: webhook events, webhook due, webhook held, webhook dead. ARGV: event id, comment id,
# dead letter JSON ('' when delivered), now. Takes the event out of the outbox and passes the
# comment's turn to its earliest waiting event.
_SETTLE_SCRIPT = (
    _TURN_LUA
    + """
local id = ARGV[1]
redis.call('HDEL', KEYS[1], id)
redis.call('ZREM', KEYS[2], id)
if ARGV[3] ~= '' then redis.call('HSET', KEYS[4], id, ARGV[3]) end
local raw = redis.call('HGET', KEYS[3], ARGV[2])
if not raw then return 0 end
local entry = cjson.decode(raw)
local members = still_waiting(entry, id)
local owner = entry['owner']
if owner == id or not pending(owner) then owner = next_owner(members, tonumber(ARGV[4]), id) end
save(ARGV[2], owner, members)
return 1
"""
)


def retry_delay(
    attempts: int, base: float = BACKOFF_SECONDS, cap: float = MAX_BACKOFF_SECONDS
) -> float:
    """Seconds to wait after the ``attempts``-th failed attempt: doubling from ``base``, at most
    ``cap``."""
    return min(cap, base * 2 ** min(attempts - 1, 32))


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-Modq-Signature`` header value for a body sent at ``timestamp``."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def verify(
    secret: str,
    timestamp: str,
    body: bytes,
    signature: str,
    now: float | None = None,
    tolerance: int = SIGNATURE_TOLERANCE_SECONDS,
) -> bool:
    """Whether a received request is genuine and recent (the check a receiver makes)."""
    try:
        sent = int(timestamp)
    except ValueError:
        return False
    now = time.time() if now is None else now
    if abs(now - sent) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


def check_url(url: str) -> str:
    """The webhook URL, once it is an absolute http(s) URL.

    :raise ValueError: it is not.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"webhook URL must be an absolute http:// or https:// URL, got {url!r}")
    return url


def event_for(
    site: Site, comment_id: str, decision: str, status: str, labels: list[str], at: str
) -> tuple[str, str]:
    """The outbox entry for a decision: its event id and stored JSON, or two empty strings when
    the site has no webhook."""
    if not site.webhook_url:
        return "", ""
    event_id = "evt_" + secrets.token_hex(10)
    event = {
        "id": event_id,
        # Microseconds now. Made after the state it replaces was read (a decision or undo is
        # written only if that state is unchanged), so a later event of the comment has a larger
        # one, given host clocks that agree to within the time between two decisions.
        "sequence": time.time_ns() // 1000,
        "type": "comment.undone" if decision == "undo" else "comment.decided",
        "site": site.name,
        "comment_id": comment_id,
        "decision": decision,
        "status": status,
        "labels": labels,
        "at": at,
    }
    stored = {"event": event, "attempts": 0, "created_at": at, "last_error": None}
    return event_id, json.dumps(stored, ensure_ascii=False)


def post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> int:
    """POST ``body`` once, following no redirect, within ``timeout`` seconds in all.

    Each socket operation is bounded by ``timeout``, and so is the whole attempt: a receiver that
    sends its answer a few bytes at a time would otherwise hold the delivery (and, past the
    event's hold, see it delivered twice) for as long as it likes.

    :return: the HTTP status.
    :raise TimeoutError: no status line and headers within ``timeout``.
    """
    parts = urlsplit(url)
    connection_class = (
        http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    )
    connection = connection_class(parts.hostname, parts.port, timeout=timeout)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    expired = threading.Event()

    def cut_off() -> None:
        expired.set()
        sock = connection.sock
        if sock is not None:
            with contextlib.suppress(OSError):  # already closed
                sock.shutdown(socket.SHUT_RDWR)  # the blocked read or write returns at once

    deadline = threading.Timer(timeout, cut_off)
    deadline.daemon = True
    deadline.start()
    try:
        connection.request("POST", target, body=body, headers=headers)
        response = connection.getresponse()
        if expired.is_set():  # cut off while reading the headers, which then end early
            raise TimeoutError(f"no answer within {timeout:g} s")
        # Its status is the answer; the body is read (and cut short at the deadline) only so
        # that the connection closes cleanly.
        with contextlib.suppress(OSError, http.client.HTTPException):
            response.read(64 * 1024)
        return response.status
    except (OSError, http.client.HTTPException) as error:
        if expired.is_set():
            raise TimeoutError(f"no answer within {timeout:g} s") from error
        raise
    finally:
        deadline.cancel()
        connection.close()


class WebhookOutbox:
    """A site's undelivered events and dead letters.

    :param connection: a Redis client.
    :param keys: the key builder.
    """

    def __init__(self, connection: redis.Redis, keys: RedisKeys) -> None:
        self.connection = connection
        self.keys = keys
        self._take_due = connection.register_script(_TAKE_DUE_SCRIPT)

    def take_due(self, site: str, now: float, hold_seconds: float, limit: int) -> list[str]:
        """Ids of events due now, hidden from other takers for ``hold_seconds``."""
        ids = self._take_due(
            keys=[self.keys.webhook_due(site)], args=[now, now + hold_seconds, limit]
        )
        return [as_text(i) for i in ids]

    def pending(self, site: str) -> list[dict]:
        """Events waiting for (re)delivery."""
        return [json.loads(v) for v in self.connection.hvals(self.keys.webhook_events(site))]

    def dead_letters(self, site: str) -> list[dict]:
        """Events whose every attempt failed, oldest first."""
        letters = [json.loads(v) for v in self.connection.hvals(self.keys.webhook_dead(site))]
        return sorted(letters, key=lambda d: d.get("failed_at", ""))

    def replay(self, site: str, event_ids: list[str] | None = None) -> list[str]:
        """Put dead letters (all, or the given ids) back into the outbox for fresh attempts.

        :return: the ids replayed.
        """
        dead = self.keys.webhook_dead(site)
        if event_ids is None:
            event_ids = [as_text(i) for i in self.connection.hkeys(dead)]
        replayed = []
        for event_id in event_ids:
            raw = self.connection.hget(dead, event_id)
            if raw is None:
                continue
            letter = json.loads(raw)
            letter.update(attempts=0, replayed_at=utcnow())
            pipe = self.connection.pipeline(transaction=True)
            pipe.hdel(dead, event_id)
            pipe.hset(self.keys.webhook_events(site), event_id, json.dumps(letter))
            pipe.zadd(self.keys.webhook_due(site), {event_id: time.time()})
            pipe.execute()
            replayed.append(event_id)
        return replayed

    def purge(
        self,
        site: str,
        older_than_seconds: float | None = None,
        event_ids: list[str] | None = None,
    ) -> list[dict]:
        """Delete dead letters for good: all, those that failed more than ``older_than_seconds``
        ago, and/or only the given ids.

        :return: the dead letters deleted, oldest first.
        """
        letters = self.dead_letters(site)
        if event_ids is not None:
            wanted = set(event_ids)
            letters = [d for d in letters if d["event"]["id"] in wanted]
        if older_than_seconds is not None:
            cutoff = time.time() - older_than_seconds
            letters = [d for d in letters if _failed_at(d) < cutoff]
        if letters:
            self.connection.hdel(self.keys.webhook_dead(site), *(d["event"]["id"] for d in letters))
        return letters


def _failed_at(letter: dict) -> float:
    """When a dead letter's last attempt failed (unix time); when it was made, for a letter
    without that time, and +inf for one with neither, so that an age filter never takes it."""
    stamp = letter.get("failed_at") or letter.get("created_at")
    if not stamp:
        return math.inf
    try:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return math.inf


class WebhookDispatcher:
    """Delivers due webhook events of every site from a background thread.

    :param connection: a Redis client.
    :param keys: the key builder.
    :param sites: where each site's webhook URL and secret are read at delivery time.
    :param timeout: seconds allowed for each connect, send and read of one attempt.
    :param max_attempts: attempts before an event becomes a dead letter.
    :param backoff_seconds: wait before the second attempt; doubles after each failure.
    :param max_backoff_seconds: the longest wait between two attempts.
    :param poll_seconds: how often to look for due events when idle.
    :param concurrency: deliveries in flight at once from this process.
    :param observe: called with the site and the outcome (``delivered``, ``failed``,
        ``dead_letter``) of every attempt, for the metrics.
    """

    def __init__(
        self,
        connection: redis.Redis,
        keys: RedisKeys,
        sites: SiteStore,
        *,
        timeout: float = 5.0,
        max_attempts: int = MAX_ATTEMPTS,
        backoff_seconds: float = BACKOFF_SECONDS,
        max_backoff_seconds: float = MAX_BACKOFF_SECONDS,
        poll_seconds: float = 0.5,
        concurrency: int = 4,
        observe: Callable[[str, str], None] | None = None,
    ) -> None:
        self.connection = connection
        self.keys = keys
        self.sites = sites
        self.outbox = WebhookOutbox(connection, keys)
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.backoff_seconds = backoff_seconds
        self.max_backoff_seconds = max_backoff_seconds
        self.poll_seconds = poll_seconds
        self.concurrency = concurrency
        self.observe = observe
        self._settle = connection.register_script(_SETTLE_SCRIPT)
        self._hold = connection.register_script(_HOLD_SCRIPT)
        self._webhook_sites: list[str] = []
        self._sites_read_at = float("-inf")
        self._slots = threading.Semaphore(concurrency)
        self._in_flight: Counter[str] = Counter()  # deliveries under way, per site
        self._in_flight_lock = threading.Lock()
        self._round = 0
        self._lock = threading.Lock()
        self._pid: int | None = None
        self._stop = threading.Event()
        self._executor: ThreadPoolExecutor | None = None

    # One attempt -----------------------------------------------------------------------------
    def deliver(self, site_name: str, event_id: str) -> bool:
        """Make one delivery attempt of an event and record its outcome.

        :return: whether the receiver accepted it (any 2xx status).
        """
        events = self.keys.webhook_events(site_name)
        raw = self.connection.hget(events, event_id)
        if raw is None:
            self.connection.zrem(self.keys.webhook_due(site_name), event_id)
            return False
        stored = json.loads(raw)
        if self._held(site_name, event_id, stored["event"]):
            return False
        site = self.sites.get(site_name)
        error = None
        if site is None or not site.webhook_url:
            error = "the site has no webhook URL"
        elif not site.webhook_secret:  # an event signed with no key would be forgeable
            error = "the site has no webhook secret"
        else:
            body = json.dumps(stored["event"], ensure_ascii=False, separators=(",", ":")).encode()
            timestamp = str(int(time.time()))
            headers = {
                "Content-Type": "application/json",
                "User-Agent": _USER_AGENT,
                "X-Modq-Event-Id": event_id,
                "X-Modq-Timestamp": timestamp,
                "X-Modq-Signature": sign(site.webhook_secret, timestamp, body),
            }
            try:
                status = post(site.webhook_url, body, headers, self.timeout)
                if not 200 <= status < 300:
                    error = f"HTTP {status}"
            except (OSError, http.client.HTTPException) as failure:
                error = f"{failure.__class__.__name__}: {failure}"
        if error is None:
            self._settle_event(site_name, event_id, stored["event"], "")
            self._observe(site_name, "delivered")
            return True
        self._failed(site_name, event_id, stored, error)
        return False

    def _held(self, site_name: str, event_id: str, event: dict) -> bool:
        """Whether another event of the same comment goes first (one under way or waiting for a
        retry, or an earlier one waiting too); if so, this one is postponed until that one is
        due, looking again every ``HOLD_RECHECK_SECONDS``."""
        if "sequence" not in event:
            return False
        held = self._hold(
            keys=self._outbox_keys(site_name),
            args=[
                event_id,
                event["comment_id"],
                event["sequence"],
                time.time(),
                HOLD_RECHECK_SECONDS,
            ],
        )
        return bool(held)

    def _outbox_keys(self, site_name: str) -> list[str]:
        return [
            self.keys.webhook_events(site_name),
            self.keys.webhook_due(site_name),
            self.keys.webhook_held(site_name),
        ]

    def _settle_event(self, site_name: str, event_id: str, event: dict, dead_letter: str) -> None:
        self._settle(
            keys=[*self._outbox_keys(site_name), self.keys.webhook_dead(site_name)],
            args=[event_id, event.get("comment_id", ""), dead_letter, time.time()],
        )

    def _observe(self, site_name: str, outcome: str) -> None:
        if self.observe is not None:
            self.observe(site_name, outcome)

    def _failed(self, site_name: str, event_id: str, stored: dict, error: str) -> None:
        stored["attempts"] = stored.get("attempts", 0) + 1
        stored["last_error"] = error
        event = stored["event"]
        if stored["attempts"] >= self.max_attempts:
            stored["failed_at"] = utcnow()
            self._settle_event(site_name, event_id, event, json.dumps(stored))
            self._observe(site_name, "dead_letter")
            log.error(
                "webhook event %s of site %s is a dead letter after %d attempts: %s",
                event_id,
                site_name,
                stored["attempts"],
                error,
            )
        else:
            wait = retry_delay(stored["attempts"], self.backoff_seconds, self.max_backoff_seconds)
            # The event keeps its comment's turn: the comment's later events wait for it.
            pipe = self.connection.pipeline(transaction=True)
            pipe.hset(self.keys.webhook_events(site_name), event_id, json.dumps(stored))
            pipe.zadd(self.keys.webhook_due(site_name), {event_id: time.time() + wait})
            pipe.execute()
            self._observe(site_name, "failed")
            log.info(
                "webhook event %s of site %s failed (%s); retry in %.1fs",
                event_id,
                site_name,
                error,
                wait,
            )

    # The background loop ---------------------------------------------------------------------
    def webhook_sites(self) -> list[str]:
        """The sites with a webhook URL, read again every ``SITES_REFRESH_SECONDS``.

        Only their outboxes are polled: a site without a webhook makes no events. Events left
        from before its webhook was removed wait until one is set again.
        """
        now = time.monotonic()
        if now - self._sites_read_at >= SITES_REFRESH_SECONDS:
            names = []
            for name in self.sites.names():
                site = self.sites.get(name)
                if site is not None and site.webhook_url:
                    names.append(name)
            self._webhook_sites, self._sites_read_at = names, now
        return self._webhook_sites

    def run_once(self) -> int:
        """Hand every due event of every site with a webhook to the delivery pool, as far as it
        has room.

        :return: how many deliveries were started.
        """
        started = 0
        hold = self.timeout * 4 + 30
        sites = self.webhook_sites()
        if not sites:
            return 0
        # With other sites to serve, one site's deliveries take at most half the slots, so a
        # receiver that hangs holds up its own site's events only; the sites take turns at
        # going first.
        cap = self.concurrency if len(sites) == 1 else max(1, self.concurrency // 2)
        self._round += 1
        first = self._round % len(sites)
        for site_name in sites[first:] + sites[:first]:
            while self._in_flight[site_name] < cap and self._slots.acquire(blocking=False):
                taken = self.outbox.take_due(site_name, time.time(), hold, 1)
                if not taken:
                    self._slots.release()
                    break
                with self._in_flight_lock:
                    self._in_flight[site_name] += 1
                self._submit(site_name, taken[0])
                started += 1
        return started

    def _submit(self, site_name: str, event_id: str) -> None:
        def attempt() -> None:
            try:
                self.deliver(site_name, event_id)
            except Exception:
                log.exception("webhook delivery of %s failed unexpectedly", event_id)
            finally:
                with self._in_flight_lock:
                    self._in_flight[site_name] -= 1
                self._slots.release()

        assert self._executor is not None
        self._executor.submit(attempt)

    def start(self) -> None:
        """Start delivering in this process (again after a fork: threads do not survive one)."""
        if self._pid == os.getpid():
            return
        with self._lock:
            if self._pid == os.getpid():
                return
            self._pid = os.getpid()
            self._stop = threading.Event()
            self._slots = threading.Semaphore(self.concurrency)
            self._in_flight = Counter()
            self._executor = ThreadPoolExecutor(self.concurrency, thread_name_prefix="modq-webhook")
            thread = threading.Thread(
                target=_loop,
                args=(weakref.ref(self), self._stop),
                name="modq-webhooks",
                daemon=True,
            )
            thread.start()

    def stop(self) -> None:
        """Stop the loop and wait for deliveries in flight."""
        with self._lock:
            self._stop.set()
            if self._executor is not None:
                self._executor.shutdown(wait=True)
                self._executor = None
            self._pid = None


def _loop(dispatcher_ref: weakref.ref, stop: threading.Event) -> None:
    # Holds the dispatcher only weakly, so the thread ends once its app is gone (as in tests).
    failures = 0
    while not stop.is_set():
        dispatcher = dispatcher_ref()
        if dispatcher is None:
            return
        try:
            busy = dispatcher.run_once() > 0
            if failures:
                log.info("webhook dispatcher polls again after %d failed polls", failures)
            failures = 0
        except Exception as error:
            # While Redis is down, look again less and less often (up to every 30 s), and say so
            # once at the first failure and then at every tenth, not at every poll.
            failures += 1
            if failures == 1 or failures % 10 == 0:
                log.warning(
                    "webhook dispatcher could not poll (%d in a row): %s",
                    failures,
                    error.__class__.__name__,
                )
            busy = False
        wait = 0.05 if busy else dispatcher.poll_seconds
        if failures:
            wait = min(30.0, dispatcher.poll_seconds * 2 ** min(failures, 10))
        del dispatcher
        stop.wait(wait)


def init_app(app: Flask) -> None:
    """Give the app a dispatcher, started by the first request each process serves."""
    services = app.extensions["modq"]
    metrics = app.extensions.get("modq.metrics")
    dispatcher = WebhookDispatcher(
        services.redis,
        services.keys,
        services.sites,
        observe=metrics.count_webhook_delivery if metrics is not None else None,
    )
    app.extensions["modq-webhooks"] = dispatcher
    if not getattr(services.settings, "webhook_delivery", True):
        return

    @app.before_request
    def start_dispatcher() -> None:
        dispatcher.start()
