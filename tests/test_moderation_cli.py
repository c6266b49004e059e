"""The moderation commands against a real Redis: accounts, audit export, webhooks, dead letters."""

from __future__ import annotations

import csv
import io
import json

import click
import pytest
from click.testing import CliRunner

from service.cli import CommandContext, ModqGroup
from service.cli_moderation import GROUPS, set_webhook
from service.moderation_api import get_moderation
from service.sites import SiteError
from tests.moderation_support import (
    Moderator,
    log_in_with_form,
    queue_comments,
    review_everything,
)


@pytest.fixture
def modq(redis_server, redis_client):
    # The same kind of group as `modq` itself, which registers these groups.
    @click.group(cls=ModqGroup)
    @click.pass_context
    def cli(ctx: click.Context) -> None:
        ctx.obj = CommandContext({"MODQ_REDIS_URL": redis_server.url})
        ctx.call_on_close(ctx.obj.close)

    for group in GROUPS:
        cli.add_command(group)
    runner = CliRunner()

    def run(*args: str, input: str | None = None):
        return runner.invoke(cli, list(args), input=input, catch_exceptions=False)

    return run


def test_create_asks_for_a_password_and_it_logs_in(modq, app, site, client):
    result = modq(
        "moderators",
        "create",
        "Ed@Example.org",
        "--site",
        "demo",
        input="a long password\na long password\n",
    )
    assert result.exit_code == 0, result.output
    assert "created moderator ed@example.org for demo" in result.output
    with app.app_context():
        account = get_moderation().moderators.get("ed@example.org")
        assert account.sites == ("demo",) and not account.admin
        assert "a long password" not in account.password_hash
        assert account.password_hash.startswith("scrypt:")
        assert get_moderation().moderators.verify("ed@example.org", "a long password")


def test_generated_password_is_printed_once_on_the_last_line(modq, app, site):
    result = modq("moderators", "create", "admin@example.org", "--admin", "--generate-password")
    assert result.exit_code == 0, result.output
    password = result.output.strip().splitlines()[-1]
    with app.app_context():
        account = get_moderation().moderators.verify("admin@example.org", password)
    assert account is not None and account.admin


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ("moderators", "create", "x@example.org", "--site", "nosuch", "--generate-password"),
            "no site called 'nosuch'",
        ),
        (
            ("moderators", "create", "not-an-email", "--site", "demo", "--generate-password"),
            "not an email address",
        ),
        (("moderators", "create", "x@example.org", "--generate-password"), "--site"),
        (("moderators", "disable", "nobody@example.org"), "no moderator"),
    ],
)
def test_create_and_disable_refuse_with_one_line(modq, site, args, message):
    outcome = modq(*args)
    assert outcome.exit_code != 0
    assert message in outcome.output


def test_disable_ends_logins_and_sessions(modq, app, site, client):
    modq(
        "moderators",
        "create",
        "ed@example.org",
        "--site",
        "demo",
        input="a long password\na long password\n",
    )
    log_in_with_form(client, "ed@example.org", "a long password")
    assert client.get("/v1/sites/demo/queue").status_code == 200
    result = modq("moderators", "disable", "ed@example.org")
    assert result.exit_code == 0 and "disabled moderator ed@example.org" in result.output
    assert client.get("/v1/sites/demo/queue").status_code == 401
    with app.app_context():
        assert get_moderation().moderators.verify("ed@example.org", "a long password") is None
    listed = [json.loads(line) for line in modq("moderators", "list").output.splitlines()]
    assert listed[0]["email"] == "ed@example.org" and listed[0]["disabled_at"]
    assert "password_hash" not in listed[0]


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_audit_export(modq, services, ingest, client, moderator_key, fmt, tmp_path):
    review_everything(services)
    ids = queue_comments(ingest, 3)
    moderator = Moderator(client, moderator_key)
    moderator.decide(ids[0], "reject", labels=["spam"], note="ad, with a comma")
    moderator.decide(ids[1], "approve")
    result = modq("audit", "export", "--site", "demo", "--format", fmt)
    assert result.exit_code == 0, result.output
    if fmt == "jsonl":
        rows = [json.loads(line) for line in result.output.splitlines()]
        assert [r["comment_id"] for r in rows] == ids[:2]
        assert rows[0]["labels"] == ["spam"] and rows[0]["moderator"].startswith("key:")
    else:
        rows = list(csv.DictReader(io.StringIO(result.output)))
        assert [r["comment_id"] for r in rows] == ids[:2]
        assert rows[0]["note"] == "ad, with a comma" and rows[0]["labels"] == "spam"
        assert float(rows[0]["spam"]) >= 0
    out = tmp_path / f"audit.{fmt}"
    assert (
        modq("audit", "export", "--site", "demo", "--format", fmt, "--out", str(out)).exit_code == 0
    )
    assert out.read_text(encoding="utf-8") == result.output


def test_set_webhook_checks_url_and_secret(services, site):
    with pytest.raises(SiteError, match="http"):
        set_webhook(services.sites, "demo", "ftp://example.org/hook", "s" * 20)
    with pytest.raises(SiteError, match="secret"):
        set_webhook(services.sites, "demo", "https://example.org/hook", None)
    updated = set_webhook(services.sites, "demo", "https://example.org/hook", "s" * 20)
    assert updated.webhook_url == "https://example.org/hook"
    # The secret cannot be taken away from a URL that stays.
    with pytest.raises(SiteError, match="secret"):
        set_webhook(services.sites, "demo", None, "")
    cleared = set_webhook(services.sites, "demo", "", "")
    assert cleared.webhook_url is None and cleared.webhook_secret is None


def test_dead_letters_list_and_replay(modq, services, site):
    dead = services.keys.webhook_dead("demo")
    services.redis.hset(
        dead,
        "evt_1",
        json.dumps(
            {
                "event": {"id": "evt_1", "comment_id": "c1"},
                "attempts": 6,
                "last_error": "HTTP 500",
                "failed_at": "2026-01-01T00:00:00.000Z",
            }
        ),
    )
    listed = modq("webhooks", "dead-letters", "--site", "demo")
    assert json.loads(listed.output)["event"]["id"] == "evt_1"
    assert "replayed 1 events" in modq("webhooks", "replay", "--site", "demo").output
    assert services.redis.hlen(dead) == 0
    assert services.redis.zscore(services.keys.webhook_due("demo"), "evt_1") is not None


def test_sites_update_sets_and_clears_the_webhook(redis_server, redis_client):
    from click.testing import CliRunner

    from service.cli import main

    def modq(*args):
        return CliRunner().invoke(main, list(args), env={"MODQ_REDIS_URL": redis_server.url})

    assert modq("sites", "create", "hooked").exit_code == 0
    no_secret = modq("sites", "update", "hooked", "--webhook-url", "http://127.0.0.1:9/hook")
    assert no_secret.exit_code != 0 and "secret" in no_secret.output
    done = modq(
        "sites",
        "update",
        "hooked",
        "--webhook-url",
        "http://127.0.0.1:9/hook",
        "--webhook-secret",
        "s" * 20,
    )
    assert done.exit_code == 0, done.output
    assert "s" * 20 not in done.output and '"webhook_url": "http://127.0.0.1:9/hook"' in done.output
    cleared = modq("sites", "update", "hooked", "--webhook-url", "")
    assert cleared.exit_code == 0 and '"webhook_url": null' in cleared.output
