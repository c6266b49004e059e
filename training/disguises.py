"""Machine-made disguises: how far a comment's score moves when a filter-dodger rewrites it.

``python -m training disguises`` applies each transformation of ``TRANSFORMS`` (the tricks of
people who dodge filters: case, leetspeak, stretched vowels, letters spaced or slashed apart,
look-alike letters, full width, masks, spaces taken out) to every comment of ``PLAIN`` (English
and Korean abuse and spam) and prints, per transformation, how many disguises score within
``TOLERANCE`` of their plain text in the plain text's category, then the misses. Issue-style
hand-written cases live in ``tests/test_model.py``; this battery finds what they did not think of.
"""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from model.scorer import Scorer

TOLERANCE = 0.1

# (category, comments): each scores high in its category when written plainly.
PLAIN: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "abuse",
        (
            "you are a fucking idiot",
            "shut up you stupid bitch",
            "what a piece of shit",
            "go fuck yourself",
            "this author is a moron",
            "you dumb asshole",
            "kill yourself loser",
            "fuck off and die",
            "you are retarded",
            "what a bunch of morons",
            "screw you, you pathetic loser",
            "he is a complete dickhead",
            "stupid cunt",
            "you're an ignorant bastard",
            "eat shit",
            "nobody cares, idiot",
            "bullshit article, crap writer",
            "you are such a whore",
            "what a dumb fuck",
            "piss off",
            "씨발 진짜 짜증나",
            "병신 같은 소리 하네",
            "개새끼야 꺼져",
            "미친놈 아니냐",
            "좆같은 기사",
            "지랄하고 있네",
            "닥쳐 이 새끼야",
            "또라이 새끼",
            "존나 한심하다",
            "시발놈들",
            "개소리 하지마",
        ),
    ),
    (
        "spam",
        (
            "subscribe to my channel for free gift cards",
            "buy cheap followers at www.cheapfollowers.com",
            "make money fast, contact me on whatsapp +1 555 123 4567",
            "check out my new video, click the link bit.ly/abc123",
            "free iphone giveaway visit freeiphone.com",
            "급전 대출 당일 입금 010-1234-5678",
            "무료 이벤트 bit.ly/abc123 클릭",
        ),
    ),
)

_LEET = str.maketrans("aeiost", "431057")
_LEET_SYMBOLS = str.maketrans("aisoe", "@!$03")
_CYRILLIC = str.maketrans("aeopcxyi", "аеорсхуі")
_FULL_WIDTH = {c: c + 0xFEE0 for c in range(0x21, 0x7F)}


def _words(text: str, rewrite: Callable[[str], str]) -> str:
    """``text`` with every word of three letters or more rewritten."""
    return " ".join(
        rewrite(word) if sum(ch.isalpha() for ch in word) >= 3 else word for word in text.split(" ")
    )


def _mask_inside(word: str) -> str:
    return word[0] + "*" * (len(word) - 2) + word[-1] if len(word) >= 4 else word


def _mask_second(word: str) -> str:
    return word[:1] + "*" + word[2:] if len(word) >= 4 else word


@dataclass(frozen=True)
class Transform:
    """One way of disguising a comment; ``latin`` ones only change Latin letters."""

    name: str
    apply: Callable[[str, random.Random], str]
    latin: bool = False


def _stretch(text: str, rng: random.Random) -> str:
    return _words(
        text, lambda w: "".join(c * 3 if c in "aeiou" and rng.random() < 0.5 else c for c in w)
    )


TRANSFORMS: tuple[Transform, ...] = (
    Transform("upper case", lambda t, rng: t.upper(), latin=True),
    Transform(
        "random case",
        lambda t, rng: "".join(c.upper() if rng.random() < 0.5 else c for c in t),
        latin=True,
    ),
    Transform("leetspeak", lambda t, rng: t.translate(_LEET), latin=True),
    Transform("leetspeak symbols", lambda t, rng: t.translate(_LEET_SYMBOLS), latin=True),
    Transform("stretched vowels", _stretch, latin=True),
    Transform("spaced letters", lambda t, rng: _words(t, " ".join)),
    Transform("dotted letters", lambda t, rng: _words(t, ".".join)),
    Transform("dashed letters", lambda t, rng: _words(t, "-".join)),
    Transform("zero-width spaces", lambda t, rng: _words(t, "\u200b".join)),
    Transform("emoji between letters", lambda t, rng: _words(t, "🔥".join)),
    Transform("Cyrillic look-alikes", lambda t, rng: t.translate(_CYRILLIC), latin=True),
    Transform("full width", lambda t, rng: t.translate(_FULL_WIDTH)),
    Transform(
        "accents",
        lambda t, rng: "".join(c + "\u0301" if c in "aeiou" else c for c in t),
        latin=True,
    ),
    Transform("masked inside", lambda t, rng: _words(t, _mask_inside), latin=True),
    Transform("second letter masked", lambda t, rng: _words(t, _mask_second), latin=True),
    Transform("decomposed (NFD)", lambda t, rng: unicodedata.normalize("NFD", t)),
    Transform("no spaces", lambda t, rng: t.replace(" ", "")),
    Transform("leetspeak, spaced", lambda t, rng: _words(t.translate(_LEET), " ".join), latin=True),
    Transform("upper case, stretched", lambda t, rng: _stretch(t, rng).upper(), latin=True),
)


@dataclass(frozen=True)
class Disguise:
    transform: str
    category: str
    plain: str
    disguised: str
    plain_score: float
    score: float

    @property
    def kept(self) -> bool:
        return self.plain_score - self.score <= TOLERANCE


def _has_hangul(text: str) -> bool:
    return any("\uac00" <= ch <= "\ud7a3" for ch in text)


def disguises(scorer: Scorer, seed: int = 0) -> list[Disguise]:
    """Every disguise of every plain comment, scored; a Latin-only transformation is skipped
    for Korean comments, where it would change nothing or only a link."""
    rng = random.Random(seed)
    found = []
    for category, texts in PLAIN:
        for plain in texts:
            plain_score = scorer.score(plain).scores[category]
            for transform in TRANSFORMS:
                if transform.latin and _has_hangul(plain):
                    continue
                disguised = transform.apply(plain, rng)
                score = scorer.score(disguised).scores[category]
                found.append(
                    Disguise(transform.name, category, plain, disguised, plain_score, score)
                )
    return found


def print_table(scorer: Scorer, seed: int = 0) -> None:
    """Per transformation, the disguises within ``TOLERANCE`` of their plain text; the misses."""
    found = disguises(scorer, seed)
    print(f"model {scorer.version}: within {TOLERANCE} of the plain text's score")
    for transform in TRANSFORMS:
        rows = [d for d in found if d.transform == transform.name]
        kept = sum(d.kept for d in rows)
        print(f"  {transform.name:<24} {kept:>3}/{len(rows):<3}")
    total = sum(d.kept for d in found)
    print(f"  {'all':<24} {total:>3}/{len(found):<3}")
    misses = [d for d in found if not d.kept]
    if misses:
        print("misses (plain score -> disguised score):")
        for d in misses:
            print(
                f"  {d.transform}: {d.plain!r} {d.plain_score:.2f} -> {d.disguised!r} {d.score:.2f}"
            )
