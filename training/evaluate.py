"""How good a model is on labeled comments, and whether a candidate may replace the active one.

- :func:`evaluate`: per category and language, ROC-AUC, PR-AUC, precision, recall and F1 with
  confusion counts at a site's review and reject thresholds, and calibration (reliability bins,
  Brier score).
- :func:`compare`: the promotion gate: the candidate must be no worse than the active model on
  the same fixed validation set, cell by cell (category x language), and at least one cell must
  have enough labels of each class to judge it on.
- :func:`learning_curve`: quality on a site's held-out labels against the number of site labels
  trained on (0, 100, 300, 1000, all), reusing crossval's count-once features.
- :func:`cross_source`: the leave-one-source-out table of ``training.crossval``.
- :func:`suggest_thresholds`: review and reject thresholds that reach a precision or recall.

A site's labels are split once and for all by a hash of the example's id (:func:`held_out`):
the held-out fifth is never trained on, so it stays a fair test for every later model.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score

from model.scorer import Scorer
from training.datasets import Example

CATEGORIES = ("spam", "abuse")
HOLDOUT_BUCKETS = 5  # one label in five is held out
CALIBRATION_BINS = 10
GATE_TOLERANCE = 0.01  # ROC-AUC / PR-AUC a candidate may lose in a cell (sampling noise)
GATE_MIN_PER_CLASS = 5  # a cell with fewer positives or negatives is shown but not judged
# Below this many labels in a cell, a loss past the tolerance may be chance; a refusal says so.
FEW_FOR_A_CELL = 200
LEARNING_CURVE_SIZES = (0, 100, 300, 1000)


def held_out(example_id: str) -> bool:
    """Whether a labeled example belongs to its site's fixed validation set."""
    digest = hashlib.sha256(f"modq-holdout:{example_id}".encode("utf-8", "surrogatepass"))
    return int(digest.hexdigest()[:8], 16) % HOLDOUT_BUCKETS == 0


@dataclass(frozen=True)
class LabeledComment:
    """One comment with its known labels (a category absent from ``labels`` is unknown)."""

    text: str
    labels: Mapping[str, int]
    language: str | None = None


@dataclass
class ScoredSet:
    """A model's scores on labeled comments, aligned row by row."""

    languages: np.ndarray  # str per row (given, else detected)
    labels: dict[str, np.ndarray]  # per category: 1, 0, or -1 when unknown
    scores: dict[str, np.ndarray]  # per category: the model's probability

    def cells(self) -> Iterable[tuple[str, str, np.ndarray]]:
        """(category, language or "all", row mask of labeled rows) for every cell with rows."""
        for category in CATEGORIES:
            known = self.labels[category] >= 0
            yield category, "all", known
            for language in sorted(set(self.languages[known].tolist())):
                yield category, language, known & (self.languages == language)


def score_set(scorer: Scorer, comments: Sequence[LabeledComment]) -> ScoredSet:
    """Score every comment with ``scorer``."""
    results = [scorer.score(c.text, c.language) for c in comments]
    return ScoredSet(
        languages=np.asarray([r.language for r in results], dtype=object),
        labels={
            cat: np.asarray([int(c.labels.get(cat, -1)) for c in comments], dtype=int)
            for cat in CATEGORIES
        },
        scores={
            cat: np.asarray([r.scores.get(cat, 0.0) for r in results], dtype=float)
            for cat in CATEGORIES
        },
    )


def _ranking(y: np.ndarray, p: np.ndarray) -> tuple[float | None, float | None]:
    if len(set(y.tolist())) < 2:
        return None, None
    return float(roc_auc_score(y, p)), float(average_precision_score(y, p))


def at_threshold(y: np.ndarray, p: np.ndarray, threshold: float) -> dict:
    """Confusion counts, precision, recall and F1 when ``p >= threshold`` flags a comment."""
    flagged = p >= threshold
    tp = int((flagged & (y == 1)).sum())
    fp = int((flagged & (y == 0)).sum())
    fn = int((~flagged & (y == 1)).sum())
    tn = int((~flagged & (y == 0)).sum())
    precision = tp / (tp + fp) if tp + fp else None
    recall = tp / (tp + fn) if tp + fn else None
    if precision is None or recall is None:
        f1 = None
    else:
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "threshold": threshold,
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "confusion": {"tp": tp, "fp": fp, "fn": fn, "tn": tn},
    }


def calibration(y: np.ndarray, p: np.ndarray, bins: int = CALIBRATION_BINS) -> dict:
    """Reliability bins (mean score vs observed rate) and the Brier score."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    table = []
    for b in range(bins):
        mask = which == b
        if mask.any():
            table.append(
                {
                    "low": float(edges[b]),
                    "high": float(edges[b + 1]),
                    "n": int(mask.sum()),
                    "mean_score": float(p[mask].mean()),
                    "observed": float(y[mask].mean()),
                }
            )
    return {"brier": float(np.mean((p - y) ** 2)), "bins": table}


def category_metrics(y: np.ndarray, p: np.ndarray, review: float, reject: float) -> dict:
    """Every metric of one cell (one category, one language or all)."""
    roc_auc, pr_auc = _ranking(y, p)
    return {
        "n": len(y),
        "positives": int(y.sum()),
        "roc_auc": roc_auc,
        "pr_auc": pr_auc,
        "at_review": at_threshold(y, p, review),
        "at_reject": at_threshold(y, p, reject),
        "calibration": calibration(y, p),
    }


def evaluate(
    scored: ScoredSet, review: Mapping[str, float], reject: Mapping[str, float]
) -> dict[str, dict[str, dict]]:
    """``{category: {language or "all": metrics}}`` at the given thresholds."""
    result: dict[str, dict[str, dict]] = {}
    for category, language, mask in scored.cells():
        if mask.any():
            result.setdefault(category, {})[language] = category_metrics(
                scored.labels[category][mask],
                scored.scores[category][mask],
                review[category],
                reject[category],
            )
    return result


@dataclass(frozen=True)
class GateCell:
    """The candidate against the active model on one category and language."""

    category: str
    language: str
    n: int
    positives: int
    candidate_roc_auc: float | None
    active_roc_auc: float | None
    candidate_pr_auc: float | None
    active_pr_auc: float | None
    verdict: str  # "better", "same", "worse" or "too few"

    def loss(self) -> str:
        """What the candidate lost here, in words: the measure it lost most on."""
        losses = [
            (active - candidate, name, candidate, active)
            for name, candidate, active in (
                ("ROC-AUC", self.candidate_roc_auc, self.active_roc_auc),
                ("PR-AUC", self.candidate_pr_auc, self.active_pr_auc),
            )
            if candidate is not None and active is not None
        ]
        where = f"{self.category}/{self.language}"
        if not losses:
            return where
        lost, name, candidate, active = max(losses)
        return (
            f"{where} ({name} {candidate:.3f} against {active:.3f}, -{lost:.3f}; "
            f"{self.n} labels, {self.positives} positive)"
        )


@dataclass(frozen=True)
class GateResult:
    """The promotion gate's answer."""

    cells: list[GateCell]

    @property
    def judged(self) -> bool:
        """Whether some cell had enough labels of both classes to compare the models on."""
        return any(cell.verdict != "too few" for cell in self.cells)

    @property
    def worse(self) -> list[GateCell]:
        """The cells where the candidate loses more than the tolerance."""
        return [cell for cell in self.cells if cell.verdict == "worse"]

    @property
    def passed(self) -> bool:
        """Whether the candidate may be promoted: something was judged and nothing is worse.

        A gate that judged nothing does not pass: it would put in service a model nothing was
        measured on.
        """
        return self.judged and not self.worse

    def refusal(self, active: str = "the active model") -> str | None:
        """Why the gate does not pass, in words for the terminal and the report; None if it does.

        :param active: how to name the model the candidate was compared with.
        """
        if not any(cell.n for cell in self.cells):
            return "there are no held-out labels to judge it on"
        if not self.judged:
            return (
                "too few held-out labels to judge it on: it needs "
                f"{GATE_MIN_PER_CLASS} positive and {GATE_MIN_PER_CLASS} negative held-out labels "
                "in at least one category and language, and none has that many (about one label "
                f"in {HOLDOUT_BUCKETS} is held out)"
            )
        if self.worse:
            small = min(cell.n for cell in self.worse) < FEW_FOR_A_CELL
            return (
                f"worse than {active} on "
                + "; ".join(cell.loss() for cell in self.worse)
                + f" (the gate allows a loss of {GATE_TOLERANCE} in a cell"
                + (
                    "; on a cell of a few dozen labels a loss this size may be chance: more "
                    "labels tell)"
                    if small
                    else ")"
                )
            )
        return None

    def table(self) -> str:
        """The numbers, one cell per line, for the terminal."""

        def f(x: float | None) -> str:
            return "   -  " if x is None else f"{x:.4f}"

        lines = [
            "CATEGORY  LANGUAGE     N   POS  ROC-AUC cand/active   PR-AUC cand/active   VERDICT"
        ]
        for c in self.cells:
            lines.append(
                f"{c.category:<9} {c.language:<8} {c.n:>5} {c.positives:>5}  "
                f"{f(c.candidate_roc_auc)} / {f(c.active_roc_auc)}    "
                f"{f(c.candidate_pr_auc)} / {f(c.active_pr_auc)}    {c.verdict}"
            )
        return "\n".join(lines)


def compare(
    candidate: ScoredSet, active: ScoredSet, tolerance: float = GATE_TOLERANCE
) -> GateResult:
    """The gate: per cell, the candidate may not lose more than ``tolerance`` ROC-AUC or PR-AUC.

    Both sets must be the same comments scored by the two models.
    """
    cells = []
    for category, language, mask in candidate.cells():
        y = candidate.labels[category][mask]
        positives = int(y.sum())
        c_auc, c_ap = _ranking(y, candidate.scores[category][mask])
        a_auc, a_ap = _ranking(y, active.scores[category][mask])
        if positives < GATE_MIN_PER_CLASS or len(y) - positives < GATE_MIN_PER_CLASS:
            verdict = "too few"
        elif c_auc < a_auc - tolerance or c_ap < a_ap - tolerance:  # type: ignore[operator]
            verdict = "worse"
        elif c_auc > a_auc + tolerance or c_ap > a_ap + tolerance:  # type: ignore[operator]
            verdict = "better"
        else:
            verdict = "same"
        cells.append(
            GateCell(category, language, len(y), positives, c_auc, a_auc, c_ap, a_ap, verdict)
        )
    return GateResult(cells)


def short_threshold(threshold: float, scores: np.ndarray) -> float:
    """The shortest decimal that flags exactly the comments ``threshold`` flags."""
    below = scores[scores < threshold]
    floor = float(below.max()) if len(below) else -1.0
    for places in range(2, 10):
        value = math.floor(threshold * 10**places) / 10**places
        if value > floor:
            return value
    return threshold


def suggest_thresholds(y: np.ndarray, p: np.ndarray, precision: float) -> dict:
    """Review and reject thresholds for one category.

    Reject: the lowest score at which flagged comments are right at least ``precision`` of the
    time (the most recall at that precision). Review: the highest score that still catches at
    least ``precision`` of the bad comments (recall), so the queue holds as few as possible; never
    above the reject threshold.
    """
    if len(set(y.tolist())) < 2:
        return {"n": len(y), "positives": int(y.sum()), "reject": None, "review": None}
    precisions, recalls, thresholds = precision_recall_curve(y, p)
    precisions, recalls = precisions[:-1], recalls[:-1]  # align with thresholds
    reaching = np.flatnonzero(precisions >= precision)
    reject = float(thresholds[reaching[0]]) if len(reaching) else None
    catching = np.flatnonzero(recalls >= precision)
    review = float(thresholds[catching[-1]]) if len(catching) else float(thresholds[0])
    if reject is not None:
        review = min(review, reject)

    def point(threshold: float | None) -> dict | None:
        if threshold is None:
            return None
        cell = at_threshold(y, p, short_threshold(threshold, p))
        cell["flagged_share"] = float((p >= threshold).mean())
        return cell

    return {
        "n": len(y),
        "positives": int(y.sum()),
        "reject": point(reject),
        "review": point(review),
    }


PUBLIC_VALIDATION_PER_CELL = 1000


def public_validation(
    examples: Sequence[Example], per_cell: int = PUBLIC_VALIDATION_PER_CELL
) -> list[LabeledComment]:
    """A fixed sample of ``examples``: per category and language, the ``per_cell`` examples
    whose texts hash lowest (the same rows whatever the seed or the data's order).

    Given the held-out sets (``load_held_out``), which no model is trained on, so that a model
    is not judged on the comments it learned from.
    """
    cells: dict[tuple[str, str], list[tuple[str, Example]]] = {}
    for e in examples:
        digest = hashlib.sha256(e.text.encode("utf-8", "surrogatepass")).hexdigest()
        cells.setdefault((e.category, e.language), []).append((digest, e))
    chosen = []
    for key in sorted(cells):
        for _, e in sorted(cells[key], key=lambda pair: pair[0])[:per_cell]:
            chosen.append(LabeledComment(e.text, {e.category: e.label}, e.language))
    return chosen


def site_examples(comments: Iterable[LabeledComment], source: str = "extra") -> list[Example]:
    """Site labels as training examples (one per known category)."""
    examples = []
    for comment in comments:
        for category in CATEGORIES:
            if category in comment.labels:
                examples.append(
                    Example(
                        comment.text,
                        category,
                        int(comment.labels[category]),
                        comment.language or "und",
                        source,
                        source,
                    )
                )
    return examples


def learning_curve(
    public: Sequence[Example],
    site_train: Sequence[LabeledComment],
    site_test: Sequence[LabeledComment],
    config: object,
    seed: int = 0,
    sizes: Sequence[int] = LEARNING_CURVE_SIZES,
    log: Callable[[str], None] = lambda line: None,
) -> list[dict]:
    """ROC-AUC and PR-AUC on ``site_test`` per category, trained on the public data plus the
    first n site labels (a seeded order), for each n in ``sizes`` below the total and all."""
    from training.crossval import CountMatrices, evaluate_fold

    rng = np.random.default_rng(seed)
    order = rng.permutation(len(site_train))
    train_examples: list[Example] = []
    train_owner: list[int] = []  # the rank of the comment each example came from
    for rank, index in enumerate(order):
        for example in site_examples([site_train[index]]):
            train_examples.append(example)
            train_owner.append(rank)
    test_examples = [
        replace(e, source="site-test", group="site-test") for e in site_examples(site_test)
    ]
    examples = [*public, *train_examples, *test_examples]
    matrices = CountMatrices.build(examples, config)  # type: ignore[arg-type]
    n_public, n_train = len(public), len(train_examples)
    owner = np.asarray(train_owner, dtype=int)
    points = []
    for size in [s for s in sizes if s < len(site_train)] + [len(site_train)]:
        train_mask = np.zeros(len(examples), dtype=bool)
        train_mask[:n_public] = True
        train_mask[n_public : n_public + n_train] = owner < size
        point: dict = {"site_labels": size}
        for category in CATEGORIES:
            test_rows = np.asarray(
                [
                    n_public + n_train + i
                    for i, e in enumerate(test_examples)
                    if e.category == category
                ],
                dtype=int,
            )
            truth = np.asarray([examples[i].label for i in test_rows], dtype=int)
            if len(set(truth.tolist())) < 2:
                continue
            metrics = evaluate_fold(
                examples, matrices, category, train_mask, test_rows, truth, config, seed
            )  # type: ignore[arg-type]
            point[category] = {
                "roc_auc": metrics["roc_auc"],
                "pr_auc": metrics["average_precision"],
                "n": metrics["n"],
            }
        log(
            f"learning curve: {size} site labels: "
            + ", ".join(f"{c} ROC-AUC {point[c]['roc_auc']:.3f}" for c in CATEGORIES if c in point)
        )
        points.append(point)
    return points


def cross_source(
    examples: Sequence[Example],
    config: object,
    seed: int = 0,
    log: Callable[[str], None] = lambda line: None,
) -> dict[str, dict[str, float]]:
    """Train on every source but one, test on the one left out (``training.crossval``)."""
    from training.crossval import crossval_table

    return crossval_table(examples, config, seed, log=log)  # type: ignore[arg-type]
