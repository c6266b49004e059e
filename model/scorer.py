"""Score comments with an exported model, in plain Python.

``Scorer.score()`` re-implements the exported scikit-learn pipeline (TF-IDF over word and
character n-grams with sublinear tf and l2 norm per block, hand-made signals, one calibrated
logistic head per category) with dictionary lookups, which for one comment is far faster than
calling scikit-learn. ``tests/test_model.py`` checks that both give the same probabilities.
"""

from __future__ import annotations

import math
import os
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import accumulate
from pathlib import Path
from typing import NamedTuple

import numpy as np

from model.artifact import MANIFEST, Artifact, ModelFileError, read_artifact
from model.features import (
    SIGNAL_NAMES,
    SignalHit,
    char_words,
    signal_hits,
    word_char_grams,
    word_terms,
)
from model.language import detect_language
from model.normalize import NormalizedComment, normalize_comment

DEFAULT_MODEL_DIR = Path(__file__).with_name("default")
MAX_REASONS = 5
REASON_MIN_SCORE = 0.1  # below this a category's reasons would only be noise
REASON_MIN_WEIGHT = 0.1  # logit units
_TRIM = " \t\n.,;:!?\"'()[]{}<>«»“”‘’…-_*~"


@dataclass(frozen=True)
class Reason:
    """One thing that pushed a score up."""

    category: str  # "spam" | "abuse"
    kind: str  # "term" (a word or n-gram of the comment) | "signal" (a link, a phone number...)
    text: str  # as it appears in the comment, for highlighting; signal evidence for signals
    weight: float  # contribution to the category's logit
    signal: str = ""  # the signal's name, for kind == "signal"

    def describe(self) -> str:
        """A short human description, e.g. ``abuse: "idiot"`` or ``spam: link (bit.ly/x)``."""
        if self.kind == "term":
            return f'{self.category}: "{self.text}"'
        if self.text:
            return f"{self.category}: {self.signal} ({self.text})"
        return f"{self.category}: {self.signal}"


@dataclass(frozen=True)
class ScoreResult:
    """Calibrated probabilities for each category, and why."""

    scores: dict[str, float]
    reasons: list[Reason]
    language: str
    model_version: str


class Scorer:
    """A loaded model. Safe to share between threads: scoring only reads its tables."""

    def __init__(self, artifact: Artifact) -> None:
        manifest, arrays, vocabulary = artifact.manifest, artifact.arrays, artifact.vocabulary
        self.metadata: dict = manifest
        self.version: str = manifest["version"]
        self.categories: tuple[str, ...] = tuple(manifest["categories"])
        if tuple(manifest.get("signals", ())) != SIGNAL_NAMES:
            raise ModelFileError("model was built with different signals than this modq computes")
        coef = np.asarray(arrays["coef"], dtype=np.float64)
        self._word_terms: list[str] = vocabulary["words"]
        self._char_terms: list[str] = vocabulary["chars"]
        n_words, n_chars = len(self._word_terms), len(self._char_terms)
        self._word_index = {term: i for i, term in enumerate(self._word_terms)}
        self._char_index = {term: i for i, term in enumerate(self._char_terms)}
        self._word_idf = np.asarray(arrays["word_idf"], dtype=np.float64)
        self._char_idf = np.asarray(arrays["char_idf"], dtype=np.float64)
        # Rows are terms, columns categories: gathering a comment's rows is one fancy index.
        self._word_weights = np.ascontiguousarray(coef[:, :n_words].T)
        self._char_weights = np.ascontiguousarray(coef[:, n_words : n_words + n_chars].T)
        self._signal_weights = {
            name: coef[:, n_words + n_chars + i].tolist() for i, name in enumerate(SIGNAL_NAMES)
        }
        self._intercept = np.asarray(arrays["intercept"], dtype=np.float64)
        # Per distinct word, the vocabulary columns of its character n-grams.
        self._char_columns = lru_cache(maxsize=200_000)(self._char_columns_uncached)

    def score(self, text: str, language: str | None = None) -> ScoreResult:
        """Score one comment.

        Reasons are listed for categories scoring at least ``REASON_MIN_SCORE``: the words with
        the largest positive contributions (word and character n-grams summed per word) and the
        signals that pushed the score up.

        :param text: the comment as submitted.
        :param language: its language if known; detected otherwise.
        :return: probabilities per category, the strongest reasons, language and model version.
        """
        comment = normalize_comment(text)
        runs = char_words(comment)
        logits = self._intercept.copy()
        words = self._word_block(comment, logits)
        chars = self._char_block(runs, logits)
        signals = signal_hits(comment)
        for hit in signals:
            for k, weight in enumerate(self._signal_weights[hit.name]):
                logits[k] += hit.value * weight
        scores = {c: _sigmoid(float(z)) for c, z in zip(self.categories, logits, strict=True)}
        reasons: list[Reason] = []
        for k, category in enumerate(self.categories):
            if scores[category] >= REASON_MIN_SCORE:
                reasons.extend(self._reasons(k, category, comment, runs, words, chars, signals))
        return ScoreResult(
            scores=scores,
            reasons=reasons,
            language=language or detect_language(text),
            model_version=self.version,
        )

    def score_many(
        self, texts: list[str], languages: Sequence[str | None] | None = None
    ) -> list[ScoreResult]:
        """Score several comments; ``languages`` (if given) lines up with ``texts``."""
        if languages is None:
            return [self.score(text) for text in texts]
        if len(languages) != len(texts):
            raise ValueError("texts and languages must have the same length")
        return [self.score(text, lang) for text, lang in zip(texts, languages, strict=True)]

    def _word_block(self, comment: NormalizedComment, logits: np.ndarray) -> _Block | None:
        index = self._word_index
        columns = [index[t] for t in word_terms(comment) if t in index]
        return _add_block(columns, self._word_idf, self._word_weights, logits)

    def _char_block(self, runs: list[str], logits: np.ndarray) -> _Block | None:
        parts = [self._char_columns(run) for run in runs]
        if not parts:
            return None
        columns = np.concatenate(parts) if len(parts) > 1 else parts[0]
        return _add_block(columns, self._char_idf, self._char_weights, logits)

    def _char_columns_uncached(self, word: str) -> np.ndarray:
        index = self._char_index
        return np.asarray([index[g] for g in word_char_grams(word) if g in index], dtype=np.intp)

    def _reasons(
        self,
        k: int,
        category: str,
        comment: NormalizedComment,
        runs: list[str],
        words: _Block | None,
        chars: _Block | None,
        signals: list[SignalHit],
    ) -> list[Reason]:
        """Sum the positive n-gram contributions per word of the comment, add the signals."""
        by_span: dict[tuple[int, int], float] = {}
        tokens = comment.tokens
        top_words = _top_positive(words, k, self._word_terms)
        if top_words:
            positions: dict[str, list[int]] = {}
            for i, token in enumerate(tokens):
                positions.setdefault(token.text, []).append(i)
            for term, contribution in top_words:
                first, _, second = term.partition(" ")
                starts = [
                    i
                    for i in positions.get(first, ())
                    if not second or (i + 1 < len(tokens) and tokens[i + 1].text == second)
                ]
                width = 2 if second else 1
                for i in starts:
                    for token in tokens[i : i + width]:
                        span = (token.start, token.end)
                        by_span[span] = by_span.get(span, 0.0) + contribution / width / len(starts)
        top_chars = _top_positive(chars, k, self._char_terms)
        if top_chars:
            located = _RunLocator(comment, runs)
            for gram, contribution in top_chars:
                spans = located.spans(gram)
                for span in spans:
                    by_span[span] = by_span.get(span, 0.0) + contribution / len(spans)
        reasons = []
        for (start, end), weight in by_span.items():
            if weight >= REASON_MIN_WEIGHT:
                surface = comment.original[start:end].strip(_TRIM) or comment.original[start:end]
                reasons.append(Reason(category, "term", surface, weight))
        for hit in signals:
            weight = hit.value * self._signal_weights[hit.name][k]
            if weight >= REASON_MIN_WEIGHT:
                reasons.append(Reason(category, "signal", hit.evidence, weight, hit.name))
        reasons.sort(key=lambda reason: -reason.weight)
        return _merge_same_text(reasons)[:MAX_REASONS]


def load_model(path: str | os.PathLike) -> Scorer:
    """Load and verify a model folder.

    :param path: the model folder or its ``manifest.json``.
    :raise ModelFileError: if the model is missing, tampered with or of an unknown format.
    """
    return Scorer(read_artifact(path))


def load_default_model() -> Scorer:
    """Load the model shipped with modq in ``model/default/``.

    :raise ModelFileError: if it is absent (build it with ``python -m training build-default``).
    """
    if not (DEFAULT_MODEL_DIR / MANIFEST).is_file():
        raise ModelFileError(
            f"no default model in {DEFAULT_MODEL_DIR}; build it with "
            "`python -m training build-default`"
        )
    return load_model(DEFAULT_MODEL_DIR)


class _Block(NamedTuple):
    columns: np.ndarray  # vocabulary columns present in the comment
    values: np.ndarray  # their l2-normalised tf-idf values
    weights: np.ndarray  # their coefficients, one column per category


def _add_block(
    columns: Sequence[int] | np.ndarray, idf: np.ndarray, weights: np.ndarray, logits: np.ndarray
) -> _Block | None:
    """Add one TF-IDF block's contribution to ``logits``.

    Mirrors ``TfidfVectorizer(sublinear_tf=True, norm="l2")``: tf = 1 + ln(count), times idf,
    divided by the l2 norm of the comment's row.
    """
    if len(columns) == 0:
        return None
    unique, counts = np.unique(np.asarray(columns, dtype=np.intp), return_counts=True)
    values = (np.log(counts) + 1.0) * idf[unique]
    values /= math.sqrt(float(values @ values))
    gathered = weights[unique]
    logits += values @ gathered
    return _Block(unique, values, gathered)


def _top_positive(
    block: _Block | None, k: int, terms: list[str], limit: int = 12
) -> list[tuple[str, float]]:
    """The terms with the largest positive contributions to head ``k``."""
    if block is None:
        return []
    contributions = block.values * block.weights[:, k]
    # Terms below a hundredth of a logit cannot change which words are named.
    candidates = np.flatnonzero(contributions > 0.01)
    if len(candidates) > limit:
        candidates = candidates[np.argpartition(-contributions[candidates], limit)[:limit]]
    candidates = candidates[np.argsort(-contributions[candidates])]
    return [(terms[block.columns[i]], float(contributions[i])) for i in candidates]


class _RunLocator:
    """Finds which tokens of a comment a character n-gram came from."""

    def __init__(self, comment: NormalizedComment, runs: list[str]) -> None:
        # The padded runs laid end to end: a gram (which has spaces only at its ends) occurs in
        # this string exactly where it occurs in a run.
        self.padded = " " + "  ".join(runs) + " "
        self.runs = runs
        self.tokens = comment.tokens
        # Offset of each run's first letter in ``padded``.
        self.run_starts = list(accumulate([len(run) + 2 for run in runs], initial=1))
        # Index of each run's first token; runs are single tokens unless Hangul was joined.
        self.first_token: list[int] = list(range(len(runs)))
        if len(runs) != len(self.tokens):
            self.first_token = []
            index = 0
            for run in runs:
                self.first_token.append(index)
                consumed = 0
                while consumed < len(run) and index < len(self.tokens):
                    consumed += len(self.tokens[index].text)
                    index += 1

    def spans(self, gram: str) -> list[tuple[int, int]]:
        """Comment spans of the tokens each occurrence of ``gram`` overlaps."""
        found = []
        position = self.padded.find(gram)
        while position >= 0:
            run = max(bisect_right(self.run_starts, position) - 1, 0)
            index = self.first_token[run]
            token = self.tokens[index]
            if len(token.text) == len(self.runs[run]):
                found.append((token.start, token.end))
            else:
                start = position - self.run_starts[run]
                end = start + len(gram)
                offset = 0
                while offset < len(self.runs[run]) and index < len(self.tokens):
                    token = self.tokens[index]
                    if offset < end and start < offset + len(token.text):
                        found.append((token.start, token.end))
                    offset += len(token.text)
                    index += 1
            position = self.padded.find(gram, position + 1)
        return found


def _merge_same_text(reasons: list[Reason]) -> list[Reason]:
    """Keep one reason per (kind, text): a word repeated in a comment is one reason."""
    seen: set[tuple[str, str, str]] = set()
    merged = []
    for reason in reasons:
        key = (reason.kind, reason.text.casefold(), reason.signal)
        if key not in seen:
            seen.add(key)
            merged.append(reason)
    return merged


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)
