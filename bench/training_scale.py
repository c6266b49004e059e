"""Training time and peak memory at a given number of comments; run once per size in a child.

``python -m bench.training_scale 30000`` trains the full pipeline (features, both heads, 5-fold
calibration: what ``python -m training build-default`` does) on that many comments and prints
one JSON line: seconds spent in ``train_pipeline`` and the process's peak resident memory.

The bundled data holds about 114,100 comments (and passages of speeches, which are no comments
and are not drawn). A sample below that keeps the sources' proportions; above it, every bundled
comment is used once and the rest are bundled comments drawn again, each with a word of another
comment of its language appended so no text repeats exactly.
"""

from __future__ import annotations

import json
import random
import resource
import sys
import time
from dataclasses import replace

from training.datasets import LABELED_CATEGORIES, Example, load_examples
from training.train import train_pipeline


def examples_of_size(count: int, seed: int = 0) -> list[Example]:
    """``count`` training examples drawn from the bundled data."""
    rng = random.Random(seed)
    pool = [e for e in load_examples() if e.category in LABELED_CATEGORIES]  # not the speeches
    if count <= len(pool):
        return rng.sample(pool, count)
    words: dict[str, list[str]] = {}
    for example in pool:
        words.setdefault(example.language, []).extend(example.text.split()[:3])
    extra = []
    for _ in range(count - len(pool)):
        example = rng.choice(pool)
        extra.append(replace(example, text=f"{example.text} {rng.choice(words[example.language])}"))
    return pool + extra


def measure(count: int) -> dict:
    examples = examples_of_size(count)
    before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    train_pipeline(examples)
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    # Peak of the whole process, data loading included; Linux reports KiB.
    return {
        "comments": count,
        "seconds": round(seconds, 2),
        "cpu_seconds": round(cpu, 2),
        "peak_rss_bytes": after.ru_maxrss * 1024,
    }


if __name__ == "__main__":
    print(json.dumps(measure(int(sys.argv[1]))))
