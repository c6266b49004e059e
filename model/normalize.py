"""Turn a comment into normalised tokens that survive the usual filter-dodging tricks.

Each token remembers where it came from in the comment, so a term the model found can be
highlighted in the text the user wrote. The tricks undone here: full-width and styled letters
(NFKC), HTML entities, case, invisible characters, accented and look-alike letters in Latin
words ("ìdíòt", "іdіоt" with Cyrillic і and о, "ƒuck", "fսck" with Armenian ս) and words of
look-alike letters alone ("ріесе" in Cyrillic), stretched letters
("stuuupid", "idiiiiot"), leetspeak ("1d10t", "$hit", "ki11", "|d|0t"), masked swear words
("f**k", "sh*t", "m*ron") and respellings ("fvck"), spaced-out letters ("i d i o t", "f.u.c.k"),
words run together ("youareanidiot", and "y o u a r e a n i d i o t" once joined), links
written out to dodge link filters ("www[.]site[.]com", "site dot com"), Korean
consonant abbreviations (ㅅㅂ, ㅂㅅ) and spelling variants of the common Korean swear words, the
same words typed with the keyboard left in English ("tlqkf"), and symbols or digits slipped
between Hangul syllables ("시1발").
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from itertools import product
from typing import NamedTuple

import regex
from confusable_homoglyphs import confusables

from model.segment import SAME_CHARACTER_RUN_RE, GluedWords
from model.text import fold_width, strip_invisible

URL_TOKEN = "xurlx"


def _nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


EMAIL_TOKEN = "xemailx"
# Words naming a group of people by religion, sexuality, gender, ethnicity, origin or disability
# are all read as one token. The training sets mention some groups mostly in abuse (tweets
# sampled by slurs, hateful threads), so a model that sees the words themselves learns that
# "muslim" or "gay" is abusive, and an ordinary comment naming such a group is held for review
# far more often than one naming another ("I am Muslim." scored 0.72, "I am Christian." 0.12;
# ``python -m training groups``). As one token, every group weighs the same, and the abuse head
# gives the token alone no weight (``TrainingConfig.group_word_scale``).
GROUP_TOKEN = "xgroupx"
GROUP_WORDS = frozenset(
    (
        *("muslim", "muslims", "moslem", "moslems", "christian", "christians", "jew", "jews"),
        *("jewish", "catholic", "catholics", "protestant", "protestants", "buddhist", "buddhists"),
        *("hindu", "hindus", "sikh", "sikhs", "atheist", "atheists", "mormon", "mormons"),
        *("gay", "gays", "lesbian", "lesbians", "bisexual", "bisexuals", "transgender"),
        *("transgenders", "trans", "queer", "queers", "homosexual", "homosexuals"),
        *("heterosexual", "heterosexuals", "lgbt", "lgbtq", "nonbinary"),
        *("black", "blacks", "white", "whites", "african", "africans", "hispanic", "hispanics"),
        *("latino", "latinos", "latina", "latinas", "latinx", "mexican", "mexicans", "asian"),
        *("asians", "chinese", "indian", "indians", "arab", "arabs", "european", "europeans"),
        *("american", "americans", "canadian", "canadians", "immigrant", "immigrants"),
        *("migrant", "migrants", "refugee", "refugees", "female", "females", "male", "males"),
        *("deaf", "blind", "disabled"),
    )
)

_EMAIL_RE = regex.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.\w{2,}")
_URL_RE = regex.compile(
    r"(?:https?://|www\.)\S+|\b[\w-]+(?:\.[\w-]+)*\.(?:com|net|org|ly|gl|co|io|me|kr|info|biz|xyz"
    r"|c0m|n3t|0rg)"
    r"(?:/\S*)?\b",
    flags=regex.IGNORECASE,
)
_MENTION_RE = regex.compile(r"^@\w{2,}")
# A link written out to get past link filters: "www[.]site[.]com", "site(dot)com", "site . com",
# "site dot com". Written with spaces and no "www", the name before the dot must be four or more
# letters (a shortener's may be shorter) and not a common word, so that "the dot com bubble"
# stays words.
_SPELLED_DOT = (
    r"(?:\s*[\[({<]\s*(?:\.|dot)\s*[\])}>]\s*"  # "[.]", "(dot)"
    r"|\s+(?:\.|dot|점)\s+"  # a dot or the word, spaced
    r"|\s*[。｡쩜닷]\s*"  # an ideographic full stop; Korean words for the dot of a link
    r"|(?<=\w)[,，](?=\w))"  # a comma between letters
)
# Link shorteners: a link to one is spelled out even with a name of fewer than four letters.
LINK_SHORTENERS = frozenset(
    (
        *("bit.ly", "goo.gl", "tinyurl.com", "t.co", "ow.ly", "is.gd", "buff.ly", "rebrand.ly"),
        *("cutt.ly", "shorturl.at", "tiny.cc", "rb.gy", "bit.do", "adf.ly", "t.ly", "lnkd.in"),
        *("han.gl", "me2.do", "vo.la", "url.kr"),
    )
)
_LINK_ENDINGS = frozenset(
    ("com", "net", "org", "ly", "gl", "co", "io", "me", "kr", "info", "biz", "xyz")
)
_SPELLED_LINK_RE = regex.compile(
    rf"\b(?:w\s?w\s?w{_SPELLED_DOT})?(?P<name>[\w-]+)(?:{_SPELLED_DOT}[\w-]+)*?{_SPELLED_DOT}"
    rf"(?P<ending>{'|'.join(sorted(_LINK_ENDINGS))})\b",
    flags=regex.IGNORECASE,
)
_SPELLED_DOT_MARKS = (
    *(" dot ", " 점 ", "。", "｡", "쩜", "닷"),
    *(f"{b}{d}" for b in "[({<" for d in (".", "dot", " .", " dot")),
)
# Link endings that are no English word or word part: a comma before one can be a dot.
_WORD_FREE_ENDINGS = frozenset(("com", "net", "org", "kr", "info", "biz", "xyz"))
_WWW_RE = regex.compile(r"w\s?w\s?w")
_COMMA_DOT_RE = regex.compile(r"\w[,，]\w")
# Any spelled dot, to write a link's host with real ones ("bit . ly" is bit.ly).
SPELLED_DOT_RE = regex.compile(_SPELLED_DOT, flags=regex.IGNORECASE)
# Digits written as words, to get a phone number past filters.
_DIGIT_WORDS = {
    word: str(digit)
    for digit, words in enumerate(
        ("zero oh", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
    )
    for word in words.split()
}
_SPELLED_LINK_OR_NUMBER_WORDS = _LINK_ENDINGS | _DIGIT_WORDS.keys()
# A link written a character at a time with the same separator between each: "b i t . l y",
# "w.w.w...s.i.t.e...c.o.m", "b🔥i🔥t🔥.🔥l🔥y". Every other character of the run is the link.
INTERLEAVED_RE = re.compile(  # the standard library's re: three times faster here than regex
    r"(?<![A-Za-z0-9./:_-])[A-Za-z0-9./:_-](?P<sep>[^A-Za-z0-9\n])(?:[A-Za-z0-9./:_-](?P=sep)){4,}"
    r"[A-Za-z0-9./:_-](?![A-Za-z0-9./:_-])"
)
# Sino-Korean digits, as Korean spam spells a phone number: "공일공 일이삼사 오육칠팔" is
# 010 1234 5678. Words of these syllables count only together with others making eight or more
# digits, and only in a comment where three of them start with 공 or 영 (0).
_KOREAN_DIGITS = str.maketrans("공영일이삼사오육칠팔구", "00123456789")
_KOREAN_DIGIT_WORD_RE = regex.compile("[공영일이삼사오육칠팔구]+")
_KOREAN_SPELLED_NUMBER_RE = regex.compile("[공영][공영일이삼사오육칠팔구]{2}")
# Eight digits or more written one by one with spaces or marks between: "0 1 0 - 1 2 3 4 ...".
_SPACED_DIGITS_RE = re.compile(r"(?:(?<!\S)\d\W{1,3}){7}\d(?!\S)")
# Words a comment seldom holds, each a sign that one of the rarer readings may apply.
_RARE_WORDS = _SPELLED_LINK_OR_NUMBER_WORDS | {"f", "c8", "kil"}
_NOT_LINK_NAMES = frozenset(("this", "that", "with", "from", "into", "over", "early", "whole"))
# Letters, digits and emoji make up words; everything else (the underscore too: "i_d_i_o_t")
# separates them.
_PIECE_RE = regex.compile(r"[^\W_]+|\p{Extended_Pictographic}")
# The standard library's re: it keeps the compiled "\1\1" template, where regex parses it on
# every call.
_REPEAT_RE = re.compile(r"(.)\1{2,}")
_STRETCHED_WORD_RE = re.compile(r"[a-z]*([a-z])\1\1[a-z]*")
_HAS_ASCII_LETTER_RE = regex.compile(r"[a-z]")
_INLINE_TAG_RE = regex.compile(r"</?(?:b|i|u|s|em|strong|span|del|ins|mark|sub|sup)>", regex.I)
# Regional indicator letters ("🇫🇺🇨🇰"), which pair up as flags: read as Latin letters only
# where they spell a word of the lexicon, so "🇰🇷" stays a flag.
_REGIONAL_LETTERS = {0x1F1E6 + i: chr(ord("a") + i) for i in range(26)}
_REGIONAL_RUN_RE = regex.compile("[\U0001f1e6-\U0001f1ff]{3,}")

# Leetspeak inside a Latin word: "1d10t", "b!tch", "$hit", "@ss" (only mid-word for @).
LEET_LETTERS = {
    "0": "o",
    "1": "i",
    "3": "e",
    "4": "a",
    "5": "s",
    "7": "t",
    "@": "a",
    "$": "s",
    "!": "i",
    "|": "l",
    "+": "t",
    "€": "e",
}
_LEET = str.maketrans(LEET_LETTERS)
_LEET_INNER_RE = regex.compile(r"(?<=[a-z])[013457@$!|+€*]+(?=[a-z])")
_LEET_LEADING_RE = regex.compile(r"^[01345$]+(?=[a-z]{3})")
_LEET_TRAILING_RE = regex.compile(r"(?<=[a-z]{3})[013]$")
# Every letter a leetspeak digit or symbol can stand for, the likelier first.
_LEET_READINGS = {
    **{symbol: (letter,) for symbol, letter in LEET_LETTERS.items()},
    "1": ("i", "l"),
    "|": ("l", "i"),
    "!": ("i", "l"),
    "8": ("b",),
}
# Letters that stand for another letter in a disguised spelling, beside their own reading: "z"
# for "s" ("azzhole", "dumbazz"), "y" for "i" between consonants ("shyt", "bytch"; not "dye").
_LETTER_READINGS = {"z": ("z", "s"), "y": ("y", "i")}
_VOWELS = frozenset("aeiouy")
_STRETCHED_OR_LEET_RE = re.compile(r"([a-z])\1\1|[0134578@$!|+€]")
# Single letters with the same mark between each ("f+u+c+k", "e🔥a🔥t", "s🔥h🔥i🔥t🔥"): the
# letters are the word.
_SEPARATED_LETTERS_RE = regex.compile(r"[a-z](?P<mark>[^\w\s])[a-z](?:(?P=mark)[a-z])+(?P=mark)?")
# A mark inside a word ("id-iot", "idi.ot"), which may split a word to dodge a filter.
_INNER_MARK_RE = regex.compile(r"(?<=[a-z])[^\w\s]+(?=[a-z])")
# A contraction is no split word: "he'll" and "who're" are no "hell" and "whore".
_CONTRACTION_RE = regex.compile(r"[a-z]+['’‘ʼ`](?:ll|re|s|t|d|ve|m)")
# Punctuation around a word, but not the symbols that can stand for a letter in it.
_WORD_EDGES = "'\".,;:?()[]{}<>"

# Swear words people mask with symbols ("f**k", "sh*t", "a**hole", "f@#k"), the commonest first:
# a masked word is read as the first of these it fits, a symbol standing for one letter (or, for
# a run of two or more symbols, one letter more or less: "f****in'"). Symbols in other words are
# dropped or read as leetspeak, as before.
MASKED_WORDS = (
    "fuck",
    "fucking",
    "fuckin",
    "fucked",
    "fucker",
    "fuckers",
    "fucks",
    "motherfucker",
    "shit",
    "shitty",
    "bullshit",
    "bitch",
    "bitches",
    "asshole",
    "assholes",
    "ass",
    "cunt",
    "dick",
    "dickhead",
    "damn",
    "goddamn",
    "hell",
    "bastard",
    "bastards",
    "crap",
    "piss",
    "pissed",
    "whore",
    "slut",
    "cock",
    "pussy",
    "twat",
    "wanker",
    "douche",
    "nigger",
    "niggers",
    "nigga",
    "faggot",
    "fag",
    "retard",
    "retarded",
)
# Respellings of the commonest English swear words that keep their sound.
_ENGLISH_VARIANTS = {
    **dict.fromkeys(("fvck", "phuck", "fuk", "fuq", "fck", "fcuk", "fukk"), "fuck"),
    **dict.fromkeys(("biatch", "biotch", "beyotch", "biyatch"), "bitch"),
    **dict.fromkeys(
        ("fking", "fkn", "fcking", "fuking", "fukin", "fvcking", "phucking", "fkin"), "fucking"
    ),
    **dict.fromkeys(
        ("mofo", "muthafucka", "mothafucka", "muthafucker", "mothafucker", "motherfucka"),
        "motherfucker",
    ),
    "ahole": "asshole",  # "a-hole", once the mark is dropped
    **dict.fromkeys(("idjit", "eejit", "idjut"), "idiot"),
}
# Insults that a stretched or leetspeak spelling is read back to, beside the swear words above:
# a run of three or more of a letter ("idiiiiot") may stand for one or two of it, and a digit or
# symbol may stand for either letter it looks like ("ki11", "|d|0t"); a spelling that reads as
# one of these words in some way is that word. Other words keep the usual reading (runs cut to
# two letters, digits read as their likeliest letter), so "goooood" is still "good". The same
# list decides whether a word split by a mark is one word ("id-iot") and where a run of
# spaced-out letters starts ("a m o r o n").
INSULT_WORDS = (
    *("idiot", "idiots", "idiotic", "stupid", "moron", "morons", "moronic", "dumb", "dumbass"),
    *("loser", "losers", "jerk", "jerks", "scum", "scumbag", "trash", "garbage", "pathetic"),
    *("ugly", "fat", "pig", "pigs", "clown", "clowns", "fool", "fools", "foolish", "coward"),
    *("cowards", "liar", "liars", "traitor", "traitors", "imbecile", "cretin", "halfwit"),
    *("dimwit", "nitwit", "freak", "creep", "psycho", "lunatic", "thug", "thugs", "vermin"),
    *("filth", "filthy", "disgusting", "worthless", "useless", "hate", "kill", "die", "shut"),
    *("suck", "sucks", "skank", "hoe", "hoes", "tramp", "slag", "prick", "bollocks", "arse"),
    *("arsehole", "shithead", "shitty", "dipshit", "jackass", "sucker", "yourself", "hell"),
)
_LEXICON = frozenset((*MASKED_WORDS, *INSULT_WORDS, *_ENGLISH_VARIANTS.values()))
_LEXICON_HEADS = frozenset(word[0] for word in _LEXICON) | {"z"}
# Spam words worth finding in words run together ("contactmeonwhatsapp", "freemoney"); the
# insults and swear words of the lexicon are the others.
_GLUED_SPAM_WORDS = (
    *("subscribe", "channel", "video", "videos", "money", "free", "followers", "giveaway"),
    *("whatsapp", "telegram", "click", "visit", "website", "bitcoin", "crypto", "casino"),
    *("viagra", "promo", "discount", "prize", "winner", "loan", "income", "profit", "cash"),
)
_GLUED = GluedWords((*_LEXICON, *_GLUED_SPAM_WORDS))
# Masked words read back: the swear words, and the insults of five letters or more ("m*ron",
# "l*ser"); a shorter one masked is too often another word ("h*ll", "f*t").
_MASKABLE_WORDS = (
    *MASKED_WORDS,
    *(word for word in INSULT_WORDS if len(word) >= 5 and word not in MASKED_WORDS),
)
_DOUBLED_RUN_RE = re.compile(r"([a-z])\1+")
_SKELETON_LETTERS = str.maketrans("zy", "si")


def _skeleton(word: str) -> str:
    """``word`` with every run of a letter cut to one, "z" read as "s" and "y" as "i": a word
    that reads as a lexicon word has that word's skeleton."""
    return _DOUBLED_RUN_RE.sub(r"\1", word.translate(_SKELETON_LETTERS))


_LEXICON_SKELETONS = frozenset(map(_skeleton, _LEXICON))
# Words that would read as a lexicon word with a doubled letter taken as one, but are words of
# their own in news comments ("looser rules").
_REAL_WORDS = frozenset(("looser",))
_MASK_SYMBOLS = r"*#@$!%&^"  # each stands for a letter in a masked word
_MASK_SYMBOL_RE = regex.compile(f"[{_MASK_SYMBOLS}]")
_MASKED_CORE_RE = regex.compile(f"[a-z{_MASK_SYMBOLS}]{{3,}}")
_EMPHASIS_RE = regex.compile(r"\*+[a-z]+\*+")
_HASHTAG_RE = regex.compile(r"#[a-z]{2,}")
_MASK_RUN_RE = regex.compile(f"[{_MASK_SYMBOLS}]+|[a-z]+")
_EDGE_PUNCTUATION = "'\".,;:?!()[]{}<>"

# Anything but letters slipped between two Hangul syllables: "시1발", "씨.발", "병*신".
_HANGUL_GAP_RE = regex.compile(r"(?<=\p{Hangul})[^\p{L}\s]{1,2}(?=\p{Hangul})")
_HANGUL_RE = regex.compile(r"\p{Hangul}")
# NFKC makes the compatibility vowel ㅡ a conjoining one (U+1173), which no syllable absorbs.
_HANGUL_DASH_RE = regex.compile("(?<=[\uac00-\ud7a3])\u1173+(?=[\uac00-\ud7a3])")

# Consonant-only abbreviations of Korean swear words, mapped to the words they stand for so
# that "ㅅㅂ" and "시발" look the same to the model.
_KOREAN_ABBREVIATIONS_TYPED = {
    "ㄱㅅㄲ": "개새끼",
    "ㅅㅂ": "씨발",
    "ㅆㅂ": "씨발",
    "ㅂㅅ": "병신",
    "ㅄ": "병신",
    "ㅈㄹ": "지랄",
    "ㅁㅊ": "미친",
    "ㅈㄴ": "존나",
    "ㄲㅈ": "꺼져",
    "ㄷㅊ": "닥쳐",
    "ㅅㄲ": "새끼",
    "ㅆㄹㄱ": "쓰레기",
    "ㄴㄱㅁ": "느금마",
}
# Chunks are NFKC-normalised first, which turns compatibility jamo (ㅅ) into conjoining ones (ᄉ).
_KOREAN_ABBREVIATIONS = {_nfkc(k): v for k, v in _KOREAN_ABBREVIATIONS_TYPED.items()}
_KOREAN_ABBREVIATION_RE = regex.compile(
    "|".join(sorted(_KOREAN_ABBREVIATIONS, key=len, reverse=True))
)
# Words split in two to dodge a filter, and what the halves joined spell: swear words, the
# commonest insults, and Korean consonant abbreviations (NFKC-normalised, as tokens are).
_SPLIT_WORDS = {
    **{
        word: word
        for word in (*MASKED_WORDS, "idiot", "idiots", "stupid", "moron", "morons", "loser")
        if len(word) >= 4
    },
    **{k: v for k, v in _KOREAN_ABBREVIATIONS.items() if len(k) == 2},
}
_SPLIT_WORD_HEADS = frozenset(
    word[:n] for word in _SPLIT_WORDS for n in (range(2, len(word) - 1) if word.isascii() else (1,))
)
# Spelling variants of the commonest Korean swear words.
_KOREAN_VARIANTS = (
    # A vowel drawn out ("씨이발"), and the word half in Latin letters ("c발", "sibal놈아").
    (
        regex.compile(
            _nfkc(
                r"씨이*[바빠파벌발빨팔]|시이*(?:[빠팔빨벌]|발(?![점역]))|[쒸씌싀]이*[바빠파벌발빨팔]|쓰[바벌발빨]"
                r"|ㅆ[바발]|십[새세쌔]|싯팔|(?<![a-z])(?:c발|ss?h?ibal)|[씨시]bal"
            )
        ),
        "씨발",
    ),
    (
        regex.compile(
            _nfkc(
                r"[병븅빙뱅][신싄쉰]|벼+엉신|병시+인|ㅂ신|byu?ng?s?h?in|byeongsin|by(?:u|eo)ng[신쉰]"
            )
        ),
        "병신",
    ),
    (
        regex.compile(
            _nfkc(
                r"[새쌔섀쉐][끼퀴캬]|쉐키|[샊섀][기끼]|색끼|색기(?=들)|(?<=[개이저그니])색기|샛기|시끼|(?<=개)(?:쉐이|세끼|쉑)"
            )
        ),
        "새끼",
    ),
    (regex.compile(_nfkc(r"존[나니내]|졸라|ㅈ나")), "존나"),
    (regex.compile(_nfkc(r"ㅈ랄|g랄|질알|쥐랄")), "지랄"),
    (regex.compile(_nfkc(r"좃|[ㅈx좇](?=같)|(?<!\p{Hangul})존(?=같)")), "좆"),
    # Written as it sounds ("주거라" for 죽어라; "주거라는", "housing, that is", stays), or one
    # letter off.
    (regex.compile(r"(?<!\p{Hangul})[주듀]거라(?!\p{Hangul})"), "죽어라"),
    (regex.compile(r"닭쳐|닥처"), "닥쳐"),
    (regex.compile(r"미췬|밌친"), "미친"),
)
# "8" read as 팔 ("씨8"), before digits between syllables are dropped as filler.
_KOREAN_DIGIT_SWEAR_RE = regex.compile(r"[씨시쒸씌]8|(?<![a-z0-9])c8(?=\p{Hangul})")
# Most Korean words hold none of them: one search rules them all out.
_ANY_KOREAN_VARIANT_RE = regex.compile("|".join(p.pattern for p, _ in _KOREAN_VARIANTS))


# Korean swear words typed with the keyboard left in English ("tlqkf" is 씨발 on the standard
# two-set layout), read back as the words. Only key strings of four or more letters, none of
# them an English word.
_KOREAN_KEYBOARD_WORDS = (
    "씨발",
    "병신",
    "새끼",
    "개새끼",
    "지랄",
    "존나",
    "미친",
    "닥쳐",
    "꺼져",
    "등신",
    "또라이",
    "쓰레기",
    "느금마",
    "애미",
    "뒤져",
    "죽어",
    "좆같",
)
# The keys of each initial consonant, vowel and final consonant, in Unicode's order of jamo.
_INITIAL_KEYS = tuple("rRseEfaqQtTdwWczxvg")
_MEDIAL_KEYS = (
    *("k", "o", "i", "O", "j", "p", "u", "P", "h", "hk", "ho", "hl", "y", "n", "nj"),
    *("np", "nl", "b", "m", "ml", "l"),
)
_FINAL_KEYS = (
    *("", "r", "R", "rt", "s", "sw", "sg", "e", "f", "fr", "fa", "fq", "ft", "fx", "fv"),
    *("fg", "a", "q", "qt", "t", "T", "d", "w", "c", "z", "x", "v", "g"),
)


def keyboard_keys(word: str) -> str:
    """The keys that type a Hangul word on the two-set Korean layout, lower case."""
    keys = []
    for syllable in word:
        index = ord(syllable) - 0xAC00
        if not 0 <= index < 11172:
            raise ValueError(f"not a Hangul syllable: {syllable!r}")
        keys += [
            _INITIAL_KEYS[index // 588],
            _MEDIAL_KEYS[index % 588 // 28],
            _FINAL_KEYS[index % 28],
        ]
    return "".join(keys).casefold()


KOREAN_KEYBOARD = {keyboard_keys(word): word for word in _KOREAN_KEYBOARD_WORDS}
# Korean swear words written in Latin letters.
_KOREAN_ROMANIZED = {
    **dict.fromkeys(("sibal", "ssibal", "shibal"), "씨발"),
    **dict.fromkeys(("byungsin", "byeongsin", "byungshin", "byeongshin"), "병신"),
    "gaesaekki": "개새끼",
}
# Korean words that stand for a swear word when they are a word of their own: 시바 and 십팔
# (eighteen, said 십팔) for 씨발, the dialect 빙시 for 병신. Inside a longer word they are other
# words (시바견, a Shiba dog; 십팔세, eighteen years old).
_KOREAN_SOUNDALIKES = {"시바": "씨발", "십팔": "씨발", "빙시": "병신"}
# Whole pieces read as another word: English respellings, Korean typed in English or written
# in Latin letters.
_RESPELLINGS = {**_ENGLISH_VARIANTS, **KOREAN_KEYBOARD, **_KOREAN_ROMANIZED, **_KOREAN_SOUNDALIKES}


def _latin_letter_table() -> dict[int, str]:
    """Letters written as a Latin letter with something added, to that letter (lower case):
    accented and hooked letters ("ìdíòt", "ƒuck"), small capitals ("ꜰᴜᴄᴋ"), squared letters
    ("🅵🆄🅲🅺"), and the symbols ©, ®, ¢ and ¡. Safe in any word: none of them is another script's
    letter."""
    table = {ord("©"): "c", ord("®"): "r", ord("¢"): "c", ord("¡"): "i"}
    blocks = (
        range(0xC0, 0x2B0),  # Latin-1 Supplement to Latin Extended-B, IPA letters
        range(0x1D00, 0x1DC0),  # phonetic extensions: small capitals
        range(0x1E00, 0x1F00),  # Latin Extended Additional
        range(0xA720, 0xA800),  # Latin Extended-D: more small capitals
        range(0x1F130, 0x1F18A),  # squared and negative squared or circled capitals
    )
    for block in blocks:
        for code in block:
            letter = _latin_base_letter(chr(code))
            if letter:
                table[code] = letter
    return table


def _latin_base_letter(character: str) -> str | None:
    """The letter a Latin letter with marks is written on, from its Unicode name ("LATIN SMALL
    LETTER I WITH GRAVE" is i, "LATIN SMALL LETTER F WITH HOOK" f, "LATIN LETTER SMALL CAPITAL
    A" a, "NEGATIVE SQUARED LATIN CAPITAL LETTER F" f); ``None`` for other characters and for
    turned or reversed letters."""
    name = unicodedata.name(character, "")
    if "LATIN " not in name or " LETTER " not in name:
        return None
    if any(word in name for word in ("TURNED", "REVERSED", "INVERTED")):
        return None
    words = name.split(" LETTER ", 1)[1].split(" WITH ")[0].split()
    words = [w for w in words if w not in ("SMALL", "CAPITAL", "DOTLESS", "SCRIPT")]
    if len(words) == 1 and len(words[0]) == 1 and "A" <= words[0] <= "Z":
        return words[0].lower()
    return None


def _homoglyph_table() -> dict[int, str]:
    """Cyrillic, Greek and Armenian letters that look like a Latin one, to that letter (lower
    case): "іdіоt", "fսck". Only for words with Latin letters in them, as a Russian or Greek
    word is written in its own letters."""
    table = {}
    for block in (range(0x0370, 0x0400), range(0x0400, 0x0530), range(0x0530, 0x0590)):
        for code in block:
            found = confusables.is_confusable(chr(code), preferred_aliases=["latin"])
            for homoglyph in found[0]["homoglyphs"] if found else ():
                if (
                    len(homoglyph["c"]) == 1
                    and homoglyph["c"].isascii()
                    and homoglyph["c"].isalpha()
                ):
                    table[code] = homoglyph["c"].casefold()
                    break
    return table


_LATIN_LETTERS = _latin_letter_table()  # about 800 characters
_HOMOGLYPHS = _homoglyph_table()  # about 110 letters, a few milliseconds to build
# Combining marks left on a Latin letter ("i\u0300", and the stacks of "zalgo" text).
_LATIN_MARKS_RE = regex.compile(r"(?<=[a-z])\p{Mn}+")


def _all_look_alike(chunk: str) -> bool:
    """Whether a word is written in look-alike letters alone ("ріесе", "а"), none of them Latin.

    A Russian or Greek word is seldom made of such letters only; one that is (Russian "а",
    "and") reads as the Latin word it looks like, beside its neighbours in a Latin comment.
    """
    letters = [ch for ch in chunk if ch.isalpha()]
    return bool(letters) and all(ord(ch) in _HOMOGLYPHS for ch in letters)


class Token(NamedTuple):
    """A normalised word and the span of the comment text it came from."""

    text: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class NormalizedComment:
    """A comment as the feature extractors see it."""

    original: str  # the comment after strip_invisible(); token spans index into it
    tokens: tuple[Token, ...]


def normalize_comment(text: str) -> NormalizedComment:
    """Clean a comment and split it into normalised tokens.

    :param text: the comment as submitted.
    :return: the cleaned text and its tokens, in order.
    """
    original = strip_invisible(text)
    tokens: list[Token] = []
    words: list[str] = []
    append, append_word, new = tokens.append, words.append, tuple.__new__
    end = 0
    # Whitespace-separated chunks; a chunk holds no whitespace, so the first place it occurs
    # after the previous one is where it is.
    for chunk in original.split():
        start = original.find(chunk, end)
        end = start + len(chunk)
        for piece, begin, finish in _chunk_tokens(chunk):
            append(new(Token, (piece, start + begin, start + finish)))  # Token(...), faster
            append_word(piece)
    if ("." in original or "/" in original) and INTERLEAVED_RE.search(original):
        tokens = _join_interleaved_links(original, tokens)
        words = [token.text for token in tokens]
    # Three one-letter words in a row need three one-letter words.
    if list(map(len, words)).count(1) >= 3 and _has_spaced_letters(tokens):
        tokens = _join_spaced_letters(tokens)
        words = [token.text for token in tokens]
    if not _SPLIT_WORD_HEADS.isdisjoint(words):
        tokens = _join_split_words(tokens)
    # A link with spelled dots ends in a word such as "com" (or holds a Korean word for the dot,
    # which may be inside a word: "bit쩜ly"); a spelled phone number holds digit words. One look
    # at the words rules out most comments.
    rare = _RARE_WORDS.intersection(words)
    korean_dot = "쩜" in original or "닷" in original
    if rare or korean_dot:
        if "f" in rare or "kil" in rare:
            tokens = _read_stand_ins(tokens)
        if "c8" in rare and not original.isascii():
            tokens = _read_korean_c8(tokens)
        if (korean_dot or not rare.isdisjoint(_LINK_ENDINGS)) and _may_spell_a_link(original):
            tokens = _join_spelled_links(original, tokens)
    # Digits spelled in English words, or in Sino-Korean ones ("공일공 일이삼사 오육칠팔").
    if (
        not rare.isdisjoint(_DIGIT_WORDS)
        or _KOREAN_SPELLED_NUMBER_RE.search(original)
        or _SPACED_DIGITS_RE.search(original)
    ):
        tokens = _join_spelled_digits(tokens)
    if not GROUP_WORDS.isdisjoint(words):
        tokens = [
            Token(GROUP_TOKEN, t.start, t.end) if t.text in GROUP_WORDS else t for t in tokens
        ]
    return NormalizedComment(original, tuple(tokens))


def _read_stand_ins(tokens: list[Token]) -> list[Token]:
    """A lone "f" standing for the swear word, as in "shut the f up" or "what the f", is it;
    "kil" before "yourself" is "kill"."""
    words = [token.text for token in tokens]
    read = list(tokens)
    for i, word in enumerate(words):
        if word == "kil" and words[i + 1 : i + 2] in (["yourself"], ["urself"], ["yourselves"]):
            read[i] = Token("kill", tokens[i].start, tokens[i].end)
            continue
        if word != "f" or i == 0 or words[i - 1] != "the":
            continue
        if words[i + 1 : i + 2] in (["up"], ["off"], ["out"], ["outta"]) or (
            i + 1 == len(words) and words[i - 2 : i - 1] == ["what"]
        ):
            read[i] = Token("fuck", tokens[i].start, tokens[i].end)
    return read


def _read_korean_c8(tokens: list[Token]) -> list[Token]:
    """ "c8", read aloud 씨팔, is the swear word in a Korean comment ("c8 진짜"); elsewhere it
    names other things (a car, a chord), so only where another word is Hangul."""
    if not any(match_hangul_start(token.text) for token in tokens):
        return tokens
    return [Token("씨발", t.start, t.end) if t.text == "c8" else t for t in tokens]


def _join_spelled_digits(tokens: list[Token]) -> list[Token]:
    """Make each run of words spelling eight or more digits ("five five five one two three four
    five", digits among them or not) one token of those digits, as a phone number written with
    digits would read."""
    joined: list[Token] = []
    run: list[Token] = []
    for token in [*tokens, None]:
        if token is not None and (
            token.text in _DIGIT_WORDS
            or (run and token.text.isdigit())
            or (len(token.text) == 1 and token.text.isdigit())
            or (len(token.text) >= 2 and _KOREAN_DIGIT_WORD_RE.fullmatch(token.text))
        ):
            run.append(token)
            continue
        digits = "".join(_spelled_digits(t.text) for t in run)
        if len(digits) >= 8:
            joined.append(Token(digits, run[0].start, run[-1].end))
        else:
            joined.extend(run)
        run = []
        if token is not None:
            joined.append(token)
    return joined


def _spelled_digits(word: str) -> str:
    """The digits a word spells: "five" is 5, "공일공" 010; digits are themselves."""
    if word in _DIGIT_WORDS:
        return _DIGIT_WORDS[word]
    return word.translate(_KOREAN_DIGITS) if not word.isdigit() else word


def _join_interleaved_links(original: str, tokens: list[Token]) -> list[Token]:
    """Make each link written a character at a time ("b i t . l y / a b c") one link token, in
    place of the tokens its characters made."""
    spans = []
    for run in INTERLEAVED_RE.finditer(original):
        link = _find_link(run.group()[::2])
        if link is None or "." not in link.group():
            continue
        start = run.start() + 2 * link.start()
        kind = _link_kind(link)
        spans.append((kind, start, run.start() + 2 * link.end() - 1))
    return _with_links(tokens, spans)


def _with_links(tokens: list[Token], spans: list[tuple[str, int, int]]) -> list[Token]:
    """``tokens`` with each span of ``spans`` (link token, start, end; in order) one token in
    place of the tokens inside it."""
    if not spans:
        return tokens
    joined: list[Token] = []
    for kind, start, end in spans:
        joined += [
            t for t in tokens if t.end <= start and (not joined or t.start >= joined[-1].end)
        ]
        joined.append(Token(kind, start, end))
    joined += [t for t in tokens if t.start >= spans[-1][2]]
    return joined


def _may_spell_a_link(text: str) -> bool:
    """A quick test that rules out most comments before the search for spelled links."""
    if " . " in text:
        return True
    lowered = text.lower()
    return any(mark in lowered for mark in _SPELLED_DOT_MARKS) or bool(_COMMA_DOT_RE.search(text))


def _join_spelled_links(original: str, tokens: list[Token]) -> list[Token]:
    """Make each link written out with spelled dots ("site[.]com", "site dot com") one link
    token, in place of the words it was split into."""
    spans = []
    for match in _SPELLED_LINK_RE.finditer(original):
        link = match.group().casefold()
        written_out = not _WWW_RE.match(link) and not any(b in link for b in "[({<")
        name = match.group("name").casefold()
        ending = match.group("ending").casefold()
        shortener = f"{name}.{ending}" in LINK_SHORTENERS
        if written_out and not shortener and (len(name) < 4 or name in _NOT_LINK_NAMES):
            continue
        if written_out and ("," in link or "，" in link) and ending not in _WORD_FREE_ENDINGS:
            continue  # "Smith,co-founder", "yes,me too"
        spans.append((URL_TOKEN, *match.span()))
    return _with_links(tokens, spans)


# Comments reuse the same words over and over, so working out each distinct chunk once pays.
@lru_cache(maxsize=200_000)
def _chunk_tokens(chunk: str) -> tuple[tuple[str, int, int], ...]:
    """The tokens of one whitespace-separated chunk: each word and its span in the chunk."""
    whole = len(chunk)
    chunk = fold_width(chunk)  # "ｂｉｔ．ｌｙ" is a link; the rest of the reading is NFKC anyway
    if "." in chunk or "/" in chunk or "@" in chunk:
        url = _find_link(chunk)
        if url:
            start, end = url.span()
            kind = _link_kind(url)
            return (
                (kind, start, end),
                *((piece, 0, start) for piece in normalize_chunk(chunk[:start])),
                *((piece, end, whole) for piece in normalize_chunk(chunk[end:])),
            )
        if chunk[0] == "@" and _MENTION_RE.match(chunk) and not _is_masked_word(chunk):
            # "@name" addresses another reader and says nothing about the comment itself. The
            # training tweets mention someone in most lines (OLID's "@USER"), so a mention
            # token taught the spam head that "@" means an ordinary comment: "add me on
            # telegram @cashking" scored 0.02 spam.
            return ()
    return tuple((piece, 0, whole) for piece in normalize_chunk(chunk))


def _find_link(chunk: str) -> regex.Match[str] | None:
    if "@" in chunk and chunk[:4].lower() not in ("www.", "http"):
        email = _EMAIL_RE.search(chunk)
        if email:
            return email
    return _URL_RE.search(chunk)


def _link_kind(link: regex.Match[str]) -> str:
    """The token for a link ``_find_link`` found: an e-mail address or a web link (which may
    hold an "@" for an "a": "www.ch3@p.com")."""
    return EMAIL_TOKEN if link.re is _EMAIL_RE else URL_TOKEN


def normalize_chunk(chunk: str) -> tuple[str, ...]:
    """Normalise one whitespace-separated chunk of a comment into word pieces.

    :param chunk: text without whitespace.
    :return: the normalised words it holds (usually one).
    """
    if chunk.isalpha() and chunk.isascii():  # a plain word: no entity, mask, leet or Hangul
        word = chunk.lower()
        if _REPEAT_RE.search(word):
            word = _lexicon_reading(word) or _unstretch(word)
        else:
            if "I" in chunk[1:] and not chunk.isupper():
                # A capital I for an l inside a lower-case word ("asshoIe"): "|" reads as either.
                spelling = chunk[0].lower() + chunk[1:].replace("I", "|").lower()
                word = _lexicon_reading(spelling) or word
            if word not in _LEXICON and word not in _RESPELLINGS and _maybe_disguised(word):
                word = _lexicon_reading(word) or word
        word = _RESPELLINGS.get(word, word)
        return _GLUED.split(word) or (word,)
    if chunk.isascii():
        core = chunk.strip(_QUIET_EDGES)
        if core.isalpha():  # a plain word with punctuation around it: "guns.", "(York"
            return normalize_chunk(core)
    elif _HANGUL_SYLLABLES_RE.fullmatch(chunk):  # a Hangul word: no width, case or Latin letter
        if _REPEAT_RE.search(chunk):
            chunk = _unstretch(chunk)
        return _pieces(_normalize_korean(chunk))
    return _normalize_any_chunk(chunk)


# Punctuation around a word that the general reading drops and reads nothing into, so a chunk
# of ASCII letters with only these around it reads as those letters alone. Not "!", which may
# stand for a letter ("he!!" is "hell"), nor symbols that may mask one ("$", "*", "@").
_QUIET_EDGES = "'\".,;:?()"
_HANGUL_SYLLABLES_RE = re.compile("[\uac00-\ud7a3]+")


def _normalize_any_chunk(chunk: str) -> tuple[str, ...]:
    if not chunk:
        return ()
    if "&" in chunk and ";" in chunk:  # HTML entities from a backend that escaped the text
        chunk = html.unescape(chunk)
    if "<" in chunk and ">" in chunk:  # markup inside a word: "<b>f</b>uck"
        chunk = _INLINE_TAG_RE.sub("", chunk)
    if not chunk.isascii():
        if _TURNED_LETTER_RE.search(chunk):  # upside down: "ʞɔnɟ" is "fuck"
            chunk = _turned_right_way_up(chunk)
        spelled_out = _COMPAT_VOWEL_RE.search(chunk)
        chunk = unicodedata.normalize("NFKC", chunk)
        if spelled_out:  # "ㅂㅕㅇㅅㅣㄴ": letter by letter, finals too
            chunk = _attach_finals(chunk)
        if max(chunk) >= "\U0001f1e6" and _REGIONAL_RUN_RE.search(chunk):
            chunk = _REGIONAL_RUN_RE.sub(_regional_word, chunk)
        if "\u20e3" in chunk:  # keycap emoji digits: "5️⃣" is 5
            chunk = chunk.replace("\ufe0f", "").replace("\u20e3", "")
    chunk = chunk.casefold()
    if not chunk.isascii():
        chunk = chunk.translate(_LATIN_LETTERS)
        if _all_look_alike(chunk):  # "ріесе": Cyrillic letters alone, each a Latin look-alike
            chunk = chunk.translate(_HOMOGLYPHS)
    if _HAS_ASCII_LETTER_RE.search(chunk):
        if not chunk.isascii():  # a Latin word with look-alike letters in it: "іdіоt"
            chunk = _LATIN_MARKS_RE.sub("", chunk.translate(_HOMOGLYPHS))
        core = chunk.strip(_WORD_EDGES).rstrip("!")
        if _SEPARATED_LETTERS_RE.fullmatch(core):  # "f+u+c+k", "f|u|c|k", "f👏u👏c👏k,"
            chunk = chunk.replace(core, core[::2], 1)
        elif _INNER_MARK_RE.search(chunk):  # "id-iot", "idi.ot", if that spells such a word
            chunk = _read_without_marks(chunk)
        if _STRETCHED_OR_LEET_RE.search(chunk):
            chunk = _read_as_lexicon_word(chunk)
        else:
            core = chunk.strip(_WORD_EDGES)
            if core.isalpha() and _maybe_disguised(core):  # "shiit", "azzhole", "shyt"
                chunk = _read_as_lexicon_word(chunk)
        chunk = _unmask(chunk)
        chunk = _LEET_INNER_RE.sub(_unleet, chunk)
        chunk = _LEET_LEADING_RE.sub(_unleet, chunk)
        chunk = _LEET_TRAILING_RE.sub(_unleet, chunk)
    if _REPEAT_RE.search(chunk):
        chunk = _unstretch(chunk)
    if not chunk.isascii():
        chunk = _normalize_korean(chunk)
    return _pieces(chunk)


# What a contraction leaves after its apostrophe, run together with more words: "you'reanidiot",
# "it'sbullshit". The words are read apart only where the rest is a watched word or words run
# together around one (``GluedWords``), so "it'sgood" stays as it was.
_GLUED_AFTER_CONTRACTION_RE = regex.compile(r"(?<=[a-z]['’])(ll|re|ve|s|t|d|m)([a-z]{4,})")


def _contraction_apart(match: regex.Match[str]) -> str:
    tail, rest = match.groups()
    if rest in _GLUED.watched or _GLUED.split(rest):
        return f"{tail} {rest}"
    return match.group()


def _pieces(chunk: str) -> tuple[str, ...]:
    """The words of a read chunk: its runs of letters and digits (and emoji), respelled, and
    words run together read apart."""
    if "'" in chunk or "’" in chunk:
        chunk = _GLUED_AFTER_CONTRACTION_RE.sub(_contraction_apart, chunk)
    pieces = _PIECE_RE.findall(chunk)
    if not _RESPELLINGS.keys().isdisjoint(pieces):
        pieces = [_RESPELLINGS.get(piece, piece) for piece in pieces]
    return tuple(word for piece in pieces for word in _GLUED.split(piece) or (piece,))


# Text written upside down ("noʎ ʞɔnɟ"): turned letters, and letters that read as another when
# turned (u as n, d as p, b as q), in reverse order. A chunk with a turned letter and no letter
# outside this alphabet is turned back; its words come out in reverse order, which only the
# word pairs notice.
_TURNED_LETTERS = dict(
    zip("ɐqɔpǝɟƃɥᴉıɾʞlɯuodbɹsʇnʌʍxʎz¡¿", "abcdefghiijklmnopqrstuvwxyz!?", strict=True)
)
_TURNED_TABLE = str.maketrans(_TURNED_LETTERS)
_TURNED_LETTER_RE = re.compile("[ɐɔǝɟƃɥᴉɾʞɯɹʇʌʍʎ]")


def _turned_right_way_up(chunk: str) -> str:
    if any(c.isalpha() and c not in _TURNED_LETTERS for c in chunk):
        return chunk
    return chunk[::-1].translate(_TURNED_TABLE)


# Hangul written letter by letter with the compatibility jamo ("ㅂㅕㅇㅅㅣㄴ" for 병신): NFKC makes
# every consonant an initial, and an initial with no vowel after it is the final of the open
# syllable before it. Only where the chunk spells vowels out too, so "좋아ㅋㅋ" keeps its ㅋㅋ.
_COMPAT_VOWEL_RE = re.compile("[\u314f-\u3163]")
_FINAL_OF_INITIAL = {
    initial: final
    for initial, final in zip(
        "\u1100\u1101\u1102\u1103\u1105\u1106\u1107\u1109\u110a\u110b\u110c\u110e\u110f\u1110\u1111\u1112",
        (1, 2, 4, 7, 8, 16, 17, 19, 20, 21, 22, 23, 24, 25, 26, 27),
        strict=True,
    )
}
# Not a consonant doubled, as in a laugh ("ㅋㅋ", "ㄷㄷ") after a spelled-out word.
_LOOSE_FINAL_RE = regex.compile("([\uac00-\ud7a3])([\u1100-\u1112])(?![\u1161-\u1175]|\\2)")


def _attach_finals(chunk: str) -> str:
    def attach(match: regex.Match[str]) -> str:
        syllable, initial = match.groups()
        final = _FINAL_OF_INITIAL.get(initial)
        if final is None or (ord(syllable) - 0xAC00) % 28:
            return match.group()
        return chr(ord(syllable) + final)

    return _LOOSE_FINAL_RE.sub(attach, chunk)


def _regional_word(match: regex.Match[str]) -> str:
    letters = match.group().translate(_REGIONAL_LETTERS)
    return letters if letters in _LEXICON else match.group()


def _unstretch(text: str) -> str:
    """``text`` with each run of three or more of a character cut to two, or in a word to one
    where that spells a common word: "maaake moooney faaast" is "make money fast", "hmmm" is
    "hmm", "!!!" is "!!"."""
    text = _STRETCHED_WORD_RE.sub(_common_reading, text)
    return _REPEAT_RE.sub(r"\1\1", text)


def _common_reading(match: re.Match[str]) -> str:
    return _GLUED.unstretched(match.group()) or match.group()


def _read_without_marks(chunk: str) -> str:
    """``chunk`` with the marks inside it dropped if that spells a word of the lexicon ("id-iot"
    -> "idiot"); else unchanged, so "re-use" and "e.g." stay as they are."""
    core = chunk.strip(_WORD_EDGES)
    if _CONTRACTION_RE.fullmatch(core):
        return chunk
    joined = _INNER_MARK_RE.sub("", core)
    return chunk.replace(core, joined, 1) if joined in _LEXICON or joined in _RESPELLINGS else chunk


def _read_as_lexicon_word(chunk: str) -> str:
    """``chunk`` with the word in it spelled out if it spells one of the lexicon's words
    ("ki11," -> "kill,", "!d!ot" -> "idiot", "fuuuuck" -> "fuck"); else ``chunk`` unchanged."""
    core = chunk.strip(_WORD_EDGES)
    for candidate in (core, core.rstrip("!")):
        word = _lexicon_reading(candidate) if candidate else None
        if word:
            return chunk.replace(candidate, word, 1)
    return chunk


@lru_cache(maxsize=4096)
def _lexicon_reading(spelling: str) -> str | None:
    """The lexicon word ``spelling`` reads as, taking a run of three or more of a letter as one
    or two of it, a doubled letter as two or one ("shiit", "retarrd"), a leetspeak digit or
    symbol as any letter it stands for, and "z" and "y" as in ``_LETTER_READINGS``; ``None`` if
    none (or if there are more than 64 ways to read it)."""
    options: list[tuple[str, ...]] = []
    ways = 1
    for run in SAME_CHARACTER_RUN_RE.finditer(spelling):
        character, length = run.group(1), len(run.group())
        if character in _LETTER_READINGS and _reads_as_other_letter(spelling, run):
            letters: tuple[str, ...] = _LETTER_READINGS[character]
        elif "a" <= character <= "z":
            letters = (character,)
        elif character in _LEET_READINGS:
            letters = _LEET_READINGS[character]
        else:
            return None
        lengths = (1, 2) if length >= 3 else (2, 1) if length == 2 else (1,)
        options.append(tuple(letter * n for letter in letters for n in lengths))
        ways *= len(options[-1])
        if ways > 64:
            return None
    return next((w for w in map("".join, product(*options)) if w in _LEXICON), None)


def _reads_as_other_letter(spelling: str, run: re.Match[str]) -> bool:
    """Whether a run of "z" or "y" may stand for another letter: "y" only between consonants."""
    if run.group(1) != "y":
        return True
    before, after = spelling[run.start() - 1 : run.start()], spelling[run.end() : run.end() + 1]
    return (
        bool(before and after) and (before + after).isalpha() and _VOWELS.isdisjoint(before + after)
    )


def _maybe_disguised(word: str) -> bool:
    """Whether a plain lower-case word might be a lexicon word disguised by a doubled letter or
    a "z" or "y" for another letter ("shiit", "azzhole", "shyt"); a cheap test before the
    reading is looked for."""
    return (
        word[0] in _LEXICON_HEADS
        and ("z" in word or "y" in word or _DOUBLED_RUN_RE.search(word) is not None)
        and _skeleton(word) in _LEXICON_SKELETONS
        and word not in _REAL_WORDS
    )


def _unmask(chunk: str) -> str:
    """``chunk`` with a masked swear word in it spelled out ("f**k!" -> "fuck!")."""
    if not _MASK_SYMBOL_RE.search(chunk):
        return chunk
    core = chunk.strip(_EDGE_PUNCTUATION)
    if not _MASK_SYMBOL_RE.search(core) or not _MASKED_CORE_RE.fullmatch(core):
        return chunk
    if _EMPHASIS_RE.fullmatch(core) or _HASHTAG_RE.fullmatch(core):
        return chunk  # "*is*" stresses a word and "#rap" tags one; neither masks a letter
    word = _masked_word(core)
    return chunk if word is None else chunk.replace(core, word, 1)


@lru_cache(maxsize=4096)
def _is_masked_word(chunk: str) -> bool:
    """Whether a chunk starting with @ is a masked swear word ("@sshole") rather than a mention."""
    folded = chunk.casefold()
    return _unmask(folded) != folded


@lru_cache(maxsize=4096)
def _masked_word(core: str) -> str | None:
    runs = _MASK_RUN_RE.findall(core)
    letters = sum(len(run) for run in runs if run[0].isalpha())
    if not letters:
        return None
    first = runs[0] if runs[0][0].isalpha() else ""
    last = runs[-1] if runs[-1][0].isalpha() else ""
    # Most symbol-bearing words are hashtags and mentions; the fixed ends rule them out fast.
    candidates = [w for w in _MASKABLE_WORDS if w.startswith(first) and w.endswith(last)]
    slacks = (0, 1) if len(core) - letters >= 2 and letters >= 2 else (0,)
    for slack in slacks:
        for word in candidates:
            if _fits(runs, word, slack):
                return word
    return None


def _fits(runs: list[str], word: str, slack: int, run: int = 0, at: int = 0) -> bool:
    """Whether ``word`` is spelled by ``runs`` (letters, or symbols standing for as many
    letters, give or take ``slack``), from run ``run`` and letter ``at`` on."""
    if run == len(runs):
        return at == len(word)
    piece = runs[run]
    if piece[0].isalpha():
        return word.startswith(piece, at) and _fits(runs, word, slack, run + 1, at + len(piece))
    return any(
        _fits(runs, word, slack, run + 1, at + size)
        for size in range(max(1, len(piece) - slack), len(piece) + slack + 1)
        if at + size <= len(word)
    )


def _unleet(match: regex.Match[str]) -> str:
    # A masking asterisk ("f*ck") is dropped rather than guessed.
    return match.group().replace("*", "").translate(_LEET)


def _normalize_korean(chunk: str) -> str:
    if not _HANGUL_RE.search(chunk):
        return chunk
    if "8" in chunk:
        chunk = _KOREAN_DIGIT_SWEAR_RE.sub("씨발", chunk)
    chunk = _HANGUL_GAP_RE.sub("", chunk)
    if "\u1173" in chunk:  # the vowel ㅡ as a dash between syllables: "씨ㅡ발"
        chunk = _HANGUL_DASH_RE.sub("", chunk)
    chunk = _KOREAN_ABBREVIATION_RE.sub(lambda m: _KOREAN_ABBREVIATIONS[m.group()], chunk)
    if _ANY_KOREAN_VARIANT_RE.search(chunk):
        for pattern, canonical in _KOREAN_VARIANTS:
            chunk = pattern.sub(canonical, chunk)
    return chunk


def _has_spaced_letters(tokens: list[Token]) -> bool:
    run = 0
    for token in tokens:
        if len(token.text) == 1:
            run += 1
            if run == 3:
                return True
        else:
            run = 0
    return False


def _join_spaced_letters(tokens: list[Token]) -> list[Token]:
    """Join runs of three or more one-letter tokens: "i d i o t" and "f.u.c.k" become one word.

    The letters of one chunk ("s.t.u.p.i.d") make a word of their own, and a run of one-letter
    chunks leaves out an "a" or "i" at either end when the rest spells a word of the lexicon
    and the whole does not ("a m o r o n" is "a moron").
    """
    joined: list[Token] = []
    run: list[Token] = []
    # Tokens of one chunk share its span: a chunk of several letters is a run of its own.
    per_chunk = Counter(token.start for token in tokens)
    for token in [*tokens, None]:
        if (
            token is not None
            and len(token.text) == 1
            and (token.text.isalpha() or token.text in LEET_LETTERS)
        ):
            if run and run[-1].start != token.start and per_chunk[token.start] > 1:
                _end_leet_run(run, joined)
                run = []
            run.append(token)
            continue
        _end_leet_run(run, joined)
        run = []
        if token is not None:
            joined.append(token)
    return joined


def _end_leet_run(run: list[Token], joined: list[Token]) -> None:
    """End a run of one-character tokens that may hold leetspeak digits ("5 7 u p 1 d").

    With digits in it, the run is one word only where it reads as a word of the lexicon, or as
    words run together that name one; else its digits stay numbers and the letters between them
    are runs of their own ("1 2 3 a b c" stays as it is).
    """
    if all(token.text.isalpha() for token in run):
        _end_run(run, joined)
        return
    word = "".join(token.text for token in run)
    if sum(ch.isalpha() for ch in word) >= 2:
        reading = _lexicon_reading(word)
        if reading:
            joined.append(Token(reading, run[0].start, run[-1].end))
            return
        pieces = _GLUED.split(word.translate(_LEET))
        if pieces:
            _append_pieces(run, 0, pieces, joined)
            return
    letters: list[Token] = []
    for token in run:
        if token.text.isalpha():
            letters.append(token)
            continue
        _end_run(letters, joined)
        letters = []
        joined.append(token)
    _end_run(letters, joined)


def _append_pieces(
    run: list[Token], first: int, pieces: tuple[str, ...], joined: list[Token]
) -> None:
    """Tokens for ``pieces``, the words the letters of ``run`` from ``first`` on spell, one
    letter per token."""
    at = first
    for piece in pieces:
        joined.append(Token(piece, run[at].start, run[at + len(piece) - 1].end))
        at += len(piece)


def _join_split_words(tokens: list[Token]) -> list[Token]:
    """Join two words, each a chunk of its own, that together spell a swear word or insult
    ("fu ck", "stu pid", "sh it") or a Korean consonant abbreviation ("ㅅ ㅂ" is 씨발).

    Both halves have two letters or more (Korean: one consonant each), so "s hit" stays two
    words; words of one chunk ("who're", "re-elected") are never joined; and no word of the
    list is two common words but the compounds that mean it anyway ("god damn"), so "use less"
    and "worth less" stay apart.
    """
    joined: list[Token] = []
    i, count = 0, len(tokens)
    while i < count:
        token = tokens[i]
        if (
            token.text in _SPLIT_WORD_HEADS
            and i + 1 < count
            and (i == 0 or tokens[i - 1].start != token.start)
        ):
            after = tokens[i + 1]
            word = _SPLIT_WORDS.get(token.text + after.text)
            if (
                word is not None
                and after.start != token.start
                and (i + 2 == count or tokens[i + 2].start != after.start)
            ):
                joined.append(Token(word, token.start, after.end))
                i += 2
                continue
        joined.append(token)
        i += 1
    return joined


def _end_run(run: list[Token], joined: list[Token]) -> None:
    if len(run) < 3:
        joined.extend(run)
        return
    first, last = 0, len(run)
    word = "".join(t.text for t in run)
    if word not in _LEXICON:
        for lead, trail in ((1, 0), (0, 1), (1, 1)):
            inner = word[lead : len(word) - trail]
            if (
                (not lead or word[0] in "ai")
                and (not trail or word[-1] in "ai")
                and inner in _LEXICON
            ):
                first, last = lead, len(run) - trail
                break
    joined.extend(run[:first])
    letters = "".join(t.text for t in run[first:last])
    # Spaced-out Korean consonants ("ㄱ ㅅ ㄲ") are the abbreviation they spell.
    word = _KOREAN_ABBREVIATIONS.get(letters, letters)
    pieces = _GLUED.split(word)  # a whole sentence spaced out: "y o u a r e a n i d i o t"
    if pieces:
        _append_pieces(run, first, pieces, joined)
    else:
        joined.append(Token(word, run[first].start, run[last - 1].end))
    joined.extend(run[last:])


# A match if a token starts with Hangul (a syllable or a jamo), else None: for the loops over
# every token, where a call of is_hangul_word costs more than the test.
match_hangul_start = re.compile("[\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f]").match


def is_hangul_word(word: str) -> bool:
    """Whether a token starts with Hangul (a syllable or a jamo)."""
    return match_hangul_start(word) is not None
