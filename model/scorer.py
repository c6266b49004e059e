"""Score comments with an exported model, in plain Python.

``Scorer.score()`` re-implements the exported scikit-learn pipeline (TF-IDF over word and
character n-grams with sublinear tf and l2 norm per block, hand-made signals, one calibrated
logistic head per category) with dictionary lookups (the character n-gram columns of each distinct
word cached), which for one comment is far faster than calling scikit-learn. ``tests/test_model.py`` checks that both give the same probabilities.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from model.artifact import MANIFEST, Artifact, ModelFileError, read_artifact
from model.features import (
    SIGNAL_NAMES,
    SignalHit,
    char_word_runs,
    signal_hits,
    word_char_grams,
    word_terms,
)
from model.language import detect_language
from model.normalize import NormalizedComment, normalize_comment

DEFAULT_MODEL_DIR = Path(__file__).with_name("default")
MAX_REASONS = 5  # terms and signals; a signal past the fifth is listed too
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
        n_words, n_chars = len(self._word_terms), len(vocabulary["chars"])
        self._word_index = {term: i for i, term in enumerate(self._word_terms)}
        self._char_index = {term: i for i, term in enumerate(vocabulary["chars"])}
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

        Reasons are listed for categories scoring at least ``REASON_MIN_SCORE``: the words of the
        comment whose n-grams (the word, its pairs with its neighbours, its character n-grams)
        add the most to the category's logit, and the signals that pushed the score up.

        :param text: the comment as submitted.
        :param language: its language if known; detected otherwise.
        :return: probabilities per category, the strongest reasons, language and model version.
        """
        comment = normalize_comment(text)
        runs, run_of_token = char_word_runs(comment)
        logits = self._intercept.copy()
        # Per word (run), what its n-grams added to each category's logit.
        by_run = np.zeros((len(runs), len(self.categories)))
        word_columns, firsts, seconds = self._word_occurrences(comment, run_of_token)
        contributions = _add_block(word_columns, self._word_idf, self._word_weights, logits)
        if contributions is not None:
            pairs = seconds >= 0
            contributions[pairs] *= 0.5  # a pair of words is credited half to each
            _credit(by_run, firsts, contributions)
            _credit(by_run, seconds[pairs], contributions[pairs])
        if runs:
            parts = [self._char_columns(run) for run in runs]
            columns = np.concatenate(parts) if len(parts) > 1 else parts[0]
            contributions = _add_block(columns, self._char_idf, self._char_weights, logits)
            if contributions is not None:
                owners = np.repeat(np.arange(len(runs)), [len(part) for part in parts])
                _credit(by_run, owners, contributions)
        signals = signal_hits(comment)
        for hit in signals:
            for k, weight in enumerate(self._signal_weights[hit.name]):
                logits[k] += hit.value * weight
        scores = {c: _sigmoid(float(z)) for c, z in zip(self.categories, logits, strict=True)}
        reasons: list[Reason] = []
        for k, category in enumerate(self.categories):
            if scores[category] >= REASON_MIN_SCORE:
                reasons.extend(
                    self._reasons(k, category, comment, run_of_token, by_run[:, k], signals)
                )
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

    def _word_occurrences(
        self, comment: NormalizedComment, run_of_token: list[int]
    ) -> tuple[list[int], np.ndarray, np.ndarray]:
        """The vocabulary columns of the comment's word n-grams, and the words they belong to:
        for each occurrence its word (run), and for a pair of words the second one (else -1)."""
        index = self._word_index
        n_tokens = len(comment.tokens)
        columns: list[int] = []
        firsts: list[int] = []
        seconds: list[int] = []
        for position, term in enumerate(word_terms(comment)):
            column = index.get(term)
            if column is None:
                continue
            columns.append(column)
            if position < n_tokens:  # a word
                firsts.append(run_of_token[position])
                seconds.append(-1)
            else:  # the pair of the word at position - n_tokens and the next one
                first = position - n_tokens
                firsts.append(run_of_token[first])
                seconds.append(run_of_token[first + 1])
        return columns, np.asarray(firsts, dtype=np.intp), np.asarray(seconds, dtype=np.intp)

    def _char_columns_uncached(self, word: str) -> np.ndarray:
        index = self._char_index
        return np.asarray([index[g] for g in word_char_grams(word) if g in index], dtype=np.intp)

    def _reasons(
        self,
        k: int,
        category: str,
        comment: NormalizedComment,
        run_of_token: list[int],
        by_run: np.ndarray,
        signals: list[SignalHit],
    ) -> list[Reason]:
        """The words that added the most to head ``k``, and the signals that pushed it up."""
        reasons = []
        for run in np.flatnonzero(by_run >= REASON_MIN_WEIGHT).tolist():
            first = run_of_token.index(run)
            last = first
            while last + 1 < len(run_of_token) and run_of_token[last + 1] == run:
                last += 1
            start, end = comment.tokens[first].start, comment.tokens[last].end
            surface = comment.original[start:end].strip(_TRIM) or comment.original[start:end]
            reasons.append(Reason(category, "term", surface, float(by_run[run])))
        for hit in signals:
            weight = hit.value * self._signal_weights[hit.name][k]
            if weight >= REASON_MIN_WEIGHT:
                reasons.append(Reason(category, "signal", hit.evidence, weight, hit.name))
        reasons.sort(key=lambda reason: -reason.weight)
        reasons = _merge_same_text(reasons)
        # The strongest few, and every signal that pushed the score up: signals name a rule.
        return [r for i, r in enumerate(reasons) if i < MAX_REASONS or r.kind == "signal"]


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


def _add_block(
    columns: Sequence[int] | np.ndarray, idf: np.ndarray, weights: np.ndarray, logits: np.ndarray
) -> np.ndarray | None:
    """Add one TF-IDF block's contribution to ``logits``; return it per occurrence.

    Mirrors ``TfidfVectorizer(sublinear_tf=True, norm="l2")``: tf = 1 + ln(count), times idf,
    divided by the l2 norm of the comment's row. A term occurring several times shares its
    contribution equally between its occurrences.

    :return: one row per entry of ``columns``, one column per category; None for no columns.
    """
    if len(columns) == 0:
        return None
    unique, inverse, counts = np.unique(
        np.asarray(columns, dtype=np.intp), return_inverse=True, return_counts=True
    )
    values = (np.log(counts) + 1.0) * idf[unique]
    values /= math.sqrt(float(values @ values))
    logits += values @ weights[unique]
    per_term = weights[unique] * (values / counts)[:, None]
    return per_term[inverse]


def _credit(by_run: np.ndarray, runs: np.ndarray, contributions: np.ndarray) -> None:
    """Add each row of ``contributions`` to the row of ``by_run`` its entry in ``runs`` names."""
    for k in range(by_run.shape[1]):
        by_run[:, k] += np.bincount(runs, contributions[:, k], minlength=len(by_run))


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
