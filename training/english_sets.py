"""English comments of sites never trained on: the default model on two sets that are not bundled.

``python -m training english-sets [--insults FILE] [--sfu-toxicity FILE]`` prints the abuse
head's ROC-AUC on

- the test set of Impermium's "Detecting Insults in Social Commentary" (Kaggle, 2012:
  ``test_with_solutions.csv``, 2,647 comments of news and discussion sites, 693 labeled an insult
  to a participant of the conversation). The competition's rules allow no redistribution;
- the SFU Constructiveness and Toxicity Corpus (github.com/sfu-discourse-lab/
  Constructiveness_Toxicity_Corpus: ``SFU_constructiveness_toxicity.csv``, 1,121 comments of
  the Globe and Mail's opinion pages, each rated not, mildly, or (very) toxic by crowd workers),
  CC BY-NC-SA 4.0, measured at "mildly toxic or more" and at "toxic or more".

Neither is trained on or bundled: each is read from the file where it was downloaded.
"""

from __future__ import annotations

import codecs
import csv
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

from model.scorer import Scorer

# The SFU corpus's toxicity answers: 1 not toxic, 2 mildly toxic, 3 toxic, 4 very toxic.
SFU_LEVEL = "is_toxic_popular_answer_1"


@dataclass(frozen=True)
class RatedComment:
    text: str
    level: int  # 0 or 1 (an insult or not), or the SFU corpus's toxicity level 1-4


def read_insults(path: Path) -> list[RatedComment]:
    """Impermium's file: a header ``Insult,Date,Comment[,Usage]``, each comment in quotes with
    Python's string escapes (``\\n``, ``\\xa0``, UTF-8 bytes as ``\\xc3\\xa9``), some twice."""
    with Path(path).open(encoding="utf-8", newline="") as file:
        rows = csv.DictReader(file)
        if not {"Insult", "Comment"} <= set(rows.fieldnames or ()):
            raise ValueError(f"{path}: no Insult and Comment columns; is it Impermium's file?")
        return [RatedComment(_unescape(row["Comment"]), int(row["Insult"])) for row in rows]


# Runs of escaped bytes, most of them a character's UTF-8 bytes; a lone "\\xa0" is a space.
_HIGH_BYTES = re.compile("[\x80-\xff]+")


def _as_utf8(run: re.Match) -> str:
    try:
        return run.group().encode("latin-1").decode("utf-8")
    except UnicodeDecodeError:
        return run.group()


def _unescape(quoted: str) -> str:
    text = quoted.strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':
        text = text[1:-1]
    try:
        text = codecs.decode(text.encode("utf-8", "backslashreplace"), "unicode_escape")
    except UnicodeDecodeError:  # a stray backslash: the comment as it stands
        return text.strip()
    text = _HIGH_BYTES.sub(_as_utf8, text)
    # About a third of the line breaks were escaped twice ("\\\\n" in the file).
    return text.replace("\\n", "\n").strip()


def read_sfu_toxicity(path: Path) -> list[RatedComment]:
    """The SFU corpus's CSV: one row per comment, its text in ``comment`` and the majority's
    toxicity answer in ``is_toxic_popular_answer_1``."""
    with Path(path).open(encoding="utf-8", newline="") as file:
        rows = csv.DictReader(file)
        if not {"comment", SFU_LEVEL} <= set(rows.fieldnames or ()):
            raise ValueError(f"{path}: no comment and {SFU_LEVEL} columns; is it the SFU corpus?")
        return [RatedComment(row["comment"], int(row[SFU_LEVEL])) for row in rows]


def roc_auc(levels: list[int], scores: list[float], least: int) -> tuple[int, float]:
    """How many comments are at level ``least`` or above, and the ROC-AUC of ``scores`` for it."""
    labels = np.array([level >= least for level in levels])
    return int(labels.sum()), float(roc_auc_score(labels, scores))


def print_english_sets(scorer: Scorer, insults: Path | None, sfu: Path | None) -> None:
    print(f"model {scorer.version}")
    measured = []  # per file: its comments, and each name with the level it starts at
    if insults is not None:
        measured.append((read_insults(insults), [("Impermium insults", 1)]))
    if sfu is not None:
        names = [("SFU mildly toxic or more", 2), ("SFU toxic or more", 3)]
        measured.append((read_sfu_toxicity(sfu), names))
    for comments, names in measured:
        scores = [r.scores["abuse"] for r in scorer.score_many([c.text for c in comments])]
        levels = [c.level for c in comments]
        for name, least in names:
            positives, auc = roc_auc(levels, scores, least)
            print(f"  {name:<26} n={len(comments):>5} pos={positives:>5}  abuse ROC-AUC {auc:.3f}")
