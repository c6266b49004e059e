"""Properties of text normalisation and length counting, over any text hypothesis can make up."""

from __future__ import annotations

import unicodedata

import regex
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from model.text import strip_invisible, visible_length
from service.comments import text_hash
from service.policy import find_listed_words, fold

# The characters people use to hide words from filters; each renders as nothing.
INVISIBLE = (
    "\u200b\u200c\u2060\ufeff\u00ad\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
    "\u200e\u200f"
)

# Any text, weighted toward what comments contain: Hangul, combining marks, emoji with joiners
# and modifiers, flags, invisible characters.
interesting = st.sampled_from(
    list(INVISIBLE)
    + [
        "\u200d",
        "\u0301",
        "\u0308",
        "\ufe0f",
        "\U0001f3fd",
        "\U0001f1f0",
        "\U0001f1f7",
        "\U0001f468",
        "\U0001f469",
        "\U0001f467",
        "한",
        "ᄒ",
        "ᅡ",
        "ᆫ",
        "é",
        "e",
        "\n",
        "\t",
        "\x00",
        "\x1b",
        " ",
        "ｉ",
        "Ｄ",
        "1",
        "@",
    ]
)
texts = st.one_of(
    st.text(),
    st.lists(st.one_of(interesting, st.characters()), max_size=60).map("".join),
)
visible_texts = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cf", "Cs", "Mn", "Me", "Mc", "Zl", "Zp")),
    max_size=40,
)
fast = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@fast
@given(texts)
@example("i\u200bdiot")
@example("\U0001f468\u200d\U0001f469\u200d\U0001f467")
@example("\ud800")  # a lone surrogate, as a JSON "\ud800" escape produces
@example("\u1112\u200b\u1161")  # jamo kept apart by a zero-width space compose once it goes
@example("e\u200b\u0301")
def test_strip_invisible_is_idempotent_and_leaves_no_invisible_character(text):
    once = strip_invisible(text)
    assert strip_invisible(once) == once
    assert not set(once) & set(INVISIBLE)
    assert not any(unicodedata.category(c) == "Cc" and c not in "\n\t" for c in once)


@fast
@given(texts)
def test_stripping_never_changes_the_visible_length(text):
    assert visible_length(strip_invisible(text)) == visible_length(text)


@fast
@given(texts)
def test_visible_length_is_at_most_the_code_point_count(text):
    length = visible_length(text)
    assert 0 <= length <= len(unicodedata.normalize("NFC", text))
    assert length <= len(strip_invisible(text))
    assert (length == 0) == (strip_invisible(text) == "")


@fast
@given(visible_texts, st.lists(st.tuples(st.integers(min_value=0), st.sampled_from(INVISIBLE))))
def test_inserting_invisible_characters_never_changes_length_or_stripped_text(text, inserts):
    spiked = list(text)
    for position, char in inserts:
        spiked.insert(position % (len(spiked) + 1), char)
    spiked_text = "".join(spiked)
    assert visible_length(spiked_text) == visible_length(text)
    assert strip_invisible(spiked_text) == strip_invisible(text)


@fast
@given(texts)
@example("가나다 \U0001f44d")  # no joiner: counted by len()
@example(
    "\u1100\u1161\u11a8 \U0001f1f0\U0001f1f7 e\u0301 \U0001f44d\U0001f3fd a\r\nb \u0915\u094d\u0937"
)
def test_visible_length_counts_the_grapheme_clusters_of_the_stripped_text(text):
    cleaned = strip_invisible(text)
    clusters = len(regex.findall(r"\X", cleaned))
    assert visible_length(text) == (len(cleaned) if cleaned.isascii() else clusters)


@fast
@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz .,!?", max_size=80))
def test_ascii_length_is_the_character_count(text):
    assert visible_length(text) == len(text)


@fast
@given(st.lists(st.sampled_from(["한", "글", "가", "각"]), max_size=30))
def test_each_hangul_syllable_counts_one_whether_composed_or_not(syllables):
    composed = "".join(syllables)
    decomposed = unicodedata.normalize("NFD", composed)
    assert visible_length(composed) == visible_length(decomposed) == len(syllables)


@fast
@given(texts)
@example("ß\u0301")  # casefold turns it into "ss" + an accent, to be composed again
def test_fold_is_idempotent(text):
    folded = fold(text)
    assert fold(folded) == folded


@fast
@given(texts, st.lists(st.text(min_size=1, max_size=12), max_size=4))
def test_find_listed_words_never_fails_and_returns_only_listed_words(text, words):
    hits = find_listed_words(text, tuple(words))
    assert set(hits) <= set(words)


@fast
@given(
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=3, max_size=10),
    st.lists(st.sampled_from(INVISIBLE), min_size=1, max_size=3),
    st.sampled_from(["{w}", "{w}!", "so {w} there", "{W}", "({w})"]),
)
def test_a_listed_word_is_found_through_case_and_invisible_characters(word, hidden, template):
    spiked = word[0] + "".join(hidden) + word[1:]
    text = template.format(w=spiked, W=spiked.upper())
    assert find_listed_words(text, (word,)) == [word]


# Text a comment can hold once intake has checked it: any code point but a lone surrogate.
unicode_texts = texts.filter(lambda text: not any("\ud800" <= c <= "\udfff" for c in text))


@fast
@given(
    unicode_texts,
    st.sampled_from(["NFC", "NFD", "NFKC", "NFKD"]),
    st.sampled_from(["", "\n", " ", "\r\n", "\t", "\u200b"]),
    st.sampled_from(["", " ", "\n", "\ufeff"]),
)
@example("오늘 기사 잘 읽었습니다", "NFD", "\n", "")
def test_a_retry_in_another_form_has_the_same_text_hash(text, form, after, before):
    resent = before + unicodedata.normalize(form, text) + after
    if unicodedata.normalize("NFC", resent) != unicodedata.normalize("NFC", before + text + after):
        return  # a compatibility form changed what the reader sees: that is an edit
    assert text_hash(resent) == text_hash(text)


@fast
@given(unicode_texts, unicode_texts)
def test_texts_a_reader_tells_apart_have_different_hashes(first, second):
    seen_first = strip_invisible(first).strip()
    seen_second = strip_invisible(second).strip()
    assert (text_hash(first) == text_hash(second)) == (seen_first == seen_second)
