"""Fingerprints that let the service see one text posted again and again (spam campaigns).

A campaign posts the same text, or nearly the same (a changed number, a swapped word, other
punctuation), under many comment ids and articles. Each text is reduced to its character
5-grams (case, width, digits and punctuation folded away) and summed up by MinHash: 12 hash
functions, grouped into 4 bands of 3. Two texts share a band only if all three minimums agree,
which near-copies almost always do in at least one band (about 94% for 80% overlap, more for
closer copies) and unrelated texts almost never do (about 0.05% for 5% overlap). The service
counts the distinct comment ids per band. Short texts ("Great article!") are left out: readers write those
independently all the time.
"""

from __future__ import annotations

import hashlib
import unicodedata
import zlib

import numpy as np
import regex

from model.text import strip_invisible

MIN_WORDS = 6
SHINGLE = 5
BANDS = 4
ROWS = 3
_WORD = regex.compile(r"[\p{L}\p{M}]+")
# Multiply-shift hash functions: fixed odd multipliers and offsets, the same in every process.
_RNG = np.random.default_rng(20261128)
_MULTIPLIERS = _RNG.integers(1, 2**63, size=BANDS * ROWS, dtype=np.uint64) * np.uint64(
    2
) + np.uint64(1)
_OFFSETS = _RNG.integers(0, 2**63, size=BANDS * ROWS, dtype=np.uint64)


def campaign_words(text: str) -> list[str]:
    """The words that identify a text: folded case and width, digits and punctuation dropped."""
    folded = unicodedata.normalize("NFKC", strip_invisible(text)).casefold()
    return _WORD.findall(folded)


def minhash(shingles: set[str]) -> np.ndarray:
    """The minimum of each hash function over the shingles (``BANDS * ROWS`` values)."""
    # CRC-32 is stable across processes and cheap; the multiply-shift family below spreads it.
    base = np.fromiter((zlib.crc32(s.encode()) for s in shingles), np.uint64, len(shingles))
    # uint64 arithmetic wraps around, which is what multiply-shift hashing wants.
    hashed = (base[:, None] * _MULTIPLIERS + _OFFSETS) >> np.uint64(32)
    return hashed.min(axis=0)


def fingerprints(text: str) -> tuple[str, ...]:
    """The band fingerprints of a text, ``"<band><8 hex>"``; empty for short texts."""
    words = campaign_words(text)
    if len(words) < MIN_WORDS:
        return ()
    joined = " ".join(words)
    shingles = {joined[i : i + SHINGLE] for i in range(len(joined) - SHINGLE + 1)}
    signature = minhash(shingles)
    return tuple(
        f"{band}-"
        + hashlib.blake2b(
            signature[band * ROWS : (band + 1) * ROWS].tobytes(), digest_size=6
        ).hexdigest()
        for band in range(BANDS)
    )


DEFAULT_CAMPAIGN_COPIES = 3


def campaign_probability(copies: int, threshold: int = DEFAULT_CAMPAIGN_COPIES) -> float:
    """How likely a text posted as ``copies`` distinct comments within the window is spam.

    Two copies happen (a reader posting twice); from ``threshold`` copies on (three by default)
    it looks like a campaign. A threshold of 0 turns the rule off.
    """
    if threshold <= 0 or copies < threshold:
        return 0.0
    return min(0.99, 0.6 + 0.1 * (copies - threshold))
