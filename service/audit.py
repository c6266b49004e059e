"""The audit log: one Redis stream per site, appended to by every moderator decision and undo.

Entries are written only inside the decision scripts of :mod:`service.queue`, in the same atomic
step as the decision itself; nothing in the service trims or edits the stream. Each entry is a flat
set of string fields (lists and score maps as JSON), and the stream id doubles as a cursor.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

import redis

from service.keys import RedisKeys, as_text

AUDIT_FIELDS = (
    "id",
    "at",
    "comment_id",
    "moderator",
    "decision",
    "labels",
    "note",
    "previous_status",
    "status",
    "scores",
    "model_version",
    "model_decision",
)
MAX_PAGE = 500


def entry_fields(
    *,
    comment_id: str,
    moderator: str,
    decision: str,
    at: str,
    labels: list[str],
    note: str,
    previous_status: str,
    status: str,
    scores: dict,
    model_version: str | None,
    model_decision: str | None,
) -> list[str]:
    """The field/value list an entry is written with (``decision`` is approve, reject or undo)."""
    fields = {
        "at": at,
        "comment_id": comment_id,
        "moderator": moderator,
        "decision": decision,
        "labels": json.dumps(labels, ensure_ascii=False),
        "note": note,
        "previous_status": previous_status,
        "status": status,
        "scores": json.dumps(scores),
        "model_version": model_version or "",
        "model_decision": model_decision or "",
    }
    return [item for pair in fields.items() for item in pair]


def decode(entry_id: bytes | str, fields: dict) -> dict:
    """One stream entry as the API shows it."""
    data = {as_text(k): as_text(v) for k, v in fields.items()}
    return {
        "id": as_text(entry_id),
        "at": data.get("at", ""),
        "comment_id": data.get("comment_id", ""),
        "moderator": data.get("moderator", ""),
        "decision": data.get("decision", ""),
        "labels": json.loads(data.get("labels") or "[]"),
        "note": data.get("note", ""),
        "previous_status": data.get("previous_status", ""),
        "status": data.get("status", ""),
        "scores": json.loads(data.get("scores") or "{}"),
        "model_version": data.get("model_version") or None,
        "model_decision": data.get("model_decision") or None,
    }


@dataclass(frozen=True)
class AuditFilter:
    """Which entries to show: each given field must match exactly; times are ISO-8601 bounds."""

    moderator: str | None = None
    decision: str | None = None
    comment_id: str | None = None
    since: str | None = None
    until: str | None = None

    def matches(self, entry: dict) -> bool:
        return (
            (self.moderator is None or entry["moderator"] == self.moderator)
            and (self.decision is None or entry["decision"] == self.decision)
            and (self.comment_id is None or entry["comment_id"] == self.comment_id)
            and (self.since is None or entry["at"] >= self.since)
            and (self.until is None or entry["at"] < self.until)
        )


class AuditLog:
    """Reads a site's audit stream.

    :param connection: a Redis client.
    :param keys: the key builder.
    """

    def __init__(self, connection: redis.Redis, keys: RedisKeys) -> None:
        self.connection = connection
        self.keys = keys

    def page(
        self,
        site: str,
        limit: int = 50,
        before: str | None = None,
        where: AuditFilter | None = None,
    ) -> tuple[list[dict], str | None]:
        """Entries newest first, starting below the cursor ``before`` (an entry id).

        :return: the entries and the cursor of the next page (None on the last page).
        """
        where = where or AuditFilter()
        found: list[dict] = []
        upper = f"({before}" if before else "+"
        while len(found) < limit:
            batch = self.connection.xrevrange(self.keys.audit(site), upper, "-", count=MAX_PAGE)
            if not batch:
                return found, None
            for entry_id, fields in batch:
                entry = decode(entry_id, fields)
                upper = f"({entry['id']}"
                if where.matches(entry):
                    found.append(entry)
                    if len(found) == limit:
                        return found, entry["id"]
            if len(batch) < MAX_PAGE:
                return found, None
        return found, None

    def iter(self, site: str) -> Iterator[dict]:
        """Every entry, oldest first, streamed in pages."""
        lower = "-"
        while True:
            batch = self.connection.xrange(self.keys.audit(site), lower, "+", count=MAX_PAGE)
            for entry_id, fields in batch:
                yield decode(entry_id, fields)
            if len(batch) < MAX_PAGE:
                return
            lower = f"({as_text(batch[-1][0])}"

    def for_comment(self, site: str, comment_id: str) -> list[dict]:
        """Every entry about one comment, newest first (scans the stream)."""
        entries, _ = self.page(site, limit=1000, where=AuditFilter(comment_id=comment_id))
        return entries
