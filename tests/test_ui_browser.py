"""The web UI in headless Chromium: the keyboard flow, and the queue page when things go wrong.

A moderator logs in and clears items with the keyboard alone, checked through the API; then the
card the keys act on, undo, other moderators, lost answers, expired sessions, the help dialog,
long text and stale counts.

Playwright drives the system's Chromium (never a downloaded browser build); the test is skipped
only when no Chromium binary exists on the machine.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from service import ui
from service.moderation_api import get_moderation
from service.queue import UNDO_SECONDS
from tests.moderation_support import Moderator, review_everything

PASSWORD = "correct horse battery"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def find_chromium() -> str | None:
    explicit = os.environ.get("MODQ_CHROMIUM")
    if explicit and Path(explicit).exists():
        return explicit
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


CHROMIUM = find_chromium()
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="no Chromium binary on this machine "
    "(install the distribution's chromium package or set MODQ_CHROMIUM)",
)


@pytest.fixture
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def account(app, site):
    with app.app_context():
        return get_moderation().moderators.create("mod@example.org", PASSWORD, ["demo"])


def log_in(page, server: str, email: str = "mod@example.org") -> None:
    page.goto(f"{server}/ui/login")
    page.fill('input[name="email"]', email)
    page.fill('input[name="password"]', PASSWORD)
    page.click('button[type="submit"]')
    page.wait_for_selector(".card")
    # The queue's script runs after the cards are parsed; keys pressed before it listens are lost.
    page.wait_for_selector('#queue[data-keyboard="ready"]', state="attached")


def press(page, key: str) -> None:
    """Press a key as a moderator does: a decision key once the page takes one, which is not
    while a decision is on its way nor in the moment after a card appeared in place of one."""
    if key in ("a", "r", "s", "b"):
        page.wait_for_selector('#queue[data-keys="ready"]', state="attached")
    page.keyboard.press(key)


DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 360, "height": 780}


def open_queue(browser, server: str, email: str = "mod@example.org", viewport=DESKTOP):
    """A page in a browser context of its own, logged in on the queue."""
    page = browser.new_page(viewport=viewport)
    log_in(page, server, email)
    return page


def visible_cards(page) -> int:
    return page.locator(".card:visible").count()


def test_a_moderator_clears_three_items_with_the_keyboard(
    server, browser, account, services, ingest, client, moderator_key, artifacts_dir
):
    review_everything(services)
    texts = {
        "k1": "Thanks for the balanced article on the budget.",
        "k2": "CHEAP PILLS!!! buy now at cheap-pills.example",
        "k3": "<script>window.__pwned = 1</script> you are an idiot",
    }
    for comment_id, text in texts.items():
        assert (
            ingest({"id": comment_id, "text": text, "author": {"id": "a", "name": "A"}}).status_code
            == 200
        )
    page = open_queue(browser, server, viewport=PHONE)
    assert visible_cards(page) == 3
    # The comment's markup is shown as text and never runs.
    assert page.locator(".card .text", has_text="<script>").count() == 1
    assert page.evaluate("window.__pwned") is None

    order = page.eval_on_selector_all(".card", "cards => cards.map(c => c.dataset.id)")
    for expected_left, key in zip((2, 1, 0), ("a", "r", "a"), strict=True):
        press(page, key)
        expect(page.locator(".card:visible")).to_have_count(expected_left)
    page.wait_for_selector("#empty:not([hidden])")
    page.screenshot(path=str(Path(artifacts_dir) / "ui-queue-cleared-360px.png"), full_page=True)

    moderator = Moderator(client, moderator_key)
    assert moderator.get("/queue/stats").get_json()["pending"] == 0
    entries = moderator.get("/audit").get_json()["entries"]
    assert [(e["comment_id"], e["decision"]) for e in reversed(entries)] == [
        (order[0], "approve"),
        (order[1], "reject"),
        (order[2], "approve"),
    ]
    assert {e["moderator"] for e in entries} == {"mod@example.org"}
    assert entries[1]["labels"] in (["spam"], ["abuse"])
    ingest_key = services.api_keys.create("demo", "ingest")[1]
    status = client.get(
        f"/v1/comments/{order[1]}", headers={"Authorization": f"Bearer {ingest_key}"}
    )
    assert status.get_json()["status"] == "rejected"


def test_undo_help_and_pages_in_the_browser(
    server, browser, account, services, ingest, client, moderator_key, artifacts_dir
):
    review_everything(services)
    for index in range(2):
        ingest({"id": f"u{index}", "text": f"Buy watches cheap, visit now {index}"})
    page = open_queue(browser, server)
    page.keyboard.press("?")
    expect(page.locator("#help")).to_be_visible()
    page.keyboard.press("?")
    page.keyboard.press("j")
    press(page, "r")
    expect(page.locator(".card:visible")).to_have_count(1)
    page.keyboard.press("u")
    expect(page.locator(".card:visible")).to_have_count(2)
    moderator = Moderator(client, moderator_key)
    assert moderator.get("/queue/stats").get_json()["pending"] == 2
    assert [e["decision"] for e in moderator.get("/audit").get_json()["entries"]] == [
        "undo",
        "reject",
    ]
    page.screenshot(path=str(Path(artifacts_dir) / "ui-queue-desktop.png"), full_page=True)
    for path in ("history", "audit"):
        page.goto(f"{server}/ui/sites/demo/{path}")
        assert page.locator("table.entries tbody tr").count() == 2
    page.goto(f"{server}/ui/sites/demo/comments/u0")
    assert page.locator(".card").count() == 1


# (text, whether a moderator rejects it)
MIXED = [
    ("Thanks for the balanced article on the budget.", False),
    ("CHEAP PILLS!!! buy now at cheap-pills.example, subscribe to my channel", True),
    ("You are a stupid idiot and a worthless moron.", True),
    ("오늘 기사 잘 읽었습니다. 좋은 정보 감사합니다.", False),
    ("이 미친 개새끼야 닥쳐", True),
    ("The council vote is next Tuesday; worth attending.", False),
    ("Call 010-1234-5678 on KakaoTalk for cheap loans!!!", True),
    ("I disagree with the mayor, but this was fair reporting.", False),
]


def test_a_moderator_clears_fifty_mixed_comments_with_the_keyboard_and_the_site_hears_each(
    server, browser, account, services, ingest, client, moderator_key, artifacts_dir
):
    """A full shift in small: 50 mixed comments, keyboard only, a verified webhook each."""
    from service.webhooks import verify
    from tests.webhook_support import SECRET, Receiver

    receiver = Receiver()
    receiver.thread.start()
    try:
        review_everything(services)
        services.sites.update("demo", webhook_url=receiver.url, webhook_secret=SECRET)
        rejects = set()
        for index in range(50):
            text, bad = MIXED[index % len(MIXED)]
            assert ingest({"id": f"m{index}", "text": f"{text} #{index}"}).status_code == 200
            if bad:
                rejects.add(f"m{index}")
        page = open_queue(browser, server)
        assert visible_cards(page) == 50
        decided: dict[str, str] = {}
        for left in range(49, -1, -1):
            card = page.locator(".card.current:visible")
            if card.count() == 0:
                page.keyboard.press("j")
            card = page.locator(".card.current:visible")
            comment_id = card.get_attribute("data-id")
            key = "r" if comment_id in rejects else "a"
            press(page, key)
            expect(page.locator(".card:visible")).to_have_count(left)
            decided[comment_id] = "reject" if key == "r" else "approve"
        page.wait_for_selector("#empty:not([hidden])")
        page.screenshot(path=str(Path(artifacts_dir) / "ui-fifty-cleared.png"))

        moderator = Moderator(client, moderator_key)
        assert moderator.get("/queue/stats").get_json()["pending"] == 0
        assert len(decided) == 50 and {c for c, d in decided.items() if d == "reject"} == rejects

        deadline = time.monotonic() + 60
        while len(receiver.accepted()) < 50 and time.monotonic() < deadline:
            time.sleep(0.1)
        events = {}
        for delivery in receiver.accepted():
            headers = {k.lower(): v for k, v in delivery["headers"].items()}
            assert verify(
                SECRET, headers["x-modq-timestamp"], delivery["body"], headers["x-modq-signature"]
            )
            event = json.loads(delivery["body"])
            events[event["comment_id"]] = event["decision"]
        assert events == decided
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()


UNAVAILABLE = {"error": {"code": "storage_unavailable", "message": "Redis is unreachable."}}


@pytest.fixture
def queued(services, ingest):
    """Queue comments with the given ids (each a distinct, harmless text); returns the ids."""

    def queue(*ids: str) -> list[str]:
        review_everything(services)
        for index, comment_id in enumerate(ids):
            text = f"Comment number {index} about the council budget."
            assert ingest({"id": comment_id, "text": text}).status_code == 200
        return list(ids)

    return queue


def card_ids(page) -> list[str]:
    return page.eval_on_selector_all(".card:visible", "cards => cards.map(c => c.dataset.id)")


def current_id(page) -> str | None:
    return page.locator(".card.current").get_attribute("data-id")


def let_leases_lapse(services, *comment_ids: str) -> None:
    """End the page's leases on these comments now, as if the moderator had left them longer
    than the lease: another moderator may then decide them."""
    services.redis.zadd(services.keys.leases("demo"), dict.fromkeys(comment_ids, 0))


def test_two_moderators_get_different_comments(server, browser, account, queued, app, monkeypatch):
    monkeypatch.setattr(ui, "PAGE_SIZE", 2)
    queued("m1", "m2", "m3", "m4")
    with app.app_context():
        get_moderation().moderators.create("second@example.org", PASSWORD, ["demo"])
    first_page = open_queue(browser, server)
    second_page = open_queue(browser, server, email="second@example.org")
    # Each page leases the comments it shows: the second moderator gets the ones left.
    mine = set(card_ids(first_page))
    theirs = {
        card.get_attribute("data-id")
        for card in second_page.locator(".card:not([data-leased])").all()
    }
    assert len(mine) == 2 and len(theirs) == 2 and mine.isdisjoint(theirs)
    assert mine | theirs == {"m1", "m2", "m3", "m4"}


def decisions(client, moderator_key) -> list[tuple[str, str]]:
    entries = Moderator(client, moderator_key).get("/audit").get_json()["entries"]
    return [(e["comment_id"], e["decision"]) for e in reversed(entries)]


def test_clicking_a_cards_text_makes_keys_act_on_it(
    server, browser, account, queued, client, moderator_key
):
    queued("c1", "c2", "c3")
    page = open_queue(browser, server)
    first, _, third = card_ids(page)
    assert current_id(page) == first
    page.locator(f'.card[data-id="{third}"] .text').click()
    press(page, "a")
    expect(page.locator(f'.card[data-id="{third}"]')).to_be_hidden()
    assert decisions(client, moderator_key) == [(third, "approve")]
    # Tabbing into a card's controls does the same.
    page.locator(f'.card[data-id="{first}"] input[type="checkbox"]').focus()
    assert current_id(page) == first


def test_s_and_b_reject_as_spam_and_as_abuse(
    server, browser, account, queued, client, moderator_key
):
    queued("k1", "k2")
    page = open_queue(browser, server)
    first, second = card_ids(page)
    press(page, "s")
    expect(page.locator(f'.card[data-id="{first}"]')).to_be_hidden()
    press(page, "b")
    expect(page.locator(f'.card[data-id="{second}"]')).to_be_hidden()
    entries = Moderator(client, moderator_key).get("/audit").get_json()["entries"]
    labels = {e["comment_id"]: (e["decision"], e["labels"]) for e in entries}
    assert labels == {first: ("reject", ["spam"]), second: ("reject", ["abuse"])}


def test_undo_survives_the_reload_after_a_page_is_cleared(
    server, browser, account, queued, client, moderator_key, monkeypatch
):
    monkeypatch.setattr(ui, "PAGE_SIZE", 2)
    queued("p1", "p2", "p3")
    page = open_queue(browser, server)
    assert page.locator("#queue").get_attribute("data-undo-seconds") == str(UNDO_SECONDS)
    first, second = card_ids(page)
    press(page, "a")
    expect(page.locator(".card:visible")).to_have_count(1)
    press(page, "a")
    # The cleared page reloads with the one comment left. (One card is visible before the
    # reload too, the one being decided: wait for the comment only the reloaded page shows.)
    left = ({"p1", "p2", "p3"} - {first, second}).pop()
    expect(page.locator(f'.card[data-id="{left}"]')).to_be_visible()
    expect(page.locator(".card:visible")).to_have_count(1)
    page.wait_for_selector('#queue[data-keyboard="ready"]', state="attached")
    page.keyboard.press("u")
    expect(page.locator(f'.card[data-id="{second}"]')).to_be_visible()
    expect(page.locator("#toast")).to_have_text(f"Undone: #{second} is back in the queue")
    assert decisions(client, moderator_key)[-1] == (second, "undo")


def test_a_failed_undo_can_be_tried_again(server, browser, account, queued, client, moderator_key):
    queued("f1", "f2")
    page = open_queue(browser, server)
    first = current_id(page)
    # The first undo request fails as a dropped connection would (set up before anything is
    # decided, so no request can be on its way while the route is being installed).
    page.route("**/undo", lambda route: route.abort(), times=1)
    press(page, "a")
    expect(page.locator(".card:visible")).to_have_count(1)
    page.keyboard.press("u")
    expect(page.locator("#toast")).to_contain_text("Undo failed")
    expect(page.locator(f'.card[data-id="{first}"]')).to_be_hidden()
    page.keyboard.press("u")
    expect(page.locator(f'.card[data-id="{first}"]')).to_be_visible()
    assert decisions(client, moderator_key) == [(first, "approve"), (first, "undo")]


def test_a_comment_another_moderator_decided_is_marked_taken_in_plain_words(
    server, browser, account, queued, client, moderator_key, services
):
    queued("t1", "t2", "t3")
    page = open_queue(browser, server)
    first, second, _ = card_ids(page)
    other = Moderator(client, moderator_key)
    let_leases_lapse(services, first)
    assert other.decide(first, "reject", labels=["spam"]).status_code == 200
    press(page, "a")
    taken = page.locator(f'.card[data-id="{first}"]')
    expect(taken).to_have_class("card taken")
    other_name = other.get("/audit").get_json()["entries"][0]["moderator"]
    expect(taken.locator(".taken-note")).to_have_text(f"Already decided by {other_name}.")
    expect(page.locator("#toast")).not_to_contain_text("overturn")
    # The keys moved on to the next comment, and j/k skip the taken one.
    assert current_id(page) == second
    page.keyboard.press("k")
    assert current_id(page) == second


def test_a_comment_the_site_withdrew_is_marked_gone_and_skipped(
    server, browser, account, queued, client, services
):
    queued("w1", "w2", "w3")
    page = open_queue(browser, server)
    first, second, _ = card_ids(page)
    ingest_key = services.api_keys.create("demo", "ingest")[1]
    withdrawn = client.delete(
        f"/v1/comments/{first}", headers={"Authorization": f"Bearer {ingest_key}"}
    )
    assert withdrawn.status_code == 204
    press(page, "a")
    gone = page.locator(f'.card[data-id="{first}"]')
    expect(gone).to_have_class("card taken")
    expect(gone.locator(".taken-note")).to_have_text(
        "No longer stored: the site withdrew it, or it passed the site's retention."
    )
    expect(page.locator("#pending-count")).to_have_text("2")
    assert current_id(page) == second


def test_cards_leased_to_another_moderator_come_last_and_are_skipped(
    server, browser, account, queued, client, moderator_key
):
    queued("l1", "l2", "l3")
    claimed = Moderator(client, moderator_key).claim(limit=1).get_json()["items"][0]["id"]
    page = open_queue(browser, server)
    order = card_ids(page)
    assert order[-1] == claimed
    expect(page.locator(f'.card[data-id="{claimed}"] .lease')).to_contain_text("Being reviewed by")
    page.keyboard.press("j")
    page.keyboard.press("j")
    assert current_id(page) == order[1]


def test_a_lost_answer_is_checked_before_anything_is_said(
    server, browser, account, queued, client, moderator_key
):
    queued("n1", "n2")
    page = open_queue(browser, server)
    first = current_id(page)

    def save_then_lose(route):
        route.fetch()  # the server records the decision; its answer never reaches the page
        route.abort()

    page.route("**/decision", save_then_lose, times=1)
    press(page, "a")
    expect(page.locator(f'.card[data-id="{first}"]')).to_be_hidden()
    expect(page.locator("#toast")).to_have_text(f"Approved #{first} — press u to undo")
    assert decisions(client, moderator_key) == [(first, "approve")]


def test_an_unavailable_service_leaves_the_card_to_try_again(
    server, browser, account, queued, client, moderator_key
):
    queued("s1", "s2")
    page = open_queue(browser, server)
    first = current_id(page)
    page.route(
        "**/decision",
        lambda route: route.fulfill(
            status=503, content_type="application/json", body=json.dumps(UNAVAILABLE)
        ),
        times=1,
    )
    press(page, "a")
    expect(page.locator("#toast")).to_contain_text("unavailable right now; nothing was decided")
    card = page.locator(f'.card[data-id="{first}"]')
    expect(card).to_have_class("card current")
    press(page, "a")
    expect(card).to_be_hidden()


def test_an_expired_session_says_so_and_stops_the_keys(
    server, browser, account, queued, client, moderator_key
):
    queued("e1", "e2")
    page = open_queue(browser, server)
    first = current_id(page)
    page.context.clear_cookies()
    press(page, "a")
    expect(page.locator("#toast")).to_have_text("Session expired — log in")
    assert page.locator("#toast a").get_attribute("href").startswith("/ui/login?next=")
    page.keyboard.press("j")
    press(page, "a")
    assert current_id(page) == first
    assert decisions(client, moderator_key) == []


def test_bulk_decisions_report_lost_answers_and_refusals(
    server, browser, account, queued, client, moderator_key, services
):
    queued("b1", "b2", "b3")
    page = open_queue(browser, server)
    first, second, _ = card_ids(page)
    page.keyboard.press("x")
    page.keyboard.press("j")
    page.keyboard.press("x")
    page.route("**/queue/decisions", lambda route: route.abort(), times=1)
    page.click('button[name="bulk"][value="approve"]')
    expect(page.locator("#toast")).to_contain_text("No answer from the server")
    let_leases_lapse(services, second)
    assert Moderator(client, moderator_key).decide(second, "approve").status_code == 200
    page.click('button[name="bulk"][value="approve"]')
    expect(page.locator("#toast")).to_have_text(
        f"1 decided — press u to undo. Not decided: #{second} was taken by another moderator."
    )
    expect(page.locator(f'.card[data-id="{first}"]')).to_be_hidden()
    expect(page.locator(f'.card[data-id="{second}"] .taken-note')).to_contain_text(
        "Already decided by key:"
    )


def test_the_help_dialog_holds_the_keys_until_closed(
    server, browser, account, queued, client, moderator_key
):
    queued("h1", "h2")
    page = open_queue(browser, server)
    first = current_id(page)
    page.keyboard.press("?")
    expect(page.locator("#help")).to_be_focused()
    for key in ("j", "a", "r", "Tab"):
        press(page, key)
    expect(page.locator("#help-close")).to_be_focused()
    assert current_id(page) == first and decisions(client, moderator_key) == []
    page.keyboard.press("Escape")
    expect(page.locator("#help")).to_be_hidden()
    expect(page.locator(f'.card[data-id="{first}"]')).to_be_focused()


def test_long_links_and_spoofing_characters_stay_in_a_phone_screen(
    server, browser, account, services, ingest
):
    review_everything(services)
    link = "https://example.com/" + "a" * 200
    assert ingest({"id": "w1", "text": f"Buy now at {link} cheap pills"}).status_code == 200
    assert ingest({"id": "w2", "text": "open \u202egnp.exe"}).status_code == 200
    page = open_queue(browser, server, viewport=PHONE)
    assert page.locator(".reasons li", has_text=link).count() == 1
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    assert page.locator('.card[data-id="w2"] .text').inner_text() == "open ⟨U+202E⟩gnp.exe"


def test_counts_refresh_while_the_page_is_open(server, browser, account, queued, ingest):
    queued("r1")
    page = browser.new_page(viewport=DESKTOP)
    page.clock.install()
    log_in(page, server)
    expect(page.locator("#pending-count")).to_have_text("1")
    assert ingest({"id": "r2", "text": "Another comment on the budget."}).status_code == 200
    page.clock.fast_forward("00:16")
    expect(page.locator("#pending-count")).to_have_text("2")


def test_a_cookie_copied_before_logout_opens_only_the_login_page(server, browser, account, queued):
    queued("o1")
    page = open_queue(browser, server)
    copied = page.context.cookies()
    page.click(".logout button")
    expect(page).to_have_url(f"{server}/ui/login")
    thief = browser.new_context()
    thief.add_cookies(copied)
    stolen = thief.new_page()
    stolen.goto(f"{server}/ui/sites/demo/queue")
    expect(stolen.locator("form.login")).to_be_visible()
    assert stolen.request.get(f"{server}/v1/sites/demo/queue/stats").status == 401


def test_a_run_of_zero_width_spaces_shows_as_one_counted_badge(
    server, browser, account, services, ingest
):
    review_everything(services)
    assert ingest({"id": "z1", "text": "you idiot " + "\u200b" * 200}).status_code == 200
    page = open_queue(browser, server)
    text = page.locator('.card[data-id="z1"] .text')
    badge = text.locator(".hidden-char")
    assert badge.count() == 1
    assert badge.inner_text() == "⟨U+200B ×200⟩"
    assert badge.get_attribute("title") == "ZERO WIDTH SPACE, 200 times"


def test_u_undoes_a_bulk_decision_whole_and_says_which_could_not_be_undone(
    server, browser, account, queued, client, moderator_key
):
    queued("v1", "v2", "v3", "v4", "v5")
    page = open_queue(browser, server)
    first, second, third, fourth, fifth = card_ids(page)
    toast = page.locator("#toast")
    press(page, "a")
    expect(page.locator(f'.card[data-id="{first}"]')).to_be_hidden()
    page.keyboard.press("x")
    page.keyboard.press("j")
    page.keyboard.press("x")
    page.click('button[name="bulk"][value="approve"]')
    expect(toast).to_have_text("2 decided — press u to undo.")
    page.keyboard.press("u")
    expect(toast).to_have_text(f"Undone: 2 decisions; #{second}, #{third} are back in the queue")
    expect(page.locator(f'.card[data-id="{second}"]')).to_be_visible()
    expect(page.locator(f'.card[data-id="{third}"]')).to_be_visible()
    # The single decision before the bulk one stays: u took back the last action only.
    expect(page.locator(f'.card[data-id="{first}"]')).to_be_hidden()
    expect(page.locator("#pending-count")).to_have_text("4")
    made = decisions(client, moderator_key)
    assert made[:3] == [(first, "approve"), (second, "approve"), (third, "approve")]
    assert sorted(made[3:]) == sorted([(second, "undo"), (third, "undo")])

    # One of a bulk decision's undos is refused: the others are undone, and the toast says which.
    for card in (fourth, fifth):
        page.locator(f'.card[data-id="{card}"] input[type="checkbox"]').check()
    page.click('button[name="bulk"][value="reject"]')
    expect(toast).to_have_text("2 decided — press u to undo.")
    refusal = {"error": {"code": "changed", "message": "it changed since."}}
    page.route(
        f"**/queue/{fifth}/undo",
        lambda route: route.fulfill(
            status=409, content_type="application/json", body=json.dumps(refusal)
        ),
    )
    page.keyboard.press("u")
    expect(toast).to_have_text(
        f"Undone: #{fourth} is back in the queue. Not undone: #{fifth}: it changed since."
    )
    expect(page.locator(f'.card[data-id="{fourth}"]')).to_be_visible()
    expect(page.locator(f'.card[data-id="{fifth}"]')).to_be_hidden()


def test_a_page_left_with_only_other_moderators_cards_loads_the_next(
    server, browser, account, queued, client, moderator_key, monkeypatch
):
    monkeypatch.setattr(ui, "PAGE_SIZE", 3)
    queued("g1", "g2", "g3", "g4")
    claimed = Moderator(client, moderator_key).claim(limit=2).get_json()["items"]
    held = [item["id"] for item in claimed]
    page = open_queue(browser, server)
    shown = card_ids(page)
    open_ids = [i for i in shown if i not in held]
    assert len(shown) == 3 and len(open_ids) == 2
    unseen = (set(held) - set(shown)).pop()
    for _ in open_ids:
        press(page, "a")
    # No card this moderator can decide is left, though another's still is: the queue loads
    # again, and shows what it holds now.
    expect(page.locator(f'.card[data-id="{unseen}"]')).to_be_visible()
    expect(page.locator("#waiting")).to_contain_text(
        "All 2 comments here are being reviewed by others"
    )


def test_a_queue_held_by_others_says_so_and_loads_again_when_a_lease_ends(
    server, browser, account, queued, client, moderator_key, services
):
    queued("w1", "w2")
    Moderator(client, moderator_key).claim(limit=2)
    page = browser.new_page(viewport=DESKTOP)
    page.clock.install()
    log_in(page, server)
    waiting = page.locator("#waiting")
    expect(waiting).to_be_visible()
    assert re.fullmatch(
        r"All 2 comments here are being reviewed by others; the first is free at "
        r"\d\d:\d\d(?: [AP]M)? \(your local time\), when the queue loads again by itself\.",
        waiting.inner_text(),
    )
    assert page.locator(".card.current").count() == 0
    let_leases_lapse(services, "w1", "w2")
    page.clock.fast_forward("05:02")
    expect(page.locator(".card.current")).to_have_count(1)
    expect(waiting).to_be_hidden()
    assert page.locator(".card[data-leased]").count() == 0


def test_a_page_full_of_other_moderators_cards_stays_until_a_comment_is_free(
    server, browser, account, queued, client, moderator_key, ingest, monkeypatch
):
    monkeypatch.setattr(ui, "PAGE_SIZE", 2)
    queued("f1", "f2", "f3")
    Moderator(client, moderator_key).claim(limit=3)
    page = browser.new_page(viewport=DESKTOP)
    page.clock.install()
    log_in(page, server)
    # Three comments pending, two shown, all three held by another moderator: loading the queue
    # again would show the same two, so the counts refresh leaves the page as it is.
    expect(page.locator("#waiting")).to_contain_text(
        "All 2 comments here are being reviewed by others"
    )
    page.evaluate("window.sameDocument = true")
    for _ in range(2):
        with page.expect_response(lambda response: response.url.endswith("/queue/stats")):
            page.clock.fast_forward("00:16")
        # Time for a reload the answer would start (the old page's marker would be gone).
        page.wait_for_timeout(500)
    expect(page.locator("#pending-count")).to_have_text("3")
    expect(page.locator("#leased-count")).to_have_text("3")
    assert page.evaluate("window.sameDocument === true")
    # A comment no one holds arrives: the next refresh of the counts loads the queue with it.
    assert ingest({"id": "f4", "text": "A new comment on the council budget."}).status_code == 200
    page.clock.fast_forward("00:16")
    expect(page.locator('.card.current[data-id="f4"]')).to_be_visible()
    assert page.evaluate("window.sameDocument === undefined")


def test_leaving_the_queue_gives_its_leases_back(
    server, browser, account, queued, client, moderator_key
):
    queued("q1", "q2", "q3", "q4")
    page = open_queue(browser, server)
    moderator = Moderator(client, moderator_key)
    # A small queue: the page leases half of it and shows the rest unleased.
    assert page.locator(".card[data-mine]").count() == 2
    assert visible_cards(page) == 4
    assert moderator.get("/queue/stats").get_json()["leased"] == 2
    press(page, "a")
    # Both counts follow a decision: one fewer pending, and its lease ended with it.
    expect(page.locator("#leased-count")).to_have_text("1")
    expect(page.locator("#pending-count")).to_have_text("3")
    page.goto(f"{server}/ui/sites/demo/history")
    deadline = time.monotonic() + 10
    while moderator.get("/queue/stats").get_json()["leased"] and time.monotonic() < deadline:
        time.sleep(0.1)
    stats = moderator.get("/queue/stats").get_json()
    assert (stats["pending"], stats["leased"]) == (3, 0)


def test_decision_keys_wait_while_a_decision_is_on_its_way_and_for_a_new_card(
    server, browser, account, queued, client, moderator_key
):
    queued("d1", "d2", "d3")
    page = browser.new_page(viewport=DESKTOP)
    page.clock.install()
    log_in(page, server)
    first, second, third = card_ids(page)
    held = []
    page.route("**/decision", lambda route: held.append(route), times=1)
    press(page, "a")
    busy = page.locator(f'.card[data-id="{first}"]')
    expect(busy).to_have_attribute("aria-busy", "true")
    expect(busy.locator("button.approve")).to_be_disabled()
    page.keyboard.press("s")
    page.keyboard.press("j")  # moving still works
    assert current_id(page) == second
    page.keyboard.press("b")
    held[0].continue_()
    expect(busy).to_be_hidden()
    # s then b in quick succession: b comes before the next card has been seen, so it is ignored.
    page.clock.pause_at(datetime.now() + timedelta(minutes=1))
    page.keyboard.press("s")
    expect(page.locator(f'.card[data-id="{second}"]')).to_be_hidden()
    assert current_id(page) == third
    page.keyboard.press("b")
    time.sleep(0.5)
    expect(page.locator(f'.card[data-id="{third}"]')).to_be_visible()
    assert decisions(client, moderator_key) == [(first, "approve"), (second, "reject")]
    page.clock.run_for(250)
    page.keyboard.press("b")
    expect(page.locator(f'.card[data-id="{third}"]')).to_be_hidden()
    assert decisions(client, moderator_key)[-1] == (third, "reject")


# The contrast ratio (WCAG 2) of an element's text against the background it is drawn on, its
# ancestors' opacity included.
CONTRAST = """element => {
  const rgb = (css) => css.match(/[\\d.]+/g).map(Number);
  const luminance = ([r, g, b]) => {
    const linear = (c) => (c /= 255) <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    return 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b);
  };
  let opacity = 1;
  let background = null;
  for (let node = element; node; node = node.parentElement) {
    const style = getComputedStyle(node);
    opacity *= Number(style.opacity);
    const color = rgb(style.backgroundColor);
    if (!background && (color.length === 3 || color[3] > 0)) background = color.slice(0, 3);
  }
  background = background || [255, 255, 255];
  const text = rgb(getComputedStyle(element).color).slice(0, 3)
    .map((c, i) => c * opacity + background[i] * (1 - opacity));
  const [light, dark] = [luminance(text), luminance(background)].sort((a, b) => b - a);
  return (light + 0.05) / (dark + 0.05);
}"""


def test_a_card_another_moderator_holds_keeps_its_lock_line_and_reasons_readable(
    server, browser, account, queued, client, moderator_key
):
    queued("l1", "l2", "l3")
    claimed = Moderator(client, moderator_key).claim(limit=1).get_json()["items"][0]["id"]
    page = open_queue(browser, server)
    held = page.locator(f'.card[data-id="{claimed}"]')
    assert "current" not in held.get_attribute("class")
    for part in (held.locator(".lease"), held.locator(".reasons li").first):
        assert part.evaluate(CONTRAST) >= 4.5
    # It still looks apart from the cards this moderator can decide.
    free = page.locator(f'.card[data-id="{current_id(page)}"]')
    assert held.evaluate("c => getComputedStyle(c).backgroundColor") != free.evaluate(
        "c => getComputedStyle(c).backgroundColor"
    )


def test_times_show_in_the_moderators_time_zone_with_the_exact_time_kept(
    server, browser, account, queued, services
):
    queued("z1")
    received = services.comments.get("demo", "z1")["received_at"]
    page = browser.new_page(viewport=DESKTOP, timezone_id="Asia/Seoul", locale="en-GB")
    log_in(page, server)
    time_element = page.locator(f'.card[data-id="z1"] time[datetime="{received}"]')
    expected = page.evaluate(
        "iso => new Date(iso).toLocaleTimeString([], {hour: '2-digit', minute: '2-digit'})",
        received,
    )
    seoul = datetime.fromisoformat(received.replace("Z", "+00:00")) + timedelta(hours=9)
    assert expected == seoul.strftime("%H:%M")
    expect(time_element).to_contain_text(expected)
    expect(time_element).to_have_attribute("title", received)
    page.goto(f"{server}/ui/sites/demo/comments/z1")
    expect(page.locator(f'time[datetime="{received}"]')).to_contain_text(expected)


def test_the_toast_leaves_the_next_cards_buttons_clear_on_a_phone(
    server, browser, account, services, ingest
):
    review_everything(services)
    for index in range(4):
        text = "\n".join(f"Point {line} on the budget ({index})." for line in range(9))
        assert ingest({"id": f"p{index}", "text": text}).status_code == 200
    page = open_queue(browser, server, viewport=PHONE)
    for _ in range(2):
        press(page, "j")
    press(page, "a")
    toast = page.locator("#toast")
    expect(toast).to_be_visible()
    page.wait_for_timeout(300)  # the next card scrolls into view
    box = toast.bounding_box()
    for button in page.locator(".card.current .actions button").all():
        other = button.bounding_box()
        assert other["y"] + other["height"] <= box["y"] or other["y"] >= box["y"] + box["height"]


def test_a_decision_key_right_after_the_page_loads_waits_for_the_first_card_to_be_seen(
    server, browser, account, queued, client, moderator_key
):
    queued("y1", "y2")
    page = browser.new_page(viewport=DESKTOP)
    page.clock.install()
    # Time stands still from before the page loads: the first card has not been shown 200 ms.
    page.clock.pause_at(datetime.now() + timedelta(minutes=1))
    log_in(page, server)
    first = current_id(page)
    page.keyboard.press("a")
    time.sleep(0.5)
    expect(page.locator(f'.card[data-id="{first}"]')).to_be_visible()
    assert decisions(client, moderator_key) == []
    page.clock.run_for(250)
    page.keyboard.press("a")
    expect(page.locator(f'.card[data-id="{first}"]')).to_be_hidden()
    assert decisions(client, moderator_key) == [(first, "approve")]


def test_a_decision_key_waits_for_the_card_that_replaced_a_taken_one(
    server, browser, account, queued, client, moderator_key, services
):
    queued("t1", "t2", "t3")
    page = browser.new_page(viewport=DESKTOP)
    page.clock.install()
    log_in(page, server)
    first, second, _ = card_ids(page)
    other = Moderator(client, moderator_key)
    let_leases_lapse(services, first)
    assert other.decide(first, "reject", labels=["spam"]).status_code == 200
    page.wait_for_selector('#queue[data-keys="ready"]', state="attached")
    page.clock.pause_at(datetime.now() + timedelta(minutes=1))
    # The first a of the page finds the card taken; the keys move on to the next one, which
    # a second a at once must not decide.
    page.keyboard.press("a")
    expect(page.locator(f'.card[data-id="{first}"]')).to_have_class(re.compile(r"\btaken\b"))
    expect(page.locator(f'.card[data-id="{second}"]')).to_have_class(re.compile(r"\bcurrent\b"))
    page.keyboard.press("a")
    time.sleep(0.5)
    expect(page.locator(f'.card[data-id="{second}"]')).to_be_visible()
    assert decisions(client, moderator_key) == [(first, "reject")]
    page.clock.run_for(250)
    page.keyboard.press("a")
    expect(page.locator(f'.card[data-id="{second}"]')).to_be_hidden()
    assert decisions(client, moderator_key)[-1] == (second, "approve")


def test_u_while_a_decision_is_being_saved_says_so_and_undoes_nothing(
    server, browser, account, queued, client, moderator_key
):
    queued("i1", "i2", "i3")
    page = open_queue(browser, server)
    first, second, _ = card_ids(page)
    press(page, "a")
    expect(page.locator(f'.card[data-id="{first}"]')).to_be_hidden()
    held = []
    page.route("**/decision", lambda route: held.append(route), times=1)
    press(page, "a")
    expect(page.locator(f'.card[data-id="{second}"]')).to_have_attribute("aria-busy", "true")
    page.keyboard.press("u")
    toast = page.locator("#toast")
    expect(toast).to_have_text("A decision is still being saved; press u again in a moment.")
    held[0].continue_()
    expect(page.locator(f'.card[data-id="{second}"]')).to_be_hidden()
    expect(toast).to_have_text(f"Approved #{second} — press u to undo")
    expect(page.locator(f'.card[data-id="{first}"]')).to_be_hidden()
    assert decisions(client, moderator_key) == [(first, "approve"), (second, "approve")]


def test_a_bulk_decision_with_cards_taken_by_others_loads_the_next_page_and_says_it_once(
    server, browser, account, queued, client, moderator_key, services, monkeypatch
):
    monkeypatch.setattr(ui, "PAGE_SIZE", 8)
    queued(*(f"q{index}" for index in range(9)))
    page = open_queue(browser, server)
    shown = card_ids(page)
    assert len(shown) == 8
    unseen = ({f"q{index}" for index in range(9)} - set(shown)).pop()
    other = Moderator(client, moderator_key)
    taken = shown[1:8]
    let_leases_lapse(services, *taken)
    for comment_id in taken:
        assert other.decide(comment_id, "approve").status_code == 200
    for comment_id in shown:
        page.locator(f'.card[data-id="{comment_id}"] input[type="checkbox"]').check()
    page.click('button[name="bulk"][value="approve"]')
    # Nothing on the page is left to decide: the queue loads again with the one comment left,
    # and the toast said who took the rest in one line, carried over the reload.
    expect(page.locator(f'.card[data-id="{unseen}"]')).to_be_visible()
    listed = ", ".join(f"#{comment_id}" for comment_id in taken[:5])
    expect(page.locator("#toast")).to_have_text(
        f"1 decided — press u to undo. Not decided: 7 were taken by other moderators: "
        f"{listed} (and 2 more)."
    )


def test_a_page_whose_last_card_another_moderator_holds_waits_for_it_and_never_says_clear(
    server, browser, account, queued, client, moderator_key
):
    queued("h1", "h2")
    page = open_queue(browser, server)
    first, second = card_ids(page)
    # Another moderator leases the comment this page shows but did not lease.
    claimed = Moderator(client, moderator_key).claim(limit=2).get_json()["items"]
    assert [item["id"] for item in claimed] == [second]
    press(page, "a")
    expect(page.locator(f'.card[data-id="{first}"]')).to_be_hidden()
    press(page, "a")
    expect(page.locator(f'.card[data-id="{second}"]')).to_have_class(re.compile(r"\btaken\b"))
    expect(page.locator("#waiting")).to_contain_text("The one comment here is being reviewed by ")
    expect(page.locator("#empty")).to_be_hidden()


def test_a_cleared_page_loads_comments_the_counts_refresh_found(
    server, browser, account, queued, ingest
):
    queued("r1")
    page = browser.new_page(viewport=DESKTOP)
    page.clock.install()
    log_in(page, server)
    assert ingest({"id": "r2", "text": "Another comment on the budget."}).status_code == 200
    page.clock.fast_forward("00:16")
    expect(page.locator("#pending-count")).to_have_text("2")
    press(page, "a")
    expect(page.locator('.card[data-id="r2"]')).to_be_visible()
    expect(page.locator("#empty")).to_be_hidden()


def test_the_toast_is_a_live_region_kept_in_the_layout_and_only_its_text_changes(
    server, browser, account, queued
):
    queued("v1", "v2")
    page = open_queue(browser, server)
    toast = page.locator("#toast")
    # Present to assistive technology before anything is said, with nothing to show.
    assert toast.evaluate("t => !t.hidden && getComputedStyle(t).display !== 'none'")
    assert toast.get_attribute("aria-live") == "polite"
    expect(toast).to_have_text("")
    press(page, "a")
    expect(toast).to_be_visible()
    expect(toast).to_contain_text("Approved #")
    assert toast.evaluate("t => !t.hidden && t.getBoundingClientRect().width > 100")
