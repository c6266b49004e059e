"""Unicode clean-up, visible length, language detection and evasion-proof normalisation."""

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from model.language import detect_language
from model.normalize import (
    _GLUED,
    _LEXICON,
    _QUIET_EDGES,
    _REAL_WORDS,
    KOREAN_KEYBOARD,
    _lexicon_reading,
    _normalize_any_chunk,
    keyboard_keys,
    normalize_chunk,
    normalize_comment,
)
from model.text import strip_invisible, visible_length
from training.vectors import load_word_vectors

FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467"  # man ZWJ woman ZWJ girl


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("id\u200biot", "idiot"),  # zero-width space
        ("id\u200ciot", "idiot"),  # zero-width non-joiner
        ("id\u2060iot", "idiot"),  # word joiner
        ("\ufeffidiot", "idiot"),  # BOM
        ("id\u00adiot", "idiot"),  # soft hyphen
        ("\u202eidiot\u202c", "idiot"),  # bidi override
        ("\u2066idiot\u2069", "idiot"),  # bidi isolate
        ("\u200fidiot\u200e", "idiot"),  # bidi marks
        ("id\u200diot", "idiot"),  # ZWJ between letters goes
        (FAMILY, FAMILY),  # ZWJ between emoji stays
        ("\U0001f469\U0001f3fd\u200d\U0001f4bb", "\U0001f469\U0001f3fd\u200d\U0001f4bb"),
        ("a\x00b\x07c", "abc"),  # control characters
        ("line one\nline\ttwo", "line one\nline\ttwo"),  # newline and tab stay
        ("e\u0301", "\u00e9"),  # NFC
        ("\u1112\u1161\u11ab", "\ud55c"),  # conjoining jamo compose to 한
        ("\u3164\u3164\u3164", ""),  # Hangul fillers: a blank Korean comment
        ("\u115f", ""),
        ("\u2800\u2800", ""),  # blank braille
        ("i\u3164diot", "idiot"),
    ],
)
def test_strip_invisible(raw: str, clean: str) -> None:
    assert strip_invisible(raw) == clean


@pytest.mark.parametrize(
    ("text", "length"),
    [
        ("", 0),
        ("hello", 5),
        ("한국어", 3),
        ("\u1112\u1161\u11ab", 1),  # decomposed Hangul syllable
        ("e\u0301\u0323", 1),  # letter + two combining marks
        ("\U0001f1f0\U0001f1f7", 1),  # flag
        (FAMILY, 1),
        ("\U0001f44d\U0001f3fd", 1),  # emoji + skin tone
        ("id\u200b\u200biot", 5),  # invisible characters do not count
        ("ok \U0001f1f0\U0001f1f7!", 5),
    ],
)
def test_visible_length(text: str, length: int) -> None:
    assert visible_length(text) == length


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("You are completely wrong about this and you know it", "en"),
        ("idiot", "en"),
        ("송중기 시대극은 믿고본다. 첫회 신선하고 좋았다.", "ko"),
        ("ㅅㅂ", "ko"),
        ("이 기사 진짜 lol 웃기네", "ko"),
        ("Je ne sais pas ce que vous voulez dire avec cette phrase", "fr"),
        ("Das ist nicht gut und ich bin sehr enttäuscht", "de"),
        ("これは日本語の文章です", "ja"),
        ("Это просто ужасная статья", "ru"),
        ("", "und"),
        ("12345 !!! ???", "und"),
        ("\U0001f602\U0001f602", "und"),
    ],
)
def test_detect_language(text: str, language: str) -> None:
    assert detect_language(text) == language


@pytest.mark.parametrize("text", [None, 42, b"bytes"])
def test_detect_language_never_raises(text: object) -> None:
    assert detect_language(text) == "und"  # type: ignore[arg-type]


def words(text: str) -> list[str]:
    return [token.text for token in normalize_comment(text).tokens]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("IDIOT", ["idiot"]),
        ("ＩＤＩＯＴ", ["idiot"]),  # full-width
        ("𝐢𝐝𝐢𝐨𝐭", ["idiot"]),  # mathematical bold
        ("id\u200biot", ["idiot"]),
        ("1d10t", ["idiot"]),
        ("$tup1d", ["stupid"]),
        ("b!tch", ["bitch"]),
        ("@ss hole", ["asshole"]),  # a masked word, not a mention; with "hole", one word
        ("a$$hole", ["asshole"]),
        ("stuuuuupid", ["stupid"]),
        # A stretched run is one or two letters, whichever spells a word of the lexicon, else
        # two where that spells a common word or one about as common as the shorter reading,
        # else the commonest reading; two when none is a word.
        ("idiiiiiot", ["idiot"]),
        ("fuuuuck", ["fuck"]),
        ("goooood", ["good"]),
        ("sooooo", ["so"]),
        ("maaake moooney faaast", ["make", "money", "fast"]),
        ("giiiveeeaaawaaay", ["giveaway"]),
        ("tooo offf ooops", ["too", "off", "oops"]),
        ("xxxx hmmmm", ["xx", "hmm"]),
        # A digit or symbol is read as whichever letter it can stand for spells such a word.
        ("ki11", ["kill"]),
        ("|d|0t", ["idiot"]),
        ("!d!ot!", ["idiot"]),
        ("8itch", ["bitch"]),
        ("gr8", ["gr8"]),
        ("asshoIe", ["asshole"]),  # a capital I for the l
        # A doubled letter may stand for one, "z" for "s", "y" between consonants for "i";
        # real words keep their spelling.
        ("shiit", ["shit"]),
        ("retarrd", ["retard"]),
        ("azzhole", ["asshole"]),
        ("dumbazz!", ["dumbass"]),
        ("shyt", ["shit"]),
        ("hair dye", ["hair", "dye"]),
        ("jazz and pizza", ["jazz", "and", "pizza"]),
        ("looser rules", ["looser", "rules"]),
        ("a-hole", ["asshole"]),
        ("mofo", ["motherfucker"]),
        ("shut the f up", ["shut", "the", "fuck", "up"]),
        ("the f word", ["the", "f", "word"]),
        ("biatch", ["bitch"]),
        ("i d i o t", ["idiot"]),
        ("a m o r o n", ["a", "moron"]),  # the article is not part of the word
        ("s.t.u.p.i.d l.o.s.e.r", ["stupid", "loser"]),  # each chunk a word of its own
        ("f.u.c.k you", ["fuck", "you"]),
        ("f-u-c-k", ["fuck"]),
        ("f+u+c+k you", ["fuck", "you"]),  # + would otherwise be a leetspeak t
        ("f|u|c|k", ["fuck"]),
        ("f👏u👏c👏k", ["fuck"]),
        ("e🔥a🔥t s🔥h🔥i🔥t🔥!", ["eat", "shit"]),
        # Upside down, turned back; IPA with turned letters among others stays as it is.
        ("noʎ ʞɔnɟ", ["you", "fuck"]),
        ("¡ʇᴉɥs ɟo ǝɔǝᴉd", ["shit", "of", "piece"]),
        ("/pjɔɹ/", ["pjɔɹ"]),
        # A mark inside a word is dropped when that spells a word of the lexicon.
        ("id-iot", ["idiot"]),
        ("idi.ot", ["idiot"]),
        ("re-use", ["re", "use"]),
        ("he'll be fine", ["he", "ll", "be", "fine"]),  # a contraction: no "hell"
        ("who're they", ["who", "re", "they"]),
        ("f'ck", ["fuck"]),
        # Two chunks that together spell a swear word or insult, each of two letters or more.
        ("fu ck you", ["fuck", "you"]),
        ("stu pid", ["stupid"]),
        ("s hit", ["s", "hit"]),
        ("use less water", ["use", "less", "water"]),
        ("who re-elected", ["who", "re", "elected"]),
        ("🇫🇺🇨🇰 you", ["fuck", "you"]),  # regional indicator letters
        ("<b>f</b>uck", ["fuck"]),
        ("¡d¡ot", ["idiot"]),
        ("visit bit.ly/abc now", ["visit", "xurlx", "now"]),
        ("mail me: a.b@example.com", ["mail", "me", "xemailx"]),
        # Links written out to dodge link filters.
        ("www[.]cheapfollowers[.]com", ["xurlx"]),
        ("visit cheapfollowers dot com", ["visit", "xurlx"]),
        ("site(dot)com/buy now", ["xurlx", "now"]),
        ("www . cheap . com", ["xurlx"]),
        ("the dot com bubble", ["the", "dot", "com", "bubble"]),
        ("bit . ly / abc", ["xurlx", "abc"]),  # a shortener's name is short
        ("www,cheap,com", ["xurlx"]),
        ("cheapviagra,com", ["xurlx"]),
        ("Smith,co-founder", ["smith", "co", "founder"]),  # no comma for a dot before "co"
        ("yes,me too", ["yes", "me", "too"]),
        ("w w w . cheap . com", ["xurlx"]),
        # A link written a character at a time, with the same separator between each.
        ("go to b i t . l y / a b c 1 2 3 now", ["go", "to", "xurlx", "now"]),
        ("at w.w.w...c.h.e.a.p...c.o.m", ["at", "xurlx"]),
        ("b🔥i🔥t🔥.🔥l🔥y🔥/🔥x🔥y🔥z", ["xurlx"]),
        ("I a m a b o t. ok", ["iamabot", "ok"]),
        # Leetspeak in a link: an "@" for an "a" is no e-mail address, "c0m" is "com".
        ("www.ch3@p.com", ["xurlx"]),
        ("fr33ph0n3.c0m", ["xurlx"]),
        ("cheapviagra。com", ["xurlx"]),
        ("naver 점 com", ["xurlx"]),
        ("bit쩜ly 클릭", ["xurlx", "클릭"]),
        ("100점 만점에", ["100점", "만점에"]),
        ("공일공-일이삼사-오육칠팔", ["01012345678"]),
        ("공일공 일이삼사 오육칠팔", ["01012345678"]),
        ("사이 오이 구이", ["사이", "오이", "구이"]),
        ("ㅅㅂ", ["씨발"]),
        ("ㅂㅅ같은", ["병신같은"]),
        ("시1발", ["씨발"]),
        ("씨.발", ["씨발"]),
        ("병 신 새 끼", ["병신새끼"]),
        ("I have 2 cats", ["i", "have", "2", "cats"]),
        ("He said &quot;no&quot; &amp; left", ["he", "said", "no", "left"]),  # HTML-escaped
        # Masked swear words are read as the word they fit.
        ("F**K OFF", ["fuck", "off"]),
        ("f*ck!", ["fuck"]),
        ("go f@#k yourself", ["go", "fuck", "yourself"]),
        ("sh*t.", ["shit"]),
        ("a**hole", ["asshole"]),
        ("kiss my a**", ["kiss", "my", "ass"]),
        ("what the f***", ["what", "the", "fuck"]),
        ("F****in' nice", ["fuckin", "nice"]),  # one symbol too many
        ("bulls**t", ["bullshit"]),
        ("you are an @sshole", ["you", "are", "an", "asshole"]),  # not a mention
        ("@john thanks", ["thanks"]),  # a mention is no word of the comment
        ("fvck", ["fuck"]),
        ("phucking", ["fucking"]),
        ("i_d_i_o_t", ["idiot"]),
        ("snake_case", ["snake", "case"]),
        # Look-alike letters in a Latin word: Cyrillic, Armenian, accented or hooked Latin ones,
        # combining marks stacked on them, ©. Cyrillic words stay as they are, but for one of
        # look-alike letters alone.
        ("іdіоt", ["idiot"]),
        ("а ріесе оf shіt", ["a", "piece", "of", "shit"]),
        ("fսck", ["fuck"]),
        ("ìdíòt", ["idiot"]),
        ("ƒuck", ["fuck"]),
        ("i\u0336d\u0337i\u0336o\u0337t\u0336", ["idiot"]),
        ("fu©k", ["fuck"]),
        # "Fancy text": small capitals and squared letters (NFKC already folds the bold,
        # script, circled and full-width ones).
        ("ꜰᴜᴄᴋ ʏᴏᴜ", ["fuck", "you"]),
        ("🅵🆄🅲🅺", ["fuck"]),
        ("𝓯𝓾𝓬𝓴 ⓤ", ["fuck", "u"]),
        ("Привет мир", ["привет", "мир"]),
        ("café naïve", ["cafe", "naive"]),
        # Korean typed with the keyboard left in English.
        ("tlqkf", ["씨발"]),
        ("qudtls 같은", ["병신", "같은"]),
        ("좃같네", ["좆같네"]),
        # Spelling variants: a drawn-out vowel, Latin letters, 8 for 팔, other spellings.
        ("씨이발놈아", ["씨발놈아"]),
        ("C발놈아", ["씨발놈아"]),
        ("SIBAL놈아", ["씨발놈아"]),
        ("sibal", ["씨발"]),
        ("씨8놈아", ["씨발놈아"]),
        ("개쉐이", ["개새끼"]),
        ("미친 쉐끼", ["미친", "새끼"]),
        ("질알하네", ["지랄하네"]),
        ("x같네", ["좆같네"]),
        ("ABC발 뉴스", ["abc발", "뉴스"]),  # news from ABC, not a swear word
        ("쉐이크", ["쉐이크"]),
        ("존같네", ["좆같네"]),
        ("생존같은", ["생존같은"]),  # "like survival"
        ("좇같네", ["좆같네"]),
        ("꿈을 좇아", ["꿈을", "좇아"]),  # "chasing a dream"
        ("주거라", ["죽어라"]),
        ("주거라는 개념", ["주거라는", "개념"]),  # "the notion of housing"
        ("닥처", ["닥쳐"]),
        ("미췬놈", ["미친놈"]),
        ("개세끼", ["개새끼"]),
        ("하루 세끼", ["하루", "세끼"]),  # "three meals a day"
        ("개쉐키", ["개새끼"]),
        ("싀발", ["씨발"]),
        ("ㅅ ㅂ 진짜", ["씨발", "진짜"]),  # a consonant abbreviation spaced out
        ("ㄱ ㅅ ㄲ", ["개새끼"]),
        ("ㅋ ㅋ", ["ᄏ", "ᄏ"]),
        ("씨ㅡ발", ["씨발"]),  # the vowel ㅡ as a dash
        ("그ㅡ냥", ["그냥"]),
        ("쓰벌", ["씨발"]),
        ("뱅신", ["병신"]),
        ("벼엉신", ["병신"]),
        ("ByungShin", ["병신"]),
        ("개섀기", ["개새끼"]),
        ("개쉑", ["개새끼"]),
        # Symbols in other words are not guessed at.
        ("C# and F#", ["c", "and", "f"]),
        ("AT&T", ["at", "t"]),
        ("A*", ["a"]),
        ("*sigh*", ["sigh"]),
        ("He *is* the one", ["he", "is", "the", "one"]),  # stressed, not masked ("piss")
        ("#RAP is art", ["rap", "is", "art"]),  # a hashtag, not masked ("crap")
        ("너무 색기가 없어", ["너무", "색기가", "없어"]),  # 色氣, sex appeal
        ("이색기도", ["이새끼도"]),
        ("이 사건의 시발점은", ["이", "사건의", "시발점은"]),  # "the starting point"
        ("M*A*S*H", ["mash"]),
        # Words run together, read apart where that names a watched word.
        ("youareanidiot", ["you", "are", "an", "idiot"]),
        ("eatshit", ["eat", "shit"]),
        ("#fuckthis", ["fuck", "this"]),
        ("5tupidcunt", ["stupid", "cunt"]),
        ("contactmeonwhatsapp", ["contact", "me", "on", "whatsapp"]),
        # After a contraction's apostrophe too; "it'sgood" names no watched word.
        ("you'reanignorantbastard", ["you", "re", "an", "ignorant", "bastard"]),
        ("it’sbullshit", ["it", "s", "bullshit"]),
        ("#don'tBeDumb", ["don", "t", "be", "dumb"]),
        ("it'sgood", ["it", "sgood"]),
        ("f u c k y o u", ["fuck", "you"]),
        # Whole: words of their own, forms of a watched word, names.
        ("therapist", ["therapist"]),
        ("scunthorpe", ["scunthorpe"]),
        ("Cockburn", ["cockburn"]),
        ("hoodie", ["hoodie"]),
        ("killin", ["killin"]),
        ("dumbass", ["dumbass"]),
        ("goodfortune", ["goodfortune"]),
        # Hangul spelled letter by letter, finals too; a laugh after a word stays as it is.
        ("ㅂㅕㅇㅅㅣㄴ", ["병신"]),
        ("ㅆㅣㅂㅏㄹ", ["씨발"]),
        ("ㅎㅏㄴㄱㅡㄹ", ["한글"]),
        ("좋아ㅋㅋ", ["좋아ᄏᄏ"]),
        # "c8" (read 씨팔) in a Korean comment; a car elsewhere.
        ("c8 진짜", ["씨발", "진짜"]),
        ("C8놈아", ["씨발놈아"]),
        ("the new C8 Corvette", ["the", "new", "c8", "corvette"]),
        ("byung신", ["병신"]),
        # Spaced letters with leetspeak digits, read only where they spell a watched word.
        ("5 7 u p 1 d", ["stupid"]),
        ("b 1 7 c h", ["bitch"]),
        ("y 0 u 4 r 3 r 3 7 4 r d 3 d", ["you", "are", "retarded"]),
        ("1 2 3 a b c", ["1", "2", "3", "abc"]),
        # Stand-ins read in context, or only as words of their own.
        ("kil yourself", ["kill", "yourself"]),
        ("a kil of", ["a", "kil", "of"]),
        ("you idjit", ["you", "idiot"]),
        ("시바 진짜", ["씨발", "진짜"]),
        ("시바견 귀엽다", ["시바견", "귀엽다"]),  # a Shiba dog
        ("십팔 진짜", ["씨발", "진짜"]),
        ("십팔세", ["십팔세"]),  # eighteen years old
        ("빙시 같은 놈", ["병신", "같은", "놈"]),
        # Masked insults of five letters or more.
        ("m*ron", ["moron"]),
        ("l*ser", ["loser"]),
        ("y*urself", ["yourself"]),
        ("f*t", ["ft"]),  # not "fat": too short to guess at
    ],
)
def test_normalisation_undoes_evasion(text: str, expected: list[str]) -> None:
    assert words(text) == expected


def test_token_spans_point_into_the_comment() -> None:
    comment = normalize_comment("You   are an 1d10t!!")
    spans = [comment.original[t.start : t.end] for t in comment.tokens]
    assert spans == ["You", "are", "an", "1d10t!!"]


def test_a_spaced_out_sentence_is_read_word_by_word() -> None:
    comment = normalize_comment("y o u a r e a n i d i o t")
    assert [t.text for t in comment.tokens] == ["you", "are", "an", "idiot"]
    spans = [comment.original[t.start : t.end] for t in comment.tokens]
    assert spans == ["y o u", "a r e", "a n", "i d i o t"]


def test_korean_keyboard_keys_follow_the_two_set_layout() -> None:
    assert keyboard_keys("씨발") == "tlqkf"  # Shift+t for ㅆ, lower-cased
    assert keyboard_keys("개새끼") == "rotorl"
    assert keyboard_keys("닭") == "ekfr"  # a double final consonant
    with pytest.raises(ValueError):
        keyboard_keys("ㅅㅂ")


def test_korean_keyboard_words_cannot_be_english_words() -> None:
    english = set(load_word_vectors().words)
    for keys in KOREAN_KEYBOARD:
        assert len(keys) >= 4
        assert keys not in english


@given(st.text(alphabet=string.ascii_letters, min_size=1, max_size=20))
def test_a_plain_word_takes_the_short_way_to_the_same_result(word: str) -> None:
    assert normalize_chunk(word) == _normalize_any_chunk(word)


@given(
    st.one_of(
        st.sampled_from(sorted(_LEXICON)).flatmap(
            lambda word: st.sampled_from(
                sorted({word, word.upper(), word.title(), *_disguises(word)})
            )
        ),
        st.text(alphabet=string.ascii_letters, min_size=1, max_size=12),
    ),
    st.text(alphabet=_QUIET_EDGES, max_size=3),
    st.text(alphabet=_QUIET_EDGES, max_size=3),
)
def test_a_word_in_plain_punctuation_takes_the_short_way_to_the_same_result(
    word: str, before: str, after: str
) -> None:
    chunk = before + word + after
    assert normalize_chunk(chunk) == _normalize_any_chunk(chunk)


# "!" may stand for a letter and "$", "*" or "@" may mask one: such chunks take the long way.
@pytest.mark.parametrize("chunk", ["heel!", "he!!.", "foo!", "looser!!", "(sh*t)", "$hit.", "a$$,"])
def test_a_word_in_telling_punctuation_reads_as_the_long_way_reads_it(chunk: str) -> None:
    assert normalize_chunk(chunk) == _normalize_any_chunk(chunk)
    assert normalize_chunk(chunk) != normalize_chunk("".join(filter(str.isalpha, chunk)))


@given(
    st.lists(
        st.one_of(
            st.sampled_from(["씨", "발", "시", "바", "병", "신", "새", "끼", "개", "하", "ㅋ"]),
            st.characters(min_codepoint=0xAC00, max_codepoint=0xD7A3),
        ),
        min_size=1,
        max_size=8,
    ).map("".join)
)
def test_a_hangul_word_takes_the_short_way_to_the_same_result(chunk: str) -> None:
    assert normalize_chunk(chunk) == _normalize_any_chunk(chunk)


def _disguises(word: str) -> set[str]:
    """``word`` with one letter doubled, or "s" written "z", or "i" written "y"."""
    found = {word[:i] + word[i] + word[i:] for i in range(len(word))}
    found |= {
        word[:i] + {"s": "z", "i": "y"}[c] + word[i + 1 :] for i, c in enumerate(word) if c in "si"
    }
    return found - {word}


def test_the_quick_test_lets_every_disguised_reading_through() -> None:
    # normalize_chunk looks for a reading only where _maybe_disguised says one may exist; every
    # spelling that reads as a lexicon word must get past it.
    read = 0
    for word in sorted(_LEXICON):
        for spelling in sorted(_disguises(word)):
            reading = _lexicon_reading(spelling)
            if reading and spelling not in _LEXICON and spelling not in _REAL_WORDS:
                assert normalize_chunk(spelling) == (reading,), spelling
                read += 1
    assert read > 300


@pytest.mark.parametrize("word", ["Soooooo", "FVCK", "phuck", "Idiot", "aaa"])
def test_plain_words_that_the_normaliser_changes(word: str) -> None:
    assert normalize_chunk(word) == _normalize_any_chunk(word)


class _EveryHead(frozenset):
    def __contains__(self, item: object) -> bool:
        return True


@given(
    st.lists(
        st.one_of(
            st.sampled_from(sorted(_GLUED.watched)),
            st.sampled_from(["you", "are", "an", "the", "is", "so", "money", "free", "click"]),
            st.text(alphabet=string.ascii_lowercase, min_size=1, max_size=6),
        ),
        min_size=1,
        max_size=4,
    )
)
def test_words_without_a_watched_word_inside_skip_the_search_and_split_the_same(pieces) -> None:
    """``GluedWords`` asks wordninja only about words holding the start of a watched word."""
    word = "".join(pieces)
    if not word.isalpha():
        return
    filtered = _GLUED._split(word)
    heads = _GLUED._watched_heads
    try:
        _GLUED._watched_heads = _EveryHead()
        assert _GLUED._split(word) == filtered
    finally:
        _GLUED._watched_heads = heads
