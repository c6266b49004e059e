"""Comment intake: ``/v1/comments``, the path every reader comment takes before it is published."""

from __future__ import annotations

from flask import Blueprint, current_app, g, jsonify, request

from model.campaigns import fingerprints_many
from model.scorer import ScoreResult
from model.text import strip_invisible, visible_length
from service.auth import require_key
from service.campaigns import with_campaign
from service.comments import STATUS_FOR_DECISION, StoreOutcome, public_result, text_hash
from service.errors import ApiError, InvalidRequest, NotFound, UnprocessableComment
from service.extensions import get_services
from service.payloads import MAX_ID_LENGTH, CommentIn, echoed_id, json_body, parse_comment
from service.policy import decide
from service.ratelimits import RateLimited, largest_batch
from service.retention import CommentEraser
from service.sites import Site, utcnow

bp = Blueprint("comments", __name__, url_prefix="/v1/comments")

MAX_BATCH = 100


# A character as a reader sees it is one grapheme cluster, which may be several code points: a
# family emoji with skin tones is 11, a letter with marks a few. Text of far more code points per
# character than that is padding (invisible characters, stacked marks) that a moderator's page
# would have to show: it is refused however few characters it shows.
MAX_CODE_POINTS_PER_CHARACTER = 16


def checked_text(site: Site, comment: CommentIn, where: str = "") -> str:
    """The comment's text with invisible characters removed, once it passes the site's limits.

    :raise 422: the text is empty or only whitespace, or longer than the site allows (in
        characters, or in code points: ``MAX_CODE_POINTS_PER_CHARACTER`` per character).
    """
    text = strip_invisible(comment.text)
    if not text.strip():
        raise UnprocessableComment(
            f"Field '{where}text' is empty or only whitespace; there is nothing to moderate.",
            code="text_empty",
            field=f"{where}text",
        )
    most = site.max_length * MAX_CODE_POINTS_PER_CHARACTER
    if len(comment.text) > most:
        raise UnprocessableComment(
            f"Field '{where}text' holds {len(comment.text)} code points; site '{site.name}' "
            f"accepts at most {most} ({MAX_CODE_POINTS_PER_CHARACTER} per character of its "
            f"{site.max_length}-character limit), more than any text a reader sees within the "
            "limit needs; the rest would be invisible characters or stacked marks.",
            code="text_too_long",
            field=f"{where}text",
            limit=most,
            length=len(comment.text),
        )
    length = visible_length(comment.text)
    if length > site.max_length:
        raise UnprocessableComment(
            f"Field '{where}text' is {length} characters long; site '{site.name}' allows "
            f"{site.max_length}. Characters are counted as a reader sees them (one per grapheme "
            "cluster after NFC); invisible characters such as zero-width spaces do not count.",
            code="text_too_long",
            field=f"{where}text",
            limit=site.max_length,
            length=length,
        )
    return text


def assess(site: Site, text: str, result: ScoreResult) -> dict:
    """The site's decision on a scored text, with the fields every result carries.

    Shared by intake and ``modq score`` so that both answer the same for the same text.
    """
    decision = decide(site, result.scores, text)
    return {
        "decision": decision.decision,
        "scores": {k: round(v, 6) for k, v in result.scores.items()},
        "reasons": list(decision.rule_reasons) + [r.describe() for r in result.reasons],
        "model_version": result.model_version,
        "status": STATUS_FOR_DECISION[decision.decision],
        "language": result.language,
    }


def highlights(result: ScoreResult) -> list[dict]:
    """What to mark in the text: each term behind a score, and each signal's evidence (a link, a
    phone number, an amount) as written."""
    found = []
    terms = {(r.category, r.text) for r in result.reasons if r.kind == "term"}
    for reason in result.reasons:
        if reason.kind == "signal" and (not reason.text or (reason.category, reason.text) in terms):
            continue  # nothing to mark, or marked as a term already ("idiot" and its profanity)
        if reason.kind in ("term", "signal"):
            mark = {
                "category": reason.category,
                "text": reason.text,
                "weight": round(reason.weight, 4),
                "kind": reason.kind,
            }
            if reason.kind == "signal":
                mark["signal"] = reason.signal
            found.append(mark)
    return found


def build_record(site: Site, comment: CommentIn, text: str, result: ScoreResult) -> dict:
    """The stored form of a scored comment, with the site's decision applied."""
    now = utcnow()
    return {
        "id": comment.id,
        "site": site.name,
        "text": comment.text,
        "text_sha256": text_hash(comment.text),
        "article_id": comment.article_id,
        "author": comment.author,
        "metadata": comment.metadata,
        **assess(site, text, result),
        "highlights": highlights(result),
        "urgency": round(max(result.scores.values(), default=0.0), 6),
        "received_at": now,
        "updated_at": now,
    }


def limit_rates(site: Site, count: int, author: dict | None = None) -> None:
    """Count ``count`` comments against the key and address limits, and one against the author's.

    :raise 429: a limit is reached.
    """
    if not site.rate_limits:
        return
    limiter = get_services().rate_limiter
    if count:
        limiter.hit(site.name, site.rate_limits, "key", g.api_key.id, cost=count)
        limiter.hit(site.name, site.rate_limits, "address", request.remote_addr, cost=count)
    if author and author.get("id"):
        limiter.hit(site.name, site.rate_limits, "author", author["id"])


def stored_retries(site: Site, comments: list[CommentIn]) -> list[dict | None]:
    """Per comment, its stored record when this is a retry (same id, same text), else None.

    Read only once a rate limit refuses, so the path of a new comment costs no extra round trip.
    """
    store = get_services().comments
    records = store.get_many(site.name, [comment.id for comment in comments])
    return [
        record if record is not None and record["text_sha256"] == text_hash(comment.text) else None
        for comment, record in zip(comments, records, strict=True)
    ]


def store_scored(
    site: Site, scored: list[tuple[CommentIn, str, ScoreResult]]
) -> list[StoreOutcome]:
    """Store scored comments of one site, counting their texts for campaigns on the way.

    One round trip in the usual case. A text that reaches the site's campaign threshold comes
    back unstored; its spam score is raised and it is stored in a second round trip.
    """
    store = get_services().comments
    records = [build_record(site, comment, text, result) for comment, text, result in scored]
    prints = fingerprints_many([text for _, text, _ in scored]) if site.campaign_copies else None
    outcomes = store.store_many(records, site.retention_seconds, prints, site.campaign_copies)
    held = [i for i, outcome in enumerate(outcomes) if outcome.campaign]
    if held:
        raised = [
            build_record(
                site,
                scored[i][0],
                scored[i][1],
                with_campaign(scored[i][2], outcomes[i].copies, site.campaign_copies),
            )
            for i in held
        ]
        for i, outcome in zip(held, store.store_many(raised, site.retention_seconds), strict=True):
            outcomes[i] = outcome
    current_app.extensions["modq.metrics"].count_decisions(
        [(o.record["decision"], o.record["scores"]) for o in outcomes if o.created],
        site.review_thresholds,
    )
    return outcomes


@bp.post("")
@require_key("ingest")
def create_comment():
    """Score one comment, decide it, and queue it for review when needed.

    Re-sending the same id with the same text returns the stored result; new text is an edit.
    """
    services = get_services()
    site: Site = g.site
    comment = parse_comment(json_body())
    # Checked before the limits count it: a comment that can never be stored gets its 422, not
    # a 429 that tells the client to send it again later.
    text = checked_text(site, comment)
    try:
        limit_rates(site, 1, comment.author)
    except RateLimited:
        # A retry of a stored comment gets its result: the client may never have seen it.
        [stored] = stored_retries(site, [comment])
        if stored is None:
            raise
        return jsonify(public_result(stored))
    result = services.scorer_for(site.name).score(text, comment.language)
    [outcome] = store_scored(site, [(comment, text, result)])
    return jsonify(public_result(outcome.record))


@bp.post("/batch")
@require_key("ingest")
def create_comments():
    """Score up to 100 comments in one request; one result (or error) per comment, in order."""
    services = get_services()
    site: Site = g.site
    request.max_content_length = current_app.config["MODQ_MAX_BATCH_BODY_BYTES"]
    body = json_body()
    comments = body.get("comments")
    if not isinstance(comments, list):
        raise InvalidRequest("Field 'comments' is required and must be an array.", field="comments")
    if not comments:
        raise InvalidRequest("Field 'comments' is empty; send 1 to 100 comments.", field="comments")
    if len(comments) > MAX_BATCH:
        raise InvalidRequest(
            f"Field 'comments' holds {len(comments)} comments; send at most {MAX_BATCH} per batch.",
            field="comments",
        )
    results: list[dict | None] = [None] * len(comments)
    checked: list[tuple[int, CommentIn, str]] = []
    first_with_id: dict[str, int] = {}
    for index, raw in enumerate(comments):
        where = f"comments[{index}]."
        try:
            item_id = echoed_id(raw, "id")
            if item_id is not None and item_id in first_with_id:
                # Two items for one id in one request, valid or not: which should stand is the
                # client's to say, and a retry of the same text needs no second copy.
                raise InvalidRequest(
                    f"Field '{where}id' repeats the id of comments[{first_with_id[item_id]}]; "
                    "send each comment once per batch (an edit in a later request).",
                    code="duplicate_id",
                    field=f"{where}id",
                )
            if item_id is not None:
                first_with_id[item_id] = index
            comment = parse_comment(raw, where)
            checked.append((index, comment, checked_text(site, comment, where)))
        except ApiError as error:
            results[index] = item_error(raw, error)
    # Only comments that pass their checks count against the limits.
    checked = limit_batch_rates(site, checked, results)
    accepted: list[tuple[int, CommentIn, str]] = []
    for index, comment, text in checked:
        try:
            limit_rates(site, 0, comment.author)
            accepted.append((index, comment, text))
        except RateLimited as error:
            [stored] = stored_retries(site, [comment])
            results[index] = (
                public_result(stored) if stored is not None else item_error(comment, error)
            )
    if accepted:
        scored = services.scorer_for(site.name).score_many(
            [text for _, _, text in accepted], [c.language for _, c, _ in accepted]
        )
        outcomes = store_scored(
            site, [(c, text, r) for (_, c, text), r in zip(accepted, scored, strict=True)]
        )
        for (index, _, _), outcome in zip(accepted, outcomes, strict=True):
            results[index] = public_result(outcome.record)
    return jsonify({"results": results})


def item_error(raw: object, error: ApiError) -> dict:
    """One batch item's error, with its id when it has a usable one."""
    return error.item(raw.id if isinstance(raw, CommentIn) else echoed_id(raw, "id"))


def limit_batch_rates(
    site: Site, checked: list[tuple[int, CommentIn, str]], results: list[dict | None]
) -> list[tuple[int, CommentIn, str]]:
    """Count a batch's checked comments against the key and address limits.

    When a limit refuses, the comments already stored with the same text get their stored
    results in ``results`` and the rest are counted again on their own; if the limit refuses
    them too, each gets its 429 in ``results``.

    :return: the comments still to score and store.
    :raise 400: more comments than a limit ever allows at once; retrying cannot help.
    :raise 429: a limit is reached, none of the comments is a stored retry and no item of the
        batch was refused on its own.
    """
    largest = largest_batch(site.rate_limits) if site.rate_limits else None
    if largest is not None and len(checked) > largest[0]:
        amount, scope = largest
        raise InvalidRequest(
            f"Field 'comments' holds {len(checked)} comments, more than site '{site.name}' "
            f"allows per {scope} at once ({site.rate_limits[scope]}); send at most {amount} "
            "per batch.",
            code="batch_over_rate_limit",
            field="comments",
            limit=amount,
        )
    try:
        limit_rates(site, len(checked))
        return checked
    except RateLimited:
        stored = stored_retries(site, [comment for _, comment, _ in checked])
        # The whole batch is one 429 only when that loses nothing: no stored result to give
        # back and no item already refused on its own (its error says more than the 429).
        if not any(stored) and all(result is None for result in results):
            raise
    fresh = []
    for item, record in zip(checked, stored, strict=True):
        if record is None:
            fresh.append(item)
        else:
            results[item[0]] = public_result(record)
    try:
        limit_rates(site, len(fresh))
    except RateLimited as error:
        # The stored retries keep their results; the new comments are refused one by one.
        for index, comment, _ in fresh:
            results[index] = item_error(comment, error)
        return []
    return fresh


@bp.get("/<path:comment_id>")
@require_key("ingest")
def get_comment(comment_id: str):
    """The stored result and current status of one of the site's comments.

    :raise 404: the site has no comment with that id.
    """
    record = get_services().comments.get(g.site.name, checked_id(comment_id))
    if record is None:
        raise no_such_comment(comment_id)
    return jsonify({**public_result(record), "updated_at": record["updated_at"]})


@bp.delete("/<path:comment_id>")
@require_key("ingest")
def delete_comment(comment_id: str):
    """Withdraw one of the site's comments (its author or the site deleted it): its record and
    result, its place in the review queue, its labeled example and its reader reports are erased.

    :raise 404: the site has no comment with that id (a retry after it was withdrawn gets this).
    """
    services = get_services()
    eraser = CommentEraser(services.redis, services.keys)
    erased, *_ = eraser.erase_comment(g.site.name, checked_id(comment_id))
    if not erased:
        raise no_such_comment(comment_id)
    return "", 204


def checked_id(comment_id: str) -> str:
    """A comment id from the path; one longer than any stored id is no comment of the site."""
    if len(comment_id) > MAX_ID_LENGTH:
        raise NotFound(f"No comment with id {comment_id[:40]!r}... on this site.")
    return comment_id


def no_such_comment(comment_id: str) -> NotFound:
    return NotFound(f"No comment with id {comment_id!r} on site '{g.site.name}'.")
