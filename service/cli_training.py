"""`modq labels`, `modq train`, `modq models` and `modq thresholds`: the retraining loop.

Moderator decisions are kept as labeled examples (``service.labels``); `labels export` streams
them, `labels import` brings a site's own history. `train` builds a model from the public data
plus those labels, evaluates it, writes the report and registers it as a candidate; `models
promote` puts it in service behind the promotion gate, `models rollback` takes it out again. The
groups are registered on ``service.cli.main``; numpy and the model load only when a command runs.
"""

from __future__ import annotations

import csv
import hashlib
import json
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import click

from service.labels import LABEL_CATEGORIES, LabelStore
from service.queue import stored_time
from service.registry import ANY_SITE, EVERY_SITE, LOAD_ERRORS, ModelRegistry, RegistryError
from service.sites import DEFAULT_REJECT, DEFAULT_REVIEW

if TYPE_CHECKING:
    from model.scorer import Scorer
    from service.cli import CommandContext
    from training.evaluate import GateResult, LabeledComment

SITE_WEIGHT = 3.0  # with --site, the labels' share of each head's weight is multiplied by this
IMPORT_BATCH = 1000
# Fewer labels than this of either class in a category: a suggested threshold is flagged as
# resting on too few to be stable.
FEW_FOR_THRESHOLDS = 30


class LabelFileError(click.ClickException):
    """A labels file line that cannot be read; the message names the file and line."""


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_since(value: str) -> str:
    """``--since`` as the ISO-8601 UTC form decisions are stored in (``2026-01-31`` or a time)."""
    try:
        return stored_time(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not a date or time; use e.g. 2026-01-31 or 2026-01-31T12:00:00Z"
        ) from None


# --- label files ------------------------------------------------------------------------------


def _label_value(raw: object, category: str, where: str) -> int | None:
    if raw is None or raw == "":
        return None
    if raw in (0, 1, "0", "1"):  # JSON numbers (true/false too) and CSV strings
        return int(raw)
    raise LabelFileError(f"{where}: {category} must be 0 or 1, got {raw!r}")


def read_label_file(path: Path) -> Iterator[dict]:
    """Read labeled comments from JSON lines (the export format, or flat ``spam``/``abuse``
    fields) or CSV with a header including ``text,spam,abuse``.

    :return: dicts with ``text``, ``labels`` (the categories given) and the export fields given.
    :raise LabelFileError: a line that is not usable, named by file and line number.
    """
    try:
        handle: TextIO = open(path, encoding="utf-8-sig", newline="")  # noqa: SIM115
    except OSError as error:
        raise LabelFileError(f"cannot read {path}: {error.strerror}") from None
    with handle:
        first = handle.readline()
        handle.seek(0)
        if path.suffix.lower() == ".csv" or not first.lstrip().startswith("{"):
            yield from _read_csv(handle, path)
        else:
            yield from _read_jsonl(handle, path)


def _read_jsonl(handle: TextIO, path: Path) -> Iterator[dict]:
    for number, line in enumerate(handle, start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            record = json.loads(line)
        except ValueError as error:
            raise LabelFileError(f"{where}: not valid JSON ({error})") from None
        if not isinstance(record, dict):
            raise LabelFileError(f"{where}: each line must be a JSON object")
        given = record.get("labels") if isinstance(record.get("labels"), dict) else record
        labels = {
            c: v
            for c in LABEL_CATEGORIES
            if (v := _label_value(given.get(c), c, where)) is not None
        }
        yield _checked({**record, "labels": labels}, where)


def _read_csv(handle: TextIO, path: Path) -> Iterator[dict]:
    reader = csv.DictReader(handle)
    columns = {name.strip().lower() for name in reader.fieldnames or []}
    if "text" not in columns or not columns & set(LABEL_CATEGORIES):
        raise LabelFileError(f"{path}: a CSV needs a header with text and spam and/or abuse")
    for number, row in enumerate(reader, start=2):
        row = {(k or "").strip().lower(): v for k, v in row.items()}
        where = f"{path}:{number}"
        labels = {
            c: v
            for c in LABEL_CATEGORIES
            if (v := _label_value((row.get(c) or "").strip(), c, where)) is not None
        }
        yield _checked(
            {"text": row.get("text"), "language": row.get("language") or None, "labels": labels},
            where,
        )


def _checked(record: dict, where: str) -> dict:
    text = record.get("text")
    if not isinstance(text, str) or not text.strip():
        raise LabelFileError(f"{where}: 'text' must be a non-empty string")
    if not record["labels"]:
        raise LabelFileError(f"{where}: no label; give spam and/or abuse as 0 or 1")
    return record


def labeled_comment(record: dict) -> LabeledComment:
    from training.evaluate import LabeledComment

    return LabeledComment(
        text=record["text"], labels=dict(record["labels"]), language=record.get("language") or None
    )


# --- labels -----------------------------------------------------------------------------------


@click.group()
def labels() -> None:
    """Labeled examples from moderator decisions: export them, import a site's history."""


EXPORT_FIELDS = (
    "comment_id",
    "site",
    "text",
    "language",
    "labels",
    "decided_at",
    "source",
    "author_hash",
    "model_scores",
    "model_version",
    "community_id",
)


@labels.command("export")
@click.option("--site", "site_name", help="Only this site (default: every site).")
@click.option(
    "--since",
    callback=lambda ctx, p, v: parse_since(v) if v else None,
    help="Only decisions at or after this date or time (UTC), e.g. 2026-01-31.",
)
@click.option(
    "--out",
    "out_path",
    required=True,
    type=click.Path(dir_okay=False),
    help="JSON lines file to write ('-' for stdout).",
)
@click.pass_obj
def labels_export(
    obj: CommandContext, site_name: str | None, since: str | None, out_path: str
) -> None:
    """Stream labeled examples as JSON lines.

    One line per comment with its latest decision: text, language, site, labels (spam, abuse:
    0/1), decided time, model scores and version at the time. Authors appear only as salted
    hashes. Exact duplicates (same site, text and labels) are written once.
    """
    names = [obj.sites.require(site_name).name] if site_name else obj.sites.names()
    store = LabelStore(obj.redis, obj.keys)
    seen: set[bytes] = set()
    written = duplicates = 0
    out = sys.stdout if out_path == "-" else open(out_path, "w", encoding="utf-8")  # noqa: SIM115
    try:
        for name in names:
            for example in store.iter(name, since):
                record = {f: example.get(f) for f in EXPORT_FIELDS if f in example}
                fingerprint = hashlib.sha256(
                    json.dumps(
                        [name, record["text"], record["labels"]], ensure_ascii=False, sort_keys=True
                    ).encode("utf-8", "surrogatepass")
                ).digest()
                if fingerprint in seen:
                    duplicates += 1
                    continue
                seen.add(fingerprint)
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
                written += 1
    finally:
        if out is not sys.stdout:
            out.close()
    target = "stdout" if out_path == "-" else out_path
    click.echo(
        f"Exported {written} labeled examples from {len(names)} site(s) to {target} "
        f"({duplicates} exact duplicates dropped).",
        err=out_path == "-",
    )


@labels.command("import")
@click.option("--site", "site_name", required=True, help="The site the labels belong to.")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_obj
def labels_import(obj: CommandContext, site_name: str, file: Path) -> None:
    """Import labeled comments from FILE: JSON lines as `labels export` writes them, or CSV with
    the columns text,spam,abuse (0 or 1). Nothing is stored if a line is bad.

    A comment id already present is replaced; without ids, the same text is kept once.
    """
    site = obj.sites.require(site_name)
    store = LabelStore(obj.redis, obj.keys)
    now = _now_iso()
    examples = []
    for record in read_label_file(file):
        scores = record.get("model_scores")
        examples.append(
            store.example(
                site=site.name,
                text=record["text"],
                labels=record["labels"],
                decided_at=str(record.get("decided_at") or now),
                source=str(record.get("source") or "import"),
                language=record.get("language"),
                comment_id=str(record["comment_id"]) if record.get("comment_id") else None,
                author_hash=record.get("author_hash")
                if isinstance(record.get("author_hash"), str)
                else None,
                model_scores=scores if isinstance(scores, dict) else None,
                model_version=record.get("model_version"),
            )
        )
    for start in range(0, len(examples), IMPORT_BATCH):
        pipeline = obj.redis.pipeline(transaction=False)
        for example in examples[start : start + IMPORT_BATCH]:
            store.record(example, pipeline)
        pipeline.execute()
    click.echo(
        f"Imported {len(examples)} labeled examples into site {site.name!r} "
        f"({store.count(site.name)} in all)."
    )


# --- validation sets --------------------------------------------------------------------------


def site_labels(obj: CommandContext, site: str, held: bool | None) -> list[dict]:
    """A site's stored labels: the held-out ones (True), the trainable ones (False) or all."""
    from training.evaluate import held_out

    store = LabelStore(obj.redis, obj.keys)
    return [
        e for e in store.iter(site) if held is None or held_out(LabelStore.example_id(e)) == held
    ]


def validation_set(obj: CommandContext, site: str | None) -> tuple[str, list[LabeledComment]]:
    """The fixed set the promotion gate judges on.

    For a site: its held-out labels. For the global model: a fixed sample of the public sets no
    model is trained on (``training/data/held_out/``) plus every site's held-out labels; a sample
    of the training sets would favour whichever model fits its own training data closest.
    """
    if site:
        held = [labeled_comment(e) for e in site_labels(obj, site, held=True)]
        return f"held-out labels of site {site!r}", held
    from training.datasets import load_held_out
    from training.evaluate import public_validation

    comments = public_validation(load_held_out())
    for name in obj.sites.names():
        comments += [labeled_comment(e) for e in site_labels(obj, name, held=True)]
    return "the public held-out sets and every site's held-out labels", comments


def active_scorer(
    obj: CommandContext, registry: ModelRegistry, site: str | None
) -> tuple[str, Scorer]:
    """The model serving ``site`` (None: sites without their own) and how to name it."""
    version = registry.serving(site) if site else registry.active(None)
    if version:
        return version, registry.load(version)
    scorer = obj.load_scorer()
    return f"{scorer.version} (the default model)", scorer


def gate(candidate: Scorer, active: Scorer, comments: list[LabeledComment]) -> GateResult:
    """Score ``comments`` with both models and compare them, cell by cell (the promotion gate).

    ``train`` and ``models promote`` both decide through this result, so the verdict printed
    after training is the one promotion gives.
    """
    from training.evaluate import compare, score_set

    return compare(score_set(candidate, comments), score_set(active, comments))


# --- train ------------------------------------------------------------------------------------


class Progress:
    """A tqdm bar over the training steps on a terminal; timestamped lines otherwise."""

    def __init__(self, steps: int) -> None:
        self.started = time.monotonic()
        self.bar = None
        if sys.stderr.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=steps, unit="step", file=sys.stderr, dynamic_ncols=True)

    def step(self, name: str) -> None:
        if self.bar is not None:
            if self.bar.n or self.bar.desc:
                self.bar.update(1)
            self.bar.set_description(name)
        else:
            self.log(name)

    def log(self, line: str) -> None:
        if self.bar is not None:
            self.bar.set_postfix_str(line[:60])
        else:
            click.echo(f"[{time.monotonic() - self.started:7.1f}s] {line}")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.update(self.bar.total - self.bar.n)
            self.bar.close()


TRAIN_STEPS = 8
# Below this many examples of a class in a category, a site's labels barely move the model and the
# held-out part cannot judge it.
FEW_LABELS = 20


def label_warnings(comments: list[LabeledComment]) -> list[str]:
    """What is too thin in the given labels to train and judge on: per category, a class with no
    examples or with fewer than ``FEW_LABELS``."""
    warnings = []
    for category in LABEL_CATEGORIES:
        known = [c.labels[category] for c in comments if c.labels.get(category) is not None]
        positives = sum(1 for v in known if v)
        negatives = len(known) - positives
        if not known:
            continue
        if not positives or not negatives:
            only = "positive" if positives else "negative"
            warnings.append(
                f"every {category} label is {only} ({len(known)}): the model learns nothing about "
                f"telling {category} apart from these labels, and the gate cannot judge {category}"
            )
        elif min(positives, negatives) < FEW_LABELS:
            warnings.append(
                f"only {positives} positive and {negatives} negative {category} labels: fewer "
                f"than {FEW_LABELS} of a class tell little"
            )
    return warnings


@click.command()
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the model and its report (created).",
)
@click.option(
    "--labels",
    "label_files",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Labels file (JSON lines or CSV text,spam,abuse); repeatable.",
)
@click.option(
    "--site",
    "site_name",
    help="Adapt to this site: its labels weigh more, and the report shows quality on "
    "its held-out labels. Without --labels, its stored labels are used.",
)
@click.option("--seed", default=0, show_default=True, help="Same seed, same data: same model.")
@click.option(
    "--public-sample",
    type=click.IntRange(min=50),
    default=None,
    help="Use at most this many public examples per source (quick trials).",
)
@click.pass_obj
def train(
    obj: CommandContext,
    out_dir: Path,
    label_files: tuple[Path, ...],
    site_name: str | None,
    seed: int,
    public_sample: int | None,
) -> None:
    """Train, evaluate and register a candidate model; its version is the last line.

    Trains the spam and abuse heads on the bundled public data plus the given labels, writes
    the model, report.html (with plots) and evaluation.json into --out, and registers the model
    as a candidate: `modq models promote VERSION` puts it in service. A fifth of each site's
    labels (fixed by comment) is held out from training for evaluation and the promotion gate.
    """
    from model.scorer import load_model
    from training.datasets import load_examples, load_held_out
    from training.evaluate import (
        cross_source,
        evaluate,
        held_out,
        learning_curve,
        public_validation,
        score_set,
        site_examples,
    )
    from training.groups import measure_all
    from training.report import EvaluationSection, ReportContent, write_report
    from training.train import TrainingConfig, sample_per_source, train_model

    site = obj.sites.require(site_name) if site_name else None
    registry = ModelRegistry(obj.redis, obj.keys)
    progress = Progress(TRAIN_STEPS)
    try:
        progress.step("reading labels")
        # By site and example id: a later decision on a comment replaces an earlier one, and two
        # sites' comments that happen to share an id (an export of every site) are both kept.
        # Which labels are held out follows the example id alone, as the gate reads them.
        records: dict[tuple[str | None, str], dict] = {}
        for path in label_files:
            for record in read_label_file(path):
                example_id = LabelStore.example_id(
                    {"comment_id": record.get("comment_id"), "text": record["text"]}
                )
                where = record.get("site")
                records[where if isinstance(where, str) else None, example_id] = record
        if site and not label_files:
            records = {
                (site.name, LabelStore.example_id(e)): e for e in site_labels(obj, site.name, None)
            }
        train_labels = [labeled_comment(r) for (_, i), r in records.items() if not held_out(i)]
        test_labels = [labeled_comment(r) for (_, i), r in records.items() if held_out(i)]
        progress.log(f"{len(train_labels)} labels to train on, {len(test_labels)} held out")
        for warning in label_warnings(train_labels + test_labels):
            click.echo(f"Warning: {warning}", err=True)

        progress.step("training")
        config = TrainingConfig(site_weight=SITE_WEIGHT if site else 1.0)
        extra = [{"text": c.text, "language": c.language, **c.labels} for c in train_labels]
        train_model(
            out_dir,
            seed=seed,
            extra_labels=extra,
            log=progress.log,
            config=config,
            public_per_source=public_sample,
        )
        candidate = load_model(out_dir)

        progress.step("evaluating")
        review = dict(site.review_thresholds if site else DEFAULT_REVIEW)
        reject = dict(site.reject_thresholds if site else DEFAULT_REJECT)
        public = load_examples()
        sections = []
        if test_labels:
            scored = score_set(candidate, test_labels)
            title = f"Held-out labels ({site.name if site else 'given labels'})"
            sections.append(EvaluationSection(title, scored, evaluate(scored, review, reject)))
        scored = score_set(candidate, public_validation(load_held_out()))
        title = "Public sets never trained on"
        sections.append(EvaluationSection(title, scored, evaluate(scored, review, reject)))

        progress.step("comparing with the active model")
        gate_title, comments = validation_set(obj, site.name if site else None)
        active_name, active = active_scorer(obj, registry, site.name if site else None)
        comparison = gate(candidate, active, comments)

        progress.step("naming groups of people")
        groups = {
            "new": measure_all(candidate, review["abuse"]),
            f"active ({active_name})": measure_all(active, review["abuse"]),
        }

        progress.step("learning curve")
        if public_sample:
            public = sample_per_source(public, public_sample, seed)
        curve = None
        if site and train_labels and test_labels:
            curve = learning_curve(
                public, train_labels, test_labels, config, seed, log=progress.log
            )

        progress.step("cross-source table")
        table, table_error = None, None
        try:
            table = cross_source(
                [*public, *site_examples(train_labels)], config, seed, log=progress.log
            )
        except ValueError as error:  # a fold with one class only (tiny samples)
            table_error = str(error)

        progress.step("writing the report")
        summary = {
            "version": candidate.version,
            "trained for": site.name if site else "every site",
            "seed": seed,
            "site labels trained on": len(train_labels),
            "site labels held out": len(test_labels),
            "public examples per source": public_sample or "all",
            "site weight": config.site_weight,
            "review thresholds": review,
            "reject thresholds": reject,
            "compared with": active_name,
            "created": candidate.metadata.get("created_at"),
        }
        report = write_report(
            out_dir,
            ReportContent(
                version=candidate.version,
                summary=summary,
                sections=sections,
                comparison=comparison,
                comparison_title=f"Against {active_name} on {gate_title}",
                learning_curve=curve,
                cross_source=table,
                cross_source_error=table_error,
                groups=groups,
            ),
        )
        # Whose labels went in: the site trained for, and the sites an export names.
        label_sites = {where or (site.name if site else ANY_SITE) for where, _ in records}
        registry.register(
            out_dir,
            trained_for=site.name if site else None,
            report=str(report.resolve()),
            label_sites=label_sites,
        )
    finally:
        progress.close()
    if comparison.passed:
        click.echo(f"Against {active_name}: the promotion gate would pass.")
    else:
        click.echo(
            f"Against {active_name}: the promotion gate would not pass: {comparison.refusal()}."
        )
    click.echo(f"Report: {report.resolve()}")
    scope = f" --site {site.name}" if site else ""
    click.echo(
        f"Registered as a candidate; put it in service with "
        f"`modq models promote {candidate.version}{scope}`."
    )
    click.echo(candidate.version)


# --- models -----------------------------------------------------------------------------------


class RegistryErrors(click.Group):
    """Turns a registry refusal (unknown version, nothing to roll back) into one line."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except RegistryError as error:
            raise click.ClickException(str(error)) from None


@click.group(cls=RegistryErrors)
def models() -> None:
    """Registered models: list them, promote one for a site or all, roll back, prune."""


@models.command("list")
@click.pass_obj
def models_list(obj: CommandContext) -> None:
    """Every registered model, with where it is active."""
    registry = ModelRegistry(obj.redis, obj.keys)
    records = registry.list()
    if not records:
        click.echo("No registered models; `modq train --out DIR` makes one.", err=True)
        return
    active_for: dict[str, list[str]] = {}
    for scope, version in sorted(registry.assignments().items()):
        active_for.setdefault(version, []).append("all sites" if scope == EVERY_SITE else scope)
    rows = [("VERSION", "REGISTERED", "TRAINED FOR", "ACTIVE FOR", "REPORT")]
    for r in records:
        registered = datetime.fromtimestamp(r.registered_at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        rows.append(
            (
                r.version,
                registered,
                r.trained_for or "-",
                ", ".join(active_for.get(r.version, [])) or "candidate",
                r.report or "-",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


@models.command("promote")
@click.argument("version")
@click.option("--site", "site_name", help="Only this site (default: every site without its own).")
@click.option("--force", is_flag=True, help="Promote even if the gate does not pass.")
@click.pass_obj
def models_promote(obj: CommandContext, version: str, site_name: str | None, force: bool) -> None:
    """Put VERSION in service, if it is no worse than the active model.

    The gate scores both models on a fixed validation set (the site's held-out labels; for
    every site, a public sample plus all sites' held-out labels) and refuses if the candidate
    loses more than 0.01 ROC-AUC or PR-AUC in any category and language (with 5 or more labels
    of each class), or if no category and language has
    enough labels of each class to judge it on. Every server switches within seconds, without a
    restart.
    """
    registry = ModelRegistry(obj.redis, obj.keys)
    site = obj.sites.require(site_name).name if site_name else None
    registry.require(version)
    scope = f"site {site!r}" if site else "every site without its own model"
    current = registry.active(site)
    if current == version:
        click.echo(f"{version} is already active for {scope}.")
        return
    try:
        candidate = registry.load(version)
    except LOAD_ERRORS as error:
        raise click.ClickException(
            f"model {version} does not load, not promoted: {error}"
        ) from None
    try:
        active_name, active = active_scorer(obj, registry, site)
    except LOAD_ERRORS as error:
        # A damaged active model must not keep its replacement out: the gate needs it, --force
        # does not.
        serving = registry.serving(site) if site else registry.active(None)
        if not force:
            raise click.ClickException(
                f"the active model {serving} does not load ({error}), so the gate cannot compare "
                f"{version} with it; pass --force to promote {version} without the gate"
            ) from None
        click.echo(
            f"The active model {serving} does not load; promoted without the gate (--force)."
        )
    else:
        gate_title, comments = validation_set(obj, site)
        result = gate(candidate, active, comments)
        click.echo(f"Candidate {version} against {active_name} on {gate_title}:")
        click.echo(result.table())
        if not result.passed:
            reason = result.refusal(active_name)
            if not force:
                remedy = (
                    "pass --force to promote it anyway"
                    if result.judged
                    else "add labels (moderators' decisions or `modq labels import`) or pass "
                    "--force"
                )
                raise click.ClickException(f"promotion of {version} refused: {reason}; {remedy}")
            click.echo(f"The gate does not pass ({reason}); promoted anyway (--force).")
    registry.promote(version, site)
    click.echo(
        f"Promoted {version} for {scope} (was {current or 'the default model'}); "
        "servers switch within a few seconds."
    )


@models.command("rollback")
@click.option("--site", "site_name", help="This site's model (default: the global one).")
@click.pass_obj
def models_rollback(obj: CommandContext, site_name: str | None) -> None:
    """Go back to the model active before the latest promotion."""
    registry = ModelRegistry(obj.redis, obj.keys)
    site = obj.sites.require(site_name).name if site_name else None
    removed, now = registry.rollback(site)
    if now is None:
        now = "the global model" if site and registry.active(None) else "the default model"
    scope = f"site {site!r}" if site else "every site without its own model"
    click.echo(f"Rolled back {scope}: {removed} is out of service, {now} serves again.")


@models.command("prune")
@click.option(
    "--site", "site_name", help="Models trained for this site (default: those for every site)."
)
@click.option(
    "--keep",
    type=click.IntRange(min=1),
    required=True,
    help="How many of the newest models to keep besides the active and rollback ones (>= 1).",
)
@click.option("--dry-run", is_flag=True, help="Only print what would be deleted.")
@click.pass_obj
def models_prune(obj: CommandContext, site_name: str | None, keep: int, dry_run: bool) -> None:
    """Delete stored models that are not needed any more, to keep Redis from only growing.

    Keeps the KEEP newest models trained for the site (or for every site), and every model that
    is active or the rollback target anywhere; a rollback then goes back only as far as the
    kept models. Report files on disk are left alone.
    """
    site = obj.sites.require(site_name).name if site_name else None
    result = ModelRegistry(obj.redis, obj.keys).prune(site, keep, dry_run=dry_run)
    verb = "would delete" if dry_run else "deleted"
    for record in result.deleted:
        registered = datetime.fromtimestamp(record.registered_at, UTC).strftime(
            "%Y-%m-%dT%H:%M:%SZ"
        )
        click.echo(f"{verb} {record.version} (registered {registered})")
    for version, why in result.kept.items():
        click.echo(f"kept {version} ({why})")
    scope = f"site {site!r}" if site else "every site"
    click.echo(
        f"{verb.capitalize()} {len(result.deleted)} models trained for {scope}, "
        f"kept {len(result.kept)}."
    )


# --- thresholds -------------------------------------------------------------------------------


@click.group()
def thresholds() -> None:
    """Thresholds for a site, from its labels."""


@thresholds.command("suggest")
@click.option("--site", "site_name", required=True)
@click.option(
    "--precision",
    type=click.FloatRange(0.01, 1.0),
    required=True,
    help="Wanted precision of rejections (and recall of the review queue), e.g. 0.9.",
)
@click.pass_obj
def thresholds_suggest(obj: CommandContext, site_name: str, precision: float) -> None:
    """Propose review and reject thresholds per category from the site's labels.

    Reject at the lowest score whose rejections are right at least P of the time; review from
    the highest score that still sends at least P of the bad comments to a moderator.
    """
    from training.evaluate import score_set, suggest_thresholds

    site = obj.sites.require(site_name)
    registry = ModelRegistry(obj.redis, obj.keys)
    name, scorer = active_scorer(obj, registry, site.name)
    record = registry.get(registry.serving(site.name) or "")
    # A model trained on this site's labels would look too good on them: use the held-out ones.
    # So too for a global model trained on a label file of sites it does not name.
    held = True if record is not None and record.trained_on_labels_of(site.name) else None
    examples = site_labels(obj, site.name, held)
    if not examples:
        raise click.ClickException(
            f"site {site.name!r} has no labels yet; moderator decisions "
            "and `modq labels import` make them"
        )
    scored = score_set(scorer, [labeled_comment(e) for e in examples])
    which = "held-out labels (the model trained on the rest)" if held else "labels"
    click.echo(
        f"{len(examples)} {which} of site {site.name!r}, scored with {name}; "
        f"wanted precision {precision}."
    )
    options = []
    for category in LABEL_CATEGORIES:
        known = scored.labels[category] >= 0
        y, p = scored.labels[category][known], scored.scores[category][known]
        result = suggest_thresholds(y, p, precision)
        if result["review"] is None:
            click.echo(
                f"{category}: {result['n']} labels, {result['positives']} positive: "
                "needs both classes; no suggestion."
            )
            continue
        parts = []
        for kind in ("review", "reject"):
            point = result[kind]
            if point is None:
                parts.append(f"reject: no threshold reaches precision {precision}")
                continue
            threshold = point["threshold"]
            parts.append(
                f"{kind} at {threshold} (precision {point['precision']:.3f}, "
                f"recall {point['recall']:.3f}, {point['flagged_share']:.1%} of comments)"
            )
            options.append(f"--{kind}-threshold {category}={threshold}")
        click.echo(f"{category}: " + "; ".join(parts))
        if min(result["positives"], result["n"] - result["positives"]) < FEW_FOR_THRESHOLDS:
            click.echo(
                f"  ({result['positives']} positive of {result['n']}: thresholds from so few "
                "labels move a lot with the next ones; check them again as decisions come in)"
            )
    if options:
        click.echo(f"Apply with: modq sites update {site.name} " + " ".join(options))


GROUPS: tuple[click.Command, ...] = (labels, train, models, thresholds)
