"""Realistic comments to send: bundled English and Korean ones, up to 250 characters, ~10% flagged.

Drawn from the labeled sets in ``training/data/`` (read with gzip and json, so the bench does not
depend on the training code): about 70% English and 30% Korean, about 10% of them labeled spam
or abuse, each at most 250 characters as the site's counter shows them.
"""

from __future__ import annotations

import gzip
import json
import random
from dataclasses import dataclass
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent.parent / "training" / "data"
MAX_LENGTH = 250
FLAGGED_SHARE = 0.10
KOREAN_SHARE = 0.30


@dataclass(frozen=True)
class Sample:
    """One comment from the bundled data."""

    text: str
    language: str
    flagged: bool


def bundled_samples(data_dir: Path = DATA_DIR) -> list[Sample]:
    """Every bundled comment, with whether it is labeled spam or abuse."""
    samples = []
    for path in sorted(data_dir.glob("*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as lines:
            for line in lines:
                record = json.loads(line)
                text = " ".join(record["text"].split())
                if text:
                    flagged = bool(record.get("spam") or record.get("abuse"))
                    samples.append(Sample(text, record["language"], flagged))
    return samples


def realistic_comments(count: int, seed: int = 0, data_dir: Path = DATA_DIR) -> list[Sample]:
    """``count`` comments up to 250 characters: ~30% Korean, ~10% flagged, in shuffled order."""
    rng = random.Random(seed)
    pools: dict[tuple[str, bool], list[Sample]] = {}
    for sample in bundled_samples(data_dir):
        if len(sample.text) <= MAX_LENGTH:
            pools.setdefault((sample.language, sample.flagged), []).append(sample)
    chosen = []
    for _ in range(count):
        language = "ko" if rng.random() < KOREAN_SHARE else "en"
        flagged = rng.random() < FLAGGED_SHARE
        chosen.append(rng.choice(pools[(language, flagged)]))
    return chosen


def comments_of_length(
    count: int, length: int = MAX_LENGTH, seed: int = 0, data_dir: Path = DATA_DIR
) -> list[Sample]:
    """``count`` comments of exactly ``length`` characters, made by joining bundled comments.

    Same language and flagged shares as :func:`realistic_comments`; what the Redis memory target
    is stated for ("per queued 250-character comment").
    """
    rng = random.Random(seed)
    pools: dict[str, list[Sample]] = {}
    for sample in bundled_samples(data_dir):
        pools.setdefault(sample.language, []).append(sample)
    made = []
    for sample in realistic_comments(count, seed, data_dir):
        text = sample.text
        while len(text) < length:
            text += " " + rng.choice(pools[sample.language]).text
        made.append(
            Sample(
                text[:length].rstrip() + "." * (length - len(text[:length].rstrip())),
                sample.language,
                sample.flagged,
            )
        )
    return made
