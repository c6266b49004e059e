"""How well the model carries to comments from places it was not trained on.

``python -m training crossval`` prints, per category, a leave-one-source-out table (train on every
source but one, test on the one left out; for spam, one medium: YouTube comments or e-mail) and
the in-domain checks: OLID's own test split for English abuse, YouTube video 5 (Shakira) held out
for spam, and that held-out video mixed with held-out news comments (Fox News, Korean
HateSpeech) as negatives, since ordinary news comments must not look like spam. Then the sets
in ``training/data/held_out/`` that no training reads (text-message spam, another Korean news
site's comments), with a model trained on every training source: the closest measure here of
how the shipped model does at a site it has never seen.

To make a dozen folds affordable, raw n-gram counts are computed once for all comments; each
fold then picks its vocabulary and idf from its own training rows only, exactly as
``TfidfVectorizer(min_df, max_features, sublinear_tf)`` would, so no fold sees its test source.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.preprocessing import normalize

from model.features import (
    CharCountVectorizer,
    CommentNormalizer,
    SignalFeatures,
    char_terms,
    commonest,
    group_terms,
    idf_weighted_mean,
    is_jamo_gram,
    vector_idf,
    word_rows,
    word_terms,
)
from training.datasets import (
    HELD_OUT,
    LABELED_CATEGORIES,
    SOURCES,
    Example,
    load_examples,
    load_held_out,
)
from training.train import (
    ColumnLayout,
    TrainingConfig,
    fit_logistic,
    head_column_weights,
    head_data,
    head_source_copies,
    weigh_columns,
)
from training.vectors import load_word_vectors


@dataclass
class CountMatrices:
    """Raw counts for every example, computed once per crossval run."""

    words: sparse.csr_matrix
    chars: sparse.csr_matrix
    char_is_jamo: np.ndarray  # per column of ``chars``: a jamo n-gram
    signals: sparse.csr_matrix
    group_words: np.ndarray  # columns of ``words`` of the group token alone
    group_pairs: np.ndarray  # and of the word pairs holding it
    vector_words: sparse.csr_matrix | None = None  # which words with a vector each comment has
    vectors: np.ndarray | None = None

    @classmethod
    def build(cls, examples: Sequence[Example], config: TrainingConfig) -> CountMatrices:
        comments = CommentNormalizer().transform([e.text for e in examples])
        # A term below min_df overall is below it in every fold, so it can be dropped up front.
        word_counts = CountVectorizer(
            analyzer=word_terms, lowercase=False, min_df=config.word_min_df, dtype=np.float64
        )
        words = word_counts.fit_transform(comments)
        alone, pairs = (
            np.asarray(g, np.intp) for g in group_terms(word_counts.get_feature_names_out())
        )
        char_counts = CharCountVectorizer(
            analyzer=char_terms, lowercase=False, min_df=config.char_min_df, dtype=np.float64
        )
        chars = char_counts.fit_transform(comments)
        jamo = np.asarray([is_jamo_gram(term) for term in char_counts.get_feature_names_out()])
        signals = SignalFeatures().fit(comments).transform(comments)
        vectors = load_word_vectors() if config.vector_scale else None
        if vectors is None:
            return cls(words.tocsr(), chars.tocsr(), jamo, signals.tocsr(), alone, pairs)
        index = {word: i for i, word in enumerate(vectors.words)}
        return cls(
            words.tocsr(),
            chars.tocsr(),
            jamo,
            signals.tocsr(),
            alone,
            pairs,
            word_rows(comments, index),
            vectors.vectors,
        )


def _tfidf_block(
    counts: sparse.csr_matrix, train_rows: np.ndarray, min_df: int, max_features: int
) -> tuple[Callable[[np.ndarray], sparse.csr_matrix], np.ndarray]:
    """Fit a block's vocabulary and idf on ``train_rows``; return the row transform and the
    columns of ``counts`` it keeps, in order."""
    train = counts[train_rows]
    df = np.asarray((train > 0).sum(axis=0)).ravel()
    total = np.asarray(train.sum(axis=0)).ravel()
    eligible = np.flatnonzero(df >= min_df)  # the columns are in the order of their terms
    columns = eligible[commonest(total[eligible], max_features)]
    idf = np.log((1 + len(train_rows)) / (1 + df[columns])) + 1.0

    def transform(rows: np.ndarray) -> sparse.csr_matrix:
        block = counts[rows][:, columns].tocsr()
        block.data = np.log(block.data) + 1.0
        return normalize(block @ sparse.diags(idf), norm="l2").tocsr()

    return transform, columns


def fold_features(
    matrices: CountMatrices, train_rows: np.ndarray, config: TrainingConfig
) -> tuple[Callable[[np.ndarray], sparse.csr_matrix], ColumnLayout]:
    """The feature transform a model trained on ``train_rows`` would use, and its layout."""
    words, word_columns = _tfidf_block(
        matrices.words, train_rows, config.word_min_df, config.word_features
    )
    chars, char_columns = _tfidf_block(
        matrices.chars, train_rows, config.char_min_df, config.char_features
    )
    vector_width = 0 if matrices.vectors is None else matrices.vectors.shape[1]
    layout = ColumnLayout(
        len(word_columns) + len(char_columns) + vector_width + matrices.signals.shape[1],
        len(word_columns),
        len(word_columns) + np.flatnonzero(matrices.char_is_jamo[char_columns]),
        vector_width,
        np.flatnonzero(np.isin(word_columns, matrices.group_words)),
        np.flatnonzero(np.isin(word_columns, matrices.group_pairs)),
    )
    blocks = [words, chars]
    if matrices.vector_words is not None:
        present = matrices.vector_words
        df = np.asarray(present[train_rows].sum(axis=0)).ravel()
        idf = vector_idf(df, len(train_rows))  # as WordVectorFeatures.fit

        def vectors(rows: np.ndarray) -> sparse.csr_matrix:
            mean = idf_weighted_mean(present[rows], idf, matrices.vectors, config.vector_prior_idf)
            return sparse.csr_matrix(config.vector_scale * mean)

        blocks.append(vectors)

    def transform(rows: np.ndarray) -> sparse.csr_matrix:
        return sparse.hstack([block(rows) for block in blocks] + [matrices.signals[rows]]).tocsr()

    return transform, layout


def evaluate_fold(
    examples: Sequence[Example],
    matrices: CountMatrices,
    category: str,
    train_mask: np.ndarray,
    test_rows: np.ndarray,
    test_labels: np.ndarray,
    config: TrainingConfig,
    seed: int = 0,
) -> dict[str, float]:
    """Train one head on the examples in ``train_mask``, score ``test_rows``."""
    train_examples = [e for e, keep in zip(examples, train_mask, strict=True) if keep]
    index = np.flatnonzero(train_mask)
    data = head_data(train_examples, category, config, seed)
    rows = index[data.rows]
    # The vocabulary comes from the labeled examples only, as in training (``fit_features``).
    labeled = np.asarray([e.category in LABELED_CATEGORIES for e in train_examples], dtype=bool)
    transform, layout = fold_features(matrices, index[labeled], config)
    features = transform(rows)
    column_weights = head_column_weights(category, config, layout)
    model = fit_logistic(
        weigh_columns(features, column_weights),
        replace(data, rows=rows),  # rows of ``examples``, not of ``train_examples``
        config.regularization[category],
        monotone_signals=category == "spam",
        copies=head_source_copies(category, config, layout),
    )
    model.coef_ *= column_weights  # folded in as an exported model has them
    scores = model.decision_function(transform(test_rows))
    return {
        "n": len(test_rows),
        "positives": int(test_labels.sum()),
        "roc_auc": float(roc_auc_score(test_labels, scores)),
        "average_precision": float(average_precision_score(test_labels, scores)),
    }


def crossval_table(
    examples: Sequence[Example],
    config: TrainingConfig | None = None,
    seed: int = 0,
    matrices: CountMatrices | None = None,
    log: Callable[[str], None] = print,
    categories: Sequence[str] = ("abuse", "spam"),
) -> dict[str, dict[str, float]]:
    """Run every fold of ``categories``; return ``{fold name: metrics}``."""
    config = config or TrainingConfig()
    matrices = matrices or CountMatrices.build(examples, config)
    sources = np.asarray([e.source for e in examples])
    groups = np.asarray([e.group for e in examples])
    labels = np.asarray([e.label for e in examples])
    # Only the training sources are ever trained on; the held-out sets are only tested on.
    trainable = np.isin(sources, list(SOURCES))
    results: dict[str, dict[str, float]] = {}

    def run(
        name: str,
        category: str,
        train_mask: np.ndarray,
        test_mask: np.ndarray,
        test_labels: np.ndarray | None = None,
    ) -> None:
        test_rows = np.flatnonzero(test_mask)
        truth = labels[test_rows] if test_labels is None else test_labels
        results[name] = evaluate_fold(
            examples, matrices, category, train_mask & trainable, test_rows, truth, config, seed
        )
        metrics = results[name]
        log(
            f"{name:<51} n={metrics['n']:>6} pos={metrics['positives']:>5} "
            f"ROC-AUC {metrics['roc_auc']:.3f}  AP {metrics['average_precision']:.3f}"
        )

    def leave_each_source_out(category: str) -> None:
        present = [
            source
            for source, (of, _) in SOURCES.items()
            if of == category and (sources == source).any()
        ]
        if len(present) < 2:  # nothing of the category would be left to train on
            return
        for source in present:
            held_out = sources == source
            run(f"{category}: leave out {source}", category, ~held_out, held_out)

    def never_trained_on(category: str) -> None:
        for source, (of, _) in HELD_OUT.items():
            if of == category and (sources == source).any():
                held_out = sources == source
                run(f"{category}: {source} (never trained on)", category, trainable, held_out)

    everything = np.ones(len(examples), dtype=bool)
    if "abuse" in categories:
        leave_each_source_out("abuse")
        never_trained_on("abuse")
        olid_test = (sources == "olid") & (groups == "test")
        run("abuse: OLID test split (in-domain)", "abuse", ~olid_test, olid_test)
        beep_dev = (sources == "korean_hate_speech") & (groups == "dev")
        run("abuse: Korean HateSpeech dev (in-domain)", "abuse", ~beep_dev, beep_dev)
        # Fox News with half its article threads held out, both ways round.
        articles = sorted(set(groups[sources == "fox_news"]))
        for half in (0, 1):
            held_out = (sources == "fox_news") & np.isin(groups, articles[half::2])
            run(
                f"abuse: Fox News articles half {half + 1} (in-domain)",
                "abuse",
                ~held_out,
                held_out,
            )
    if "spam" not in categories:
        return results
    # Spam from one medium (YouTube comments, e-mail) with the head trained on the other.
    leave_each_source_out("spam")
    never_trained_on("spam")
    for video in sorted(set(groups[sources == "youtube_spam"])):
        held_out = (sources == "youtube_spam") & (groups == video)
        run(f"spam: leave out video {video}", "spam", everything & ~held_out, held_out)
    # Spam against ordinary news comments the spam head never saw as negatives.
    shakira = (sources == "youtube_spam") & (groups == "shakira")
    news = np.isin(sources, ["fox_news", "korean_hate_speech"])
    test_mask = shakira | news
    test_labels = np.where(sources == "youtube_spam", labels, 0)[np.flatnonzero(test_mask)]
    run("spam: video shakira + news comments", "spam", ~test_mask, test_mask, test_labels)
    return results


def run_crossval(
    seed: int = 0, config: TrainingConfig | None = None, log: Callable[[str], None] = print
) -> dict[str, dict[str, float]]:
    """Print the leave-one-source-out table and the in-domain checks."""
    config = config or TrainingConfig()
    examples = load_examples()
    held_out = load_held_out()
    log(f"{len(examples)} examples and {len(held_out)} held out; counting n-grams once")
    examples += held_out
    matrices = CountMatrices.build(examples, config)
    log(f"word terms {matrices.words.shape[1]}, char terms {matrices.chars.shape[1]}")
    return crossval_table(examples, config, seed, matrices, log)
