"""The web UI in headless Chromium: log in, clear items with the keyboard alone, check the API.

Playwright drives the system's Chromium (never a downloaded browser build); the test is skipped
only when no Chromium binary exists on the machine.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright
from werkzeug.serving import make_server

from service.moderation_api import get_moderation
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
def server(app):
    http = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{http.server_port}"
    http.shutdown()


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


def log_in(page, server: str) -> None:
    page.goto(f"{server}/ui/login")
    page.fill('input[name="email"]', "mod@example.org")
    page.fill('input[name="password"]', PASSWORD)
    page.click('button[type="submit"]')
    page.wait_for_selector(".card")
    # The queue's script runs after the cards are parsed; keys pressed before it listens are lost.
    page.wait_for_selector('#queue[data-keyboard="ready"]', state="attached")


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
    page = browser.new_page(viewport={"width": 360, "height": 780})
    log_in(page, server)
    assert visible_cards(page) == 3
    # The comment's markup is shown as text and never runs.
    assert page.locator(".card .text", has_text="<script>").count() == 1
    assert page.evaluate("window.__pwned") is None

    order = page.eval_on_selector_all(".card", "cards => cards.map(c => c.dataset.id)")
    for expected_left, key in zip((2, 1, 0), ("a", "r", "a"), strict=True):
        page.keyboard.press(key)
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
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    log_in(page, server)
    page.keyboard.press("?")
    expect(page.locator("#help")).to_be_visible()
    page.keyboard.press("?")
    page.keyboard.press("j")
    page.keyboard.press("r")
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
    from tests.test_webhooks import SECRET, Receiver

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
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        log_in(page, server)
        assert visible_cards(page) == 50
        decided: dict[str, str] = {}
        for left in range(49, -1, -1):
            card = page.locator(".card.current:visible")
            if card.count() == 0:
                page.keyboard.press("j")
            card = page.locator(".card.current:visible")
            comment_id = card.get_attribute("data-id")
            key = "r" if comment_id in rejects else "a"
            page.keyboard.press(key)
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
