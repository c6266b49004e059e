"""The labeled comment sets the default model is trained on.

``import_raw()`` converts the sets as their authors published them into compact gzipped JSON
lines under ``training/data/`` (one file per source, exact duplicate texts dropped);
``load_examples()`` reads them back. Each record is ``{"text", "language", "source", "group",
<category>: 0/1}`` where category is ``spam`` or ``abuse`` and ``group`` is a sub-split (a YouTube
video, the OLID test set, ...) used for validation.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

DATA_DIR = Path(__file__).with_name("data")

# Source name -> (category, language). The order is the order files are read and hashed in.
SOURCES: dict[str, tuple[str, str]] = {
    "youtube_spam": ("spam", "en"),
    "olid": ("abuse", "en"),
    "davidson": ("abuse", "en"),
    "fox_news": ("abuse", "en"),
    "wiki_talk": ("abuse", "en"),
    "korean_hate_speech": ("abuse", "ko"),
    "korean_curse": ("abuse", "ko"),
}


@dataclass(frozen=True)
class Example:
    """One labeled comment."""

    text: str
    category: str  # "spam" or "abuse": the label this example carries
    label: int
    language: str
    source: str
    group: str


def load_examples(
    data_dir: Path | None = None, sources: Iterable[str] | None = None
) -> list[Example]:
    """Read the bundled training sets.

    :param data_dir: folder holding ``<source>.jsonl.gz`` files; the package's own by default.
    :param sources: the sources to read; all of ``SOURCES`` by default.
    :return: the examples, in file order.
    """
    data_dir = Path(data_dir or DATA_DIR)
    examples = []
    for source in sources or SOURCES:
        category, _ = SOURCES[source]
        path = data_dir / f"{source}.jsonl.gz"
        with gzip.open(path, "rt", encoding="utf-8") as lines:
            for line in lines:
                record = json.loads(line)
                examples.append(
                    Example(
                        text=record["text"],
                        category=category,
                        label=int(record[category]),
                        language=record["language"],
                        source=record["source"],
                        group=record["group"],
                    )
                )
    return examples


def data_sha256(data_dir: Path | None = None) -> str:
    """Hash the bundled data files, so an artifact records exactly what it was trained on."""
    data_dir = Path(data_dir or DATA_DIR)
    digest = hashlib.sha256()
    for source in SOURCES:
        path = data_dir / f"{source}.jsonl.gz"
        digest.update(source.encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def import_raw(raw_dir: Path, out_dir: Path | None = None) -> dict[str, int]:
    """Convert the published sets under ``raw_dir`` into ``out_dir`` (``training/data/``).

    :param raw_dir: a folder laid out like ``/work/shared/data`` (one folder per set).
    :param out_dir: where the ``.jsonl.gz`` files go.
    :return: rows written per source.
    """
    raw_dir, out_dir = Path(raw_dir), Path(out_dir or DATA_DIR)
    out_dir.mkdir(parents=True, exist_ok=True)
    readers = {
        "youtube_spam": _read_youtube,
        "olid": _read_olid,
        "davidson": _read_davidson,
        "fox_news": _read_fox_news,
        "wiki_talk": _read_wiki_talk,
        "korean_hate_speech": _read_korean_hate_speech,
        "korean_curse": _read_korean_curse,
    }
    written = {}
    for source, read in readers.items():
        category, language = SOURCES[source]
        rows = _deduplicate(read(raw_dir))
        buffer = io.BytesIO()
        # mtime=0 keeps the gzip bytes, and so the data hash, identical across rebuilds.
        with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0, compresslevel=9) as gz:
            for text, label, group in rows:
                record = {
                    "text": text,
                    category: label,
                    "language": language,
                    "source": source,
                    "group": group,
                }
                gz.write((json.dumps(record, ensure_ascii=False) + "\n").encode())
        (out_dir / f"{source}.jsonl.gz").write_bytes(buffer.getvalue())
        written[source] = len(rows)
    return written


Row = tuple[str, int, str]  # text, label, group


def _deduplicate(rows: Iterable[Row]) -> list[Row]:
    # An exact duplicate keeps its first position and the positive label if any copy had one.
    kept: dict[str, Row] = {}
    for text, label, group in rows:
        text = text.strip()
        if not text:
            continue
        previous = kept.get(text)
        if previous is None:
            kept[text] = (text, label, group)
        elif label > previous[1]:
            kept[text] = (text, label, previous[2])
    return list(kept.values())


def _read_youtube(raw_dir: Path) -> Iterator[Row]:
    for path in sorted((raw_dir / "youtube_spam").glob("Youtube0*.csv")):
        video = path.stem.split("-", 1)[1].lower()  # Youtube05-Shakira.csv -> shakira
        with path.open(encoding="utf-8") as file:
            for row in csv.DictReader(file):
                yield row["CONTENT"], int(row["CLASS"]), video


def _read_olid(raw_dir: Path) -> Iterator[Row]:
    folder = raw_dir / "olid"
    with (folder / "olid-training-v1.0.tsv").open(encoding="utf-8") as file:
        for row in csv.DictReader(file, delimiter="\t", quoting=csv.QUOTE_NONE):
            yield row["tweet"], int(row["subtask_a"] == "OFF"), "train"
    with (folder / "labels-levela.csv").open(encoding="utf-8") as file:
        labels = {row["id"]: row["label"] for row in csv.DictReader(file)}
    with (folder / "testset-levela.tsv").open(encoding="utf-8") as file:
        for row in csv.DictReader(file, delimiter="\t", quoting=csv.QUOTE_NONE):
            yield row["tweet"], int(labels[row["id"]] == "OFF"), "test"


_TWITTER_LINK_RE = re.compile(r"https?://t\.co/\S*")


def _read_davidson(raw_dir: Path) -> Iterator[Row]:
    path = raw_dir / "davidson_hate_offensive" / "labeled_data.csv"
    with path.open(encoding="utf-8") as file:
        for row in csv.DictReader(file):
            # Twitter wraps every link in t.co; those links say nothing about the comment and
            # would teach the spam head that short links are normal.
            text = _TWITTER_LINK_RE.sub("", row["tweet"])
            # class 0 = hate speech, 1 = offensive, 2 = neither
            yield text, int(row["class"] in ("0", "1")), "all"


def _read_fox_news(raw_dir: Path) -> Iterator[Row]:
    path = raw_dir / "fox_news_comments" / "fox-news-comments.json"
    with path.open(encoding="utf-8") as file:
        for line in file:
            if line.strip():
                record = json.loads(line)
                yield record["text"], int(record["label"]), record["title"][:60]


def _read_wiki_talk(raw_dir: Path) -> Iterator[Row]:
    folder = raw_dir / "wiki_talk_toxicity"
    for name in ("gn", "gc"):
        with (folder / f"{name}.csv").open(encoding="utf-8") as file:
            for row in csv.DictReader(file):
                yield row["text"], int(row["label"]), name
    with (folder / "cat_small.csv").open(encoding="utf-8") as file:
        for row in csv.DictReader(file):
            # label_oc: annotators who did not see the parent post, as the model does not.
            yield row["text"], int(row["label_oc"]), "cat_small"


def _read_korean_hate_speech(raw_dir: Path) -> Iterator[Row]:
    folder = raw_dir / "korean_hate_speech"
    for split in ("train", "dev"):
        with (folder / f"{split}.tsv").open(encoding="utf-8") as file:
            for row in csv.DictReader(file, delimiter="\t", quoting=csv.QUOTE_NONE):
                yield row["comments"], int(row["hate"] in ("hate", "offensive")), split


def _read_korean_curse(raw_dir: Path) -> Iterator[Row]:
    path = raw_dir / "korean_curse" / "dataset.txt"
    with path.open(encoding="utf-8") as file:
        for line in file:
            text, sep, label = line.rstrip("\n").rpartition("|")
            if sep and label.strip() in ("0", "1"):
                yield text, int(label.strip()), "all"
