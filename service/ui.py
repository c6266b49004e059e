"""The moderators' web UI: server-rendered pages, a little plain JavaScript, no build step.

Pages: login, the site's queue (counts, filters, ordering, comment cards with the words that drove
the scores highlighted, approve and reject, bulk selection, keyboard shortcuts), the moderator's
decision history, one comment's history, and the audit log. Every page is escaped by Jinja's
autoescaping; the highlighting builds its markup from escaped pieces only. Scripts and styles come
from ``static/`` only, so the Content-Security-Policy can forbid inline code altogether.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from markupsafe import Markup, escape

from model.scorer import NOTHING_STOOD_OUT
from service import sessions
from service.audit import AuditFilter
from service.errors import ApiError
from service.extensions import get_services
from service.moderation_api import get_moderation, parse_decision
from service.moderators import Moderator, normalize_email
from service.queue import ORDERS, QueueFilter
from service.sites import Site

bp = Blueprint(
    "ui",
    __name__,
    url_prefix="/ui",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)

PAGE_SIZE = 50
UI_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
API_POLICY = "default-src 'none'; frame-ancestors 'none'"
_CURSOR = re.compile(r"^\d{1,20}-\d{1,20}$")


def highlight(text: str, highlights: list[dict]) -> Markup:
    """The text, escaped, with every occurrence of the highlighted terms wrapped in ``<mark>``."""
    spans: list[tuple[int, int, str]] = []
    folded = text.casefold()
    for term in highlights:
        needle = str(term.get("text", "")).casefold()
        if not needle.strip() or len(needle) != len(str(term.get("text", ""))):
            continue
        start = folded.find(needle)
        while start != -1:
            spans.append((start, start + len(needle), str(term.get("category", ""))))
            start = folded.find(needle, start + len(needle))
    spans.sort()
    pieces: list[str] = []
    position = 0
    for start, end, category in spans:
        if start < position:
            continue
        pieces.append(str(escape(text[position:start])))
        css = "hl-abuse" if category == "abuse" else "hl-spam"
        pieces.append(f'<mark class="{css}">{escape(text[start:end])}</mark>')
        position = end
    pieces.append(str(escape(text[position:])))
    return Markup("".join(pieces))


def top_category(scores: dict) -> str:
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
    # Only paths of this UI: never another host, so the login form cannot redirect elsewhere.
    if target and target.startswith("/ui/") and not urlsplit(target).netloc and "\\" not in target:
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
    retry_after = sessions.login_retry_after(email)
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
        sessions.login_failed(email)
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
    args = {k: v for k, v in request.args.items() if v}
    try:
        where = QueueFilter(
            category=args.get("category"),
            language=args.get("language"),
            article_id=args.get("article_id"),
            order=args.get("order", "urgent"),
        )
        where.check()
    except ApiError as error:
        flash(error.message)
        where = QueueFilter()
    items = moderation.queue.list(site, where, PAGE_SIZE)
    return render_template(
        "queue.html",
        account=account,
        site=site,
        items=items,
        where=where,
        orders=ORDERS,
        stats=moderation.queue.stats(site.name),
        page_size=PAGE_SIZE,
    )


@bp.post("/sites/<site_name>/decide")
def decide(site_name: str):
    """Decisions from the queue form, for one card's button or the selected cards."""
    account = sessions.current_moderator()
    site = _site_for(account, site_name)
    assert account is not None
    if request.form.get("one"):
        action, _, comment_id = request.form["one"].partition("|")
        targets = [comment_id]
    else:
        action = request.form.get("bulk", "")
        targets = request.form.getlist("selected")
    decision, _, label = action.partition("-")
    done = 0
    for comment_id in targets:
        try:
            parsed = parse_decision(
                {
                    "decision": decision,
                    "labels": [label] if label else [],
                    "overturn": bool(request.form.get("overturn")),
                },
                comment_id,
            )
            get_moderation().queue.decide(site, account.identity, parsed)
            done += 1
        except ApiError as error:
            flash(error.message)
    if done:
        flash(f"{done} decision{'s' if done != 1 else ''} recorded.")
    back = request.form.get("back")
    return redirect(_safe_next(back) if back else url_for("ui.queue", site_name=site.name))


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
    if item is None:
        abort(404)
    entries = moderation.audit.for_comment(site.name, comment_id)
    return render_template("comment.html", account=account, site=site, item=item, entries=entries)


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


def says_nothing_stood_out(reason: str) -> bool:
    """Whether a reason only says that nothing in the comment raised a category's score."""
    return reason.endswith(NOTHING_STOOD_OUT)


def init_app(app: Flask) -> None:
    """Register the web UI, its template helpers and the security headers."""
    app.register_blueprint(bp)
    app.jinja_env.filters["highlight"] = highlight
    app.jinja_env.tests["nothing_stood_out"] = says_nothing_stood_out
    app.jinja_env.globals.update(csrf_token=sessions.csrf_token, top_category=top_category)
    app.after_request(add_security_headers)

    @app.get("/")
    def root():
        return redirect(url_for("ui.home"))
