"""The ``modq`` command line: sites, API keys, offline scoring, serving, and the quickstart.

Every command reads its configuration from the environment when it runs (``MODQ_REDIS_URL`` and
the rest of :class:`service.config.Settings`), never at import. Domain errors, bad configuration
and an unreachable Redis end the command with one line on stderr and exit code 1; bad arguments
are click usage errors with exit code 2.
"""

from __future__ import annotations

import functools
import json
import os
import runpy
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
import redis

from service.apikeys import ROLES, ApiKeyError, ApiKeyStore
from service.config import ConfigError, Settings
from service.keys import RedisKeys
from service.localredis import RedisNotFound, RedisProcess, RedisStartError, free_port
from service.sites import CATEGORIES, Site, SiteError, SiteStore

GUNICORN_CONFIG = Path(__file__).with_name("gunicorn_conf.py")
DEMO_SITE = "demo"
LOCAL_REDIS_PORT = 6390


class CommandContext:
    """What a command needs, built on first use so that ``modq --help`` touches nothing.

    Command groups in other modules receive it with ``@click.pass_obj``.

    :param environ: the environment the command runs in (a copy of ``os.environ``).
    """

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.environ = dict(environ)
        self._settings: Settings | None = None
        self._redis: redis.Redis | None = None

    @property
    def settings(self) -> Settings:
        """The settings from the environment.

        :raise ConfigError: a variable holds a value the service cannot use.
        """
        if self._settings is None:
            self._settings = Settings.from_env(self.environ)
        return self._settings

    @property
    def redis(self) -> redis.Redis:
        """A client for ``MODQ_REDIS_URL``; it connects on the first command sent."""
        if self._redis is None:
            from service.extensions import connect_redis

            try:
                self._redis = connect_redis(self.settings)
            except ValueError as error:
                raise ConfigError(f"MODQ_REDIS_URL is not a usable Redis URL: {error}") from None
        return self._redis

    @property
    def keys(self) -> RedisKeys:
        return RedisKeys(self.settings.key_prefix)

    @property
    def sites(self) -> SiteStore:
        return SiteStore(self.redis, self.keys)

    @property
    def api_keys(self) -> ApiKeyStore:
        return ApiKeyStore(self.redis, self.keys)

    def load_scorer(self):
        """The model named by ``MODQ_MODEL_PATH``, else the one shipped with modq.

        :raise ModelFileError: the model is missing, tampered with or of an unknown format.
        """
        from model.scorer import load_default_model, load_model

        path = self.settings.model_path
        return load_model(path) if path else load_default_model()

    def use_redis(self, url: str) -> None:
        """Point this command, and the processes it starts, at the Redis at ``url``."""
        self.close()
        self.environ["MODQ_REDIS_URL"] = url
        self._settings = None

    def close(self) -> None:
        if self._redis is not None:
            self._redis.close()
            self._redis = None


def _one_line_errors() -> tuple[type[Exception], ...]:
    from model.artifact import ModelFileError  # imported only on error: it loads numpy

    return (ConfigError, SiteError, ApiKeyError, RedisNotFound, ModelFileError)


class ModqGroup(click.Group):
    """A click group that turns the errors a user can fix into one line and exit code 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (redis.exceptions.ConnectionError, redis.exceptions.RedisClusterException) as error:
            # The message names host and port, never the password of the URL.
            raise click.ClickException(
                f"cannot reach Redis ({error}); start it or set MODQ_REDIS_URL"
            ) from None
        except redis.exceptions.RedisError as error:
            raise click.ClickException(f"Redis error: {error}") from None
        except _one_line_errors() as error:
            raise click.ClickException(str(error)) from None


@click.group(name="modq", cls=ModqGroup)
@click.version_option(package_name="modq", prog_name="modq")
@click.pass_context
def main(ctx: click.Context) -> None:
    """modq: comment moderation for news sites.

    Configuration comes from the environment (MODQ_REDIS_URL, PORT, ...; see the README).
    """
    context = CommandContext(os.environ)
    ctx.obj = context
    ctx.call_on_close(context.close)


# Command groups are registered below, one per domain noun (`sites`, `keys`, ...). A new group
# (`moderators`, `audit`, `labels`, `train`, `models`, ...) may live in its own module: define it
# with `@click.group()`, take the CommandContext with `@click.pass_obj`, and register it here with
# `main.add_command(group)`. Raising the domain errors listed in `_one_line_errors` (or
# `click.ClickException`) gives the user one line instead of a traceback.


# --- sites ------------------------------------------------------------------------------------


class CategoryProbability(click.ParamType):
    """``CATEGORY=P``: a category the model scores and a probability within 0..1."""

    name = "CATEGORY=P"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, tuple):
            return value
        category, equals, raw = str(value).partition("=")
        category = category.strip().lower()
        if not equals:
            self.fail(f"{value!r} is not CATEGORY=P, for example spam=0.5", param, ctx)
        if category not in CATEGORIES:
            self.fail(
                f"unknown category {category!r} in {value!r}; use one of {', '.join(CATEGORIES)}",
                param,
                ctx,
            )
        try:
            probability = float(raw)
        except ValueError:
            self.fail(f"{raw!r} in {value!r} is not a number", param, ctx)
        if not 0.0 <= probability <= 1.0:
            self.fail(f"{value!r}: the probability must be within 0..1", param, ctx)
        return category, probability


class RateLimit(click.ParamType):
    """``SCOPE=LIMIT``: a rate-limit scope (key, author, address) and a limit such as 5/minute."""

    name = "SCOPE=LIMIT"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        from service.ratelimits import SCOPES, check_limit_text

        if isinstance(value, tuple):
            return value
        scope, equals, text = str(value).partition("=")
        scope, text = scope.strip().lower(), text.strip()
        if not equals:
            self.fail(f"{value!r} is not SCOPE=LIMIT, for example author=5/minute", param, ctx)
        if scope not in SCOPES:
            self.fail(
                f"unknown scope {scope!r} in {value!r}; use one of {', '.join(SCOPES)}", param, ctx
            )
        if text:
            try:
                check_limit_text(text)
            except ValueError as error:
                self.fail(str(error), param, ctx)
        return scope, text


def site_options(command: Callable) -> Callable:
    """The settings options shared by ``sites create`` and ``sites update``."""
    options = [
        click.option(
            "--max-length",
            type=click.IntRange(1, 100_000),
            metavar="N",
            help="Longest comment in visible characters (default 250).",
        ),
        click.option(
            "--review-threshold",
            "review",
            type=CategoryProbability(),
            multiple=True,
            help="Send to review from this score, e.g. spam=0.5. Repeatable.",
        ),
        click.option(
            "--reject-threshold",
            "reject",
            type=CategoryProbability(),
            multiple=True,
            help="Reject from this score, e.g. abuse=0.9. Repeatable.",
        ),
        click.option(
            "--banned-word",
            "banned",
            multiple=True,
            metavar="WORD",
            help="Reject comments containing WORD. Repeatable; on update, replaces the list.",
        ),
        click.option(
            "--suspect-word",
            "suspect",
            multiple=True,
            metavar="WORD",
            help="Send comments containing WORD to review. Repeatable; on update, replaces it.",
        ),
        click.option(
            "--rate-limit",
            "rate_limits",
            type=RateLimit(),
            multiple=True,
            help="SCOPE=LIMIT with SCOPE key, author or address, e.g. author=5/minute; "
            "SCOPE= removes that limit. Repeatable.",
        ),
        click.option(
            "--campaign-copies",
            type=int,
            metavar="N",
            help="Copies of one text within the campaign window (the current and the "
            "previous hour-long slot) that count as a spam campaign (default 3; 0 turns it off).",
        ),
        click.option(
            "--retention-days",
            type=click.IntRange(1, 3650),
            metavar="DAYS",
            help="Keep each comment's record this many days after it arrives (default 90); "
            "on update, applies to the comments already stored too.",
        ),
    ]
    return functools.reduce(lambda decorated, option: option(decorated), reversed(options), command)


def _webhook_secret(obj: CommandContext, given: str | None, variable: str | None) -> str | None:
    """The webhook secret from ``--webhook-secret`` (``-``: stdin) or ``--webhook-secret-env``.

    :raise click.UsageError: both are given, or the variable is unset.
    """
    if given is not None and variable:
        raise click.UsageError("give --webhook-secret or --webhook-secret-env, not both")
    if variable:
        secret = (obj.environ.get(variable) or "").strip()
        if not secret:
            raise click.UsageError(f"--webhook-secret-env: the variable {variable} is not set")
        return secret
    if given == "-":
        secret = sys.stdin.readline().strip()
        if not secret:  # a failed `openssl rand ... |` must not leave the webhook unsigned
            raise click.UsageError("--webhook-secret -: no secret on standard input")
        return secret
    return given


def _echo_site(site: Site) -> None:
    click.echo(json.dumps(site.public(), ensure_ascii=False, indent=2))


@main.group()
def sites() -> None:
    """Create, change and show news sites."""


def _site_settings(options: dict[str, Any]) -> dict[str, Any]:
    """The SiteStore settings given by the options of ``site_options`` (None: not given)."""
    return {
        "max_length": options["max_length"],
        "review_thresholds": dict(options["review"]),
        "reject_thresholds": dict(options["reject"]),
        "banned_words": list(options["banned"]) or None,
        "suspect_words": list(options["suspect"]) or None,
        "rate_limits": dict(options["rate_limits"]),
        "retention_days": options["retention_days"],
        "campaign_copies": options["campaign_copies"],
    }


@sites.command("create")
@click.argument("name")
@site_options
@click.pass_obj
def sites_create(obj: CommandContext, name: str, **options: Any) -> None:
    """Create site NAME; settings not given take their defaults."""
    site = obj.sites.create(name, **_site_settings(options))
    click.echo(f"Created site {name!r}.")
    _echo_site(site)


@sites.command("update")
@click.argument("name")
@site_options
@click.option("--clear-banned-words", is_flag=True, help="Empty the banned word list.")
@click.option("--clear-suspect-words", is_flag=True, help="Empty the suspect word list.")
@click.option(
    "--webhook-url",
    metavar="URL",
    help="POST every moderator decision here, signed; an empty value removes it.",
)
@click.option(
    "--webhook-secret",
    metavar="SECRET",
    help="Signs webhooks (X-Modq-Signature, HMAC-SHA256); at least 16 characters. '-' reads it "
    "from the first line of stdin, which keeps it out of the process list and shell history.",
)
@click.option(
    "--webhook-secret-env",
    metavar="VARIABLE",
    help="Read the webhook secret from this environment variable instead.",
)
@click.pass_obj
def sites_update(obj: CommandContext, name: str, **options: Any) -> None:
    """Change the given settings of site NAME and keep the others."""
    webhook_url = options["webhook_url"]
    webhook_secret = _webhook_secret(obj, options["webhook_secret"], options["webhook_secret_env"])
    if webhook_url is not None or webhook_secret is not None:
        from service.cli_moderation import set_webhook

        set_webhook(obj.sites, name, webhook_url, webhook_secret)
    settings = _site_settings(options)
    if options["clear_banned_words"]:
        settings["banned_words"] = []
    if options["clear_suspect_words"]:
        settings["suspect_words"] = []
    site = obj.sites.update(name, **settings)
    click.echo(f"Updated site {name!r}.")
    _echo_site(site)
    if options["retention_days"] is not None:
        from service.retention import RetentionKeeper

        done = RetentionKeeper(obj.redis, obj.keys).apply(name, site.retention_days)
        click.echo(
            f"Retention of {site.retention_days} days applied to the comments stored: "
            f"{done.comments} kept until {site.retention_days} days after they arrived, "
            f"{done.removed} older removed, {done.orphan_reports} reader reports of comments "
            "already gone removed.",
            err=True,
        )


@sites.command("show")
@click.argument("name")
@click.pass_obj
def sites_show(obj: CommandContext, name: str) -> None:
    """Print the settings of site NAME as JSON."""
    _echo_site(obj.sites.require(name))


@sites.command("list")
@click.pass_obj
def sites_list(obj: CommandContext) -> None:
    """Print every site name, one per line."""
    names = obj.sites.names()
    for name in names:
        click.echo(name)
    if not names:
        click.echo("No sites yet; create one with `modq sites create NAME`.", err=True)


# --- keys -------------------------------------------------------------------------------------


@main.group()
def keys() -> None:
    """Create, list and revoke API keys."""


@keys.command("create")
@click.option("--site", "site_name", required=True, help="The site the key belongs to.")
@click.option(
    "--role",
    type=click.Choice(ROLES),
    required=True,
    help="ingest: sends comments; moderator: works the review queue.",
)
@click.pass_obj
def keys_create(obj: CommandContext, site_name: str, role: str) -> None:
    """Make an API key and print it once, alone on the last line."""
    obj.sites.require(site_name)
    record, secret = obj.api_keys.create(site_name, role)
    click.echo(f"Created {role} key {record.id} for site {site_name!r}.")
    click.echo("Store it now: only its hash is kept, so it cannot be shown again.")
    click.echo(secret)


@keys.command("list")
@click.option("--site", "site_name", help="Only the keys of this site.")
@click.pass_obj
def keys_list(obj: CommandContext, site_name: str | None) -> None:
    """Print every key's id, site, role, creation and revocation time (never the key)."""
    records = obj.api_keys.list(site_name)
    if not records:
        click.echo("No keys; create one with `modq keys create --site NAME --role ROLE`.", err=True)
        return
    rows = [("ID", "SITE", "ROLE", "CREATED", "REVOKED")]
    rows += [(r.id, r.site, r.role, r.created_at, r.revoked_at or "-") for r in records]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )


@keys.command("revoke")
@click.argument("key_or_id")
@click.pass_obj
def keys_revoke(obj: CommandContext, key_or_id: str) -> None:
    """Revoke a key, given the key itself or its id from `modq keys list`."""
    record = obj.api_keys.revoke(key_or_id)
    click.echo(
        f"Key {record.id} ({record.role}, site {record.site!r}) revoked at {record.revoked_at}."
    )


# --- score ------------------------------------------------------------------------------------


def score_line(raw: bytes, number: int, site: Site, site_name: str | None, scorer) -> dict:
    """Score one JSON line of ``modq score``; a bad line gives ``{"id", "error"}`` instead.

    :param raw: the line as read, ``{"id": ..., "text": ..., "language": ...}``.
    :param number: its line number, named in errors.
    :param site: the thresholds and word lists to decide with.
    :param site_name: the site reported in the result (None without ``--site``).
    :param scorer: the loaded model.
    :return: the fields of the API's result that do not depend on storage, or an error.
    """
    from model.text import strip_invisible
    from service.errors import ApiError, InvalidRequest, UnprocessableComment
    from service.intake import assess
    from service.payloads import parse_comment

    body: object = None
    try:
        try:
            body = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError as error:
            raise InvalidRequest(
                f"Line {number} is not valid UTF-8 (byte {error.start})."
            ) from None
        except (ValueError, RecursionError) as error:
            raise InvalidRequest(f"Line {number} is not valid JSON: {error}.") from None
        comment = parse_comment(body)
        text = strip_invisible(comment.text)
        if not text.strip():
            raise UnprocessableComment(
                "Field 'text' is empty or only whitespace; there is nothing to moderate.",
                code="text_empty",
                field="text",
            )
        result = scorer.score(text, comment.language)
    except ApiError as error:
        return {"id": _line_id(body), "error": {**error.body()["error"], "line": number}}
    except Exception as error:  # one broken line must not end a long batch
        message = f"Line {number} could not be scored: {error.__class__.__name__}: {error}"
        return {
            "id": _line_id(body),
            "error": {"code": "internal_error", "message": message, "line": number},
        }
    return {"id": comment.id, "site": site_name, **assess(site, text, result)}


def _line_id(body: object) -> str | None:
    if isinstance(body, dict) and isinstance(body.get("id"), str):
        return body["id"]
    return None


def _json_line(value: dict) -> bytes:
    line = json.dumps(value, ensure_ascii=False)
    try:
        return (line + "\n").encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate from a \ud800 escape: keep the escapes
        return (json.dumps(value) + "\n").encode("ascii")


@main.command()
@click.option(
    "--site",
    "site_name",
    help="Decide with this site's thresholds and word lists (read from Redis).",
)
@click.pass_obj
def score(obj: CommandContext, site_name: str | None) -> None:
    """Score JSON lines from stdin, one result per line on stdout.

    Each input line is {"id": ..., "text": ..., "language": ...} (language optional). Text of any
    length is scored and nothing is stored. Without --site the default thresholds apply and Redis
    is not used. A bad line gives {"id": ..., "error": {...}} and the next line is read.
    """
    site = obj.sites.require(site_name) if site_name else Site(name="default")
    if site_name:  # the model promoted for the site, if any
        from service.cli_training import active_scorer
        from service.registry import ModelRegistry

        scorer = active_scorer(obj, ModelRegistry(obj.redis, obj.keys), site_name)[1]
    else:
        scorer = obj.load_scorer()
    out = sys.stdout.buffer
    for number, raw in enumerate(sys.stdin.buffer, start=1):
        if not raw.strip():
            continue
        out.write(_json_line(score_line(raw, number, site, site_name, scorer)))
        out.flush()


# --- serve ------------------------------------------------------------------------------------


def gunicorn_options() -> dict[str, Any]:
    """Evaluate ``service/gunicorn_conf.py`` the way gunicorn does and return its settings.

    :raise ConfigError: PORT, WEB_CONCURRENCY or a MODQ_ variable is unusable.
    """
    namespace = runpy.run_path(str(GUNICORN_CONFIG))
    return {name: value for name, value in namespace.items() if not name.startswith("_")}


def run_gunicorn(options: dict[str, Any]) -> None:
    """Serve ``service.wsgi:app`` under gunicorn with ``options``; returns only via SystemExit.

    ``GUNICORN_CMD_ARGS`` overrides the config file, as it does for the ``gunicorn`` command.
    """
    from gunicorn.app.base import BaseApplication

    class ModqServer(BaseApplication):
        def load_config(self) -> None:
            for name, value in options.items():
                if name in self.cfg.settings:
                    self.cfg.set(name, value)
            parsed = self.cfg.parser().parse_args(self.cfg.get_cmd_args_from_env())
            for name, value in vars(parsed).items():
                if value is not None and name != "args":
                    self.cfg.set(name, value)

        def load(self):
            from service.wsgi import app

            return app

    ModqServer(prog="modq serve").run()


@main.command()
@click.pass_obj
def serve(obj: CommandContext) -> None:
    """Serve the HTTP API under gunicorn.

    Uses the settings in service/gunicorn_conf.py: listens on 0.0.0.0:$PORT (default 8000) with
    $WEB_CONCURRENCY workers (default from the CPU count) and the Redis at $MODQ_REDIS_URL.
    SIGTERM stops it gracefully.
    """
    # Evaluating the config checks every variable (a bad one is one line here, not a boot
    # failure) and prepares the workers' metrics directory (service/metrics_directory.py).
    options = gunicorn_options()
    run_gunicorn(options)


# --- quickstart -------------------------------------------------------------------------------


def _running_redis_pid(pidfile: Path) -> int | None:
    """The pid in ``pidfile`` if its redis-server still runs (left by a killed quickstart)."""
    try:
        pid = int(pidfile.read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    cmdline = Path(f"/proc/{pid}/cmdline")
    if cmdline.exists() and b"redis" not in cmdline.read_bytes():
        return None  # the pid was reused by something else
    return pid


@contextmanager
def local_redis(root: Path) -> Iterator[RedisProcess]:
    """Run a real redis-server with its data under ``root`` and yield it; stop it after.

    Append-only persistence is on, so keys and queued comments survive restarts. The server gets
    its own session so that Ctrl-C reaches gunicorn only, and Redis outlives the drain.
    """
    data = root / "redis"
    data.mkdir(parents=True, exist_ok=True)
    log, pidfile = root / "redis.log", data / "redis.pid"
    earlier = _running_redis_pid(pidfile)
    if earlier is not None:
        raise click.ClickException(
            f"a Redis from an earlier run still uses {data} (pid {earlier}); "
            f"stop it with `kill {earlier}` and start again"
        )
    server = RedisProcess(
        data.resolve(),
        port=free_port(LOCAL_REDIS_PORT),
        options={
            "appendonly": "yes",
            "appendfsync": "everysec",
            "save": "",  # the append-only file is the one copy; no snapshots besides it
            "logfile": str(log.resolve()),
            "pidfile": str(pidfile.resolve()),
        },
        new_session=True,
    )
    try:
        server.start()
    except RedisStartError as error:
        server.stop()
        raise click.ClickException(f"{error}; see {log}") from None
    try:
        yield server
    finally:
        server.stop()  # SIGTERM: Redis flushes the append-only file


class RedisReviver:
    """Starts the local Redis again, on its port and from its files, when it has exited.

    Called about once a second while the server runs: a Redis killed or crashed under
    ``modq quickstart`` is said on stderr and back within seconds, with what its append-only
    file kept, instead of leaving every request a 503 until someone notices. A start that fails
    is tried again after ``RETRY_SECONDS``.
    """

    RETRY_SECONDS = 5.0

    def __init__(self, server: RedisProcess, log: Path) -> None:
        self.server = server
        self.log = log
        self.next_try = 0.0

    def __call__(self) -> None:
        process = self.server.process
        if process is not None and process.poll() is None:
            return
        if time.monotonic() < self.next_try:
            return
        if process is not None:
            click.echo(
                f"The local Redis exited (status {process.returncode}; see {self.log}); "
                f"starting it again on port {self.server.port}.",
                err=True,
            )
            self.server.process = None
        try:
            self.server.start()
            click.echo("The local Redis is back.", err=True)
        except RedisStartError as error:
            self.server.stop()
            self.next_try = time.monotonic() + self.RETRY_SECONDS
            click.echo(
                f"The local Redis did not start again ({error}); trying again in "
                f"{self.RETRY_SECONDS:.0f} s.",
                err=True,
            )


def _ensure_model(obj: CommandContext) -> None:
    """Build the default model when it is not shipped and no MODQ_MODEL_PATH is given."""
    from model.artifact import MANIFEST
    from model.scorer import DEFAULT_MODEL_DIR

    if obj.settings.model_path or (DEFAULT_MODEL_DIR / MANIFEST).is_file():
        return
    click.echo("No default model yet; building it (python -m training build-default) ...")
    done = subprocess.run([sys.executable, "-m", "training", "build-default"], env=obj.environ)
    if done.returncode != 0:
        raise click.ClickException("building the default model failed; see the output above")


def _ensure_demo_site(obj: CommandContext, port: int, local_redis_url: str | None) -> None:
    """Create site `demo` and its two keys on the first start and print them; say so later."""
    # Only the local Redis's URL is printed: a configured one may hold a password.
    export = f"  export MODQ_REDIS_URL={local_redis_url}\n" if local_redis_url else ""
    if obj.sites.get(DEMO_SITE) is not None:
        click.echo(
            f"Site {DEMO_SITE!r} exists; its keys were printed on the first start. New keys:\n"
            f"{export}"
            f"  {_modq_command()} keys create --site {DEMO_SITE} --role ingest"
            "   # or --role moderator\n"
        )
        return
    obj.sites.create(DEMO_SITE)
    ingest = obj.api_keys.create(DEMO_SITE, "ingest")[1]
    moderator = obj.api_keys.create(DEMO_SITE, "moderator")[1]
    sample = json.dumps({"id": "c-1", "text": "Thanks for the clear reporting!"})
    click.echo(
        f"Created site {DEMO_SITE!r}. These keys are shown once; only their hashes are stored.\n"
        f"  ingest key:    {ingest}\n"
        f"  moderator key: {moderator}\n"
        "\n"
        "Try it:\n"
        f"  curl -s http://127.0.0.1:{port}/v1/comments \\\n"
        f"    -H 'Authorization: Bearer {ingest}' \\\n"
        "    -H 'Content-Type: application/json' \\\n"
        f"    -d '{sample}'\n"
    )
    if export:
        click.echo(f"Other modq commands reach this Redis after:\n{export}")


def _modq_command() -> str:
    """How to run modq from here: the virtual environment's script (``make run`` does not put
    it on PATH), relative to the working directory where it is under it."""
    script = Path(sys.executable).parent / "modq"
    if not script.is_file():
        return "modq"
    try:
        return str(script.relative_to(Path.cwd()))
    except ValueError:
        return str(script)


def _serve_in_child(environ: dict[str, str], watch: Callable[[], None] | None = None) -> int:
    """Run ``modq serve`` as a child and wait for it, passing on the signals that stop it.

    :param watch: called about once a second while the server runs.
    """
    server = subprocess.Popen([sys.executable, "-m", "service.entry", "serve"], env=environ)

    def forward(signum: int, frame: object) -> None:
        # SIGHUP would make gunicorn reload; a closed terminal should stop it instead.
        server.send_signal(signal.SIGINT if signum == signal.SIGINT else signal.SIGTERM)

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, forward)
    while True:
        try:
            return server.wait(timeout=1)
        except subprocess.TimeoutExpired:
            if watch is not None:
                watch()


@main.command()
@click.pass_obj
def quickstart(obj: CommandContext) -> None:
    """Start everything for a first look (what `make run` calls).

    Builds the default model if missing; without MODQ_REDIS_URL starts a local redis-server with
    its data in .modq/; creates site `demo` with two keys on first start; then serves on $PORT
    (default 8000) exactly like `modq serve`, starts the local Redis again if it exits, and
    stops it when the server exits.
    """
    options = gunicorn_options()  # checks every variable before anything starts
    _ensure_model(obj)
    if obj.environ.get("MODQ_REDIS_URL"):
        _ensure_demo_site(obj, options["port"], None)
        obj.close()
        status = _serve_in_child(obj.environ)
    else:
        root = Path(".modq")
        with local_redis(root) as redis_server:
            redis_url = redis_server.url
            click.echo(
                f"Local Redis at {redis_url} (data in {root / 'redis'}, "
                f"log in {root / 'redis.log'})."
            )
            obj.use_redis(redis_url)
            _ensure_demo_site(obj, options["port"], redis_url)
            obj.close()
            status = _serve_in_child(obj.environ, RedisReviver(redis_server, root / "redis.log"))
        click.echo("Stopped the local Redis.")
    # A server ended by a signal reports it the way a shell does.
    sys.exit(status if status >= 0 else 128 - status)


def _register_groups() -> None:
    from service.cli_moderation import GROUPS as MODERATION_GROUPS
    from service.cli_privacy import GROUPS as PRIVACY_GROUPS
    from service.cli_training import GROUPS as TRAINING_GROUPS

    for group in (*MODERATION_GROUPS, *TRAINING_GROUPS, *PRIVACY_GROUPS):
        main.add_command(group)


_register_groups()

if __name__ == "__main__":
    sys.exit(
        "run modq as `modq` or `python -m service.entry`: the entry point readies the "
        "metrics directory before this module is imported"
    )
