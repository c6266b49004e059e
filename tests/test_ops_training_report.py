"""The retraining report's plots on thin data: one class only, or a minority of one."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.figure import Figure

from training.evaluate import CATEGORIES, ScoredSet
from training.report import EvaluationSection, _learning_curve_plot, _plots


@pytest.fixture
def saved_axes(monkeypatch) -> list[dict]:
    """The y-limits and titles of every axes of every figure the report saves."""
    seen: list[dict] = []
    original = Figure.savefig

    def savefig(figure, *args, **kwargs):
        seen.extend({"title": ax.get_title(), "ylim": ax.get_ylim()} for ax in figure.axes)
        return original(figure, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", savefig)
    return seen


def section(labels: dict[str, list[int]], scores: list[float] | None = None) -> EvaluationSection:
    rows = len(next(iter(labels.values())))
    rng = np.random.default_rng(0)
    scored = ScoredSet(
        languages=np.asarray(["en"] * rows, dtype=object),
        labels={c: np.asarray(labels.get(c, [-1] * rows)) for c in CATEGORIES},
        scores={c: np.asarray(scores) if scores else rng.random(rows) for c in CATEGORIES},
    )
    return EvaluationSection("Held-out labels (demo)", scored, {})


def test_one_class_data_draws_its_plots_without_warnings(tmp_path, saved_axes):
    # pytest turns warnings into errors: matplotlib's "No artists with labels" would fail this.
    names = _plots(section({"spam": [0] * 40, "abuse": [1] * 40}), tmp_path)
    assert len(names) == 2 and all((tmp_path / n).stat().st_size for n in names)
    assert _learning_curve_plot([], tmp_path) == "learning-curve.png"


@pytest.mark.parametrize("minority", [1, 4])
def test_the_smallest_bar_of_the_histogram_shows(tmp_path, saved_axes, minority):
    # The minority class all in one bin, every bin of the majority fuller than that.
    scores = [0.9] * minority + [i / 500 for i in range(500)]
    _plots(section({"spam": [1] * minority + [0] * 500}, scores), tmp_path)
    histogram = next(a for a in saved_axes if a["title"] == "spam: scores per class")
    bottom, top = histogram["ylim"]
    assert bottom < 1 and top > 20  # the minority's bar rises above the axis
