"""The evaluation report `modq train` writes next to a model: HTML with PNG plots, and JSON.

``report.html`` opens in any browser without a server: tables of the metrics per category and
language, the candidate against the active model, the site's learning curve, both models on the
same sentences about different groups of people, and the cross-source table, with ROC and
precision-recall curves, score histograms per class and reliability diagrams drawn by
matplotlib (Agg backend, no display needed) into ``report/``. ``evaluation.json`` holds the same
numbers for scripts.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from training.evaluate import CATEGORIES, GateResult, ScoredSet
from training.groups import LanguageResult

REPORT_HTML = "report.html"
REPORT_JSON = "evaluation.json"
PLOTS_DIR = "report"


@dataclass
class EvaluationSection:
    """One labeled set the model was scored on."""

    title: str
    scored: ScoredSet
    metrics: dict  # training.evaluate.evaluate() output


@dataclass
class ReportContent:
    """Everything the report shows."""

    version: str
    summary: dict  # training facts: seed, sizes, site, thresholds...
    sections: list[EvaluationSection] = field(default_factory=list)
    comparison: GateResult | None = None
    comparison_title: str = ""
    learning_curve: list[dict] | None = None
    cross_source: dict[str, dict[str, float]] | None = None
    cross_source_error: str | None = None
    # ``training.groups.measure_all`` of each model compared, by its label ("new", "active").
    groups: dict[str, list[LanguageResult]] | None = None


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _fmt(value: object) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.4f}"
    return html.escape(str(value))


def _legend(ax, **options) -> None:
    """A legend for ``ax`` when something on it has a label (one-class data may draw no curve)."""
    if ax.get_legend_handles_labels()[0]:
        ax.legend(**options)


def _plots(section: EvaluationSection, folder: Path) -> list[str]:
    """Draw the section's figures; return their file names."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import precision_recall_curve, roc_curve

    names = []
    scored = section.scored
    for category in CATEGORIES:
        known = scored.labels[category] >= 0
        if not known.any():
            continue
        figure, axes = plt.subplots(1, 4, figsize=(18, 4.2))
        roc_ax, pr_ax, hist_ax, cal_ax = axes
        languages = ["all", *sorted(set(scored.languages[known].tolist()))]
        for language in languages:
            mask = known if language == "all" else known & (scored.languages == language)
            y, p = scored.labels[category][mask], scored.scores[category][mask]
            if len(set(y.tolist())) < 2:
                continue
            fpr, tpr, _ = roc_curve(y, p)
            precision, recall, _ = precision_recall_curve(y, p)
            roc_ax.plot(fpr, tpr, label=f"{language} (n={len(y)})")
            pr_ax.plot(recall, precision, label=f"{language} (n={len(y)})")
        roc_ax.plot([0, 1], [0, 1], color="grey", linestyle=":")
        roc_ax.set(
            title=f"{category}: ROC", xlabel="false positive rate", ylabel="true positive rate"
        )
        pr_ax.set(title=f"{category}: precision-recall", xlabel="recall", ylabel="precision")
        _legend(roc_ax, loc="lower right", fontsize=8)
        _legend(pr_ax, loc="lower left", fontsize=8)
        y, p = scored.labels[category][known], scored.scores[category][known]
        bins = np.linspace(0, 1, 26)
        hist_ax.hist(p[y == 0], bins=bins, alpha=0.6, label=f"not {category} ({(y == 0).sum()})")
        hist_ax.hist(p[y == 1], bins=bins, alpha=0.6, label=f"{category} ({(y == 1).sum()})")
        hist_ax.set(
            title=f"{category}: scores per class", xlabel="score", ylabel="comments", yscale="log"
        )
        # The axis starts below one, so a bin holding a single comment of the minority class
        # still shows as a bar rather than sitting on the axis.
        hist_ax.set_ylim(bottom=0.5)
        _legend(hist_ax, fontsize=8)
        table = section.metrics.get(category, {}).get("all", {}).get("calibration", {})
        bins_table = table.get("bins", [])
        cal_ax.plot([0, 1], [0, 1], color="grey", linestyle=":")
        cal_ax.plot(
            [b["mean_score"] for b in bins_table],
            [b["observed"] for b in bins_table],
            color="tab:blue",
            zorder=1,
        )
        # Each bin's point sized by, and labeled with, how many comments it holds: a bin of three
        # comments says little about calibration, and should not look as solid as one of 300.
        counts = np.asarray([b["n"] for b in bins_table], dtype=float)
        cal_ax.scatter(
            [b["mean_score"] for b in bins_table],
            [b["observed"] for b in bins_table],
            s=12 + 188 * np.sqrt(counts / counts.max()) if len(counts) else 12,
            color="tab:blue",
            zorder=2,
        )
        for b in bins_table:
            cal_ax.annotate(
                str(b["n"]),
                (b["mean_score"], b["observed"]),
                textcoords="offset points",
                xytext=(5, -10),
                fontsize=7,
            )
        cal_ax.set(
            title=f"{category}: reliability (Brier {table.get('brier', 0):.4f})",
            xlabel="mean score in bin",
            ylabel="observed rate",
            xlim=(0, 1),
            ylim=(0, 1),
        )
        figure.tight_layout()
        name = f"{_slug(section.title)}-{category}.png"
        figure.savefig(folder / name, dpi=80)
        plt.close(figure)
        names.append(name)
    return names


def _learning_curve_plot(points: Sequence[Mapping], folder: Path) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, ax = plt.subplots(figsize=(6, 4))
    for category in CATEGORIES:
        xs = [p["site_labels"] for p in points if category in p]
        if xs:
            ax.plot(
                xs,
                [p[category]["roc_auc"] for p in points if category in p],
                marker="o",
                label=f"{category} ROC-AUC",
            )
            ax.plot(
                xs,
                [p[category]["pr_auc"] for p in points if category in p],
                marker="s",
                linestyle="--",
                label=f"{category} PR-AUC",
            )
    ax.set(title="quality on the site's held-out labels", xlabel="site labels used", ylabel="score")
    _legend(ax, fontsize=8)
    figure.tight_layout()
    figure.savefig(folder / "learning-curve.png", dpi=80)
    plt.close(figure)
    return "learning-curve.png"


def _metrics_table(metrics: Mapping[str, Mapping[str, dict]]) -> str:
    rows = [
        "<tr><th>category</th><th>language</th><th>n</th><th>positives</th><th>ROC-AUC</th>"
        "<th>PR-AUC</th><th>Brier</th><th>at</th><th>threshold</th><th>precision</th>"
        "<th>recall</th><th>F1</th><th>TP</th><th>FP</th><th>FN</th><th>TN</th></tr>"
    ]
    for category, by_language in metrics.items():
        for language, m in by_language.items():
            for at in ("at_review", "at_reject"):
                t = m[at]
                c = t["confusion"]
                rows.append(
                    f"<tr><td>{_fmt(category)}</td><td>{_fmt(language)}</td><td>{m['n']}</td>"
                    f"<td>{m['positives']}</td><td>{_fmt(m['roc_auc'])}</td>"
                    f"<td>{_fmt(m['pr_auc'])}</td><td>{_fmt(m['calibration']['brier'])}</td>"
                    f"<td>{at[3:]}</td><td>{_fmt(t['threshold'])}</td>"
                    f"<td>{_fmt(t['precision'])}</td><td>{_fmt(t['recall'])}</td>"
                    f"<td>{_fmt(t['f1'])}</td><td>{c['tp']}</td><td>{c['fp']}</td>"
                    f"<td>{c['fn']}</td><td>{c['tn']}</td></tr>"
                )
    return "<table>" + "".join(rows) + "</table>"


STYLE = """body{font-family:system-ui,sans-serif;margin:2em;max-width:1400px}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 7px;
text-align:right}th{background:#f3f3f3}img{max-width:100%}.worse{background:#fdd}
.better{background:#dfd}"""


def _groups_numbers(result: LanguageResult) -> dict:
    return {
        "language": result.language,
        "ordinary_at_review": result.ordinary_at_review,
        "ordinary": result.ordinary_count,
        "abusive_under_review": result.abusive_under_review,
        "spread": result.spread,
        "lowest_bpsn_roc_auc": result.worst_bpsn.bpsn_auc,
        "lowest_bpsn_group": result.worst_bpsn.group,
        "roc_auc": result.auc,
    }


def _groups_table(groups: dict[str, list[LanguageResult]]) -> str:
    """The same sentences about different groups of people (``training.groups``), per model."""
    rows = [
        "<h2>Naming a group of people</h2><p>The same sentences filled in with each of "
        "several groups (religions, sexualities, origins, gender, age, disability): ordinary "
        "ones should stay under the abuse review threshold whichever group they name, abusive "
        "ones reach it. <code>python -m training groups</code> prints them group by group for the "
        "default model.</p><table><tr><th>model</th><th>language</th>"
        "<th>ordinary sentences at review</th><th>abusive sentences under review</th>"
        "<th>spread of the groups' mean scores</th><th>lowest BPSN ROC-AUC</th>"
        "<th>ROC-AUC</th></tr>"
    ]
    for model, results in groups.items():
        for result in results:
            n = _groups_numbers(result)
            rows.append(
                f"<tr><td>{_fmt(model)}</td><td>{_fmt(n['language'])}</td>"
                f"<td>{n['ordinary_at_review']} of {n['ordinary']}</td>"
                f"<td>{n['abusive_under_review']}</td><td>{_fmt(n['spread'])}</td>"
                f"<td>{_fmt(n['lowest_bpsn_roc_auc'])} ({_fmt(n['lowest_bpsn_group'])})</td>"
                f"<td>{_fmt(n['roc_auc'])}</td></tr>"
            )
    return "".join(rows) + "</table>"


def write_report(out_dir: str | Path, content: ReportContent) -> Path:
    """Write ``report.html``, its plots and ``evaluation.json`` into ``out_dir``.

    :return: the path of ``report.html``.
    """
    out = Path(out_dir)
    plots = out / PLOTS_DIR
    plots.mkdir(parents=True, exist_ok=True)
    title = f"modq model {content.version}"
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>{_fmt(title)}</title>"
        f"<style>{STYLE}</style></head><body><h1>{_fmt(title)}</h1>",
        "<table>"
        + "".join(
            f"<tr><th>{_fmt(k)}</th><td>{_fmt(v)}</td></tr>" for k, v in content.summary.items()
        )
        + "</table>",
    ]
    if content.comparison is not None:
        parts.append(
            f"<h2>{_fmt(content.comparison_title)}</h2><table><tr><th>category</th>"
            "<th>language</th><th>n</th><th>positives</th><th>ROC-AUC new</th>"
            "<th>ROC-AUC active</th><th>PR-AUC new</th><th>PR-AUC active</th>"
            "<th>verdict</th></tr>"
        )
        for cell in content.comparison.cells:
            parts.append(
                f"<tr class='{_slug(cell.verdict)}'><td>{_fmt(cell.category)}</td>"
                f"<td>{_fmt(cell.language)}</td><td>{cell.n}</td><td>{cell.positives}</td>"
                f"<td>{_fmt(cell.candidate_roc_auc)}</td><td>{_fmt(cell.active_roc_auc)}</td>"
                f"<td>{_fmt(cell.candidate_pr_auc)}</td><td>{_fmt(cell.active_pr_auc)}</td>"
                f"<td>{_fmt(cell.verdict)}</td></tr>"
            )
        if content.comparison.passed:
            verdict = "The promotion gate would pass."
        else:
            verdict = f"The promotion gate would not pass: {content.comparison.refusal()}."
        parts.append(f"</table><p>{_fmt(verdict)}</p>")
    for section in content.sections:
        parts.append(f"<h2>{_fmt(section.title)}</h2>{_metrics_table(section.metrics)}")
        for name in _plots(section, plots):
            parts.append(f"<p><img src='{PLOTS_DIR}/{html.escape(name)}' alt='{_fmt(name)}'></p>")
    if content.learning_curve:
        parts.append(
            "<h2>Site adaptation: learning curve</h2><table><tr><th>site labels</th>"
            + "".join(f"<th>{c} ROC-AUC</th><th>{c} PR-AUC</th>" for c in CATEGORIES)
            + "</tr>"
        )
        for point in content.learning_curve:
            cells = "".join(
                f"<td>{_fmt(point.get(c, {}).get('roc_auc'))}</td>"
                f"<td>{_fmt(point.get(c, {}).get('pr_auc'))}</td>"
                for c in CATEGORIES
            )
            parts.append(f"<tr><td>{point['site_labels']}</td>{cells}</tr>")
        name = _learning_curve_plot(content.learning_curve, plots)
        parts.append(f"</table><p><img src='{PLOTS_DIR}/{name}' alt='learning curve'></p>")
    if content.groups:
        parts.append(_groups_table(content.groups))
    parts.append("<h2>Cross-source: train on every source but one, test on it</h2>")
    if content.cross_source:
        parts.append(
            "<table><tr><th>fold</th><th>n</th><th>positives</th><th>ROC-AUC</th>"
            "<th>PR-AUC</th></tr>"
        )
        for fold, m in content.cross_source.items():
            parts.append(
                f"<tr><td>{_fmt(fold)}</td><td>{m['n']}</td><td>{m['positives']}</td>"
                f"<td>{_fmt(m['roc_auc'])}</td><td>{_fmt(m['average_precision'])}</td></tr>"
            )
        parts.append("</table>")
    else:
        parts.append(f"<p>Not computed: {_fmt(content.cross_source_error or 'skipped')}</p>")
    parts.append("</body></html>\n")
    report = out / REPORT_HTML
    report.write_text("".join(parts), encoding="utf-8")
    numbers = {
        "version": content.version,
        "summary": content.summary,
        "sections": {s.title: s.metrics for s in content.sections},
        "comparison": (
            {
                "title": content.comparison_title,
                "passed": content.comparison.passed,
                "judged": content.comparison.judged,
                "refusal": content.comparison.refusal(),
                "cells": [asdict(c) for c in content.comparison.cells],
            }
            if content.comparison
            else None
        ),
        "learning_curve": content.learning_curve,
        "cross_source": content.cross_source,
        "cross_source_error": content.cross_source_error,
        "groups": (
            {
                model: [_groups_numbers(result) for result in results]
                for model, results in content.groups.items()
            }
            if content.groups
            else None
        ),
    }
    (out / REPORT_JSON).write_text(json.dumps(numbers, indent=2, default=str) + "\n")
    return report
