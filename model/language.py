"""Cheap language identification for comments: script counts, then stop words for Latin text."""

from __future__ import annotations

import re

import regex

# Scripts that name one language on their own (Han without kana is taken as Chinese).
_SCRIPT_LANGUAGES = (
    (regex.compile(r"[\p{Hangul}]"), "ko"),
    (regex.compile(r"[\p{Hiragana}\p{Katakana}]"), "ja"),
    (regex.compile(r"[\p{Han}]"), "zh"),
    (regex.compile(r"[\p{Cyrillic}]"), "ru"),
    (regex.compile(r"[\p{Arabic}]"), "ar"),
    (regex.compile(r"[\p{Hebrew}]"), "he"),
    (regex.compile(r"[\p{Greek}]"), "el"),
    (regex.compile(r"[\p{Thai}]"), "th"),
    (regex.compile(r"[\p{Devanagari}]"), "hi"),
)
# Any letter of those scripts: most comments have none, and the counts above are not needed.
_SCRIPTS_RE = regex.compile("|".join(pattern.pattern for pattern, _ in _SCRIPT_LANGUAGES))
_LATIN_RE = regex.compile(r"\p{Latin}")
_WORD_RE = regex.compile(r"\p{L}+")
_ASCII_WORD_RE = re.compile(r"[A-Za-z]+")
_HANGUL_RUN_RE = re.compile("[\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f]+")

# Frequent function words that are rare in the other listed languages.
_STOP_WORDS = {
    "en": "the and is are was were you your this that with have not for what they he she it of "
    "to in on be do does did i my me we our so but just like would will can all if no",
    "fr": "le la les des est une et je vous nous pas que qui dans pour sur avec ce cette mais "
    "ils elle sont très aussi",
    "de": "der die das und ist nicht ich du sie wir ein eine mit auf für von zu den dem auch "
    "sind aber wie",
    "es": "el los las es y que de en un una por para con no se lo su pero muy está son como",
    "pt": "o os as é e que de em um uma por para com não se do da no na mas muito você são",
    "it": "il lo gli è e che di in un una per con non si del della ma sono anche più",
    "nl": "de het een en is niet ik je van op te dat die met voor zijn maar ook",
}
_STOP_LANGUAGES: dict[str, tuple[str, ...]] = {}
for _code, _words in _STOP_WORDS.items():
    for _word in _words.split():
        _STOP_LANGUAGES[_word] = (*_STOP_LANGUAGES.get(_word, ()), _code)


def detect_language(text: str) -> str:
    """Guess the ISO-639-1 language of a comment.

    Korean wins as soon as a sizeable share of letters is Hangul, since mixed Korean/English
    comments are common. Latin-script text is told apart by stop words and defaults to English.

    :param text: the comment.
    :return: ``"en"``, ``"ko"``, another ISO-639-1 code, or ``"und"`` when there are no letters.
    """
    try:
        return _detect(text)
    except Exception:  # a guess must never take the request down with it
        return "und"


def _detect(text: str) -> str:
    if text.isascii():
        words = _ASCII_WORD_RE.findall(text.lower())
        return _latin_language(words) if words else "und"
    total = sum(map(str.isalpha, text))  # letters: \p{L}
    if total == 0:
        return "und"
    # Hangul counted by deleting its runs: findall would make a list of every syllable.
    if (len(text) - len(_HANGUL_RUN_RE.sub("", text))) * 5 >= total:
        return "ko"
    if _SCRIPTS_RE.search(text):
        latin = len(_LATIN_RE.findall(text))
        best_code, best_count = "und", 0
        for pattern, code in _SCRIPT_LANGUAGES:
            count = len(pattern.findall(text))
            if code == "ko" and count * 5 >= total:
                return "ko"
            if count > best_count:
                best_code, best_count = code, count
        if best_count > latin:
            return best_code
    elif not _LATIN_RE.search(text):
        return "und"
    return _latin_language([word.casefold() for word in _WORD_RE.findall(text)])


def _latin_language(words: list[str]) -> str:
    hits = dict.fromkeys(_STOP_WORDS, 0)
    for word in words:
        for code in _STOP_LANGUAGES.get(word, ()):
            hits[code] += 1
    code = max(hits, key=lambda c: (hits[c], c == "en"))
    if hits[code] == 0 or hits[code] == hits["en"]:
        return "en"
    return code
