"""The moderators' JSON API: queue, claims, decisions, audit log, dead letters; and reader reports.

A moderator is either a moderator API key of the site in the URL, or the web session of a moderator
account assigned to that site (or an admin). Anyone else is refused, whatever the site: a key of
another site gets 403 before the site is even looked up. Writes made with a session need the
session's CSRF token in ``X-CSRF-Token``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import redis
from flask import Blueprint, Flask, current_app, g, jsonify, request

from service import sessions, webhooks
from service.audit import AuditFilter, AuditLog
from service.auth import authenticate, presented_key, require_key
from service.errors import (
    ApiError,
    Forbidden,
    InvalidRequest,
    NotFound,
    StorageUnavailable,
    Unauthorized,
    storage_failure,
)
from service.extensions import get_services
from service.moderators import ModeratorStore
from service.payloads import (
    MAX_ID_LENGTH,
    echoed_id,
    is_language_tag,
    is_unicode_text,
    json_body,
    json_value,
    primary_language,
    string_field,
)
from service.queue import (
    DEFAULT_LEASE_SECONDS,
    MAX_LEASE_SECONDS,
    MAX_LIMIT,
    Decision,
    QueueFilter,
    ReviewQueue,
    iso,
    stored_time,
)
from service.sessions import check_csrf, current_moderator
from service.sites import Site
from service.webhooks import WebhookOutbox

bp = Blueprint("moderation", __name__, url_prefix="/v1/sites/<site_name>")
reports_bp = Blueprint("reports", __name__, url_prefix="/v1/comments")

MAX_BULK = 100
MAX_LABELS = 8
MAX_NOTE = 2000
AUDIT_DECISIONS = ("approve", "reject", "undo")
_CURSOR = re.compile(r"^\d{1,20}-\d{1,20}$")


@dataclass
class Moderation:
    """The stores of the moderation workflow, built once per app."""

    moderators: ModeratorStore
    queue: ReviewQueue
    audit: AuditLog
    outbox: WebhookOutbox


def get_moderation() -> Moderation:
    """The current app's moderation stores."""
    return current_app.extensions["modq-moderation"]


@dataclass(frozen=True)
class Caller:
    """Who is acting: the name used in leases and the audit log, and whether an admin."""

    moderator: str
    admin: bool
    by_key: bool = False  # a site's moderator key (an integration), not a person's session


def moderator_for(site_name: str) -> tuple[Caller, Site]:
    """The caller, once it may act on ``site_name``, and that site.

    :raise 401: no key and no session, or an invalid key.
    :raise 403: a key of another role or site, a moderator not assigned to the site, or a
        session write without its CSRF token.
    :raise 404: an admin asked for a site that does not exist.
    """
    secret = presented_key()
    if secret is not None:
        key, site = authenticate(secret, "moderator")
        if key.site != site_name:
            raise Forbidden(f"Key {key.id} belongs to another site; it cannot act on this one.")
        g.site = site  # for the access log, as intake's keys set it
        return Caller(f"key:{key.id}", admin=False, by_key=True), site
    account = current_moderator()
    if account is None:
        raise Unauthorized("Log in, or send a moderator key as 'Authorization: Bearer <key>'.")
    if not account.may_moderate(site_name):
        raise Forbidden(f"{account.email} is not a moderator of this site.")
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        check_csrf()
    site = get_services().sites.get(site_name)
    if site is None:
        raise NotFound(f"No site called {site_name!r}.")
    g.site = site
    return Caller(account.identity, admin=account.admin), site


def _int_arg(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidRequest(f"Query parameter '{name}' must be an integer.", field=name) from None
    if not low <= value <= high:
        raise InvalidRequest(f"Query parameter '{name}' must be within {low}..{high}.", field=name)
    return value


def _body_int(body: dict, name: str, default: int, low: int, high: int) -> int:
    value = body.get(name, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidRequest(f"Field '{name}' must be an integer within {low}..{high}.", field=name)
    return value


def _optional_str(
    source: dict, name: str, where: str = "", limit: int = MAX_ID_LENGTH
) -> str | None:
    value = source.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise InvalidRequest(
            f"'{where}{name}' must be a string of at most {limit} characters.",
            field=f"{where}{name}",
        )
    return value


def queue_filter(source: dict) -> QueueFilter:
    """The filters and order of a listing or claim, from query args or a JSON body."""
    language = _optional_str(source, "language")
    if language is not None and not is_language_tag(language):
        raise InvalidRequest(
            f"'language' is {language!r}, not a language tag such as 'en' or 'ko'.",
            field="language",
        )
    where = QueueFilter(
        category=_optional_str(source, "category"),
        # Intake keeps a comment's primary language tag in lower case ("ko" for "KO-kr").
        language=primary_language(language) if language else None,
        article_id=_optional_str(source, "article_id"),
        order=_optional_str(source, "order") or "urgent",
    )
    where.check()
    return where


def parse_decision(body: object, comment_id: str | None = None, where: str = "") -> Decision:
    """A decision from its JSON form.

    :raise 400: a missing or wrongly typed field (named in the message).
    """
    if not isinstance(body, dict):
        raise InvalidRequest(f"'{where.rstrip('.') or 'body'}' must be an object.")
    if comment_id is None:
        comment_id = body.get("comment_id")
        if comment_id is None:
            comment_id = body.get("id")
        if not isinstance(comment_id, str) or not comment_id:
            raise InvalidRequest(
                f"Field '{where}comment_id' is required: the comment's id.",
                field=f"{where}comment_id",
            )
        if len(comment_id) > MAX_ID_LENGTH or not is_unicode_text(comment_id):
            raise InvalidRequest(
                f"Field '{where}comment_id' must be text of at most {MAX_ID_LENGTH} characters, "
                "as the comment's id was sent.",
                field=f"{where}comment_id",
            )
    decision = body.get("decision")
    if decision not in ("approve", "reject"):
        raise InvalidRequest(
            f"Field '{where}decision' must be 'approve' or 'reject'.", field=f"{where}decision"
        )
    labels = body.get("labels") or []
    if (
        not isinstance(labels, list)
        or len(labels) > MAX_LABELS
        or not all(
            isinstance(label, str) and 0 < len(label) <= 32 and is_unicode_text(label)
            for label in labels
        )
    ):
        raise InvalidRequest(
            f"Field '{where}labels' must be a list of at most {MAX_LABELS} short strings, "
            'such as ["spam"] or ["abuse"].',
            field=f"{where}labels",
        )
    note = string_field(body, "note", where, required=False, max_length=MAX_NOTE) or ""
    overturn = body.get("overturn", False)
    if not isinstance(overturn, bool):
        raise InvalidRequest(
            f"Field '{where}overturn' must be a boolean.", field=f"{where}overturn"
        )
    return Decision(comment_id, decision, tuple(dict.fromkeys(labels)), note, overturn)


@bp.get("/queue")
def list_queue(site_name: str):
    """Pending items with everything a moderator needs; filters and order from the query."""
    _, site = moderator_for(site_name)
    where = queue_filter(request.args.to_dict())
    limit = _int_arg("limit", 50, 1, MAX_LIMIT)
    items = get_moderation().queue.list(site, where, limit)
    return jsonify({"site": site.name, "order": where.order, "items": items})


@bp.get("/queue/stats")
def queue_stats(site_name: str):
    """Pending and leased counts, the oldest item's age and decisions in the last hour."""
    _, site = moderator_for(site_name)
    return jsonify(get_moderation().queue.stats(site.name))


@bp.post("/queue/claim")
def claim(site_name: str):
    """Lease up to ``limit`` items to the caller for ``lease_seconds`` (default 300)."""
    caller, site = moderator_for(site_name)
    body = json_body() if request.get_data(cache=True).strip() else {}
    limit = _body_int(body, "limit", 10, 1, MAX_LIMIT)
    lease_seconds = _body_int(body, "lease_seconds", DEFAULT_LEASE_SECONDS, 1, MAX_LEASE_SECONDS)
    items, expires = get_moderation().queue.claim(
        site, caller.moderator, limit, lease_seconds, queue_filter(body)
    )
    return jsonify(
        {
            "items": items,
            "lease_expires_at": iso(expires),
            "lease_seconds": lease_seconds,
            "moderator": caller.moderator,
        }
    )


@bp.post("/queue/<path:comment_id>/release")
def release(site_name: str, comment_id: str):
    """Give a leased item back to the queue before its lease ends.

    :raise 404: the comment is not queued. :raise 409: someone else holds the lease.
    """
    caller, site = moderator_for(site_name)
    released = get_moderation().queue.release(site.name, comment_id, caller.moderator)
    return jsonify({"id": comment_id, "released": released})


@bp.post("/queue/<path:comment_id>/decision")
def decide(site_name: str, comment_id: str):
    """Approve or reject one comment of the site, queued or not.

    :raise 409: leased to another moderator, or already decided by a moderator (send
        ``"overturn": true`` to replace that decision).
    """
    caller, site = moderator_for(site_name)
    decision = parse_decision(json_body(), comment_id)
    return jsonify(get_moderation().queue.decide(site, caller.moderator, decision))


@bp.post("/queue/<path:comment_id>/undo")
def undo(site_name: str, comment_id: str):
    """Take back the caller's decision on a comment within a few seconds of making it."""
    caller, site = moderator_for(site_name)
    return jsonify(get_moderation().queue.undo(site, comment_id, caller.moderator))


def _bulk_items() -> list:
    """The decisions of a bulk request, sent as ``{"decisions": [...]}`` or as a bare array."""
    body = json_value()
    items = body.get("decisions") if isinstance(body, dict) else body
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_BULK:
        raise InvalidRequest(
            f'Send 1 to {MAX_BULK} decisions, as {{"decisions": [...]}} or a JSON array.',
            field="decisions",
        )
    return items


@bp.post("/queue/decisions")
def decide_many(site_name: str):
    """Several decisions in one request; one result (or error) per decision, in order.

    Each decision is applied on its own. If Redis fails partway, the decisions before it stand,
    and it and the ones after it get a 503 each: sending the same request again is safe, as a
    moderator's repeated decision answers as the first did.
    """
    caller, site = moderator_for(site_name)
    results = []
    unavailable: str | None = None  # why Redis failed, once it has
    for index, raw in enumerate(_bulk_items()):
        where = f"decisions[{index}]."
        try:
            decision = parse_decision(raw, where=where)  # its own error first: a retry won't fix it
            if unavailable is not None:
                raise StorageUnavailable(unavailable)
            results.append(get_moderation().queue.decide(site, caller.moderator, decision))
        except redis.exceptions.RedisError as error:
            unavailable = storage_failure(error)
            if unavailable is None:
                raise
            results.append(_item_error(raw, StorageUnavailable(unavailable)))
        except ApiError as error:
            results.append(_item_error(raw, error))
    return jsonify({"results": results})


def _item_error(raw: object, error: ApiError) -> dict:
    return error.item(echoed_id(raw, "comment_id", "id"))


@bp.get("/audit")
def audit_log(site_name: str):
    """Audit entries newest first; filter by moderator, decision, comment_id, since, until;
    page with ``cursor`` (the ``next_cursor`` of the previous page)."""
    _, site = moderator_for(site_name)
    cursor = request.args.get("cursor") or None
    if cursor is not None and not _CURSOR.match(cursor):
        raise InvalidRequest(
            "Query parameter 'cursor' must be a 'next_cursor' value.", field="cursor"
        )
    decision = _optional_str(request.args, "decision")
    if decision not in (None, *AUDIT_DECISIONS):
        raise InvalidRequest(
            f"Query parameter 'decision' must be one of {', '.join(AUDIT_DECISIONS)}.",
            field="decision",
        )
    where = AuditFilter(
        **{name: _optional_str(request.args, name) for name in ("moderator", "comment_id")},
        decision=decision,
        since=_time_arg("since"),
        until=_time_arg("until"),
    )
    limit = _int_arg("limit", 50, 1, 500)
    entries, next_cursor = get_moderation().audit.page(site.name, limit, cursor, where)
    return jsonify({"site": site.name, "entries": entries, "next_cursor": next_cursor})


def _time_arg(name: str) -> str | None:
    """An optional date or time query parameter, in the stored form; 400 if it is none."""
    value = _optional_str(request.args, name)
    if value is None:
        return None
    try:
        return stored_time(value)
    except ValueError:
        raise InvalidRequest(
            f"Query parameter '{name}' must be a date or time such as 2026-01-31 or "
            "2026-01-31T12:00:00Z.",
            field=name,
        ) from None


def _webhook_operator(site_name: str) -> Site:
    """The site, for an admin or for the site's own moderator key: the integration that runs the
    webhook receiver needs to see what it missed and have it sent again."""
    caller, site = moderator_for(site_name)
    if not (caller.admin or caller.by_key):
        raise Forbidden(
            "Only admins and the site's moderator keys may see and replay dead letters."
        )
    return site


@bp.get("/webhooks/dead-letters")
def dead_letters(site_name: str):
    """Webhook events that failed every attempt (admins, or the site's moderator key)."""
    site = _webhook_operator(site_name)
    letters = get_moderation().outbox.dead_letters(site.name)
    return jsonify({"site": site.name, "dead_letters": letters})


@bp.post("/webhooks/dead-letters/replay")
def replay_dead_letters(site_name: str):
    """Queue dead letters (``{"ids": [...]}``, or all) for delivery again (admins, or the site's
    moderator key)."""
    site = _webhook_operator(site_name)
    body = json_body() if request.get_data(cache=True).strip() else {}
    ids = body.get("ids")
    if ids is not None and (not isinstance(ids, list) or not all(isinstance(i, str) for i in ids)):
        raise InvalidRequest("Field 'ids' must be a list of event ids.", field="ids")
    return jsonify({"replayed": get_moderation().outbox.replay(site.name, ids)})


@reports_bp.post("/<path:comment_id>/reports")
@require_key("ingest")
def report_comment(comment_id: str):
    """A reader reports a comment: an approved one goes back to the review queue.

    Reports from more distinct readers raise its priority; one reader's repeats count once.

    :raise 404: the site has no such comment.
    """
    body = json_body()
    reporter = body.get("reporter_id")
    if (
        not isinstance(reporter, str)
        or not reporter
        or len(reporter) > MAX_ID_LENGTH
        or not is_unicode_text(reporter)
    ):
        raise InvalidRequest(
            "Field 'reporter_id' is required: the reporting reader's id.", field="reporter_id"
        )
    reason = body.get("reason") or ""
    if not isinstance(reason, str) or len(reason) > 500 or not is_unicode_text(reason):
        raise InvalidRequest(
            "Field 'reason' must be a string of at most 500 characters.", field="reason"
        )
    if len(comment_id) > MAX_ID_LENGTH:
        raise NotFound("No such comment on this site.")
    return jsonify(get_moderation().queue.report(g.site.name, comment_id, reporter, reason))


def init_app(app: Flask) -> None:
    """Build the moderation stores, sessions and webhook delivery, and register the JSON API."""
    services = app.extensions["modq"]
    app.extensions["modq-moderation"] = Moderation(
        moderators=ModeratorStore(services.redis, services.keys),
        queue=ReviewQueue(services.redis, services.keys, services.labels),
        audit=AuditLog(services.redis, services.keys),
        outbox=WebhookOutbox(services.redis, services.keys),
    )
    sessions.init_app(app)
    webhooks.init_app(app)
    app.register_blueprint(bp)
    app.register_blueprint(reports_bp)
