"""Words run together read apart: "youareanidiot", "eatshit", and spaced-out letters joined
into one long word ("y o u a r e a n i d i o t").

A run-together word is cut where wordninja's English word frequencies (Zipf costs over about
126,000 words of Wikipedia) put the cheapest split, with the words a comment box watches for
(swear words, insults, spam words) ranked among the commonest, so "amoron" is "a moron" and not "amor on".
The split is taken only when it names one of those words, of four letters or more, and every
other piece is a common word (two-letter pieces only from a short list), so "killin",
"hoodie", "scunthorpe" and names stay whole. A word of the list is never split, nor any of the
126,000 words.
"""

from __future__ import annotations

import gzip
import io
import re
from collections.abc import Iterable
from functools import lru_cache
from itertools import product
from pathlib import Path

import wordninja

# A run of one character repeated (or alone); normalize reads stretched spellings with it too.
SAME_CHARACTER_RUN_RE = re.compile(r"(.)\1*")

MIN_LENGTH = 6  # shorter words run together ("eatit") are too often a word of their own
_COMMON = 30_000  # rank at or below which a piece counts as a common word
_COMMON_SHORT = 5_000  # the same for three-letter pieces
_WATCHED_RANK = 1_000
# A stretched word is read with two of each stretched letter where that is a word this common,
# or not this many times rarer than the best reading with fewer letters.
_COMMON_DOUBLED = 10_000
_MUCH_COMMONER = 20
_TWO_LETTER_WORDS = frozenset(
    [
        "a",
        "i",
        "am",
        "an",
        "as",
        "at",
        "be",
        "by",
        "do",
        "go",
        "he",
        "if",
        "in",
        "is",
        "it",
        "me",
        "my",
        "no",
        "of",
        "on",
        "or",
        "so",
        "to",
        "up",
        "us",
        "we",
    ]
)
# Endings that make a watched word another form of it, not two words ("killin", "slutty").
_INFLECTIONS = ("in", "en", "ed", "er", "ers", "es", "ey", "y", "ty", "ie", "ing", "s", "z")


class GluedWords:
    """Reads words run together, watching for the words of ``watched``."""

    def __init__(self, watched: Iterable[str]) -> None:
        self.watched = frozenset(watched)
        words = _wordninja_words()
        # Every word with its rank, the watched ones with the thousandth commonest word's.
        self._rank = {word: rank for rank, word in enumerate(words)}
        self._rank.update(dict.fromkeys(self.watched, _WATCHED_RANK))
        common = [w for w in words[:_COMMON] if w not in self.watched]
        self._common = {word: rank for rank, word in enumerate(common)}
        # Watched words rank with the thousandth commonest word: dear enough that "is a" still
        # beats "isa", cheap enough that "a moron" beats "amor on".
        ranked = "\n".join(
            [*common[:_WATCHED_RANK], *sorted(self.watched), *common[_WATCHED_RANK:]]
        )
        self._model = wordninja.LanguageModel(io.BytesIO(gzip.compress(ranked.encode())))
        # A split is kept only with a watched word of four letters or more among its pieces,
        # which then starts with one of these.
        self._watched_heads = frozenset(word[:4] for word in self.watched if len(word) >= 4)
        self.split = lru_cache(maxsize=50_000)(self._split)
        self.unstretched = lru_cache(maxsize=20_000)(self._unstretched)

    def _unstretched(self, word: str) -> str | None:
        """The word ``word`` spells with each run of three or more of a letter taken as one or
        two of it, or None to keep two of each.

        Two of each is kept where that spells a common word ("tooo" is "too", "offf" "off") or
        one about as common as the best reading with fewer letters ("ooops" is "oops", not
        "ops"); else the commonest reading is taken ("moooney" is "money", "sooo" "so",
        "maaake" "make"). None where no reading is a word, or there are more than 16.
        """
        options = [
            (run.group(1), run.group(1) * 2) if len(run.group()) >= 3 else (run.group(),)
            for run in SAME_CHARACTER_RUN_RE.finditer(word)
        ]
        if sum(len(option) == 2 for option in options) > 4:
            return None
        unknown = len(self._rank)
        doubled = self._rank.get("".join(option[-1] for option in options), unknown)
        if doubled < _COMMON_DOUBLED:
            return None
        rank, reading = min(
            (self._rank.get(spelling, unknown), spelling)
            for spelling in map("".join, product(*options))
            if len(spelling) > 1
        )
        if rank == unknown or (doubled < unknown and rank * _MUCH_COMMONER > doubled):
            return None
        return reading

    def _split(self, word: str) -> tuple[str, ...] | None:
        """The words ``word`` (lower-case ASCII letters) runs together, or None if it is one.

        :return: the pieces in order, or None when it should stay whole.
        """
        if len(word) < MIN_LENGTH or word in self._rank:
            return None
        if not (word.isascii() and word.isalpha()):
            return None
        if any(word.endswith(end) and word[: -len(end)] in self.watched for end in _INFLECTIONS):
            return None
        heads = self._watched_heads
        if not any(word[i : i + 4] in heads for i in range(len(word) - 3)):
            return None  # no watched word inside it: wordninja's search would be wasted
        pieces = self._model.split(word)
        if len(pieces) < 2 or not any(p in self.watched and len(p) >= 4 for p in pieces):
            return None
        for piece in pieces:
            if piece in self.watched:
                continue
            if len(piece) <= 2:
                if piece not in _TWO_LETTER_WORDS:
                    return None
            elif self._common.get(piece, _COMMON) >= (
                _COMMON_SHORT if len(piece) == 3 else _COMMON
            ):
                return None
        return tuple(pieces)


def _wordninja_words() -> list[str]:
    """wordninja's English words, commonest first."""
    # The list ships beside the module, in a folder of its name.
    path = Path(wordninja.__file__).with_name("wordninja") / "wordninja_words.txt.gz"
    return gzip.decompress(path.read_bytes()).decode("utf-8").split()
