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
                if "spam" not in record and "abuse" not in record:
                    continue  # ordinary text that is no comment (the speeches)
                text = " ".join(record["text"].split())
                if text:
                    flagged = bool(record.get("spam") or record.get("abuse"))
                    samples.append(Sample(text, record["language"], flagged))
    return samples


def realistic_comments(count: int, seed: int = 0, data_dir: Path = DATA_DIR) -> list[Sample]:
    """``count`` distinct comments up to 250 characters: ~30% Korean, ~10% flagged, shuffled.

    Texts do not repeat: the service rightly holds a text posted again and again as a spam
    campaign, which is not what a site's ordinary traffic looks like. Once a pool's bundled
    comments are used up, two of them are joined (and cut at a word to fit) for a new text.
    """
    rng = random.Random(seed)
    pools: dict[tuple[str, bool], list[Sample]] = {}
    for sample in bundled_samples(data_dir):
        if len(sample.text) <= MAX_LENGTH:
            pools.setdefault((sample.language, sample.flagged), []).append(sample)
    unused = {pool: rng.sample(samples, len(samples)) for pool, samples in pools.items()}
    chosen = []
    for _ in range(count):
        language = "ko" if rng.random() < KOREAN_SHARE else "en"
        flagged = rng.random() < FLAGGED_SHARE
        pool = (language, flagged)
        if unused[pool]:
            chosen.append(unused[pool].pop())
        else:
            first, second = rng.sample(pools[pool], 2)
            text = f"{first.text} {second.text}"
            if len(text) > MAX_LENGTH:
                text = text[: MAX_LENGTH + 1].rsplit(" ", 1)[0]
            chosen.append(Sample(text, language, flagged))
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
