"""Command-line groups of the moderation workflow: ``moderators``, ``audit`` and ``webhooks``.

Each command takes the CLI's ``CommandContext`` (``redis``, ``keys``, ``sites``) with
``@click.pass_obj``; ``service.cli`` registers the groups with ``main.add_command``.
"""

from __future__ import annotations

import csv
import json
import sys
from typing import Any, TextIO

import click

from service.audit import AUDIT_FIELDS, AuditLog
from service.labels import LABEL_CATEGORIES
from service.moderators import ModeratorError, ModeratorStore, generate_password
from service.sites import Site, SiteError, SiteStore
from service.webhooks import WebhookOutbox, check_url

# The audit entry's fields, with the model's scores spread over one column per category.
AUDIT_CSV_COLUMNS = tuple(
    column
    for field in AUDIT_FIELDS
    for column in (LABEL_CATEGORIES if field == "scores" else (field,))
)


def set_webhook(sites: SiteStore, site: str, url: str | None, secret: str | None) -> Site:
    """Set (or, with empty strings, clear) a site's webhook URL and signing secret.

    :raise SiteError: no such site, an unusable URL, or a URL without a secret.
    """
    current = sites.require(site)
    if url:
        try:
            check_url(url)
        except ValueError as error:
            raise SiteError(str(error)) from None
    final_url = current.webhook_url if url is None else url
    final_secret = current.webhook_secret if secret is None else secret
    if final_url and not final_secret:
        raise SiteError(
            "a webhook needs a signing secret: add --webhook-secret - (read from stdin) "
            "or --webhook-secret-env VARIABLE (a secret is cleared only with the URL)"
        )
    if secret is not None and secret and len(secret) < 16:
        raise SiteError("the webhook secret must have at least 16 characters")
    return sites.update(site, webhook_url=url, webhook_secret=secret)


def _moderators(obj: Any) -> ModeratorStore:
    return ModeratorStore(obj.redis, obj.keys)


@click.group()
def moderators() -> None:
    """Moderator accounts for the web UI."""


@moderators.command("create")
@click.argument("email")
@click.option("--site", "sites", multiple=True, help="A site the moderator works on (repeatable).")
@click.option("--admin", is_flag=True, help="May work on every site and replay dead letters.")
@click.option(
    "--generate-password",
    "generate",
    is_flag=True,
    help="Make a random password and print it on the last line, instead of asking.",
)
@click.pass_obj
def moderators_create(
    obj: Any, email: str, sites: tuple[str, ...], admin: bool, generate: bool
) -> None:
    """Create a moderator account; asks for the password unless --generate-password."""
    store = obj.sites
    for site in sites:
        store.require(site)
    if generate:
        password = generate_password()
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        moderator = _moderators(obj).create(email, password, list(sites), admin=admin)
    except ModeratorError as error:
        raise click.ClickException(str(error)) from None
    scope = "every site (admin)" if moderator.admin else ", ".join(moderator.sites)
    click.echo(f"created moderator {moderator.email} for {scope}")
    if generate:
        click.echo("password (shown once):")
        click.echo(password)


@moderators.command("disable")
@click.argument("email")
@click.pass_obj
def moderators_disable(obj: Any, email: str) -> None:
    """Disable an account: no more logins, and its open sessions stop working."""
    try:
        moderator = _moderators(obj).disable(email)
    except ModeratorError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"disabled moderator {moderator.email} at {moderator.disabled_at}")


@moderators.command("list")
@click.pass_obj
def moderators_list(obj: Any) -> None:
    """Every account, one JSON object per line (never the password hash)."""
    for moderator in _moderators(obj).list():
        click.echo(json.dumps(moderator.public(), ensure_ascii=False))


@click.group()
def audit() -> None:
    """The audit log of moderator decisions."""


def write_audit(entries, out: TextIO, fmt: str) -> int:
    """Write audit entries as JSON lines or CSV; returns how many."""
    count = 0
    if fmt == "csv":
        writer = csv.DictWriter(out, fieldnames=AUDIT_CSV_COLUMNS, extrasaction="ignore")
        writer.writeheader()
    for entry in entries:
        if fmt == "csv":
            writer.writerow(
                {
                    **entry,
                    "labels": ";".join(entry["labels"]),
                    "spam": entry["scores"].get("spam"),
                    "abuse": entry["scores"].get("abuse"),
                }
            )
        else:
            out.write(json.dumps(entry, ensure_ascii=False) + "\n")
        count += 1
    return count


@audit.command("export")
@click.option("--site", "site_name", required=True, help="The site whose log to export.")
@click.option(
    "--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl", show_default=True
)
@click.option(
    "--out",
    "out_path",
    type=click.Path(dir_okay=False, writable=True),
    help="Write to this file instead of standard output.",
)
@click.pass_obj
def audit_export(obj: Any, site_name: str, fmt: str, out_path: str | None) -> None:
    """Stream a site's whole audit log, oldest first."""
    obj.sites.require(site_name)
    entries = AuditLog(obj.redis, obj.keys).iter(site_name)
    if out_path is None:
        count = write_audit(entries, sys.stdout, fmt)
    else:
        with open(out_path, "w", encoding="utf-8", newline="") as out:
            count = write_audit(entries, out, fmt)
        click.echo(f"wrote {count} entries to {out_path}", err=True)


@click.group()
def webhooks() -> None:
    """Webhook deliveries that failed every attempt (dead letters): list, replay, purge."""


@webhooks.command("dead-letters")
@click.option("--site", "site_name", required=True)
@click.pass_obj
def webhooks_dead_letters(obj: Any, site_name: str) -> None:
    """List a site's dead letters, one JSON object per line."""
    obj.sites.require(site_name)
    for letter in WebhookOutbox(obj.redis, obj.keys).dead_letters(site_name):
        click.echo(json.dumps(letter, ensure_ascii=False))


@webhooks.command("replay")
@click.option("--site", "site_name", required=True)
@click.option("--id", "event_ids", multiple=True, help="Only these events (default: all).")
@click.pass_obj
def webhooks_replay(obj: Any, site_name: str, event_ids: tuple[str, ...]) -> None:
    """Deliver dead letters again (the running service picks them up)."""
    obj.sites.require(site_name)
    replayed = WebhookOutbox(obj.redis, obj.keys).replay(site_name, list(event_ids) or None)
    click.echo(f"replayed {len(replayed)} events")


@webhooks.command("purge")
@click.option("--site", "site_name", required=True)
@click.option(
    "--older-than",
    "older_than_days",
    type=click.FloatRange(min=0, min_open=True),
    help="Only dead letters whose last attempt failed more than DAYS days ago.",
    metavar="DAYS",
)
@click.option("--id", "event_ids", multiple=True, help="Only these events.")
@click.pass_obj
def webhooks_purge(
    obj: Any, site_name: str, older_than_days: float | None, event_ids: tuple[str, ...]
) -> None:
    """Delete dead letters for good (all, when neither --older-than nor --id narrows them).

    Prints each one deleted; the site's receiver never gets these events.
    """
    obj.sites.require(site_name)
    purged = WebhookOutbox(obj.redis, obj.keys).purge(
        site_name,
        older_than_seconds=older_than_days * 86400 if older_than_days is not None else None,
        event_ids=list(event_ids) or None,
    )
    for letter in purged:
        event = letter["event"]
        click.echo(
            f"purged {event['id']} ({event.get('type')} of comment {event.get('comment_id')}, "
            f"failed {letter.get('failed_at')}: {letter.get('last_error')})"
        )
    click.echo(f"purged {len(purged)} dead letters")


GROUPS = (moderators, audit, webhooks)
