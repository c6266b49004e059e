"""Command-line group ``authors``: erase one author's data from a site.

``service.cli`` registers the group with ``main.add_command(authors)``.
"""

from __future__ import annotations

from typing import Any

import click

from service.retention import CommentEraser


@click.group()
def authors() -> None:
    """Readers' personal data: erase one author's comments."""


@authors.command("forget")
@click.option("--site", "site_name", required=True, help="The site the author wrote on.")
@click.option(
    "--author",
    "author_id",
    required=True,
    metavar="ID",
    help="The author's id, as the site sends it in author.id.",
)
@click.pass_obj
def authors_forget(obj: Any, site_name: str, author_id: str) -> None:
    """Erase the author's comments on the site, with their results, queue items, labels and
    reports, and say how many of each were removed. The audit log (no text, no author) stays."""
    obj.sites.require(site_name)
    removed = CommentEraser(obj.redis, obj.keys).forget(site_name, author_id)
    click.echo(f"Forgot author {author_id!r} on site {site_name!r}:")
    for line in removed.lines():
        click.echo(f"  {line}")


GROUPS = (authors,)
