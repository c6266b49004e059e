"""The character n-gram columns of many words at once, with a few numpy operations.

Looking a word's n-grams up one by one in the vocabulary's dictionary costs about 70 lookups for
a five-syllable Korean word (its character 1-5 grams and jamo 2-5 grams), and a comment brings
words the scorer has not seen before all the time: Korean word forms (a stem with its particles
and endings) rarely repeat. Here each character of the vocabulary's n-grams gets a number below
2**11 (the default model's n-grams hold about 1,500 distinct characters), so an n-gram of up to
five characters is one integer, its characters' numbers 11 bits apart; the keys of every n-gram of
every word are built in one pass per n-gram length and found in the vocabulary's sorted keys.

A character that no vocabulary n-gram holds gets 0, which no vocabulary key holds, so an n-gram
with one is in no column: exactly the n-grams the vocabulary holds are found, in the order
``char_grams`` lists them, as the dictionary lookups find them (``tests/test_model.py``).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence

import numpy as np

from model.features import CHAR_NGRAM_RANGE, JAMO_NGRAM_RANGE
from model.normalize import GROUP_TOKEN, is_hangul_word

BITS = 11  # per character of a key
_SEPARATOR = "\x00"  # between words; never in an n-gram, so it numbers 0


class CharGramIndex:
    """A vocabulary of character n-grams (n-gram to column), for looking up many words at once.

    :raise ValueError: if the vocabulary's n-grams cannot be keyed (too many distinct characters
        or too long an n-gram for 63 bits); the scorer then looks words up one by one.
    """

    def __init__(self, vocabulary: Mapping[str, int]) -> None:
        alphabet = sorted({character for gram in vocabulary for character in gram})
        longest = max((len(gram) for gram in vocabulary), default=0)
        if len(alphabet) >= 2**BITS or longest * BITS > 63 or _SEPARATOR in alphabet:
            raise ValueError("the vocabulary's n-grams do not fit 63-bit keys")
        code_points = [ord(character) for character in alphabet]
        # One entry per code point up to the highest in the alphabet, and a last one (0) that
        # every higher code point is clipped to.
        self._numbers = np.zeros(max(code_points, default=0) + 2, dtype=np.int64)
        self._numbers[code_points] = np.arange(1, len(alphabet) + 1)
        number = dict(zip(alphabet, range(1, len(alphabet) + 1), strict=True))
        keys = np.fromiter(
            (
                sum(number[character] << (BITS * at) for at, character in enumerate(gram))
                for gram in vocabulary
            ),
            dtype=np.int64,
            count=len(vocabulary),
        )
        columns = np.fromiter(vocabulary.values(), dtype=np.intp, count=len(vocabulary))
        order = np.argsort(keys)
        self._keys = keys[order]
        self._columns = columns[order]

    def columns(self, words: Sequence[str]) -> list[np.ndarray]:
        """Per word, the columns of its character n-grams (``char_grams``) that the vocabulary
        holds, one per occurrence, in ``char_grams``' order."""
        if not words or not len(self._keys):
            return [np.empty(0, dtype=np.intp) for _ in words]
        plain, plain_owners, jamo, jamo_owners = [], [], [], []
        for i, word in enumerate(words):
            if word == GROUP_TOKEN:
                continue  # a group of people named: its letters are no group's
            plain.append(f" {word} ")
            plain_owners.append(i)
            if is_hangul_word(word):
                decomposed = unicodedata.normalize("NFD", word)
                if decomposed != word:
                    jamo.append(f" {decomposed} ")
                    jamo_owners.append(i)
        found_columns, found_owners = [], []
        for pieces, owners, (low, high) in (
            (plain, plain_owners, CHAR_NGRAM_RANGE),
            (jamo, jamo_owners, JAMO_NGRAM_RANGE),
        ):
            if pieces:
                columns, owner = self._lookup(pieces, owners, low, high)
                found_columns.append(columns)
                found_owners.append(owner)
        if not found_columns:
            return [np.empty(0, dtype=np.intp) for _ in words]
        columns = np.concatenate(found_columns)
        owner = np.concatenate(found_owners)
        # Word by word; within a word, its character n-grams by length, then its jamo n-grams.
        order = np.argsort(owner, kind="stable")
        columns = columns[order]
        ends = np.cumsum(np.bincount(owner, minlength=len(words))).tolist()
        starts = [0, *ends[:-1]]
        return [columns[start:end].copy() for start, end in zip(starts, ends, strict=True)]

    def _lookup(
        self, pieces: list[str], owners: list[int], low: int, high: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """The vocabulary columns of the ``low``-``high`` grams of each piece, and each one's
        owner, length by length and within a length by position."""
        text = _SEPARATOR.join(pieces)
        # A lone surrogate (from a JSON "\ud800" escape) is a code point like any other here.
        code_points = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        numbers = self._numbers[np.minimum(code_points, len(self._numbers) - 1)]
        lengths = np.fromiter(map(len, pieces), dtype=np.intp, count=len(pieces))
        # Each position's piece; a separator's position goes with the piece before it and starts
        # no n-gram, as its number is 0.
        owner_at = np.repeat(np.asarray(owners, dtype=np.intp), lengths + 1)[: len(numbers)]
        keys = np.zeros(len(numbers), dtype=np.int64)
        whole = np.ones(len(numbers), dtype=bool)
        found_keys, found_at = [], []
        for n in range(1, high + 1):
            count = len(numbers) - n + 1
            if count <= 0:
                break
            tail = numbers[n - 1 :]
            keys = keys[:count] + (tail << (BITS * (n - 1)))
            whole = whole[:count] & (tail != 0)
            if n >= low:
                at = np.flatnonzero(whole)
                found_keys.append(keys[at])
                found_at.append(at)
        if not found_keys:
            return np.empty(0, dtype=np.intp), np.empty(0, dtype=np.intp)
        wanted = np.concatenate(found_keys)
        places = np.searchsorted(self._keys, wanted)
        places[places == len(self._keys)] = 0
        hit = self._keys[places] == wanted
        return self._columns[places[hit]], owner_at[np.concatenate(found_at)[hit]]
