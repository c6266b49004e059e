"""Time one-comment scoring: the plain-Python fast path against the scikit-learn pipeline.

Usage: ``python bench/bench_scoring.py [--comments 300] [--rounds 5]``

The comments are distinct bundled comments of about 250 characters (English and Korean). The
fast path caches per-word work, so the first pass over unseen comments ("cold") is reported
apart from later passes ("warm"), which is what a running server sees for common words.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from model.scorer import DEFAULT_MODEL_DIR, load_default_model  # noqa: E402
from training.datasets import LABELED_CATEGORIES, load_examples  # noqa: E402
from training.train import pipeline_from_artifact  # noqa: E402


def comments_of_about(length: int, count: int, seed: int = 0) -> list[str]:
    """Distinct bundled comments, joined or cut to about ``length`` characters; half Korean."""
    rng = random.Random(seed)
    pool = [e.text.replace("\n", " ") for e in load_examples() if e.category in LABELED_CATEGORIES]
    rng.shuffle(pool)
    korean = [t for t in pool if any("\uac00" <= c <= "\ud7a3" for c in t)]
    english = [t for t in pool if not any("\uac00" <= c <= "\ud7a3" for c in t)]
    return _joined(english, length, count - count // 2) + _joined(korean, length, count // 2)


def _joined(pool: list[str], length: int, count: int) -> list[str]:
    texts, joined = [], ""
    for text in pool:
        joined = f"{joined} {text}".strip()
        if len(joined) >= length:
            texts.append(joined[:length])
            joined = ""
            if len(texts) == count:
                break
    return texts


def timings_ms(score, texts: list[str], rounds: int) -> tuple[list[float], list[float]]:
    """Per-comment times of the first round (cold) and of the later rounds (warm)."""
    cold, warm = [], []
    for round_number in range(rounds):
        for text in texts:
            started = time.perf_counter()
            score(text)
            elapsed = (time.perf_counter() - started) * 1000
            (cold if round_number == 0 else warm).append(elapsed)
    return cold, warm


def summary(name: str, times: list[float]) -> float:
    ordered = sorted(times)
    median = statistics.median(ordered)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    print(f"{name:<28} median {median:7.3f} ms   p99 {p99:7.3f} ms   (n={len(times)})")
    return median


@dataclass(frozen=True)
class Timings:
    """Per-comment times (ms) of both scorers: first round (cold) and later rounds (warm)."""

    version: str
    comments: int
    fast_cold: list[float]
    fast_warm: list[float]
    slow_cold: list[float]
    slow_warm: list[float]


def time_both(count: int, rounds: int, length: int = 250) -> Timings:
    """Score ``count`` comments of about ``length`` characters, one at a time, with the fast
    path (``rounds`` times) and with the sklearn pipeline it was exported from."""
    scorer = load_default_model()
    pipeline = pipeline_from_artifact(DEFAULT_MODEL_DIR)
    texts = comments_of_about(length, count)
    fast_cold, fast_warm = timings_ms(scorer.score, texts, rounds)
    slow_cold, slow_warm = timings_ms(
        lambda t: pipeline.predict_proba([t]), texts, max(2, rounds // 2)
    )
    return Timings(scorer.version, len(texts), fast_cold, fast_warm, slow_cold, slow_warm)


def measure(count: int, rounds: int, length: int = 250) -> dict[str, float]:
    """Median per-comment times (ms) of the fast path and of the sklearn pipeline, warm."""
    found = time_both(count, rounds, length)
    return {
        "fast_ms": statistics.median(found.fast_warm),
        "sklearn_ms": statistics.median(found.slow_warm),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--comments", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--length", type=int, default=250)
    args = parser.parse_args()

    found = time_both(args.comments, args.rounds, args.length)
    print(f"model {found.version}: {found.comments} comments of ~{args.length} characters")
    summary("fast path, cold (round 1)", found.fast_cold)
    fast = summary("fast path, warm", found.fast_warm)
    summary("sklearn pipeline, round 1", found.slow_cold)
    slow = summary("sklearn pipeline, later", found.slow_warm)
    print(f"speed-up (median, warm): {slow / fast:.1f}x")


if __name__ == "__main__":
    main()
