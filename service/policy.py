"""From scores and word lists to a decision: approve, review or reject."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import regex

from model.normalize import LEET_LETTERS
from model.text import strip_invisible
from service.sites import CATEGORIES, Site

# Characters commonly typed in place of letters to slip past word filters: the model's table,
# plus "8" for "b" and "|" read as "i", which would be too loose inside the model's words.
_LEET = str.maketrans({**LEET_LETTERS, "8": "b", "|": "i"})
_TOKEN = regex.compile(r"\S+")
_JOINERS = regex.compile(r"[\p{P}\p{S}_]+")
_EDGES = regex.compile(r"^\p{P}+|\p{P}+$")
_REPEATS = regex.compile(r"(\p{L})\1{2,}")
_ANY_REPEAT = regex.compile(r"(\p{L})\1+")
_SPELLED = regex.compile(r"^\p{L}(?:[.\-_*]\p{L})+[.]?$")
_HANGUL = regex.compile(r"[\p{Script=Hangul}]")


def fold(text: str) -> str:
    """Fold case, width and invisible characters, for matching word lists."""
    # Normalised again after casefold: "ß" + an accent folds to "ss" + the accent, which NFKC
    # composes to "sś"; without it, folding the result again would change it.
    folded = unicodedata.normalize("NFKC", strip_invisible(text)).casefold()
    return unicodedata.normalize("NFKC", folded)


def _variants(token: str) -> set[str]:
    """The forms a word may take once look-alike symbols, punctuation and stretching are undone.

    ``$cumb@g`` → ``scumbag``; ``idiot!`` → ``idiot``; ``iiidiot`` → ``idiot``.
    """
    trimmed = _EDGES.sub("", token)
    forms = {_JOINERS.sub("", trimmed.translate(_LEET)), _JOINERS.sub("", token)}
    for form in list(forms):
        forms.add(_REPEATS.sub(r"\1\1", form))
        forms.add(_ANY_REPEAT.sub(r"\1", form))
    forms.discard("")
    return forms


def _tokens(folded: str) -> set[str]:
    """Every form of every word, with runs of single letters joined (``i d i o t``, ``i.d.i.o.t``)."""
    words = _TOKEN.findall(folded)
    joined: list[str] = []
    run = ""
    for word in words:
        if len(_JOINERS.sub("", word)) <= 1 or _SPELLED.match(word):
            run += word
            continue
        if run:
            joined.append(run)
            run = ""
        joined.append(word)
    if run:
        joined.append(run)
    forms: set[str] = set()
    for word in joined:
        forms |= _variants(word)
    return forms


def find_listed_words(text: str, words: tuple[str, ...]) -> list[str]:
    """The list entries that occur in ``text`` despite case, width and common obfuscation.

    Latin-script entries match whole words, so ``ass`` does not match ``class``; Hangul entries
    match anywhere, because Korean attaches particles and endings to words.
    """
    if not words:
        return []
    folded = fold(text)
    tokens = _tokens(folded)
    squashed = _JOINERS.sub("", regex.sub(r"\s+", "", folded))
    hits = []
    for word in words:
        variants = _variants(fold(word).replace(" ", ""))
        if _HANGUL.search(word):
            if any(v in squashed for v in variants):
                hits.append(word)
        elif variants & tokens:
            hits.append(word)
    return hits


@dataclass(frozen=True)
class Decision:
    """The outcome for one comment and the reasons that the site's rules add to the model's."""

    decision: str
    rule_reasons: tuple[str, ...]


def decide(site: Site, scores: dict[str, float], text: str) -> Decision:
    """Apply the site's thresholds and word lists to a scored comment.

    Per category: below the review threshold approves, from it up to the reject threshold reviews,
    at or above the reject threshold rejects. A banned word rejects; a suspect word sends the
    comment to review. The strictest outcome wins.
    """
    reasons: list[str] = []
    outcome = "approve"
    for category in CATEGORIES:
        score = scores.get(category, 0.0)
        if score >= site.reject_thresholds[category]:
            outcome = "reject"
        elif score >= site.review_thresholds[category] and outcome == "approve":
            outcome = "review"
    banned = find_listed_words(text, site.banned_words)
    if banned:
        outcome = "reject"
        reasons.extend(f'banned word: "{w}"' for w in banned)
    suspect = find_listed_words(text, site.suspect_words)
    if suspect:
        if outcome == "approve":
            outcome = "review"
        reasons.extend(f'suspect word: "{w}"' for w in suspect)
    return Decision(outcome, tuple(reasons))
