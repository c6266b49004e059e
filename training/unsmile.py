"""Korean comments of sites never trained on: the default model on Smilegate's UnSmile set.

``python -m training unsmile FILE`` scores a split of UnSmile (github.com/smilegate-ai/
korean_unsmile_dataset: Korean news and community comments, each labeled clean, abusive or
hateful against one or more groups by three annotators and checked by experts) and prints the
abuse head's ROC-AUC for "anything but clean", and for each kind of hate against the clean
comments. The set's licence (CC BY-NC-ND 4.0) allows no derivative, so it is neither bundled nor
trained on: it is read from the authors' file where it was downloaded.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

from model.scorer import Scorer
from training.reactions import REVIEW

CLEAN = "clean"
NOT_A_KIND = ("clean", "개인지칭")  # the clean label, and "names a person", which is no kind


@dataclass(frozen=True)
class UnSmileComment:
    text: str
    kinds: frozenset[str]  # the labels it carries, in the file's (Korean) names


def read_unsmile(path: Path) -> list[UnSmileComment]:
    """The comments of an UnSmile split: a header naming the labels, then per line the comment
    and a 0 or 1 per label, tab-separated (``unsmile_valid_v1.0.tsv``)."""
    with Path(path).open(encoding="utf-8", newline="") as file:
        rows = csv.reader(file, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = next(rows)
        labels = header[1:]
        if CLEAN not in labels:
            raise ValueError(f"{path}: the header names no {CLEAN!r} label; is it UnSmile's?")
        return [
            UnSmileComment(
                row[0],
                frozenset(label for label, v in zip(labels, row[1:], strict=True) if v == "1"),
            )
            for row in rows
            if len(row) == len(header) and row[0].strip()
        ]


def measure(comments: list[UnSmileComment], scores: np.ndarray) -> dict[str, tuple[int, float]]:
    """Per kind (and ``"any"``, every comment not labeled clean), how many comments carry it and
    the ROC-AUC of ``scores`` (one per comment) against the clean comments."""
    clean = np.array([CLEAN in c.kinds for c in comments])
    kinds = sorted({k for c in comments for k in c.kinds} - set(NOT_A_KIND))
    found = {}
    for kind in ["any", *kinds]:
        carries = ~clean if kind == "any" else np.array([kind in c.kinds for c in comments])
        if carries.any() and clean.any():
            rows = carries | clean
            found[kind] = (int(carries.sum()), float(roc_auc_score(carries[rows], scores[rows])))
    return found


def print_unsmile(scorer: Scorer, path: Path) -> None:
    comments = read_unsmile(path)
    scores = np.array([r.scores["abuse"] for r in scorer.score_many([c.text for c in comments])])
    clean = np.array([CLEAN in c.kinds for c in comments])
    print(f"model {scorer.version}: {len(comments)} comments of {path}, {clean.sum()} clean")
    for kind, (count, auc) in measure(comments, scores).items():
        print(f"  {kind:<10} {count:>5}  abuse ROC-AUC against the clean ones {auc:.3f}")
    flagged, wrongly = (scores >= REVIEW)[~clean].sum(), (scores >= REVIEW)[clean].sum()
    print(
        f"  at the review threshold ({REVIEW}): {flagged} of {(~clean).sum()} labeled "
        f"comments reach it, and {wrongly} of {clean.sum()} clean ones"
    )
