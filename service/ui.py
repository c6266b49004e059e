"""The moderators' web UI: server-rendered pages, a little plain JavaScript, no build step.

Pages: login, the site's queue (counts, filters, ordering, comment cards with the words that drove
the scores highlighted, approve and reject, bulk selection, keyboard shortcuts), the moderator's
decision history, one comment's history, and the audit log. Every page is escaped by Jinja's
autoescaping; the highlighting builds its markup from escaped pieces only. Scripts and styles come
from ``static/`` only, so the Content-Security-Policy can forbid inline code altogether.
"""

from __future__ import annotations

import itertools
import logging
import re
import secrets
import unicodedata
from collections.abc import Sequence
from datetime import UTC, datetime
from urllib.parse import urlsplit

import redis
from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from markupsafe import Markup, escape

from model.scorer import NOTHING_STOOD_OUT
from service import sessions
from service.audit import AuditFilter
from service.errors import ApiError, ServiceUnavailable
from service.extensions import get_services
from service.moderation_api import get_moderation, parse_decision
from service.moderators import Moderator, normalize_email
from service.payloads import primary_language
from service.queue import ORDERS, UNDO_SECONDS, QueueFilter, ReviewQueue
from service.sites import Site

log = logging.getLogger(__name__)
bp = Blueprint(
    "ui",
    __name__,
    url_prefix="/ui",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)

PAGE_SIZE = 50
# The most comments one page-leave gives back (a page holds PAGE_SIZE; more is not ours).
MAX_RELEASE = 200
# How long the comments of a queue page stay leased to the moderator who opened it: long enough
# for a page of 50, short enough that a page left open hands its comments back soon.
PAGE_LEASE_SECONDS = 600
UI_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
API_POLICY = "default-src 'none'; frame-ancestors 'none'"
_CURSOR = re.compile(r"^\d{1,20}-\d{1,20}$")


# Characters that show as nothing, or reorder the text after them (U+202E turns "gnp.exe" into
# "exe.png"). The card shows each as a visible badge instead, so a comment cannot look other than
# it is. A zero-width joiner builds emoji (families, professions) and is left alone; so are the tag
# characters of subdivision flags. Hangul fillers are letters that print blank.
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0")
_KEPT_CONTROLS = frozenset("\n\r\t\u200d")
# Scripts written without spaces between words, or with particles joined to them (Korean): a term
# may end inside a run of their letters.
_UNSPACED_SCRIPTS = (
    (0x1100, 0x11FF),  # Hangul jamo (syllables are decomposed before matching)
    (0x3040, 0x30FF),  # Hiragana, Katakana
    (0x3130, 0x318F),  # Hangul compatibility jamo
    (0x3400, 0x4DBF),  # CJK extension A
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xA960, 0xA97F),  # Hangul jamo extended-A
    (0xAC00, 0xD7FF),  # Hangul syllables, jamo extended-B
)
# A signal's reason as the scorer words it: 'spam: phone number (010-1234-5678)'; read for records
# stored before highlights carried signals.
_SIGNAL_REASON = re.compile(r"^(spam|abuse): ([a-z][a-z ]*[a-z]) \((.+)\)$")


def is_hidden_character(char: str) -> bool:
    """Whether ``char`` prints as nothing or silently changes how the text around it reads."""
    if char in _KEPT_CONTROLS:
        return False
    if char in _BLANK_LETTERS:
        return True
    category = unicodedata.category(char)
    return category == "Cc" or (category == "Cf" and not "\U000e0020" <= char <= "\U000e007f")


def _badge(char: str, count: int = 1) -> str:
    code = f"U+{ord(char):04X}"
    name = unicodedata.name(char, "invisible character")
    if count > 1:
        code, name = f"{code} \u00d7{count}", f"{name}, {count} times"
    return f'<span class="hidden-char" title="{escape(name)}">\u27e8{code}\u27e9</span>'


def _hidden_or_none(char: str) -> str | None:
    return char if is_hidden_character(char) else None


def reveal(text: str) -> Markup:
    """The text, escaped, with invisible and direction-changing characters shown as badges.

    A run of one such character is one badge that says how many (``⟨U+200B ×19900⟩``): a badge
    each would turn a comment padded with thousands of them into megabytes of markup.
    """
    pieces: list[str] = []
    for hidden, run in itertools.groupby(text, key=_hidden_or_none):
        chars = "".join(run)
        pieces.append(_badge(hidden, len(chars)) if hidden else str(escape(chars)))
    return Markup("".join(pieces))


def _folded(text: str) -> tuple[str, list[int]]:
    """``text`` as terms are matched against it, and where each of its characters came from.

    Invisible characters are skipped (the scorer reads the comment without them, so a reported
    term may span "i\u200bdiot"); every other character is case-folded and decomposed, which may
    turn one character into several ("ß" into "ss", "İ" into "i" and a dot). The second list gives,
    for each character of the result, the index of the character of ``text`` it came from.
    """
    folded: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(text):
        if is_hidden_character(char) or char == "\u200d":
            continue
        for part in unicodedata.normalize("NFD", char.casefold()):
            folded.append(part)
            origin.append(index)
    return "".join(folded), origin


def _in_word(char: str) -> bool:
    return char.isalnum() or char == "_" or unicodedata.combining(char) > 0


def _unspaced(char: str) -> bool:
    code = ord(char)
    return any(low <= code <= high for low, high in _UNSPACED_SCRIPTS)


def _joined(left: str, right: str) -> bool:
    """Whether ``left`` and ``right`` belong to one word, so a term may not end between them."""
    if not left or not right or not (_in_word(left) and _in_word(right)):
        return False
    return not (_unspaced(left) or _unspaced(right))


def _occurrences(folded: str, origin: list[int], needle: str) -> list[tuple[int, int]]:
    """Spans of the original text where ``needle`` stands as a whole word (or words)."""
    spans = []
    start = folded.find(needle)
    while start != -1:
        end = start + len(needle)
        before = folded[start - 1] if start else ""
        after = folded[end] if end < len(folded) else ""
        whole_characters = (not before or origin[start - 1] != origin[start]) and (
            not after or (origin[end] != origin[end - 1] and not unicodedata.combining(after))
        )
        if (
            whole_characters
            and not _joined(before, folded[start])
            and not _joined(folded[end - 1], after)
        ):
            spans.append((origin[start], origin[end - 1] + 1))
        start = folded.find(needle, start + 1)
    return spans


def _evidence(highlights: Sequence[dict], reasons: Sequence[str]) -> list[tuple[str, str, str]]:
    """(category, text, description) of each term and each signal's evidence.

    A record stored before highlights carried signals has its signals' evidence only in the
    reasons' wording ('spam: phone number (010-1234-5678)'); it is read from there.
    """
    found = []
    for mark in highlights:
        category = str(mark.get("category", ""))
        if mark.get("kind") == "signal":
            description = f"{category} signal: {mark.get('signal', '')}"
        else:
            description = f"{category} term"
        found.append((category, str(mark.get("text", "")), description))
    if any("kind" in mark for mark in highlights):
        return found
    for reason in reasons:
        match = _SIGNAL_REASON.match(reason)
        if match:
            category, signal, text = match.groups()
            found.append((category, text, f"{category} signal: {signal}"))
    return found


def highlight(
    text: str, highlights: Sequence[dict], reasons: Sequence[str] = (), top: str | None = None
) -> Markup:
    """The text, escaped, with the terms and signal evidence behind its scores marked.

    A term is marked only where it stands as a whole word ("ass" not inside "class"), and where
    the comment hides it with invisible characters. Where marks of two categories overlap, the
    card's top category wins, then the longer mark. Each mark names its category in a tooltip and
    in text for screen readers, not by colour alone; invisible characters show as badges.

    :param text: the comment as submitted.
    :param highlights: the record's terms, ``{"category", "text"}`` each.
    :param reasons: the record's reasons; signals' evidence is read from them.
    :param top: the category to prefer where marks overlap.
    """
    folded, origin = _folded(text)
    candidates: list[tuple[int, int, str, str, int]] = []
    for order, (category, term, description) in enumerate(_evidence(highlights, reasons)):
        needle, _ = _folded(term)
        if needle.strip():
            for start, end in _occurrences(folded, origin, needle):
                candidates.append((start, end, category, description, order))
    candidates.sort(key=lambda c: (c[2] != top, c[0] - c[1], c[4], c[0]))
    taken: list[tuple[int, int, str, str, int]] = []
    for candidate in candidates:
        if all(candidate[1] <= other[0] or other[1] <= candidate[0] for other in taken):
            taken.append(candidate)
    taken.sort()
    pieces: list[str] = []
    position = 0
    for start, end, category, description, _ in taken:
        pieces.append(reveal(text[position:start]))
        css = "hl-abuse" if category == "abuse" else "hl-spam"
        pieces.append(
            f'<mark class="{css}" title="{escape(description)}">{reveal(text[start:end])}'
            f'<span class="sr"> ({escape(description)})</span></mark>'
        )
        position = end
    pieces.append(reveal(text[position:]))
    return Markup("".join(pieces))


def top_category(scores: dict) -> str:
    """The category with the higher score: what ``r`` rejects as, and what highlighting prefers."""
    return max(("spam", "abuse"), key=lambda c: scores.get(c, 0.0))


def _login_redirect() -> Response:
    return redirect(url_for("ui.login", next=request.full_path.rstrip("?")))


def _site_for(account: Moderator | None, site_name: str) -> Site:
    if account is None:
        abort(_login_redirect())
    if not account.may_moderate(site_name):
        abort(403)
    site = get_services().sites.get(site_name)
    if site is None:
        abort(404)
    return site


def _safe_next(target: str | None) -> str:
    # Only paths of this UI: never another host, so the login form cannot redirect elsewhere; and
    # no control characters, which no URL of ours has and a Location header cannot carry.
    if (
        target
        and target.startswith("/ui/")
        and not urlsplit(target).netloc
        and "\\" not in target
        and not any(unicodedata.category(char) == "Cc" for char in target)
    ):
        return target
    return url_for("ui.home")


@bp.before_request
def protect_forms() -> None:
    if request.method == "POST":
        try:
            sessions.check_csrf()
        except ApiError:
            abort(
                Response(
                    render_template(
                        "error.html",
                        message="Your session's form token "
                        "is missing or out of date. Go back, reload the page and try again.",
                    ),
                    status=403,
                )
            )


@bp.get("/")
def home():
    account = sessions.current_moderator()
    if account is None:
        return _login_redirect()
    names = get_services().sites.names() if account.admin else list(account.sites)
    if len(names) == 1:
        return redirect(url_for("ui.queue", site_name=names[0]))
    return render_template("sites.html", account=account, sites=names)


@bp.route("/login", methods=["GET", "POST"])
def login():
    """The login form; failed attempts are counted per email and per address, then refused."""
    target = _safe_next(request.values.get("next"))
    if request.method == "GET":
        return render_template("login.html", next=target, email="")
    email = normalize_email(request.form.get("email", ""))[:320]
    password = request.form.get("password", "")[:1024]
    # Counted before the password is checked, so parallel guesses cannot pass the limit.
    retry_after = sessions.count_login_attempt(email)
    if retry_after is not None:
        response = Response(
            render_template(
                "login.html",
                next=target,
                email=email,
                error=f"Too many failed logins. Try again in {retry_after} seconds.",
            ),
            status=429,
        )
        response.headers["Retry-After"] = str(retry_after)
        return response
    account = get_moderation().moderators.verify(email, password)
    if account is None:
        return Response(
            render_template(
                "login.html", next=target, email=email, error="Wrong email or password."
            ),
            status=401,
        )
    sessions.login_succeeded(email)
    sessions.log_in(account)
    return redirect(target)


@bp.post("/logout")
def logout():
    sessions.log_out()
    return redirect(url_for("ui.login"))


@bp.get("/sites/<site_name>/queue")
def queue(site_name: str):
    """The queue page: counts, filters, ordering and the most pressing items as cards."""
    account = sessions.current_moderator()
    site = _site_for(account, site_name)
    moderation = get_moderation()
    args = {k: v.strip() for k, v in request.args.items() if v.strip()}
    try:
        where = QueueFilter(
            category=args.get("category"),
            # Intake keeps a comment's primary language tag in lower case ("ko" for "KO-kr").
            language=primary_language(args["language"]) if "language" in args else None,
            article_id=args.get("article_id"),
            order=args.get("order", "urgent"),
        )
        where.check()
    except ApiError as error:
        flash(error.message)
        where = QueueFilter()
    items = page_items(moderation.queue, site, account.identity, where)
    # This page now holds the moderator's leases: a page they leave gives its leases back only
    # if no later page of theirs lists them (a reload's new page is served before the old page's
    # leave beacon arrives).
    page_token = secrets.token_urlsafe(12)
    get_services().redis.set(
        get_services().keys.queue_page(site.name, account.identity),
        page_token,
        ex=PAGE_LEASE_SECONDS,
    )
    stats = moderation.queue.stats(site.name)
    decidable = sum(1 for item in items if item["lease_holder"] in (None, account.identity))
    return render_template(
        "queue.html",
        account=account,
        site=site,
        items=items,
        where=where,
        orders=ORDERS,
        stats=stats,
        # Whether clearing this page's comments may leave others to load: a full page, or
        # comments pending beyond those the moderator can decide here.
        more=len(items) >= PAGE_SIZE or stats["pending"] > decidable,
        undo_seconds=UNDO_SECONDS,
        page_token=page_token,
    )


def page_items(queue: ReviewQueue, site: Site, moderator: str, where: QueueFilter) -> list[dict]:
    """A queue page's comments, leased to ``moderator`` so that two moderators working the
    queue at once get different comments: those already leased to them, then newly claimed
    ones, then any left unleased, then (to show what is in hand) comments another moderator
    holds, which come last and cannot be decided until their lease ends.

    When fewer than two pages' worth are pending, the page leases at most half of the unleased
    ones (rounded up) and shows the rest unleased: whoever decides one of those first has it, and
    a second moderator opening the queue still finds comments to take.
    """
    listed = queue.list(site, where, 2 * PAGE_SIZE)
    mine = [item for item in listed if item["lease_holder"] == moderator][:PAGE_SIZE]
    others = [item for item in listed if item["lease_holder"] not in (None, moderator)]
    free = [item for item in listed if item["lease_holder"] is None]
    wanted = PAGE_SIZE - len(mine)
    if len(listed) < 2 * PAGE_SIZE:
        wanted = min(wanted, (len(free) + 1) // 2)
    claimed: list[dict] = []
    if wanted > 0:
        claimed, _ = queue.claim(
            site, moderator, wanted, lease_seconds=PAGE_LEASE_SECONDS, where=where
        )
    held = {item["id"] for item in mine}
    items = mine + [item for item in claimed if item["id"] not in held]
    held.update(item["id"] for item in claimed)
    items += [item for item in free if item["id"] not in held][: max(0, PAGE_SIZE - len(items))]
    return items + others[: max(0, PAGE_SIZE - len(items))]


@bp.post("/sites/<site_name>/release")
def release(site_name: str):
    """Give back the caller's leases on the comments named in ``id`` (the page they leave).

    Sent by the queue page as it is left (``navigator.sendBeacon``), with the page's form token
    and its ``page`` token. Nothing is given back when the caller has opened a queue page since
    (a reload, another tab): that page lists the same leases as theirs. Comments no longer
    queued, or leased to someone else by now, are passed over.

    :return: ``{"released": N}``.
    """
    account = sessions.current_moderator()
    if account is None:
        return jsonify({"error": {"code": "unauthorized", "message": "Log in again."}}), 401
    site = _site_for(account, site_name)
    latest = get_services().redis.get(get_services().keys.queue_page(site.name, account.identity))
    if latest is not None and latest.decode() != request.form.get("page", ""):
        return jsonify({"released": 0})
    queue = get_moderation().queue
    released = 0
    for comment_id in request.form.getlist("id")[:MAX_RELEASE]:
        try:
            released += queue.release(site.name, comment_id, account.identity)
        except ApiError:
            continue
    return jsonify({"released": released})


@bp.post("/sites/<site_name>/decide")
def decide(site_name: str):
    """Decisions from the queue form, for one card's button or the selected cards."""
    account = sessions.current_moderator()
    site = _site_for(account, site_name)
    assert account is not None
    overturn = bool(request.form.get("overturn"))
    if request.form.get("one"):
        action, _, comment_id = request.form["one"].partition("|")
        targets = [comment_id]
        if overturn and not request.form.get("confirmed"):
            return _confirm_overturn(account, site, action, comment_id)
        if overturn and _replaced(site, comment_id) != request.form.get("replaces", ""):
            # Decided again since the moderator was asked: ask again, about what stands now.
            flash("The decision changed since you were asked; this is the one that stands now.")
            return _confirm_overturn(account, site, action, comment_id)
    else:
        action = request.form.get("bulk", "")
        targets = request.form.getlist("selected")
        if not targets:
            flash("Select comments first: tick their boxes, then the button.")
    decision, _, label = action.partition("-")
    done = 0
    for comment_id in targets:
        try:
            parsed = parse_decision(
                {
                    "decision": decision,
                    "labels": [label] if label else [],
                    "overturn": overturn,
                },
                comment_id,
            )
            answer = get_moderation().queue.decide(site, account.identity, parsed)
            if answer.get("replayed"):
                flash(f"#{comment_id} already carries that decision of yours; nothing changed.")
            else:
                done += 1
        except ApiError as error:
            flash(error.message)
    if done:
        flash(f"{done} decision{'s' if done != 1 else ''} recorded.")
    back = request.form.get("back")
    return redirect(_safe_next(back) if back else url_for("ui.queue", site_name=site.name))


ACTION_NAMES = {
    "approve": "Approve",
    "reject": "Reject",
    "reject-spam": "Reject as spam",
    "reject-abuse": "Reject as abuse",
}


def _replaced(site: Site, comment_id: str) -> str:
    """What an overturn of the comment would replace: its decision's time, '' if none."""
    record = get_services().comments.get(site.name, comment_id)
    return ((record or {}).get("moderation") or {}).get("at", "")


def _confirm_overturn(account: Moderator, site: Site, action: str, comment_id: str):
    """The step between an overturn's button and the overturn: who decided what, and a button
    that carries the same decision on, confirmed."""
    item = get_moderation().queue.item(site.name, comment_id)
    if item is None or action not in ACTION_NAMES:
        abort(404)
    return render_template(
        "overturn.html",
        account=account,
        site=site,
        item=item,
        action=action,
        action_name=ACTION_NAMES[action],
        back=_safe_next(request.form.get("back")),
    )


@bp.get("/sites/<site_name>/history")
def history(site_name: str):
    """The decision history: the caller's decisions, or everyone's with ``?all=1``."""
    account = sessions.current_moderator()
    site = _site_for(account, site_name)
    assert account is not None
    everyone = request.args.get("all") == "1"
    where = AuditFilter(moderator=None if everyone else account.identity)
    entries, _ = get_moderation().audit.page(site.name, 100, None, where)
    return render_template(
        "history.html", account=account, site=site, entries=entries, everyone=everyone
    )


@bp.get("/sites/<site_name>/comments/<path:comment_id>")
def comment(site_name: str, comment_id: str):
    """One comment with every decision on it, and buttons to decide or overturn."""
    account = sessions.current_moderator()
    site = _site_for(account, site_name)
    moderation = get_moderation()
    item = moderation.queue.item(site.name, comment_id)
    entries = moderation.audit.for_comment(site.name, comment_id)
    if item is None:
        # Withdrawn by the site, past its retention, or never sent: a page, with the decisions
        # the audit log keeps (ids, no text), not the API's JSON.
        page = render_template(
            "gone.html", account=account, site=site, comment_id=comment_id, entries=entries
        )
        return page, 404
    return render_template("comment.html", account=account, site=site, item=item, entries=entries)


@bp.get("/sites/<site_name>/state/<path:comment_id>")
def comment_state(site_name: str, comment_id: str):
    """Who holds or decided one comment, as JSON, for the queue page to explain a refusal.

    :raise 401: no session. :raise 403: not a moderator of the site. :raise 404: no such comment.
    """
    account = sessions.current_moderator()
    if account is None:
        return jsonify({"error": {"code": "unauthorized", "message": "Log in again."}}), 401
    site = _site_for(account, site_name)
    item = get_moderation().queue.item(site.name, comment_id)
    if item is None:
        abort(404)
    decided = item["moderation"] if item["status"] != "pending_review" else None
    return jsonify(
        {
            "id": item["id"],
            "status": item["status"],
            "decided_by": decided and decided.get("moderator"),
            "decision": decided and decided.get("decision"),
            "lease_holder": item["lease_holder"],
            "lease_expires_at": item["lease_expires_at"],
            "yours": account.identity,
        }
    )


@bp.get("/sites/<site_name>/audit")
def audit(site_name: str):
    """The audit log, newest first, with filters and a cursor for the next page."""
    account = sessions.current_moderator()
    site = _site_for(account, site_name)
    filters = {
        name: request.args.get(name) or None for name in ("moderator", "decision", "comment_id")
    }
    cursor = request.args.get("cursor") or None
    if cursor is not None and not _CURSOR.match(cursor):
        cursor = None
    entries, next_cursor = get_moderation().audit.page(
        site.name, 50, cursor, AuditFilter(**filters)
    )
    return render_template(
        "audit.html",
        account=account,
        site=site,
        entries=entries,
        filters=filters,
        next_cursor=next_cursor,
    )


@bp.errorhandler(redis.exceptions.ConnectionError)
@bp.errorhandler(redis.exceptions.TimeoutError)
@bp.errorhandler(redis.exceptions.BusyLoadingError)
@bp.errorhandler(redis.exceptions.ReadOnlyError)
@bp.errorhandler(redis.exceptions.ClusterDownError)
@bp.errorhandler(redis.exceptions.TryAgainError)
def storage_unavailable(error: Exception):
    """A page, not the API's JSON, when the review store is unreachable.

    The page needs no session or Redis to render, and offers to try again.
    """
    log.error("redis unavailable: %s", error.__class__.__name__)
    response = Response(render_template("unavailable.html"), status=503)
    response.headers["Retry-After"] = str(ServiceUnavailable.retry_after)
    return response


def add_security_headers(response: Response) -> Response:
    """Security headers on every response; the UI's strict policy allows only this origin."""
    is_ui = request.blueprint == "ui" or request.path.startswith("/ui/")
    response.headers.setdefault("Content-Security-Policy", UI_POLICY if is_ui else API_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    if is_ui:
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def status_label(status: str) -> str:
    """A comment's status as words: ``Pending review`` for ``pending_review``."""
    return status.replace("_", " ").capitalize()


def readable_time(value: str | None) -> str:
    """A stored ISO-8601 UTC time to the minute, in UTC (``2026-03-12 14:05 UTC``).

    Pages show it until their script puts the reader's local time in its place; the ``<time>``
    element keeps the exact value in ``datetime``.
    """
    if not value:
        return ""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        return value
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def says_nothing_stood_out(reason: str) -> bool:
    """Whether a reason only says that nothing in the comment raised a category's score."""
    return reason.endswith(NOTHING_STOOD_OUT)


def init_app(app: Flask) -> None:
    """Register the web UI, its template helpers and the security headers."""
    app.register_blueprint(bp)
    app.jinja_env.filters["highlight"] = highlight
    app.jinja_env.filters["reveal"] = reveal
    app.jinja_env.filters["status_label"] = status_label
    app.jinja_env.filters["readable_time"] = readable_time
    app.jinja_env.tests["nothing_stood_out"] = says_nothing_stood_out
    app.jinja_env.globals.update(csrf_token=sessions.csrf_token, top_category=top_category)
    app.after_request(add_security_headers)

    @app.get("/")
    def root():
        return redirect(url_for("ui.home"))
