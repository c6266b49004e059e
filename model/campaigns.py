"""Fingerprints that let the service see one text posted again and again (spam campaigns).

A campaign posts the same text, or nearly the same (a changed number, a swapped word, other
punctuation), under many comment ids and articles. Each text is reduced to its character
5-grams (case, width, digits and punctuation folded away) and summed up by MinHash: 12 hash
functions, grouped into 4 bands of 3. Two texts share a band only if all three minimums agree,
which near-copies almost always do in at least one band (about 94% for 80% overlap, more for
closer copies) and unrelated texts almost never do (about 0.05% for 5% overlap). The service
counts the comments per band fingerprint (``service.campaigns``). Short texts ("Great
article!") are left out: readers write those independently all the time.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Sequence
from itertools import accumulate

import numpy as np
import regex

from model.text import strip_invisible

MIN_WORDS = 6
SHINGLE = 5
BANDS = 4
ROWS = 3
_WORD = regex.compile(r"[\p{L}\p{M}]+")
# The same words in a folded ASCII text, found by the standard library's `re` (24 µs to 10 µs for a
# 250-character comment): folding leaves its letters lower case, and ASCII has no marks.
_ASCII_WORD = re.compile(r"[a-z]+")
# Multiply-shift hash functions: fixed odd multipliers and offsets, the same in every process.
_RNG = np.random.default_rng(20261128)
_MULTIPLIERS = _RNG.integers(1, 2**63, size=BANDS * ROWS, dtype=np.uint64) * np.uint64(
    2
) + np.uint64(1)
_OFFSETS = _RNG.integers(0, 2**63, size=BANDS * ROWS, dtype=np.uint64)
_SHINGLE_BASE = np.uint64(0x100000001B3)  # odd: the polynomial hash of a shingle's code points


def campaign_words(text: str) -> list[str]:
    """The words that identify a text: folded case and width, digits and punctuation dropped."""
    folded = unicodedata.normalize("NFKC", strip_invisible(text)).casefold()
    return (_ASCII_WORD if folded.isascii() else _WORD).findall(folded)


def fingerprints(text: str) -> tuple[str, ...]:
    """The band fingerprints of a text, ``"<band>-<12 hex>"``; empty for short texts."""
    return fingerprints_many([text])[0]


def fingerprints_many(texts: Sequence[str]) -> list[tuple[str, ...]]:
    """``fingerprints`` of each text, the hashing for all of them done in a few numpy calls.

    A shingle (5 characters of the text's words joined by spaces) is hashed as a polynomial in
    its code points modulo 2**64; each of the ``BANDS * ROWS`` multiply-shift functions spreads
    that hash, and the text's signature is each function's minimum over its shingles.
    """
    joined = [" ".join(words) for words in map(campaign_words, texts)]
    kept = [i for i, words in enumerate(joined) if words.count(" ") + 1 >= MIN_WORDS]
    found: list[tuple[str, ...]] = [()] * len(texts)
    if not kept:
        return found
    points = np.frombuffer(
        "".join(joined[i] for i in kept).encode("utf-32-le", "surrogatepass"), np.uint32
    ).astype(np.uint64)
    count = len(points) - SHINGLE + 1
    hashed = points[:count].copy()
    for j in range(1, SHINGLE):
        hashed *= _SHINGLE_BASE
        hashed += points[j : j + count]
    # The shingles inside each text: all but those starting in the last SHINGLE - 1 characters of
    # a text that another follows.
    lengths = [len(joined[i]) for i in kept]
    if len(kept) > 1:
        inside = np.ones(count, dtype=bool)
        for end in accumulate(lengths[:-1]):
            inside[end - SHINGLE + 1 : end] = False
        hashed = hashed[inside]
    firsts = list(accumulate((n - SHINGLE + 1 for n in lengths[:-1]), initial=0))
    spread = np.multiply.outer(hashed, _MULTIPLIERS)
    spread += _OFFSETS
    spread >>= np.uint64(32)
    width = ROWS * spread.itemsize
    for i, signature in zip(kept, np.minimum.reduceat(spread, firsts, axis=0), strict=True):
        raw = signature.tobytes()
        found[i] = tuple(
            f"{band}-"
            + hashlib.blake2b(raw[band * width : (band + 1) * width], digest_size=6).hexdigest()
            for band in range(BANDS)
        )
    return found


DEFAULT_CAMPAIGN_COPIES = 3


def campaign_probability(copies: int, threshold: int = DEFAULT_CAMPAIGN_COPIES) -> float:
    """How likely a text posted as ``copies`` distinct comments within the window is spam.

    Two copies happen (a reader posting twice); from ``threshold`` copies on (three by default)
    it looks like a campaign. A threshold of 0 turns the rule off.
    """
    if threshold <= 0 or copies < threshold:
        return 0.0
    return min(0.99, 0.6 + 0.1 * (copies - threshold))
