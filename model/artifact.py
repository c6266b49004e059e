"""The model file format: plain data only, verified before use, never unpickled.

A model is a folder holding

- ``manifest.json``: format, version, creation time, training-data hash, library versions,
  metrics, and the sha256 of every other file;
- ``weights.npz``: numeric arrays (idf per block, one coefficient row per category, intercepts),
  read with ``allow_pickle=False``;
- ``vocabulary.json.gz``: the terms of each block, in column order (the word-vector block,
  when there is one, lists its words; its arrays hold an idf and a score per category for each).

Loading checks every hash, so an edited or swapped file is refused rather than trusted.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

FORMAT = "modq-model"
# Version 2 added the optional word-vector block ("vectors" vocabulary, "vector_idf" and
# "vector_scores" arrays, one coefficient column per category, and "vector_prior_idf", absent in
# files exported before it and read as 0); version 1 models still load.
FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)
MANIFEST = "manifest.json"
WEIGHTS = "weights.npz"
VOCABULARY = "vocabulary.json.gz"
REQUIRED_ARRAYS = ("word_idf", "char_idf", "coef", "intercept")


class ModelFileError(Exception):
    """A model file is missing, unreadable, tampered with or of an unknown format."""


@dataclass(frozen=True)
class Artifact:
    """The verified contents of a model folder."""

    manifest: dict
    arrays: dict[str, np.ndarray]
    vocabulary: dict[str, list[str]]  # block name ("words", "chars") -> terms in column order


def write_artifact(
    out_dir: str | os.PathLike,
    arrays: dict[str, np.ndarray],
    vocabulary: dict[str, list[str]],
    manifest: dict,
) -> str:
    """Write a model folder; the version is the manifest's date plus a hash of the content.

    The bytes depend only on the content (zip and gzip timestamps are pinned), so rebuilding
    from the same data gives the same files and version.

    :param out_dir: folder to (over)write.
    :param arrays: the numeric arrays, including ``REQUIRED_ARRAYS``.
    :param vocabulary: terms per block.
    :param manifest: metadata; ``created_at`` (ISO-8601 UTC) is required.
    :return: the version string, e.g. ``2026.11.28-1a2b3c4d``.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = {WEIGHTS: _npz_bytes(arrays), VOCABULARY: _json_gz_bytes(vocabulary)}
    hashes = {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}
    content = hashlib.sha256("".join(hashes[name] for name in sorted(hashes)).encode())
    version = f"{manifest['created_at'][:10].replace('-', '.')}-{content.hexdigest()[:8]}"
    full = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        **manifest,
        "version": version,
        "files": hashes,
    }
    for name, data in files.items():
        (out / name).write_bytes(data)
    (out / MANIFEST).write_text(json.dumps(full, indent=2, sort_keys=True) + "\n")
    return version


def read_artifact(path: str | os.PathLike) -> Artifact:
    """Read and verify a model folder (or its ``manifest.json``).

    :param path: the folder, or the manifest inside it.
    :return: the verified contents.
    :raise ModelFileError: if a file is missing, altered, or not a modq model.
    """
    folder = Path(path)
    if folder.is_file() and folder.name == MANIFEST:
        folder = folder.parent
    manifest_path = folder / MANIFEST
    if not manifest_path.is_file():
        raise ModelFileError(f"no model at {folder}: {MANIFEST} not found")
    try:
        manifest = json.loads(manifest_path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ModelFileError(f"{manifest_path} is not a readable JSON manifest: {error}") from error
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ModelFileError(f"{manifest_path} is not a modq model manifest")
    if manifest.get("format_version") not in READABLE_VERSIONS:
        raise ModelFileError(
            f"{manifest_path} has model format version {manifest.get('format_version')!r}; "
            f"this modq reads versions {', '.join(map(str, READABLE_VERSIONS))}"
        )
    expected = manifest.get("files")
    if not isinstance(expected, dict) or set(expected) != {WEIGHTS, VOCABULARY}:
        raise ModelFileError(f"{manifest_path} does not list the model's files")
    contents = {}
    for name, digest in expected.items():
        file = folder / name
        try:
            data = file.read_bytes()
        except OSError as error:
            raise ModelFileError(f"model file {file} is missing or unreadable: {error}") from error
        if hashlib.sha256(data).hexdigest() != digest:
            raise ModelFileError(
                f"model file {file} does not match the sha256 in {MANIFEST}: it was modified "
                "or comes from another model; rebuild or reinstall the model"
            )
        contents[name] = data
    try:
        with np.load(io.BytesIO(contents[WEIGHTS]), allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
        vocabulary = json.loads(gzip.decompress(contents[VOCABULARY]))
    except (ValueError, OSError, zipfile.BadZipFile, json.JSONDecodeError) as error:
        raise ModelFileError(f"model files in {folder} cannot be decoded: {error}") from error
    artifact = Artifact(manifest, arrays, vocabulary)
    _check_shapes(artifact, folder)
    return artifact


def _check_shapes(artifact: Artifact, folder: Path) -> None:
    arrays, vocabulary = artifact.arrays, artifact.vocabulary
    missing = [key for key in REQUIRED_ARRAYS if key not in arrays]
    if missing:
        raise ModelFileError(f"model in {folder} lacks arrays {missing}")
    categories = artifact.manifest.get("categories", [])
    n_words, n_chars = len(vocabulary.get("words", [])), len(vocabulary.get("chars", []))
    n_signals = len(artifact.manifest.get("signals", []))
    # The optional word-vector block: a score per word and category, one column per category.
    n_vectors = len(vocabulary.get("vectors", []))
    vector_columns = len(categories) if "vectors" in vocabulary else 0
    consistent = (
        arrays["word_idf"].shape == (n_words,)
        and arrays["char_idf"].shape == (n_chars,)
        and arrays["coef"].shape
        == (len(categories), n_words + n_chars + vector_columns + n_signals)
        and arrays["intercept"].shape == (len(categories),)
        and (
            not vector_columns
            or (
                arrays.get("vector_idf", np.empty(0)).shape == (n_vectors,)
                and arrays.get("vector_scores", np.empty(0)).shape == (n_vectors, len(categories))
                and arrays.get("vector_prior_idf", np.zeros(1)).shape == (1,)
            )
        )
    )
    if not consistent:
        raise ModelFileError(f"model in {folder} has arrays that do not fit its vocabulary")


def _npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    # np.savez stamps the current time into the zip; pin it so equal arrays give equal bytes.
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(arrays):
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            array_bytes = io.BytesIO()
            np.lib.format.write_array(
                array_bytes, np.ascontiguousarray(arrays[name]), allow_pickle=False
            )
            archive.writestr(info, array_bytes.getvalue(), compresslevel=9)
    return buffer.getvalue()


def _json_gz_bytes(value: object) -> bytes:
    raw = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
    return gzip.compress(raw, compresslevel=9, mtime=0)
