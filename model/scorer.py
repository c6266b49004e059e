"""Score comments with an exported model, in plain Python.

``Scorer.score()`` re-implements the exported scikit-learn pipeline (TF-IDF over word and
character n-grams with sublinear tf and l2 norm per block, hand-made signals, one calibrated
logistic head per category): dictionary lookups per word (the character n-gram columns of each
distinct word cached, and those of the words a call has not seen before looked up all at once:
``model.chargrams``), then the TF-IDF arithmetic of all the comments of a call in a few numpy
calls over their term occurrences, counted in a scratch array rather than sorted. For one
comment or a batch this is far faster than calling scikit-learn;
``tests/test_model.py`` checks that both give the same probabilities.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import accumulate, islice
from pathlib import Path
from typing import NamedTuple

import numpy as np

from model.artifact import MANIFEST, Artifact, ModelFileError, read_artifact
from model.chargrams import CharGramIndex
from model.features import (
    SIGNAL_NAMES,
    SignalHit,
    char_grams,
    char_word_runs,
    signal_hits,
    vector_prior_idf,
    word_terms,
)
from model.language import detect_language
from model.normalize import NormalizedComment, normalize_comment

DEFAULT_MODEL_DIR = Path(__file__).with_name("default")
MAX_REASONS = 5  # terms and signals; a signal past the fifth is listed too
# Below this a category's words are not named: they would only be noise ("nothing stood out").
REASON_MIN_SCORE = 0.1
REASON_MIN_WEIGHT = 0.1  # logit units, for a signal
# A word must add this much: below it, common words ("are", "an") that lean slightly one way
# would crowd the list.
REASON_MIN_TERM_WEIGHT = 0.25
# ... and at least this share of what the strongest word adds, so a moderator sees the words that
# made the score, not every word that leaned the same way.
REASON_MIN_TERM_SHARE = 0.3
# Words never named: they carry the model's weight for a sentence's shape ("a", "your", "이 ...")
# but point a moderator at nothing.
_UNNAMED_WORDS = frozenset(
    (
        *("a", "an", "the", "and", "or", "but", "of", "to", "in", "on", "at", "for", "with"),
        *("is", "are", "was", "were", "be", "been", "it", "its", "this", "that", "these"),
        *("those", "i", "me", "my", "we", "our", "you", "your", "he", "him", "his", "she"),
        *("her", "they", "them", "their", "이", "그", "저", "것", "수", "좀"),
    )
)
NOTHING_STOOD_OUT = "no word or signal stood out"  # what a reason of kind "none" says
# Distinct words whose character n-gram columns are kept, past the vocabulary's own words (each
# about 600 bytes). The first looked up go first: the words comments use most are the
# vocabulary's, kept for good, so a word past them is rarely worth keeping longer.
WORD_CACHE_SIZE = 200_000
# New words of a call with fewer characters than this are looked up one by one: below it the
# dictionary beats ``CharGramIndex``'s fixed cost of a few dozen numpy calls.
LOOKUP_TOGETHER_CHARACTERS = 48
_TRIM = " \t\n.,;:!?\"'()[]{}<>«»“”‘’…-_*~"


@dataclass(frozen=True)
class Reason:
    """One thing that pushed a score up, or (kind "none") that nothing in the comment stood out."""

    category: str  # "spam" | "abuse"
    # "term" (a word or n-gram of the comment) | "signal" (a link, a phone number...) | "none"
    # (the score is low, or no word or signal added much: the model's base rate for such text)
    kind: str
    text: str  # as it appears in the comment, for highlighting; signal evidence for signals
    weight: float  # contribution to the category's logit
    signal: str = ""  # the signal's name, for kind == "signal"

    def describe(self) -> str:
        """A short human description, e.g. ``abuse: "idiot"`` or ``spam: link (bit.ly/x)``."""
        if self.kind == "term":
            return f'{self.category}: "{self.text}"'
        if self.kind == "none":
            return f"{self.category}: {NOTHING_STOOD_OUT}"
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
        # The word and character n-gram blocks share one column space, character n-grams after
        # the words as in the heads' coefficients, so a comment's terms go through the arithmetic
        # together.
        self._n_words = n_words
        self._word_index = {term: i for i, term in enumerate(self._word_terms)}
        self._char_index = {term: n_words + i for i, term in enumerate(vocabulary["chars"])}
        self._idf = np.concatenate(
            [np.asarray(arrays["word_idf"], np.float64), np.asarray(arrays["char_idf"], np.float64)]
        )
        # Rows are categories, columns terms: a comment's columns are gathered with one take, and
        # the arithmetic runs along the long axis.
        self._weights = np.ascontiguousarray(coef[:, : n_words + n_chars])
        # The word-vector block (optional): per word an idf and a score per category, averaged
        # over a comment's distinct words; the heads weigh its columns with the block of coef
        # after the character n-grams (the identity, as exported), folded in here.
        vector_words: list[str] = vocabulary.get("vectors", [])
        n_vector_columns = len(self.categories) if "vectors" in vocabulary else 0
        self._vector_index = {word: i for i, word in enumerate(vector_words)}
        self._vector_idf = np.asarray(arrays.get("vector_idf", np.empty(0)), dtype=np.float64)
        self._vector_prior = vector_prior_idf(arrays)
        head_block = coef[:, n_words + n_chars : n_words + n_chars + n_vector_columns]
        scores = arrays.get("vector_scores", np.empty((0, n_vector_columns)))
        self._vector_weights = np.ascontiguousarray(
            head_block @ np.asarray(scores, dtype=np.float64).T
        )
        first_signal = n_words + n_chars + n_vector_columns
        self._signal_weights = {
            name: coef[:, first_signal + i].copy() for i, name in enumerate(SIGNAL_NAMES)
        }
        self._intercept = np.asarray(arrays["intercept"], dtype=np.float64)
        # Scratch arrays for counting a comment's terms, one per thread.
        self._scratch = threading.local()
        self._scratch_size = n_words + n_chars
        # Per distinct word, the vocabulary columns of its character n-grams: the vocabulary's
        # own words (``warm``), kept for good, and the words comments brought since, the oldest
        # dropped past ``WORD_CACHE_SIZE``.
        self._vocabulary_word_columns: dict[str, np.ndarray] = {}
        self._recent_word_columns: dict[str, np.ndarray] = {}
        try:
            self._char_grams: CharGramIndex | None = CharGramIndex(self._char_index)
        except ValueError:
            self._char_grams = None

    def warm(self) -> None:
        """Fill the per-word cache with the words of the vocabulary, the words comments use most.

        A server calls this once before it forks its workers, so they share the filled cache
        instead of each paying for the same words on its first requests.
        """
        words = [term for term in self._word_terms if " " not in term]
        self._vocabulary_word_columns.update(zip(words, self._new_word_columns(words), strict=True))

    def score(self, text: str, language: str | None = None) -> ScoreResult:
        """Score one comment (see ``score_many``).

        :param text: the comment as submitted.
        :param language: its language if known; detected otherwise.
        :return: probabilities per category, the strongest reasons, language and model version.
        """
        return self.score_many([text], [language])[0]

    def score_many(
        self, texts: Sequence[str], languages: Sequence[str | None] | None = None
    ) -> list[ScoreResult]:
        """Score several comments; ``languages`` (if given) lines up with ``texts``.

        The words of each comment are looked up one by one; the TF-IDF arithmetic for all the
        comments is done in a few numpy calls, so a batch costs far less per comment than as
        many single calls.

        Every category gets reasons. One scoring at least ``REASON_MIN_SCORE`` gets the words of
        the comment whose features (the word, its pairs with its neighbours, its character
        n-grams, its share of the word-vector block) add the most to its logit, and the signals
        that pushed it up. One scoring lower, or with no word or signal adding much, gets one
        reason of kind ``"none"`` saying nothing stood out: the score is the model's base rate
        for such text, and words that nudge it a little ("thanks" leans towards spam in the
        training data) would only mislead a moderator.
        """
        if languages is None:
            languages = [None] * len(texts)
        if len(languages) != len(texts):
            raise ValueError("texts and languages must have the same length")
        comments = [normalize_comment(text) for text in texts]
        runs = [char_word_runs(comment) for comment in comments]
        columns = self._word_columns([run for words, _ in runs for run in words])
        found = []
        start = 0
        for comment, (words, run_of_token) in zip(comments, runs, strict=True):
            found.append(self._features(comment, run_of_token, columns[start : start + len(words)]))
            start += len(words)
        # One row per category, one column per comment.
        logits = np.repeat(self._intercept[:, None], len(found), axis=1)
        contributions = _add_tfidf(
            [f.columns for f in found],
            self._n_words,
            self._idf,
            self._weights,
            self._counts(),
            logits,
        )
        vector_rows = [row for f in found for row in f.vector_rows]
        if vector_rows:
            rows = np.asarray(vector_rows, np.intp)
            owners = np.repeat(np.arange(len(found)), [len(f.vector_rows) for f in found])
            shares = self._vector_idf.take(rows)
            shares /= (np.bincount(owners, shares) + self._vector_prior)[owners]
            vector_contributions = self._vector_weights.take(rows, axis=1) * shares
            for k, row in enumerate(logits):
                row += np.bincount(owners, vector_contributions[k], minlength=len(found))
        for i, features in enumerate(found):
            for hit in features.signals:
                logits[:, i] += hit.value * self._signal_weights[hit.name]
        scores = [
            {c: _sigmoid(float(z)) for c, z in zip(self.categories, column, strict=True)}
            for column in logits.T.tolist()
        ]
        # Per category, what each word of every comment added to its logit: only worked out when
        # some score is high enough to name words.
        run_offsets = list(accumulate((len(f.char_parts) for f in found), initial=0))
        by_run = None
        if any(value >= REASON_MIN_SCORE for s in scores for value in s.values()):
            credited = [_credited_runs(found, run_offsets, contributions)]
            if vector_rows:
                vector_credit_runs = [
                    r + run_offsets[i] for i, f in enumerate(found) for r in f.vector_runs
                ]
                credited.append((np.asarray(vector_credit_runs, np.intp), vector_contributions))
            runs = np.concatenate([runs for runs, _ in credited])
            credit = np.concatenate([c for _, c in credited], axis=1)
            by_run = np.stack([np.bincount(runs, row, minlength=run_offsets[-1]) for row in credit])

        results = []
        for i, (text, language, features) in enumerate(zip(texts, languages, found, strict=True)):
            reasons: list[Reason] = []
            for k, category in enumerate(self.categories):
                found_reasons = []
                if by_run is not None and scores[i][category] >= REASON_MIN_SCORE:
                    credit = by_run[k, run_offsets[i] : run_offsets[i + 1]]
                    found_reasons = self._reasons(k, category, features, credit)
                reasons.extend(found_reasons or [Reason(category, "none", "", 0.0)])
            results.append(
                ScoreResult(
                    scores=scores[i],
                    reasons=reasons,
                    language=language or detect_language(text),
                    model_version=self.version,
                )
            )
        return results

    def _counts(self) -> np.ndarray:
        """This thread's scratch array for counting a comment's terms, all zeros between uses."""
        counts = getattr(self._scratch, "counts", None)
        if counts is None:
            counts = self._scratch.counts = np.zeros(self._scratch_size)
        return counts

    def _features(
        self, comment: NormalizedComment, run_of_token: list[int], char_parts: list[np.ndarray]
    ) -> _Features:
        """What the arithmetic needs of one comment; ``char_parts`` are the character n-gram
        columns of each of its words (runs)."""
        columns, firsts, seconds = self._word_occurrences(comment, run_of_token)
        vector_rows, vector_runs = self._vector_occurrences(comment, run_of_token)
        return _Features(
            comment,
            run_of_token,
            np.concatenate([np.asarray(columns, np.intp), *char_parts]),
            firsts,
            seconds,
            char_parts,
            vector_rows,
            vector_runs,
            signal_hits(comment),
        )

    def _vector_occurrences(
        self, comment: NormalizedComment, run_of_token: list[int]
    ) -> tuple[list[int], list[int]]:
        """The comment's distinct words that have a vector, and the word (run) of each's first
        occurrence."""
        index = self._vector_index
        first_runs: dict[int, int] = {}
        if index:
            for position, token in enumerate(comment.tokens):
                row = index.get(token.text)
                if row is not None and row not in first_runs:
                    first_runs[row] = run_of_token[position]
        return list(first_runs), list(first_runs.values())

    def _word_occurrences(
        self, comment: NormalizedComment, run_of_token: list[int]
    ) -> tuple[list[int], list[int], list[int]]:
        """The vocabulary columns of the comment's word n-grams, and the words they belong to:
        for each occurrence its word (run), and for a pair of words the second one (else -1)."""
        terms = word_terms(comment)  # the words, then each word with the next one
        n_tokens = len(comment.tokens)
        found = [
            (at, column)
            for at, column in enumerate(map(self._word_index.get, terms))
            if column is not None
        ]
        words = [(at, column) for at, column in found if at < n_tokens]
        pairs = [(at - n_tokens, column) for at, column in found if at >= n_tokens]
        columns = [column for _, column in words] + [column for _, column in pairs]
        firsts = [run_of_token[at] for at, _ in words] + [run_of_token[at] for at, _ in pairs]
        seconds = [-1] * len(words) + [run_of_token[at + 1] for at, _ in pairs]
        return columns, firsts, seconds

    def _word_columns(self, words: list[str]) -> list[np.ndarray]:
        """Per word, the columns of its character n-grams; the words not met before are looked
        up together and kept."""
        found = list(map(self._vocabulary_word_columns.get, words))
        recent = self._recent_word_columns
        new: dict[str, None] = {}
        for i, word in enumerate(words):
            if found[i] is None:
                found[i] = recent.get(word)
                if found[i] is None:
                    new[word] = None
        if not new:
            return found  # type: ignore[return-value]  # every entry filled
        looked_up = dict(zip(new, self._new_word_columns(list(new)), strict=True))
        recent.update(looked_up)
        excess = len(recent) - WORD_CACHE_SIZE
        if excess > 0:
            # The oldest tenth goes at once, so a full cache is not trimmed on every call.
            for word in list(islice(recent, excess + WORD_CACHE_SIZE // 10)):
                recent.pop(word, None)
        return [
            looked_up[word] if columns is None else columns
            for word, columns in zip(words, found, strict=True)
        ]

    def _new_word_columns(self, words: list[str]) -> list[np.ndarray]:
        if self._char_grams is not None and sum(map(len, words)) >= LOOKUP_TOGETHER_CHARACTERS:
            return self._char_grams.columns(words)
        return [self._char_columns_one_by_one(word) for word in words]

    def _char_columns_one_by_one(self, word: str) -> np.ndarray:
        grams = map(self._char_index.get, char_grams(word))
        columns = [column for column in grams if column is not None]
        return np.asarray(columns, dtype=np.intp)

    def _reasons(
        self, k: int, category: str, features: _Features, by_run: np.ndarray
    ) -> list[Reason]:
        """The words that added the most to head ``k``, and the signals that pushed it up."""
        comment, run_of_token = features.comment, features.run_of_token
        reasons = []
        floor = max(REASON_MIN_TERM_WEIGHT, REASON_MIN_TERM_SHARE * float(by_run.max(initial=0)))
        for run in np.flatnonzero(by_run >= floor).tolist():
            first = run_of_token.index(run)
            last = first
            while last + 1 < len(run_of_token) and run_of_token[last + 1] == run:
                last += 1
            if first == last and comment.tokens[first].text in _UNNAMED_WORDS:
                continue
            start, end = comment.tokens[first].start, comment.tokens[last].end
            surface = comment.original[start:end].strip(_TRIM) or comment.original[start:end]
            reasons.append(Reason(category, "term", surface, float(by_run[run])))
        for hit in features.signals:
            weight = hit.value * float(self._signal_weights[hit.name][k])
            if weight >= REASON_MIN_WEIGHT:
                reasons.append(Reason(category, "signal", hit.evidence, weight, hit.name))
        reasons.sort(key=lambda reason: -reason.weight)
        reasons = _merge_same_text(reasons)
        # The strongest few, and every signal that pushed the score up: signals name a rule.
        return [r for i, r in enumerate(reasons) if i < MAX_REASONS or r.kind == "signal"]


class _Features(NamedTuple):
    """What ``Scorer`` looks at in one comment, before any arithmetic."""

    comment: NormalizedComment
    run_of_token: list[int]  # the word (run) each token went into
    # Columns of its word n-grams, one per occurrence, then of its character n-grams
    columns: np.ndarray
    word_firsts: list[int]  # per word n-gram occurrence its run, or that of a pair's first word
    word_seconds: list[int]  # the run of the second word of a pair, else -1
    char_parts: list[np.ndarray]  # per run, the columns of its character n-grams
    vector_rows: list[int]  # rows of the word-vector block, one per distinct word that has one
    vector_runs: list[int]  # the run of each one's first occurrence
    signals: list[SignalHit]


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


def _add_tfidf(
    columns: list[np.ndarray],
    n_words: int,
    idf: np.ndarray,
    weights: np.ndarray,
    counts: np.ndarray,
    logits: np.ndarray,
) -> np.ndarray:
    """Add the word and character TF-IDF blocks' contributions to each comment's logits.

    Mirrors ``TfidfVectorizer(sublinear_tf=True, norm="l2")`` for each block: per comment,
    tf = 1 + ln(count), times idf, divided by the l2 norm of the comment's row in that block.
    A term occurring several times in a comment shares its contribution equally between its
    occurrences, so a row's squared norm is the sum over occurrences of value² / count. Terms are
    counted in a scratch array, comment by comment, rather than sorted.

    :param columns: per comment, the column of each term occurrence; the columns of the word
        block are below ``n_words``, those of the character block from it on.
    :param weights: the heads' weights, one row per category, one column per term.
    :param counts: a scratch array as long as the columns, all zeros; left all zeros.
    :param logits: one row per category, one column per comment.
    :return: each occurrence's contribution: one row per category, one column per occurrence.
    """
    occurrences = []
    for comment_columns in columns:
        np.add.at(counts, comment_columns, 1.0)
        occurrences.append(counts.take(comment_columns))
        counts[comment_columns] = 0.0
    if len(columns) == 1:
        all_columns, times = columns[0], occurrences[0]
        owners = np.zeros(len(all_columns), np.intp)
    else:
        all_columns, times = np.concatenate(columns), np.concatenate(occurrences)
        owners = np.repeat(np.arange(len(columns)), [len(c) for c in columns])
    # Each comment's rows in the two blocks are normalised apart.
    rows = owners * 2 + (all_columns >= n_words)
    values = (np.log(times) + 1.0) * idf.take(all_columns)
    shares = values / times
    shares /= np.sqrt(np.bincount(rows, values * shares))[rows]
    contributions = weights.take(all_columns, axis=1) * shares
    for k, row in enumerate(logits):
        row += np.bincount(owners, contributions[k], minlength=len(row))
    return contributions


def _credited_runs(
    found: list[_Features], run_offsets: list[int], contributions: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The word (run, numbered across the call) each TF-IDF occurrence is credited to, and its
    contribution; a pair of words is credited half to each, so it is listed twice."""
    # Per comment, each word occurrence's run once, then each run once per character n-gram.
    runs: list[int] = []
    repeats: list[int] = []
    pair_occurrences: list[int] = []
    pair_runs: list[int] = []
    first = 0  # the index, across the call, of the comment's first occurrence
    for i, f in enumerate(found):
        offset = run_offsets[i]
        runs += [run + offset for run in f.word_firsts]
        repeats += [1] * len(f.word_firsts)
        runs += range(offset, run_offsets[i + 1])
        repeats += [len(part) for part in f.char_parts]
        for j, second in enumerate(f.word_seconds):
            if second >= 0:
                pair_occurrences.append(first + j)
                pair_runs.append(second + offset)
        first += len(f.columns)
    pairs = np.asarray(pair_occurrences, np.intp)
    contributions[:, pairs] *= 0.5
    return (
        np.concatenate(
            [np.repeat(np.asarray(runs, np.intp), repeats), np.asarray(pair_runs, np.intp)]
        ),
        np.concatenate([contributions, contributions[:, pairs]], axis=1),
    )


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
