"""The web UI without a browser: login, sessions, CSRF, security headers, escaping, site access."""

from __future__ import annotations

import re
import threading

import pytest

from service import create_app, sessions
from service.config import Settings
from service.moderation_api import get_moderation
from service.queue import UNDO_SECONDS
from service.ui import highlight, reveal
from tests.conftest import RedisServer
from tests.moderation_support import (
    Moderator,
    csrf_of,
    log_in_with_form,
    queue_comments,
    review_everything,
)

PASSWORD = "correct horse battery"


@pytest.fixture
def accounts(app, site, services):
    services.sites.create("other")
    with app.app_context():
        store = get_moderation().moderators
        store.create("demo@example.org", PASSWORD, ["demo"])
        store.create("other@example.org", PASSWORD, ["other"])


def log_in(client, email="demo@example.org", password=PASSWORD):
    return log_in_with_form(client, email, password)


def test_pages_send_security_headers_and_no_inline_script(client, accounts):
    response = client.get("/ui/login")
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert not re.search(r"<script(?![^>]*\bsrc=)", response.get_data(as_text=True))
    assert client.get("/healthz").headers["X-Content-Type-Options"] == "nosniff"


def test_login_sets_a_protected_cookie_and_logout_needs_the_token(client, accounts):
    response = log_in(client)
    assert response.status_code == 302
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    assert client.get("/ui/sites/demo/queue").status_code == 200
    assert client.post("/ui/logout").status_code == 403
    page = client.get("/ui/sites/demo/queue").get_data(as_text=True)
    assert client.post("/ui/logout", data={"csrf_token": csrf_of(page)}).status_code == 302
    assert client.get("/ui/sites/demo/queue").status_code == 302


def test_the_cookie_is_secure_over_tls(app, accounts):
    client = app.test_client()
    token = csrf_of(client.get("/ui/login", base_url="https://localhost").get_data(as_text=True))
    response = client.post(
        "/ui/login",
        base_url="https://localhost",
        data={"email": "demo@example.org", "password": PASSWORD, "csrf_token": token},
    )
    assert "Secure" in response.headers["Set-Cookie"]


def test_login_without_the_form_token_is_refused(client, accounts):
    response = client.post("/ui/login", data={"email": "demo@example.org", "password": PASSWORD})
    assert response.status_code == 403


def test_failed_logins_are_rate_limited(client, accounts):
    for _ in range(5):
        assert log_in(client, password="wrong password!").status_code == 401
    limited = log_in(client)
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) > 0


def test_failures_from_one_address_do_not_lock_the_moderator_out_elsewhere(app, accounts):
    attacker, moderator = app.test_client(), app.test_client()
    attacker.environ_base["REMOTE_ADDR"] = "203.0.113.9"
    moderator.environ_base["REMOTE_ADDR"] = "198.51.100.7"
    for _ in range(5):
        assert log_in(attacker, password="wrong password!").status_code == 401
    assert log_in(attacker).status_code == 429
    assert log_in(moderator).status_code == 302


def test_failures_spread_over_addresses_lock_the_email(app, accounts, monkeypatch):
    monkeypatch.setattr(sessions, "MAX_FAILURES_PER_EMAIL", 8)
    for index in range(8):
        guesser = app.test_client()
        guesser.environ_base["REMOTE_ADDR"] = f"203.0.113.{index}"
        assert log_in(guesser, password="wrong password!").status_code == 401
    elsewhere = app.test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "198.51.100.7"
    assert log_in(elsewhere).status_code == 429


def queue_page(client, services, ingest, comment: dict) -> str:
    """The queue page's HTML once ``comment`` is in review and the demo moderator is logged in."""
    review_everything(services)
    ingest(comment)
    log_in(client)
    return client.get("/ui/sites/demo/queue").get_data(as_text=True)


def login_page(client) -> str:
    return client.get("/ui/login").get_data(as_text=True)


def test_a_copied_cookie_stops_working_at_logout(app, client, accounts, services, ingest):
    review_everything(services)
    ingest({"id": "c1", "text": "hello"})
    log_in(client)
    copied = client.get_cookie("modq_session").value
    token = csrf_of(client.get("/ui/sites/demo/queue").get_data(as_text=True))
    assert client.post("/ui/logout", data={"csrf_token": token}).status_code == 302

    replay = app.test_client()
    replay.set_cookie("modq_session", copied)
    assert replay.get("/v1/sites/demo/queue/stats").status_code == 401
    claim = replay.post("/v1/sites/demo/queue/claim", json={}, headers={"X-CSRF-Token": token})
    assert claim.status_code == 401
    page = replay.get("/ui/sites/demo/queue")
    assert page.status_code == 302 and page.headers["Location"].startswith("/ui/login")


def test_a_session_in_use_still_ends_a_week_after_its_login(client, accounts):
    log_in(client)
    assert client.get("/v1/sites/demo/queue/stats").status_code == 200
    with client.session_transaction() as cookie:
        cookie["started"] -= sessions.SESSION_MAX_AGE.total_seconds() + 60
    assert client.get("/v1/sites/demo/queue/stats").status_code == 401
    # Ended on the server too: putting the start back does not bring it back.
    with client.session_transaction() as cookie:
        cookie["started"] += sessions.SESSION_MAX_AGE.total_seconds() + 60
    assert client.get("/v1/sites/demo/queue/stats").status_code == 401


def test_logging_out_ends_only_that_session(app, accounts, redis_client):
    laptop, phone = app.test_client(), app.test_client()
    log_in(laptop)
    log_in(phone)
    # The server keeps each live session's id (as a hash) for as long as the cookie lives.
    stored = sorted(k.decode() for k in redis_client.scan_iter("modq:web-session:*"))
    assert len(stored) == 2 and all(
        re.fullmatch(r"modq:web-session:[0-9a-f]{64}", k) for k in stored
    )
    assert 12 * 3600 - 60 < redis_client.ttl(stored[0]) <= 12 * 3600
    token = csrf_of(laptop.get("/ui/sites/demo/queue").get_data(as_text=True))
    laptop.post("/ui/logout", data={"csrf_token": token})
    assert laptop.get("/v1/sites/demo/queue/stats").status_code == 401
    assert phone.get("/v1/sites/demo/queue/stats").status_code == 200
    assert len(list(redis_client.scan_iter("modq:web-session:*"))) == 1


def test_logging_in_again_ends_the_browsers_previous_session(app, client, accounts):
    log_in(client)
    before = client.get_cookie("modq_session").value
    log_in(client)
    replay = app.test_client()
    replay.set_cookie("modq_session", before)
    assert replay.get("/v1/sites/demo/queue/stats").status_code == 401
    assert client.get("/v1/sites/demo/queue/stats").status_code == 200


def parallel_logins(app, count: int, password: str) -> list:
    """``count`` logins for demo@example.org at once, each from its own client."""
    clients = [app.test_client() for _ in range(count)]
    tokens = [csrf_of(login_page(c)) for c in clients]
    start = threading.Barrier(count)
    responses: list = [None] * count

    def attempt(index: int) -> None:
        start.wait()
        responses[index] = clients[index].post(
            "/ui/login",
            data={"email": "demo@example.org", "password": password, "csrf_token": tokens[index]},
        )

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return responses


def test_parallel_wrong_passwords_get_five_tries_in_all(app, client, accounts):
    responses = parallel_logins(app, 40, "wrong password!")
    codes = sorted(r.status_code for r in responses)
    assert codes == [401] * 5 + [429] * 35
    assert all(0 < int(r.headers["Retry-After"]) <= 900 for r in responses if r.status_code == 429)
    # The right password is refused too until the window ends.
    assert log_in(client).status_code == 429


def test_successful_and_refused_logins_do_not_use_up_the_address(
    app, client, accounts, monkeypatch
):
    monkeypatch.setattr(sessions, "MAX_FAILURES_PER_ADDRESS", 8)
    # An office behind one address logs in more often than the address may fail.
    for _ in range(10):
        assert log_in(app.test_client()).status_code == 302
    for _ in range(5):
        assert log_in(client, password="wrong password!").status_code == 401
    # Retrying the locked email is refused without counting against the address ...
    for _ in range(10):
        assert log_in(client).status_code == 429
    # ... so another moderator there can still log in, and the address's failures still count.
    assert log_in(client, "other@example.org").status_code == 302
    for _ in range(3):
        assert log_in(client, "other@example.org", "wrong password!").status_code == 401
    assert log_in(client, "other@example.org").status_code == 429


@pytest.mark.parametrize(
    "target",
    [
        "/ui/sites/demo/queue\r\nSet-Cookie: a=b",
        "/ui/sites/demo/queue\n",
        "/ui/\x00",
        "/ui/\t",
        "/ui/\x7f",
        "/ui/\x85",
    ],
)
def test_control_characters_in_next_fall_back_to_the_home_page(client, accounts, target):
    token = csrf_of(client.get("/ui/login", query_string={"next": target}).get_data(as_text=True))
    response = client.post(
        "/ui/login",
        data={
            "email": "demo@example.org",
            "password": PASSWORD,
            "csrf_token": token,
            "next": target,
        },
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/ui/"


def test_comment_markup_is_shown_as_text(client, accounts, services, ingest):
    html = queue_page(
        client,
        services,
        ingest,
        {"id": "x1", "text": '<script>alert(1)</script><img src=x onerror="alert(2)">'},
    )
    # Highlights (a mark and its screen-reader label) aside, whichever words the model credits.
    text = re.search(r'<p class="text"[^>]*>(.*?)</p>', html).group(1)
    text = re.sub(r'</?mark[^>]*>|<span class="sr">[^<]*</span>', "", text)
    assert text.startswith("&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x")
    assert "<img src=x" not in html and "<script>alert" not in html


def test_a_card_lists_a_reason_for_each_score(client, accounts, services, ingest):
    html = queue_page(client, services, ingest, {"id": "r1", "text": "You are an idiot"})
    reasons = re.search(r'<ul class="reasons">(.*?)</ul>', html).group(1)
    assert "<li>abuse: &#34;idiot&#34;</li>" in reasons
    # A low score's reason is shown, quieter than the ones that flagged the comment.
    assert '<li class="quiet">spam: no word or signal stood out</li>' in reasons


def test_a_moderator_reaches_only_their_sites(client, accounts, services, ingest):
    review_everything(services)
    ingest({"id": "x1", "text": "hello"})
    log_in(client, "other@example.org")
    assert client.get("/ui/sites/demo/queue").status_code == 403
    assert client.get("/ui/sites/demo/audit").status_code == 403
    assert client.get("/v1/sites/demo/queue").status_code == 403
    page = client.get("/ui/sites/other/queue").get_data(as_text=True)
    token = csrf_of(page)
    refused = client.post(
        "/v1/sites/demo/queue/x1/decision",
        json={"decision": "approve"},
        headers={"X-CSRF-Token": token},
    )
    assert refused.status_code == 403
    assert services.comments.get("demo", "x1")["status"] == "pending_review"


def test_session_writes_to_the_api_need_the_csrf_header(client, accounts, services, ingest):
    review_everything(services)
    ingest({"id": "x1", "text": "hello"})
    log_in(client)
    assert (
        client.post("/v1/sites/demo/queue/x1/decision", json={"decision": "approve"}).status_code
        == 403
    )
    token = csrf_of(client.get("/ui/sites/demo/queue").get_data(as_text=True))
    accepted = client.post(
        "/v1/sites/demo/queue/x1/decision",
        json={"decision": "approve"},
        headers={"X-CSRF-Token": token},
    )
    assert accepted.status_code == 200
    assert accepted.get_json()["moderator"] == "demo@example.org"


def test_form_buttons_decide_without_javascript(client, accounts, services, ingest):
    review_everything(services)
    for comment_id in ("f1", "f2", "f3"):
        ingest({"id": comment_id, "text": f"comment {comment_id}"})
    log_in(client)
    token = csrf_of(client.get("/ui/sites/demo/queue").get_data(as_text=True))
    client.post("/ui/sites/demo/decide", data={"csrf_token": token, "one": "reject-spam|f1"})
    client.post(
        "/ui/sites/demo/decide",
        data={"csrf_token": token, "bulk": "approve", "selected": ["f2", "f3"]},
    )
    statuses = {c: services.comments.get("demo", c)["status"] for c in ("f1", "f2", "f3")}
    assert statuses == {"f1": "rejected", "f2": "approved", "f3": "approved"}
    html = client.get("/ui/sites/demo/history").get_data(as_text=True)
    assert html.count("demo@example.org</td>") == 3


def marked(html: str) -> list[tuple[str, str]]:
    """(title, visible text) of each mark, the screen-reader suffix left out."""
    return [
        (title, re.sub(r'<span class="sr">.*?</span>', "", inner))
        for title, inner in re.findall(r'<mark class="hl-\w+" title="([^"]+)">(.*?)</mark>', html)
    ]


@pytest.mark.parametrize(
    ("text", "terms", "expected"),
    [
        # Whole words only: "a" is not marked inside "are", nor "ass" inside "class".
        ("You are a class ass", ["a", "ass"], ["a", "ass"]),
        ("Classes are fun", ["a", "ass"], []),
        # Offsets stay on the original after characters that fold to several ("ß", "İ", "ﬁ").
        ("Straße İstanbul ﬁx idiot", ["idiot"], ["idiot"]),
        ("İİİ idiot", ["idiot"], ["idiot"]),
        ("the ﬁnal ﬁx", ["fix"], ["ﬁx"]),
        # Case differs from the reported surface.
        ("IDIOT", ["idiot"], ["IDIOT"]),
        # Korean particles attach to the word; the term is still marked inside the longer run.
        ("이 씨발놈아", ["씨발"], ["씨발"]),
        # Disguised with zero-width characters: the mark spans them, and they show as badges.
        (
            "you i\u200bdiot",
            ["idiot"],
            ['i<span class="hidden-char" title="ZERO WIDTH SPACE">⟨U+200B⟩</span>diot'],
        ),
        # A run of them is one badge with the count, split where a mark begins or ends.
        (
            "you \u200b\u200bi\u200b\u200b\u200bdiot\u200b",
            ["idiot"],
            ['i<span class="hidden-char" title="ZERO WIDTH SPACE, 3 times">⟨U+200B ×3⟩</span>diot'],
        ),
        (
            "씨\u200b발",
            ["씨발"],
            ['씨<span class="hidden-char" title="ZERO WIDTH SPACE">⟨U+200B⟩</span>발'],
        ),
        ("a f*cking joke", ["f*cking"], ["f*cking"]),
    ],
)
def test_terms_are_marked_where_they_stand_as_words(text, terms, expected):
    html = str(highlight(text, [{"category": "abuse", "text": t} for t in terms]))
    assert [inner for _, inner in marked(html)] == expected
    # Everything outside the marks is the comment itself, in order.
    plain = re.sub(r"<[^>]+>|\u27e8U\+[0-9A-F]+(?: \u00d7\d+)?\u27e9|\s\(abuse term\)", "", html)
    assert plain == text.replace("\u200b", "")


def test_signal_evidence_is_marked_and_overlaps_prefer_the_top_category():
    reasons = [
        "spam: phone number (010-1234-5678)",
        'abuse: "cheap"',
        "spam: no word or signal stood out",
    ]
    highlights = [
        {"category": "abuse", "text": "cheap loans"},
        {"category": "spam", "text": "cheap"},
    ]
    text = "Call 010-1234-5678 for cheap loans"
    assert marked(str(highlight(text, highlights, reasons, "spam"))) == [
        ("spam signal: phone number", "010-1234-5678"),
        ("spam term", "cheap"),
    ]
    assert marked(str(highlight(text, highlights, reasons, "abuse"))) == [
        ("spam signal: phone number", "010-1234-5678"),
        ("abuse term", "cheap loans"),
    ]


def test_signal_marks_come_from_the_highlights_when_they_carry_them():
    highlights = [
        {"category": "spam", "text": "010-1234-5678", "kind": "signal", "signal": "phone number"},
        {"category": "abuse", "text": "idiot", "kind": "term"},
    ]
    # The reasons' wording is not read once highlights say what they are.
    reasons = ["spam: link (example.com)"]
    text = "call 010-1234-5678, idiot, example.com"
    assert marked(str(highlight(text, highlights, reasons, "spam"))) == [
        ("spam signal: phone number", "010-1234-5678"),
        ("abuse term", "idiot"),
    ]


def test_marks_name_their_category_in_text(client, accounts, services, ingest):
    html = queue_page(
        client,
        services,
        ingest,
        {"id": "h1", "text": "Call 010-1234-5678 on KakaoTalk for cheap loans!!!"},
    )
    # The phone number is a term and a signal; either way it is marked and named as spam.
    assert re.search(
        r'<mark class="hl-spam" title="(spam term|spam signal: phone number)">010-1234-5678'
        r'<span class="sr"> \(\1\)</span></mark>',
        html,
    )


def test_bidi_overrides_and_invisible_characters_show_as_badges(client, accounts, services, ingest):
    review_everything(services)
    ingest(
        {"id": "b1", "text": "open \u202egnp.exe now", "author": {"id": "a", "name": "\u202eeve"}}
    )
    log_in(client)
    html = client.get("/ui/sites/demo/queue").get_data(as_text=True)
    assert "\u202e" not in html
    text = re.search(r'<p class="text" dir="auto"[^>]*>(.*?)</p>', html).group(1)
    assert text == (
        'open <span class="hidden-char" title="RIGHT-TO-LEFT OVERRIDE">⟨U+202E⟩</span>gnp.exe now'
    )
    assert (
        '<bdi><span class="hidden-char" title="RIGHT-TO-LEFT OVERRIDE">⟨U+202E⟩</span>eve</bdi>'
        in html
    )


def test_a_run_of_invisible_characters_is_one_badge_with_its_count():
    text = "you idiot " + "\u200b" * 5000
    html = str(highlight(text, [{"category": "abuse", "text": "idiot"}]))
    assert html.count('class="hidden-char"') == 1
    assert html.endswith(
        '<span class="hidden-char" title="ZERO WIDTH SPACE, 5000 times">⟨U+200B ×5000⟩</span>'
    )
    assert marked(html) == [("abuse term", "idiot")]
    assert len(html) < 500
    # Runs of different characters each get their own badge; a single one has no count.
    assert str(reveal("\u202e\u202e\u200b\u202ex")) == (
        '<span class="hidden-char" title="RIGHT-TO-LEFT OVERRIDE, 2 times">⟨U+202E ×2⟩</span>'
        '<span class="hidden-char" title="ZERO WIDTH SPACE">⟨U+200B⟩</span>'
        '<span class="hidden-char" title="RIGHT-TO-LEFT OVERRIDE">⟨U+202E⟩</span>x'
    )


def test_cards_are_named_and_the_undo_window_is_the_servers(client, accounts, services, ingest):
    html = queue_page(client, services, ingest, {"id": "n1", "text": "hello there"})
    assert 'aria-label="Comment #n1"' in html
    assert '<span class="sr">select comment n1</span>' in html
    assert f'data-undo-seconds="{UNDO_SECONDS}"' in html
    assert f"within {UNDO_SECONDS} seconds" in html


def test_items_leased_to_another_moderator_come_last(
    app, client, accounts, services, ingest, moderator_key
):
    review_everything(services)
    queue_comments(ingest, 4)
    claimed = Moderator(client, moderator_key).claim(limit=1).get_json()["items"][0]["id"]
    log_in(client)
    html = client.get("/ui/sites/demo/queue").get_data(as_text=True)
    order = re.findall(r'<article class="card"[^>]*data-id="([^"]+)"', html)
    assert len(order) == 4 and order[-1] == claimed
    assert re.search(r"Being reviewed by key:\S+ until <time datetime=", html)


def test_queue_pages_show_an_error_page_when_redis_is_down(scorer):
    server = RedisServer()
    server.start()
    try:
        app = create_app(
            Settings(redis_url=server.url, cache_seconds=0, secret_key="k" * 32), scorer
        )
        services = app.extensions["modq"]
        services.sites.create("demo")
        with app.app_context():
            get_moderation().moderators.create("demo@example.org", PASSWORD, ["demo"])
        client = app.test_client()
        assert log_in(client).status_code == 302
        server.stop()
        page = client.get("/ui/sites/demo/queue")
        assert page.status_code == 503 and page.mimetype == "text/html"
        assert "review store cannot be reached" in page.get_data(as_text=True)
        assert page.headers["Retry-After"]
        api = client.get("/v1/sites/demo/queue/stats")
        assert api.status_code == 503 and api.get_json()["error"]["code"] == "storage_unavailable"
    finally:
        server.cleanup()


def test_leaving_a_page_releases_only_the_callers_leases_and_needs_the_token(
    client, accounts, services, ingest, moderator_key
):
    review_everything(services)
    queue_comments(ingest, 6)
    other = Moderator(client, moderator_key)
    theirs = other.claim(limit=1).get_json()["items"][0]["id"]
    log_in(client)
    html = client.get("/ui/sites/demo/queue").get_data(as_text=True)
    mine = re.findall(
        r'<article class="card"[^>]*data-id="([^"]+)"[^>]*\n?[^>]*data-mine="1"', html
    )
    assert other.get("/queue/stats").get_json()["leased"] == 1 + len(mine) and mine
    ids = [*mine, theirs, "no-such-comment"]
    assert client.post("/ui/sites/demo/release", data={"id": ids}).status_code == 403
    released = client.post(
        "/ui/sites/demo/release", data={"id": ids, "csrf_token": csrf_of(html)}
    ).get_json()
    assert released == {"released": 0}  # no page token: a later page may list them
    page = re.search(r'data-page="([^"]+)"', html).group(1)
    released = client.post(
        "/ui/sites/demo/release", data={"id": ids, "csrf_token": csrf_of(html), "page": page}
    ).get_json()
    assert released == {"released": len(mine)}
    stats = other.get("/queue/stats").get_json()
    assert stats["leased"] == 1
    listed = {item["id"]: item["lease_holder"] for item in other.get("/queue").get_json()["items"]}
    assert listed[theirs].startswith("key:")


def test_a_reloaded_page_keeps_the_leases_its_old_page_gives_back(
    client, accounts, services, ingest, moderator_key
):
    review_everything(services)
    queue_comments(ingest, 6)
    log_in(client)
    old = client.get("/ui/sites/demo/queue").get_data(as_text=True)
    mine = re.findall(r'data-id="([^"]+)"[^>]*\n?[^>]*data-mine="1"', old)
    # The reload's page is served first; the old page's leave beacon arrives after it.
    new = client.get("/ui/sites/demo/queue").get_data(as_text=True)
    beacon = {"id": mine, "csrf_token": csrf_of(old)}
    beacon["page"] = re.search(r'data-page="([^"]+)"', old).group(1)
    assert client.post("/ui/sites/demo/release", data=beacon).get_json() == {"released": 0}
    listed = Moderator(client, moderator_key).get("/queue").get_json()["items"]
    holders = {item["id"]: item["lease_holder"] for item in listed}
    assert mine and all(holders[comment_id] == "demo@example.org" for comment_id in mine)
    assert re.search(r'data-page="([^"]+)"', new).group(1) != beacon["page"]


@pytest.mark.parametrize(("pending", "leased"), [(1, 1), (3, 2), (10, 5), (100, 50)])
def test_a_page_leases_half_of_a_small_queue(
    client, accounts, services, ingest, moderator_key, pending, leased
):
    review_everything(services)
    queue_comments(ingest, pending)
    log_in(client)
    html = client.get("/ui/sites/demo/queue").get_data(as_text=True)
    assert Moderator(client, moderator_key).get("/queue/stats").get_json()["leased"] == leased
    # The rest are shown unleased, up to a page.
    assert len(re.findall(r'<article class="card"', html)) == min(pending, 50)


def test_score_meters_use_the_sites_thresholds(client, accounts, services, ingest):
    review_everything(services)
    ingest({"id": "t1", "text": "hello there"})
    services.sites.update(
        "demo",
        review_thresholds={"spam": 0.3, "abuse": 0.4},
        reject_thresholds={"spam": 0.8, "abuse": 0.95},
    )
    log_in(client)
    html = client.get("/ui/sites/demo/queue").get_data(as_text=True)
    meters = re.findall(r'<label>(spam|abuse) <meter [^>]*low="([^"]+)" high="([^"]+)"', html)
    assert meters == [("spam", "0.3", "0.8"), ("abuse", "0.4", "0.95")]


def test_the_comment_page_has_no_shortcut_hints_and_an_overturn_asks_first(
    client, accounts, services, ingest
):
    review_everything(services)
    ingest({"id": "o1", "text": "hello there"})
    log_in(client)
    page = client.get("/ui/sites/demo/comments/o1").get_data(as_text=True)
    assert "<kbd>" not in page and "queue.js" not in page
    assert "<kbd>a</kbd>" in client.get("/ui/sites/demo/queue").get_data(as_text=True)
    token = csrf_of(page)
    back = "/ui/sites/demo/comments/o1"
    client.post("/ui/sites/demo/decide", data={"csrf_token": token, "one": "approve|o1"})
    assert services.comments.get("demo", "o1")["status"] == "approved"
    page = client.get(back).get_data(as_text=True)
    assert 'name="overturn" value="1"' in page
    ask = client.post(
        "/ui/sites/demo/decide",
        data={"csrf_token": token, "one": "reject-abuse|o1", "overturn": "1", "back": back},
    )
    assert ask.status_code == 200
    asked = ask.get_data(as_text=True)
    assert (
        "Overturn the decision on #o1?" in asked
        and "demo@example.org decided it (approve)" in asked
    )
    assert "Yes, reject as abuse" in asked and f'<a href="{back}">Cancel</a>' in asked
    assert services.comments.get("demo", "o1")["status"] == "approved"
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', asked))
    approved_at = services.comments.get("demo", "o1")["moderation"]["at"]
    assert fields == {
        "csrf_token": token,
        "one": "reject-abuse|o1",
        "overturn": "1",
        "confirmed": "1",
        "replaces": approved_at,
        "back": back,
    }
    done = client.post("/ui/sites/demo/decide", data=fields)
    assert done.status_code == 302 and done.headers["Location"] == back
    assert services.comments.get("demo", "o1")["status"] == "rejected"


def decide_one_logged_in(client, services, ingest, comment_id: str, action: str) -> str:
    """Queue one comment, log in as demo's moderator and decide it with the form's ``action``
    ("approve", "reject-abuse", ...); the session's form token."""
    review_everything(services)
    ingest({"id": comment_id, "text": "hello there"})
    log_in(client)
    token = csrf_of(client.get("/ui/sites/demo/queue").get_data(as_text=True))
    client.post(
        "/ui/sites/demo/decide", data={"csrf_token": token, "one": f"{action}|{comment_id}"}
    )
    return token


def test_an_overturn_asks_again_when_the_decision_changed_meanwhile(
    client, accounts, services, ingest, moderator_key
):
    token = decide_one_logged_in(client, services, ingest, "o2", "reject-abuse")
    asked = client.post(
        "/ui/sites/demo/decide",
        data={"csrf_token": token, "one": "approve|o2", "overturn": "1"},
    ).get_data(as_text=True)
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', asked))
    # Another moderator overturns it first, to a rejection as spam.
    other = Moderator(client, moderator_key)
    changed = other.decide("o2", "reject", labels=["spam"], overturn=True)
    assert changed.status_code == 200
    again = client.post("/ui/sites/demo/decide", data=fields)
    assert again.status_code == 200  # asked again, not overturned
    page = again.get_data(as_text=True)
    assert "The decision changed since you were asked" in page and "(reject: spam)" in page
    assert services.comments.get("demo", "o2")["moderation"]["labels"] == ["spam"]


@pytest.mark.parametrize("typed", ["KO", "ko", " Ko-KR "])
def test_the_language_filter_ignores_case(client, accounts, services, ingest, typed):
    review_everything(services)
    ingest({"id": "k1", "text": "좋은 기사 감사합니다", "language": "ko"})
    ingest({"id": "e1", "text": "Thanks for the article", "language": "en"})
    log_in(client)
    html = client.get("/ui/sites/demo/queue", query_string={"language": typed}).get_data(
        as_text=True
    )
    assert re.findall(r'<article class="card"[^>]*data-id="([^"]+)"', html) == ["k1"]
    # Korean text is marked as such, so the page's style keeps its words whole.
    assert '<p class="text" dir="auto" lang="ko">' in html


def test_a_filter_that_matches_nothing_says_so_with_a_way_back(client, accounts, services, ingest):
    review_everything(services)
    ingest({"id": "e1", "text": "Thanks for the article", "language": "en"})
    log_in(client)
    html = client.get("/ui/sites/demo/queue?language=de&order=oldest").get_data(as_text=True)
    assert "The queue is clear." not in html
    empty = re.search(r'<p id="empty" class="empty" >(.*?)</p>', html, re.S).group(1)
    assert "No pending comment matches these filters." in empty
    assert 'href="/ui/sites/demo/queue?order=oldest">Clear the filters</a>' in empty
    cleared = client.get("/ui/sites/demo/queue").get_data(as_text=True)
    assert "No pending comment matches" not in cleared


def test_statuses_and_times_read_as_words(client, accounts, services, ingest):
    html = queue_page(client, services, ingest, {"id": "s1", "text": "hello there"})
    assert '<span class="status status-pending_review">Pending review</span>' in html
    received = services.comments.get("demo", "s1")["received_at"]
    shown = re.search(rf'<time datetime="{received}">([^<]+)</time>', html).group(1)
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", shown)
    assert shown.replace(" UTC", "").replace(" ", "T") == received[:16]
    # An inline icon: no request for /favicon.ico, which does not exist.
    assert '<link rel="icon" href="data:image/svg+xml,' in html


def test_the_forms_say_when_nothing_was_selected_or_nothing_changed(
    client, accounts, services, ingest
):
    review_everything(services)
    ingest({"id": "f1", "text": "hello there"})
    log_in(client)
    token = csrf_of(client.get("/ui/sites/demo/queue").get_data(as_text=True))
    client.post("/ui/sites/demo/decide", data={"csrf_token": token, "bulk": "approve"})
    page = client.get("/ui/sites/demo/queue").get_data(as_text=True)
    assert "Select comments first" in page
    for _ in range(2):
        client.post("/ui/sites/demo/decide", data={"csrf_token": token, "one": "approve|f1"})
    page = client.get("/ui/sites/demo/queue").get_data(as_text=True)
    assert "#f1 already carries that decision of yours; nothing changed." in page


def test_a_comment_no_longer_stored_gets_a_page_with_its_decisions(
    client, accounts, services, ingest, ingest_key
):
    decide_one_logged_in(client, services, ingest, "g1", "approve")
    withdrawn = client.delete("/v1/comments/g1", headers={"Authorization": f"Bearer {ingest_key}"})
    assert withdrawn.status_code == 204
    gone = client.get("/ui/sites/demo/comments/g1")
    assert gone.status_code == 404 and gone.mimetype == "text/html"
    page = gone.get_data(as_text=True)
    assert "no longer stored: the site withdrew it" in page
    assert "demo@example.org" in page and "approve" in page
    never = client.get("/ui/sites/demo/comments/nope")
    assert never.status_code == 404 and never.mimetype == "text/html"
    assert "Site demo has no comment #nope." in never.get_data(as_text=True)
