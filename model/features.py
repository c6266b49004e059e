"""What the model looks at in a comment: word n-grams, character n-grams and hand-made signals.

The same functions feed the scikit-learn pipeline at training time (as ``TfidfVectorizer``
analyzers and a transformer) and the scorer's fast path at serving time, so the two cannot drift.
"""

from __future__ import annotations

import math
import re
import string
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from numbers import Integral

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

from model.normalize import (
    EMAIL_TOKEN,
    GROUP_TOKEN,
    INTERLEAVED_RE,
    LINK_SHORTENERS,
    SPELLED_DOT_RE,
    URL_TOKEN,
    NormalizedComment,
    is_hangul_word,
    match_hangul_start,
    normalize_comment,
)
from model.text import fold_width

# Single characters (a Korean syllable such as 놈 or 년 is a word on its own) and jamo pairs
# (an initial with its vowel: 씨/시, 빨/발) measured better across sources than 2-5 and 3-5:
# Korean HateSpeech held out 0.705 -> 0.713, K-MHaS 0.803 -> 0.812, SMS 0.970 -> 0.976, the
# English sources +0.001 to +0.004.
CHAR_NGRAM_RANGE = (1, 5)
JAMO_NGRAM_RANGE = (2, 5)


def word_terms(comment: NormalizedComment) -> list[str]:
    """Word unigrams and bigrams of a normalised comment."""
    words = [token.text for token in comment.tokens]
    return words + [f"{a} {b}" for a, b in zip(words, words[1:], strict=False)]


def group_terms(terms: Iterable[str]) -> tuple[list[int], list[int]]:
    """Which of ``word_terms``' terms are the group token alone and which a pair holding it.

    :return: the positions in ``terms`` of each kind.
    """
    alone, pairs = [], []
    for i, term in enumerate(terms):
        if term == GROUP_TOKEN:
            alone.append(i)
        elif GROUP_TOKEN in term.split(" "):
            pairs.append(i)
    return alone, pairs


def char_words(comment: NormalizedComment) -> list[str]:
    """The words character n-grams are taken from.

    Spacing a Korean word apart ("병 신") is a common dodge, so a one-syllable Hangul word is
    joined to its Hangul neighbours. Longer Hangul words stay apart: joining every run of Hangul
    words blurs word boundaries and measurably hurts across sources.
    """
    return char_word_runs(comment)[0]


def char_word_runs(comment: NormalizedComment) -> tuple[list[str], list[int]]:
    """``char_words(comment)``, and for each token the index of the word it went into."""
    runs: list[str] = []
    run_of_token: list[int] = []
    previous_hangul = False
    previous_short = False
    for token in comment.tokens:
        text = token.text
        hangul = match_hangul_start(text) is not None
        short = hangul and len(text) == 1
        if hangul and previous_hangul and (short or previous_short):
            runs[-1] += text
        else:
            runs.append(text)
        run_of_token.append(len(runs) - 1)
        previous_hangul, previous_short = hangul, short
    return runs, run_of_token


def char_terms(comment: NormalizedComment) -> list[str]:
    """Character n-grams of each word (see ``char_grams``)."""
    grams: list[str] = []
    for word in char_words(comment):
        grams.extend(word_char_grams(word))
    return grams


def char_grams(word: str) -> tuple[str, ...]:
    """Character n-grams of one word.

    1-5 grams of the space-padded word, like scikit-learn's ``char_wb``. A Hangul word also
    gets 2-5 grams of its jamo (initial, medial, final letters), so near-spellings such as
    "씨빨"/"씨발" or "섀끼"/"새끼" share features.
    """
    if word == GROUP_TOKEN:
        # A group of people named (``GROUP_WORDS``): its letters are no group's.
        return ()
    grams = _grams(f" {word} ", *CHAR_NGRAM_RANGE)
    if is_hangul_word(word):
        decomposed = unicodedata.normalize("NFD", word)
        if decomposed != word:
            grams.extend(_grams(f" {decomposed} ", *JAMO_NGRAM_RANGE))
    return tuple(grams)


def is_jamo_gram(gram: str) -> bool:
    """Whether a character n-gram is one of the jamo n-grams ``char_grams`` adds for Hangul."""
    return any("\u1100" <= character <= "\u11ff" for character in gram)


# ``char_terms`` meets the same words comment after comment (in a pipeline rebuilt from a model
# file; training counts each distinct word once, ``WordwiseCharCounts``): ``char_grams`` cached.
# A word's n-grams as strings cost about 5 KB, so the cache is small: over 100,000 comments
# 10,000 words answer 88% of the calls, and 200,000 cost 340 MB more for no time saved. The
# scorer caches each word's vocabulary columns instead, a tenth of the memory.
word_char_grams = lru_cache(maxsize=10_000)(char_grams)


def _grams(padded: str, low: int, high: int) -> list[str]:
    length = len(padded)
    return [
        padded[i : i + n] for n in range(low, min(high, length) + 1) for i in range(length - n + 1)
    ]


@dataclass(frozen=True)
class SignalHit:
    """A hand-made signal that fired, with the text that triggered it."""

    name: str
    value: float
    evidence: str


_URL_CHARACTERS_RE = re.compile(r"[a-z0-9_./?=&%#:~+-]*")
_MESSENGER_LINKS = ("t.me/", "wa.me/", "open.kakao", "discord.gg", "chat.whatsapp", "line.me")
_PHONE_RE = re.compile(
    r"(?<!\d)(?:\+\d{1,3}[\s.-]?)?(?:\(?\d{2,4}\)?[\s.-]?)?\d{3,4}[\s.-]?\d{4}(?!\d)"
)
_DIGIT_RE = re.compile(r"\d")
_DIGIT_LOOKALIKE_RE = re.compile(r"(?<=\d)[lIoO|]|[lIoO|](?=\d)")
_AS_DIGITS = str.maketrans("lIoO|", "11001")
# Keycap emoji digits ("5️⃣": a digit, a variation selector and U+20E3) read as digits.
_KEYCAP_MARKS = str.maketrans("", "", "\ufe0f\u20e3")
_MONEY_RE = re.compile(r"[$£€₩]\s?\d[\d,.]*|\d[\d,.]*\s?(?:dollars|usd|bucks|만원|원)\b", re.I)
_REPEATED_RE = re.compile(r"(\S)\1{3,}")
_UPPER = string.ascii_uppercase.encode()
_ASCII_LETTERS = string.ascii_letters.encode()


def _phrases(name: str, words: str) -> dict[str, str]:
    return {phrase.strip(): name for phrase in words.split(",") if phrase.strip()}


# Word n-grams (of normalised tokens, so "sub$cribe" and "SUBSCRIBE" count) per signal. These
# lists reach past the training data on purpose: a head learns one weight for "promotional
# phrase" from YouTube spam, and that weight then carries to SMS-style or Korean spam phrases.
_PHRASE_SIGNALS = {
    **_phrases(
        "promotional phrase",
        """
        subscribe, subscribed, subscribers, subscribing, sub4sub, giveaway, giveaways, bitcoin,
        btc, crypto, forex, casino, viagra, onlyfans, promo, coupon, discount, txt, prize, prizes,
        winner, congratulations, guaranteed, loan, loans, refinance, investment, investing, earn,
        earning, income, profit, profits, cashback, voucher, unsubscribe, offer, offers,
        clearance, wholesale, followers, check out, check it out, my channel, my video,
        my videos, my page, my profile, my music, my website, my site, my blog, follow me,
        click here, click the link, visit my, visit our, free gift, free money, free trial,
        free followers, for free, make money, earn money, work from home, call now, text now,
        claim your, you won, you have won, limited offer, special offer, link in bio,
        please subscribe, like and subscribe, per hour, per day, per week, extra income,
        hot singles, sign up, apply now, order now, buy now, best price, dm me, click below, cash,
        claim, urgent, win a, won a, free entry, awarded, selected to receive, best deals, text me,
        inbox me""",
    ),
    **_phrases(
        "messenger handle",
        """
        telegram, whatsapp, kakaotalk, kakao, wechat, snapchat, kik, skype, discord, viber,
        line id, kik me, add me on""",
    ),
    **_phrases(
        "profanity",
        """
        idiot, idiots, idiotic, moron, morons, moronic, stupid, stupidity, dumb, dumbass, retard,
        retards, retarded, imbecile, imbeciles, crap, damn, bastard, bastards, asshole,
        assholes, ass, dick, dicks, dickhead, cunt, cunts, whore, whores, slut, sluts, scum,
        scumbag, scumbags, loser, losers, pathetic, disgusting, garbage, trash, stfu, wtf, piss,
        pissed, pig, pigs, jerk, jerks, fool, fools, foolish, clown, clowns, hypocrite,
        hypocrites, liar, liars, traitor, traitors, thug, thugs, savage, savages, vermin, filth,
        filthy, kys, ignorant, coward, cowards, lunatic, lunatics, nutjob, freak, freaks,
        degenerate, degenerates, subhuman, parasite, parasites, shut up, go to hell,
        kill yourself, piece of shit, drop dead, screw you, hoe, hoes, pussy, twat, arse,
        arsehole, arseholes, tard, tards, dipshit, jackass, douche, douchebag, douchebags, skank,
        prick, pricks, cretin, cretins, halfwit, dimwit, nitwit, tosser, bellend""",
    ),
}
_PHRASE_STARTS = frozenset(phrase.split()[0] for phrase in _PHRASE_SIGNALS if " " in phrase)
_PROFANITY_PREFIXES = (
    "fuck",
    "fuk",
    "shit",
    "bitch",
    "nigg",
    "fag",
    "motherf",
    "wank",
    "bullshit",
    "dumbf",
    "cocksuck",
    "retard",
)
# Every prefix is three letters or more: a word whose first two letters are none of these
# starts with none of them.
_PROFANITY_PREFIX_HEADS = frozenset(prefix[:2] for prefix in _PROFANITY_PREFIXES)
_WORTH_A_LOOK = frozenset({*_PHRASE_SIGNALS, *_PHRASE_STARTS, URL_TOKEN, EMAIL_TOKEN})
_KOREAN_SIGNALS = (
    (
        "profanity",
        re.compile(
            "씨발|병신|새끼|개새|좆|존나|지랄|미친|닥쳐|꺼져|등신|찐따|쓰레기|븅|애미|애비|느금|"
            "한남|김치녀|된장녀|틀딱|급식충|맘충|일베충|좌좀|좌빨|홍어|쪽바리|짱깨|멍청|또라이|"
            "빡대가리|싸가지|호로|죽어|뒤져|뒈져|디져|개같|개소리|정신병|저능|창녀|걸레"
        ),
    ),
    (
        "promotional phrase",
        re.compile(
            "구독|무료|대출|수익|부업|재택|알바|광고|홍보|문의|상담|가입|이벤트|당첨|토토|카지노|"
            "바카라|도박|코인|리딩방|클릭|방문|할인|쿠폰|특가|급전|출장|조건만남|선착순|지금바로|"
            "바로가기|입금|추천인|맞팔|선물|혜택"
        ),
    ),
    ("messenger handle", re.compile("카톡|카카오톡|오픈채팅|오픈톡|텔레그램|텔레|위챗|갠톡|디엠")),
)

SIGNAL_NAMES = (
    "link",
    "link shortener",
    "email address",
    "phone number",
    "messenger handle",
    "promotional phrase",
    "money amount",
    "repeated characters",
    "capital letters",
    "exclamation marks",
    "profanity",
)


def signal_hits(comment: NormalizedComment) -> list[SignalHit]:
    """The hand-made signals that fire on a comment, with their values and evidence.

    Counts go through log1p so a comment with ten links is not ten times as spammy as one.
    """
    text = comment.original
    tokens = comment.tokens
    found: dict[str, list[str]] = {}

    def add(name: str, evidence: str) -> None:
        found.setdefault(name, []).append(evidence)

    words = [token.text for token in tokens]
    worth_a_look = [
        i
        for i, word in enumerate(words)
        if word in _WORTH_A_LOOK or word[:2] in _PROFANITY_PREFIX_HEADS
    ]
    for i in worth_a_look:
        word = words[i]
        if word in (URL_TOKEN, EMAIL_TOKEN):
            link = text[tokens[i].start : tokens[i].end]
            if word == EMAIL_TOKEN:
                add("email address", link)
                continue
            add("link", link)
            folded = fold_width(link).casefold()
            if INTERLEAVED_RE.fullmatch(folded):  # "b.i.t...l.y./.a.b.c", "b🔥i🔥t🔥.🔥l🔥y"
                folded = folded[::2]
            host = folded.split("://")[-1]
            if not _URL_CHARACTERS_RE.fullmatch(host):  # spelled out: "bit . ly / abc"
                host = SPELLED_DOT_RE.sub(".", host).replace(" ", "")
            host = host.split("/")[0].removeprefix("www.")
            if host in LINK_SHORTENERS:
                add("link shortener", host)
            if any(marker in folded for marker in _MESSENGER_LINKS):
                add("messenger handle", link)
            continue
        name = _PHRASE_SIGNALS.get(word)
        if name is not None:
            add(name, text[tokens[i].start : tokens[i].end].strip(_EDGE))
        if word in _PHRASE_STARTS:
            for n in (2, 3):
                name = _PHRASE_SIGNALS.get(" ".join(words[i : i + n]))
                if name is not None and i + n <= len(words):
                    add(name, text[tokens[i].start : tokens[i + n - 1].end].strip(_EDGE))
        if word.startswith(_PROFANITY_PREFIXES):
            add("profanity", text[tokens[i].start : tokens[i].end].strip(_EDGE))
    # Korean can come from ASCII too: a swear word typed with the keyboard left in English.
    maybe_korean = not text.isascii() or not all(word.isascii() for word in words)
    hangul = "".join(filter(match_hangul_start, words)) if maybe_korean else ""
    if hangul:
        for name, pattern in _KOREAN_SIGNALS:
            for match in pattern.findall(hangul):
                add(name, match)
    digit_text = text.translate(_KEYCAP_MARKS) if "\u20e3" in text else text
    digits = len(_DIGIT_RE.findall(digit_text))
    as_written = None
    folded = fold_width(digit_text) if digits >= 6 else digit_text
    if folded != digit_text:  # "０１０－１２３４－５６７８"
        as_written, digit_text = digit_text, folded
    if digits >= 6 and _DIGIT_LOOKALIKE_RE.search(digit_text):
        # Letters for digits inside a number ("0l0-l234-5678", "O1O"), one for one, so the
        # evidence is still cut from the text as written.
        as_written = as_written or digit_text
        digit_text = _DIGIT_LOOKALIKE_RE.sub(lambda m: m.group().translate(_AS_DIGITS), digit_text)
        digits = len(_DIGIT_RE.findall(digit_text))
    if digits >= 8:
        for phone in _PHONE_RE.finditer(digit_text):
            if len(_DIGIT_RE.findall(phone.group())) >= 8:
                written = as_written[phone.start() : phone.end()] if as_written else phone.group()
                add("phone number", written.strip())
    if "phone number" not in found:
        # Digits written as words ("five five five one two three four five") are one token of
        # digits once normalised; a token of digits written as digits is the regex's to judge.
        for token in tokens:
            if len(token.text) >= 8 and token.text.isdigit():
                written = text[token.start : token.end]
                if not written.isdigit():
                    add("phone number", written)
    if "$" in text or "£" in text or "€" in text or "₩" in text or "원" in text or "dollar" in text:
        for money in _MONEY_RE.findall(text):
            add("money amount", money)
    for match in _REPEATED_RE.finditer(text):
        add("repeated characters", match.group())

    hits = [
        SignalHit(name, math.log1p(len(found[name])), found[name][0])
        for name in SIGNAL_NAMES
        if name in found
    ]
    # Counted by deleting them from the ASCII bytes: a regex's findall makes a list of them all.
    ascii_text = text.encode("ascii", "ignore")
    letters = len(ascii_text) - len(ascii_text.translate(None, _ASCII_LETTERS))
    if letters >= 8:
        upper = (len(ascii_text) - len(ascii_text.translate(None, _UPPER))) / letters
        if upper >= 0.5:
            hits.append(SignalHit("capital letters", upper, ""))
    exclamations = text.count("!")
    if exclamations >= 2:
        hits.append(SignalHit("exclamation marks", math.log1p(exclamations) / 2, ""))
    return hits


_EDGE = " \t\n.,;:!?\"'()[]{}<>"


def signal_vector(comment: NormalizedComment) -> list[float]:
    """The signals of a comment as a dense row, in ``SIGNAL_NAMES`` order."""
    row = [0.0] * len(SIGNAL_NAMES)
    for hit in signal_hits(comment):
        row[_SIGNAL_INDEX[hit.name]] = hit.value
    return row


_SIGNAL_INDEX = {name: i for i, name in enumerate(SIGNAL_NAMES)}


class CommentNormalizer(TransformerMixin, BaseEstimator):
    """Pipeline step: raw comment strings to ``NormalizedComment`` objects."""

    def fit(self, comments: Iterable[str], y: object = None) -> CommentNormalizer:
        return self

    def transform(self, comments: Iterable[str]) -> list[NormalizedComment]:
        return [normalize_comment(text) for text in comments]


class WordwiseCharCounts:
    """Mixin for scikit-learn's ``CountVectorizer`` and ``TfidfVectorizer`` with
    ``analyzer=char_terms``: the same vocabulary and counts, counted word by word.

    A comment's character n-grams are those of its words (``char_words``), so its counts are its
    word counts times each distinct word's n-gram counts: one sparse product in place of the
    vectorizer's Python loop over every n-gram of every comment, in about half the time. With any
    other analyzer the vectorizer counts as usual.
    """

    def _count_vocab(self, raw_documents, fixed_vocab):  # noqa: ANN001, ANN202 (sklearn's hook)
        if self.analyzer is not char_terms:
            return super()._count_vocab(raw_documents, fixed_vocab)
        # Column numbers handed out in order of first sight, as the vectorizer's own loop does.
        words: defaultdict[str, int] = defaultdict()
        words.default_factory = words.__len__
        word_columns: list[int] = []
        word_indptr = [0]
        for comment in raw_documents:
            word_columns.extend(map(words.__getitem__, char_words(comment)))
            word_indptr.append(len(word_columns))
        if fixed_vocab:
            vocabulary = self.vocabulary_
        else:
            vocabulary = defaultdict()
            vocabulary.default_factory = vocabulary.__len__
        gram_columns: list[int] = []
        gram_indptr = [0]
        for word in words:  # in the order of their columns
            if fixed_vocab:
                found = map(vocabulary.get, char_grams(word))
                gram_columns.extend(column for column in found if column is not None)
            else:
                gram_columns.extend(map(vocabulary.__getitem__, char_grams(word)))
            gram_indptr.append(len(gram_columns))
        if not fixed_vocab:
            vocabulary = dict(vocabulary)  # no longer adding on lookup
            if not vocabulary:
                raise ValueError("empty vocabulary: the comments have no characters")
        comment_words = _count_matrix(word_columns, word_indptr, len(words))
        word_grams = _count_matrix(gram_columns, gram_indptr, len(vocabulary))
        counts = (comment_words @ word_grams).astype(self.dtype, copy=False)
        counts.sort_indices()
        return vocabulary, counts


def _count_matrix(columns: list[int], indptr: list[int], width: int) -> sparse.csr_matrix:
    """Rows of column occurrences (repeats allowed) as a CSR matrix of counts."""
    index_type = np.int64 if len(columns) > np.iinfo(np.int32).max else np.int32
    matrix = sparse.csr_matrix(
        (
            np.ones(len(columns), dtype=np.float64),
            np.asarray(columns, dtype=index_type),
            np.asarray(indptr, dtype=index_type),
        ),
        shape=(len(indptr) - 1, width),
    )
    matrix.sum_duplicates()
    return matrix


def commonest(totals: np.ndarray, limit: int) -> np.ndarray:
    """Positions of the ``limit`` largest ``totals``, ties going to the earlier position, in
    ascending order: the vocabulary's cut, for training (``StableVocabulary``) and crossval."""
    return np.sort(np.argsort(-totals, kind="stable")[:limit])


class StableVocabulary:
    """Mixin for scikit-learn's ``CountVectorizer`` and ``TfidfVectorizer``: ``max_features``
    keeps the commonest terms with ties broken by the term, so that a model rebuilt on another
    machine has the same vocabulary.

    scikit-learn ranks the terms with an unstable sort whose order among equal counts follows the
    CPU's vector instructions: two machines gave the default model vocabularies 638 words and
    1,424 character n-grams apart. Here the terms are chosen as the vectorizer counts them, and
    its own limit then has nothing left to cut.
    """

    def _count_vocab(self, raw_documents, fixed_vocab):  # noqa: ANN001, ANN202 (sklearn's hook)
        vocabulary, counts = super()._count_vocab(raw_documents, fixed_vocab)
        if fixed_vocab or self.max_features is None:
            return vocabulary, counts
        n_docs = counts.shape[0]
        low = self.min_df if isinstance(self.min_df, Integral) else self.min_df * n_docs
        high = self.max_df if isinstance(self.max_df, Integral) else self.max_df * n_docs
        counts = sparse.csr_matrix(counts)
        documents = np.bincount(counts.indices, minlength=counts.shape[1])
        eligible = np.flatnonzero((documents >= low) & (documents <= high))
        if len(eligible) <= self.max_features:
            return vocabulary, counts
        terms = np.empty(counts.shape[1], dtype=object)
        for term, column in vocabulary.items():
            terms[column] = term
        by_term = eligible[np.argsort(terms[eligible], kind="stable")]
        totals = np.asarray(counts.sum(axis=0)).ravel()
        # In the order of the terms, as the vectorizer sorts them next: its sort then moves no
        # column, and each row's entries stay in order.
        kept = by_term[commonest(totals[by_term], self.max_features)]
        counts = counts[:, kept]
        counts.sort_indices()
        return {terms[column]: i for i, column in enumerate(kept)}, counts


class StableTfidfVectorizer(StableVocabulary, TfidfVectorizer):
    """``TfidfVectorizer`` whose ``max_features`` break ties by the term (``StableVocabulary``)."""


class CharCountVectorizer(WordwiseCharCounts, CountVectorizer):
    """``CountVectorizer`` counting ``char_terms`` word by word (``WordwiseCharCounts``)."""


class CharTfidfVectorizer(StableVocabulary, WordwiseCharCounts, TfidfVectorizer):
    """``TfidfVectorizer`` counting ``char_terms`` word by word (``WordwiseCharCounts``), its
    ``max_features`` breaking ties by the term (``StableVocabulary``)."""


class SignalFeatures(TransformerMixin, BaseEstimator):
    """Pipeline step: normalised comments to a sparse matrix of hand-made signals."""

    def fit(self, comments: Iterable[NormalizedComment], y: object = None) -> SignalFeatures:
        self.n_features_out_ = len(SIGNAL_NAMES)
        return self

    def transform(self, comments: Iterable[NormalizedComment]) -> sparse.csr_matrix:
        rows = [signal_vector(comment) for comment in comments]
        return sparse.csr_matrix(np.asarray(rows, dtype=np.float64).reshape(-1, len(SIGNAL_NAMES)))

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        return np.asarray([f"signal:{name}" for name in SIGNAL_NAMES], dtype=object)


def word_rows(comments: Iterable[NormalizedComment], index: dict[str, int]) -> sparse.csr_matrix:
    """Which words of ``index`` each comment holds: a 0/1 matrix, one row per comment."""
    indptr, columns = [0], []
    for comment in comments:
        columns.extend(sorted({index[t.text] for t in comment.tokens if t.text in index}))
        indptr.append(len(columns))
    data = np.ones(len(columns), dtype=np.float64)
    return sparse.csr_matrix((data, columns, indptr), shape=(len(indptr) - 1, len(index)))


# A word with a vector in fewer training comments gets no weight. 0: every word counts, one no
# training comment holds at the idf of the rarest (its score comes from its vector, not from
# comments that hold it). At 2, the words beyond the training data's would add nothing.
VECTOR_MIN_DF = 0


def vector_idf(df: np.ndarray, documents: int, min_df: int = VECTOR_MIN_DF) -> np.ndarray:
    """Smoothed idf as ``TfidfVectorizer``'s (a word in no document at its largest), and 0 for a
    word in fewer than ``min_df`` documents."""
    return np.where(df >= min_df, np.log((1 + documents) / (1 + df)) + 1.0, 0.0)


# The word-vector mean counts this much idf of a word with no lean (a zero row) beside a comment's
# own words, so a comment of one or two words does not take its whole vector score from them:
# alone, "potato" leaned to abuse by 2.6 in the logit, as much as a comment full of such words.
# About two rare words' idf. Across sources every abuse row held or gained, most at 16 of 0, 8,
# 16 and 32 (Fox News and Wikipedia +0.003, OLID's test split +0.006; docs/model.md).
VECTOR_PRIOR_IDF = 16.0


def vector_prior_idf(arrays: dict) -> float:
    """The word-vector prior a model file was exported with: none in files from before it."""
    return float(arrays["vector_prior_idf"][0]) if "vector_prior_idf" in arrays else 0.0


def idf_weighted_mean(
    rows: sparse.csr_matrix, idf: np.ndarray, table: np.ndarray, prior: float = 0.0
) -> np.ndarray:
    """Per comment, the mean of ``table``'s rows for its words weighted by their idf, with
    ``prior`` more idf of a zero row in the mean (0 for a comment with none of the words)."""
    weighted = rows @ sparse.diags(idf)
    total = np.asarray(weighted.sum(axis=1)).ravel() + prior
    return np.asarray(weighted @ table) / np.where(total == 0, 1.0, total)[:, None]


class WordVectorFeatures(TransformerMixin, BaseEstimator):
    """Pipeline step: the idf-weighted mean of a comment's word vectors, times ``scale``.

    A comment's words are its distinct normalised tokens that have a vector; the idf is learnt
    from the training comments like a TF-IDF block's, and a word in fewer than ``min_df`` of them
    gets 0 (it is left out). Linear heads over this block fold into one score per word and
    category (``WordScoreFeatures``), which is what a model file stores.
    """

    def __init__(
        self,
        words: tuple[str, ...] = (),
        vectors: np.ndarray | None = None,
        scale: float = 3.0,
        min_df: int = VECTOR_MIN_DF,
        prior_idf: float = VECTOR_PRIOR_IDF,
    ) -> None:
        self.words = words
        self.vectors = vectors
        self.scale = scale
        self.min_df = min_df
        self.prior_idf = prior_idf

    def fit(self, comments: Iterable[NormalizedComment], y: object = None) -> WordVectorFeatures:
        self.index_ = {word: i for i, word in enumerate(self.words)}
        rows = word_rows(comments, self.index_)
        self.idf_ = vector_idf(np.asarray(rows.sum(axis=0)).ravel(), rows.shape[0], self.min_df)
        return self

    def transform(self, comments: Iterable[NormalizedComment]) -> sparse.csr_matrix:
        if self.vectors is None:
            raise ValueError("WordVectorFeatures was made without word vectors")
        rows = word_rows(comments, self.index_)
        mean = idf_weighted_mean(rows, self.idf_, self.vectors, self.prior_idf)
        return sparse.csr_matrix(self.scale * mean)

    def fold(self, head_weights: np.ndarray) -> np.ndarray:
        """Each word's score per head: what its vector adds to a head's logit, before averaging.

        :param head_weights: one row per head, one column per vector dimension.
        """
        return self.scale * (self.vectors @ np.asarray(head_weights).T)


class WordScoreFeatures(TransformerMixin, BaseEstimator):
    """Pipeline step: per category, the idf-weighted mean of a comment's word scores.

    The folded form of ``WordVectorFeatures`` and the heads' weights on it, one column per
    category; each head weighs its own column by 1.
    """

    def __init__(
        self, words: tuple[str, ...], idf: np.ndarray, scores: np.ndarray, prior_idf: float = 0.0
    ) -> None:
        self.words = words
        self.idf = idf
        self.scores = scores
        self.prior_idf = prior_idf

    def fit(self, comments: Iterable[NormalizedComment], y: object = None) -> WordScoreFeatures:
        self.index_ = {word: i for i, word in enumerate(self.words)}
        return self

    def transform(self, comments: Iterable[NormalizedComment]) -> sparse.csr_matrix:
        rows = word_rows(comments, self.index_)
        return sparse.csr_matrix(idf_weighted_mean(rows, self.idf, self.scores, self.prior_idf))
