"""Score the bundled sets with alt-profanity-check, the scikit-learn peer issue #5 compares with.

alt-profanity-check ships its model as a pickle and pins its own scikit-learn, so it runs in a
virtual environment of its own, never in modq's; this script reads the bundled ``.jsonl.gz``
files with the standard library alone and needs nothing of modq installed::

    python3 -m venv /tmp/peer && /tmp/peer/bin/pip install alt-profanity-check
    /tmp/peer/bin/python bench/peer_profanity_check.py

It prints ROC-AUC per set beside nothing else: modq's own rows come from
``python -m training crossval``. The peer was trained on Davidson's tweets and Wikipedia talk
comments, so its rows for those two sets are in domain; the others it never saw.
"""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "training" / "data"

# (label, file, category, keep): each row's set as crossval names it.
SETS = (
    ("OLID (all)", "olid.jsonl.gz", "abuse", None),
    ("OLID test split", "olid.jsonl.gz", "abuse", "test"),
    ("Davidson (peer's training set)", "davidson.jsonl.gz", "abuse", None),
    ("Fox News", "fox_news.jsonl.gz", "abuse", None),
    ("Wikipedia talk (peer's training source)", "wiki_talk.jsonl.gz", "abuse", None),
    ("Civil Comments excerpt", "held_out/civil_comments.jsonl.gz", "abuse", None),
    ("Civil Comments, 24 other sites", "held_out/civil_comments_sample.jsonl.gz", "abuse", None),
    ("BEEP!", "korean_hate_speech.jsonl.gz", "abuse", None),
    ("Korean Curse", "korean_curse.jsonl.gz", "abuse", None),
    ("K-MHaS", "kmhas_train.jsonl.gz", "abuse", None),
    ("Korean malicious comments", "korean_malicious.jsonl.gz", "abuse", None),
    ("K-MHaS excerpt", "held_out/kmhas.jsonl.gz", "abuse", None),
    ("SMS spam (as spam)", "held_out/sms_spam.jsonl.gz", "spam", None),
)


def read(name: str, category: str, group: str | None) -> tuple[list[str], list[int]]:
    texts, labels = [], []
    with gzip.open(DATA / name, "rt", encoding="utf-8") as lines:
        for line in lines:
            record = json.loads(line)
            if group is None or record["group"] == group:
                texts.append(record["text"])
                labels.append(int(record[category]))
    return texts, labels


def main() -> int:
    try:
        from profanity_check import predict_prob
        from sklearn.metrics import roc_auc_score
    except ImportError:
        print(__doc__, file=sys.stderr)
        return 2
    for label, name, category, group in SETS:
        texts, labels = read(name, category, group)
        auc = roc_auc_score(labels, predict_prob(texts))
        print(f"{label:<42} n={len(texts):>6}  alt-profanity-check ROC-AUC {auc:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
