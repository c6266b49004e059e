"""The shipped model: its fast path agrees with scikit-learn, it survives evasion, and it refuses
files it cannot trust."""

import json
import random
import re
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import sparse
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.metrics import roc_auc_score

from model import scorer as scorer_module
from model.artifact import ModelFileError, read_artifact, write_artifact
from model.features import (
    VECTOR_PRIOR_IDF,
    CharCountVectorizer,
    CharTfidfVectorizer,
    CommentNormalizer,
    StableTfidfVectorizer,
    char_terms,
    signal_hits,
    vector_prior_idf,
    word_char_grams,
    word_terms,
)
from model.normalize import GROUP_TOKEN, GROUP_WORDS, normalize_comment
from model.scorer import REASON_MIN_SCORE, Reason, Scorer, load_default_model, load_model
from service.sites import DEFAULT_REJECT, DEFAULT_REVIEW
from training.datasets import Example, load_examples, load_held_out
from training.disguises import disguises
from training.groups import measure_all
from training.newsload import news_load
from training.reactions import flagged
from training.train import (
    TrainingConfig,
    export,
    hstack_rows,
    pipeline_from_artifact,
    train_model,
    train_pipeline,
)
from training.vectors import load_word_vectors, write_word_vectors

DEFAULT_DIR = Path(scorer_module.__file__).with_name("default")


@pytest.fixture(scope="module")
def scorer() -> Scorer:
    return load_default_model()


@pytest.fixture(scope="module")
def bundled_texts() -> list[str]:
    """A few hundred bundled comments from every source, both languages."""
    examples = load_examples()
    rng = random.Random(7)
    by_source: dict[str, list[str]] = {}
    for example in examples:
        by_source.setdefault(example.source, []).append(example.text)
    return [text for source in sorted(by_source) for text in rng.sample(by_source[source], 50)]


def probabilities(scorer: Scorer, texts: list[str]) -> np.ndarray:
    return np.array([[r.scores[c] for c in scorer.categories] for r in scorer.score_many(texts)])


def test_default_model_describes_itself(scorer: Scorer) -> None:
    assert re.fullmatch(r"\d{4}\.\d{2}\.\d{2}-[0-9a-f]{8}", scorer.version)
    assert scorer.categories == ("spam", "abuse")
    meta = scorer.metadata
    assert meta["version"] == scorer.version
    assert re.fullmatch(r"[0-9a-f]{64}", meta["training_data_sha256"])
    assert {"python", "numpy", "scikit-learn"} <= set(meta["libraries"])
    assert set(meta["metrics"]) == {"spam", "abuse"}


def test_fast_path_matches_the_pipeline_it_was_exported_from(scorer: Scorer, bundled_texts):
    pipeline = pipeline_from_artifact(DEFAULT_DIR)
    expected = pipeline.predict_proba(bundled_texts)
    assert np.abs(probabilities(scorer, bundled_texts) - expected).max() < 1e-9


def test_freshly_trained_pipeline_exports_exactly(tmp_path: Path, bundled_texts) -> None:
    examples = load_examples()
    sample = random.Random(3).sample(examples, 3000)
    config = TrainingConfig(
        word_features=3000, char_features=8000, calibration_folds=3, spam_negatives_per_source=200
    )
    pipeline, _ = train_pipeline(sample, config, seed=0)
    version = export(pipeline, tmp_path / "model", {"note": "test"})
    loaded = load_model(tmp_path / "model")
    assert loaded.version == version
    expected = pipeline.predict_proba(bundled_texts)
    assert np.abs(probabilities(loaded, bundled_texts) - expected).max() < 1e-9
    # Same pipeline, same bytes, same version.
    assert export(pipeline, tmp_path / "again", {"note": "test"}) == version
    # The word vectors folded into a score per word, for the abuse head only.
    artifact = read_artifact(tmp_path / "model")
    scores = artifact.arrays["vector_scores"]
    assert scores.shape == (len(artifact.vocabulary["vectors"]), 2)
    assert not scores[:, 0].any() and scores[:, 1].any()


@pytest.fixture(scope="module")
def normalized_texts(bundled_texts) -> list:
    texts = [*bundled_texts, "", "   ", "ㅋㅋㅋ", "병 신 같은", "a a a", "é\u0301 ß 𝕿𝖊𝖘𝖙"]
    return CommentNormalizer().transform(texts)


def assert_same_matrix(got: sparse.spmatrix, want: sparse.spmatrix) -> None:
    """The same arrays, entry for entry (the order of a row's entries included)."""
    assert got.shape == want.shape and got.dtype == want.dtype
    assert np.array_equal(got.indptr, want.indptr)
    assert np.array_equal(got.indices, want.indices)
    assert np.array_equal(got.data, want.data)


@pytest.mark.parametrize(
    ("wordwise", "plain", "options"),
    [
        (CharTfidfVectorizer, TfidfVectorizer, {"sublinear_tf": True}),
        (CharCountVectorizer, CountVectorizer, {"dtype": np.float64}),
    ],
)
def test_character_ngrams_counted_word_by_word_are_scikit_learns(
    normalized_texts, wordwise, plain, options
) -> None:
    """The word-by-word count gives scikit-learn's vocabulary, idf and matrices exactly."""
    settings = {"analyzer": char_terms, "lowercase": False, "min_df": 2, **options}
    fast, reference = wordwise(**settings), plain(**settings)
    assert_same_matrix(
        fast.fit_transform(normalized_texts), reference.fit_transform(normalized_texts)
    )
    assert fast.vocabulary_ == reference.vocabulary_
    if hasattr(reference, "idf_"):
        assert np.array_equal(fast.idf_, reference.idf_)
    later = normalized_texts[::3]
    assert_same_matrix(fast.transform(later), reference.transform(later))
    # Any other analyzer is counted the usual way.
    words = wordwise(analyzer=word_terms, lowercase=False).fit(normalized_texts)
    expected = plain(analyzer=word_terms, lowercase=False).fit(normalized_texts)
    assert words.vocabulary_ == expected.vocabulary_


@pytest.mark.parametrize(
    ("stable", "analyzer", "limit"),
    [(StableTfidfVectorizer, word_terms, 600), (CharTfidfVectorizer, char_terms, 8000)],
)
def test_max_features_keeps_the_commonest_terms_ties_broken_by_the_term(
    normalized_texts, stable, analyzer, limit
) -> None:
    counts = CountVectorizer(analyzer=analyzer, lowercase=False, min_df=2).fit(normalized_texts)
    matrix = counts.transform(normalized_texts)
    totals = np.asarray(matrix.sum(axis=0)).ravel()
    ranked = sorted(counts.vocabulary_, key=lambda term: (-totals[counts.vocabulary_[term]], term))
    boundary = totals[counts.vocabulary_[ranked[limit - 1]]]
    assert totals[counts.vocabulary_[ranked[limit]]] == boundary  # terms tie across the limit

    fitted = stable(analyzer=analyzer, lowercase=False, min_df=2, max_features=limit)
    got = fitted.fit_transform(normalized_texts)
    assert set(fitted.vocabulary_) == set(ranked[:limit])
    # The same matrix and idf as scikit-learn's with that vocabulary given.
    given = TfidfVectorizer(analyzer=analyzer, lowercase=False, vocabulary=fitted.vocabulary_)
    assert_same_matrix(got, given.fit_transform(normalized_texts))
    assert np.array_equal(fitted.idf_, given.idf_)


def test_the_shipped_model_has_word_vectors(scorer: Scorer) -> None:
    artifact = read_artifact(DEFAULT_DIR)
    assert artifact.manifest["format_version"] == 2
    # The vectors file holds the training data's 10,000 commonest English words and 100,000 more
    # English words; export keeps every one, those no training comment holds too.
    assert artifact.vocabulary["vectors"] == list(load_word_vectors().words)
    assert len(artifact.vocabulary["vectors"]) == 110_000
    # An insult no training comment holds leans to abuse through its vector.
    pipeline = pipeline_from_artifact(artifact)
    features = pipeline.named_steps["features"]
    comments = pipeline.named_steps["normalize"].transform(["what a nincompoop", "what a day"])
    vectors = dict(features.transformer_list)["vectors"].transform(comments).toarray()
    assert vectors[0, 1] > vectors[1, 1]


def test_a_one_word_comment_takes_only_part_of_its_words_vector_score() -> None:
    artifact = read_artifact(DEFAULT_DIR)
    prior = vector_prior_idf(artifact.arrays)
    assert prior == VECTOR_PRIOR_IDF
    pipeline = pipeline_from_artifact(artifact)
    comments = pipeline.named_steps["normalize"].transform(["potato"])
    block = dict(pipeline.named_steps["features"].transformer_list)["vectors"]
    row = artifact.vocabulary["vectors"].index("potato")
    idf, scores = artifact.arrays["vector_idf"][row], artifact.arrays["vector_scores"][row]
    got = block.transform(comments).toarray()[0]
    assert np.allclose(got, scores * idf / (idf + prior))


def test_a_model_file_from_before_the_vector_prior_scores_as_it_did(
    tmp_path: Path, bundled_texts
) -> None:
    artifact = read_artifact(DEFAULT_DIR)
    arrays = {k: v for k, v in artifact.arrays.items() if k != "vector_prior_idf"}
    write_artifact(tmp_path / "old", arrays, artifact.vocabulary, artifact.manifest)
    old = load_model(tmp_path / "old")
    expected = pipeline_from_artifact(tmp_path / "old").predict_proba(bundled_texts)
    assert np.abs(probabilities(old, bundled_texts) - expected).max() < 1e-9
    assert not np.allclose(
        probabilities(old, ["potato"]), probabilities(load_model(DEFAULT_DIR), ["potato"])
    )


def test_a_model_whose_vector_block_does_not_fit_is_refused(tmp_path: Path) -> None:
    artifact = read_artifact(DEFAULT_DIR)
    arrays = {**artifact.arrays, "vector_scores": artifact.arrays["vector_scores"][:-1]}
    write_artifact(tmp_path / "bad", arrays, artifact.vocabulary, artifact.manifest)
    with pytest.raises(ModelFileError, match="do not fit"):
        load_model(tmp_path / "bad")


def test_a_model_without_word_vectors_still_loads(tmp_path: Path, bundled_texts) -> None:
    examples = random.Random(5).sample(load_examples(), 2000)
    config = TrainingConfig(
        word_features=2000,
        char_features=5000,
        calibration_folds=3,
        spam_negatives_per_source=100,
        vector_scale=0.0,
    )
    pipeline, _ = train_pipeline(examples, config, seed=0)
    export(pipeline, tmp_path / "model", {"note": "test"})
    manifest_path = tmp_path / "model" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["format_version"] = 1  # what models were before the vector block
    manifest_path.write_text(json.dumps(manifest))
    loaded = load_model(tmp_path / "model")
    assert "vectors" not in read_artifact(tmp_path / "model").vocabulary
    expected = pipeline.predict_proba(bundled_texts)
    assert np.abs(probabilities(loaded, bundled_texts) - expected).max() < 1e-9


def test_word_vectors_survive_their_int8_file(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(50, 384))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    words = [f"word{i}" for i in range(49)] + ["멍청이"]
    write_word_vectors(words, vectors, tmp_path / "v.npz")
    loaded = load_word_vectors(tmp_path / "v.npz")
    assert loaded.words == tuple(words)
    error = np.abs(loaded.vectors - vectors).max(axis=1)
    assert (error <= np.abs(vectors).max(axis=1) / 254 + 1e-7).all()
    assert load_word_vectors(tmp_path / "missing.npz") is None


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("Check out my channel and subscribe!!! http://bit.ly/2xYz", "spam"),
        ("Make money from home, earn $500 a day, contact me on whatsapp +1 555 123 4567", "spam"),
        ("You are a pathetic idiot and a moron, shut up", "abuse"),
        ("병신 같은 새끼 꺼져라", "abuse"),
        ("ㅅㅂ 기자 수준 진짜 쓰레기네", "abuse"),
    ],
)
def test_obvious_comments_score_high(scorer: Scorer, text: str, category: str) -> None:
    assert scorer.score(text).scores[category] > 0.8


@pytest.mark.parametrize(
    "text",
    [
        "Call 010-9876-5432 for the best deals on phones today",
        "Best deals on laptops, text me at 555-123-4567",
    ],
)
def test_an_ad_with_a_phone_number_reaches_review(scorer: Scorer, text: str) -> None:
    # A phone number alone is weak evidence (e-mail signatures carry them); with an ad's words
    # it is what a news site's comment box should not publish unseen.
    assert scorer.score(text).scores["spam"] > 0.5


@pytest.mark.parametrize(
    "text",
    [
        "Thanks for the thorough reporting, the council should publish the budget.",
        "Please contact me if you want to discuss the article.",
        "Call us crazy, but we liked the new mayor.",
        "I got great deals at the farmers market today.",
        "I disagree with the author: the new tax will hit small businesses hardest.",
        "좋은 기사 감사합니다. 잘 읽었습니다.",
        "송중기 시대극은 믿고본다. 첫회 신선하고 좋았다.",
    ],
)
def test_ordinary_comments_score_low(scorer: Scorer, text: str) -> None:
    scores = scorer.score(text).scores
    assert scores["spam"] < 0.2
    assert scores["abuse"] < 0.3


@pytest.mark.parametrize(
    ("plain", "disguised", "category"),
    [
        ("you are an idiot", "you are an 1d10t", "abuse"),
        ("you are an idiot", "you are an i d i o t", "abuse"),
        ("you are an idiot", "YOU ARE AN IDIOT", "abuse"),
        ("you are an idiot", "you are an id\u200biot", "abuse"),
        ("you are an idiot", "ｙｏｕ ａｒｅ ａｎ ｉｄｉｏｔ", "abuse"),
        ("shut up you stupid bitch", "shut up you $tup1d b!tch", "abuse"),
        ("shut up you stupid bitch", "shut up you stuuuupid biiiitch", "abuse"),
        ("fuck you", "f.u.c.k you", "abuse"),
        ("fuck off and don't come back", "F**K OFF and don't come back", "abuse"),
        ("go fuck yourself", "go f@#k yourself", "abuse"),
        ("you are an asshole", "you are an a**hole", "abuse"),
        ("what a piece of shit", "what a piece of sh*t", "abuse"),
        ("you are an idiot", "you are an іdіоt", "abuse"),  # Cyrillic і and о
        ("you are an idiot", "you are an i_d_i_o_t", "abuse"),
        ("fuck you", "fvck you", "abuse"),
        ("you are an asshole", "you are an @sshole", "abuse"),
        ("씨발", "tlqkf", "abuse"),  # typed with the keyboard left in English
        ("병신 같은 놈", "qudtls 같은 놈", "abuse"),
        ("씨발 진짜", "ㅅㅂ 진짜", "abuse"),
        ("병신 새끼", "병 신 새 끼", "abuse"),
        ("씨발 꺼져", "시1발 꺼져", "abuse"),
        ("씨발놈아", "씨이발놈아", "abuse"),
        ("씨발놈아", "SIBAL놈아", "abuse"),
        ("씨발놈아", "씨8놈아", "abuse"),
        ("개새끼", "개샛기", "abuse"),
        ("지랄하네", "질알하네", "abuse"),
        ("좆같네", "x같네", "abuse"),
        ("you are an idiot", "you are an idiiiiiot", "abuse"),
        ("you are an idiot", "you are an ìdíòt", "abuse"),
        ("you are an idiot", "you are an |d|0t", "abuse"),
        ("you are a moron", "you are a m o r o n", "abuse"),
        ("you piece of shit", "you piece of shiiit", "abuse"),
        ("kill yourself", "ki11 yourself", "abuse"),
        ("fuck you", "fսck you", "abuse"),  # Armenian ս
        ("fuck you", "fu©k you", "abuse"),
        ("you are an idiot", "ʏᴏᴜ ᴀʀᴇ ᴀɴ ɪᴅɪᴏᴛ", "abuse"),  # small capitals
        ("fuck you", "🅵🆄🅲🅺 you", "abuse"),
        ("what an asshole", "what an asshoIe", "abuse"),
        ("fuck you", "f+u+c+k you", "abuse"),
        ("fuck you", "f👏u👏c👏k you", "abuse"),
        ("fuck you", "noʎ ʞɔnɟ", "abuse"),
        ("you are an idiot", "ʇoᴉpᴉ uɐ ǝɹɐ noʎ", "abuse"),
        ("you are an idiot", "you are an id-iot", "abuse"),
        ("you piece of shit", "you piece of shiit", "abuse"),
        ("what an asshole", "what an azzhole", "abuse"),
        ("you stupid bitch", "you stupid bytch", "abuse"),
        ("shut the fuck up", "shut the f up", "abuse"),
        ("좆같네", "존같네", "abuse"),
        ("닥쳐", "닥처", "abuse"),
        ("미친놈", "미췬놈", "abuse"),
        ("개새끼", "개쉐키", "abuse"),
        ("씨발", "싀발", "abuse"),
        ("fuck you", "fu ck you", "abuse"),
        ("fuck you", "f’ck you", "abuse"),
        ("fuck you", "🇫🇺🇨🇰 you", "abuse"),
        ("fuck you", "<b>f</b>uck you", "abuse"),
        ("you dumb asshole", "youdumbasshole", "abuse"),  # words run together
        ("you dumb asshole", "y o u d u m b a s s h o l e", "abuse"),
        ("this author is a moron", "thisauthorisamoron", "abuse"),
        ("what a piece of shit", "whatapieceofshit", "abuse"),
        ("eat shit", "eatshit", "abuse"),
        ("you're an ignorant bastard", "you'reanignorantbastard", "abuse"),
        ("you are retarded", "y o u a r e r e t a r d e d", "abuse"),
        ("what a bunch of morons", "what a bunch of m*rons", "abuse"),
        ("kill yourself loser", "kill y*urself l*ser", "abuse"),
        ("nobody cares, idiot", "nobody cares, i*iot", "abuse"),
        ("you stupid bitch", "you stu pid bitch", "abuse"),
        ("씨발 진짜", "ㅅ ㅂ 진짜", "abuse"),
        ("씨발", "씨ㅡ발", "abuse"),
        ("병신", "뱅신", "abuse"),
        ("병신", "ByungShin", "abuse"),
        ("병신 같은 소리 하네", "ㅂㅕㅇㅅㅣㄴ 같은 소리 하네", "abuse"),
        ("병신 같은 소리 하네", "byung신 같은 소리 하네", "abuse"),
        ("씨발 진짜 짜증나", "c8 진짜 짜증나", "abuse"),
        ("씨발 진짜 짜증나", "시바 진짜 짜증나", "abuse"),
        ("병신 같은 놈", "빙시 같은 놈", "abuse"),
        ("kill yourself", "kil yourself", "abuse"),
        ("you idiot", "you idjit", "abuse"),
        ("subscribe to my channel", "SUB$CRIBE to my ch@nnel", "spam"),
        (
            "Buy cheap followers at www.cheapfollowers.com",
            "Buy cheap followers at www[.]cheapfollowers[.]com",
            "spam",
        ),
        (
            "Buy cheap followers at www.cheapfollowers.com",
            "Buy cheap followers at cheapfollowers dot com",
            "spam",
        ),
        (
            "Contact me on WhatsApp +1 555 123 4567 for easy money",
            "Contact me on WhatsApp plus one five five five one two three four five six seven "
            "for easy money",
            "spam",
        ),
        (
            "Contact me on WhatsApp +1 555 123 4567 for easy money",
            "Contact me on WhatsApp ➕1️⃣5️⃣5️⃣5️⃣1️⃣2️⃣3️⃣4️⃣5️⃣6️⃣7️⃣ for easy money",
            "spam",
        ),
        ("check out my channel", "c h e c k out my channel", "spam"),
        (
            "급전 대출 당일 입금 010-1234-5678",
            "급전 대출 당일 입금 공일공-일이삼사-오육칠팔",
            "spam",
        ),
        ("급전 대출 당일 입금 010-1234-5678", "급전 대출 당일 입금 0l0-l234-5678", "spam"),
        (
            "무료 구독 이벤트 진행중 bit.ly/abc123 클릭",
            "무료 구독 이벤트 진행중 bit . ly / abc123 클릭",
            "spam",
        ),
        (
            "무료 구독 이벤트 진행중 bit.ly/abc123 클릭",
            "무료 구독 이벤트 진행중 bit쩜ly/abc123 클릭",
            "spam",
        ),
        ("visit www.cheapviagra.com now", "visit www,cheapviagra,com now", "spam"),
        ("visit www.cheapviagra.com now", "visit w w w . cheapviagra . com now", "spam"),
        ("visit www.cheapviagra.com now", "visit cheapviagra。com now", "spam"),
        ("무료 이벤트 bit.ly/abc123 클릭", "무료 이벤트 ｂｉｔ．ｌｙ／ａｂｃ１２３ 클릭", "spam"),
        (
            "buy cheap followers at www.cheapfollowers.com",
            "ｂｕｙ ｃｈｅａｐ ｆｏｌｌｏｗｅｒｓ ａｔ ｗｗｗ．ｃｈｅａｐｆｏｌｌｏｗｅｒｓ．ｃｏｍ",
            "spam",
        ),
        (
            "make money fast, contact me on whatsapp",
            "makemoneyfast,contactmeonwhatsapp",
            "spam",
        ),
        (
            "급전 대출 당일 입금 010-1234-5678",
            "급전 대출 당일 입금 ０１０－１２３４－５６７８",
            "spam",
        ),
    ],
)
def test_disguised_comments_score_like_plain_ones(
    scorer: Scorer, plain: str, disguised: str, category: str
) -> None:
    assert (
        abs(scorer.score(disguised).scores[category] - scorer.score(plain).scores[category]) <= 0.1
    )


def test_reasons_point_at_the_offending_words(scorer: Scorer) -> None:
    text = "You are an IDIOT, go away"
    result = scorer.score(text)
    abuse = [r for r in result.reasons if r.category == "abuse"]
    assert abuse and all(r.weight > 0 for r in abuse)
    assert [r.weight for r in abuse] == sorted((r.weight for r in abuse), reverse=True)
    terms = [r.text for r in abuse if r.kind == "term"]
    assert "IDIOT" in terms
    assert all(term in text for term in terms)
    assert len(abuse) <= 5


@pytest.mark.parametrize(
    "text",
    [
        "you are such an idiot and your article is trash",
        "You are a total disgrace to journalism, shame on this news site",
    ],
)
def test_reasons_name_the_words_that_made_the_score(scorer: Scorer, text: str) -> None:
    terms = [r for r in scorer.score(text).reasons if r.category == "abuse" and r.kind == "term"]
    assert terms
    named = {r.text.casefold() for r in terms}
    assert named.isdisjoint({"a", "an", "are", "you", "your", "is", "this"})
    assert min(r.weight for r in terms) >= 0.3 * max(r.weight for r in terms)


@pytest.mark.parametrize(
    "text",
    [
        "message me on whatsapp +1 555 123 4567",
        "message me on whatsapp plus one five five five one two three four five six seven",
        "message me on whatsapp 5️⃣5️⃣5️⃣1️⃣2️⃣3️⃣4️⃣5️⃣6️⃣7️⃣",
        "message me on whatsapp five five five 123 4567",
        "급전 대출 공일공-일이삼사-오육칠팔",  # Sino-Korean digits
        "급전 대출 공일공 일이삼사 오육칠팔",
        "급전 대출 0l0-l234-5678",  # letters for digits
        "call O1O 1234 5678",
        "급전 대출 ０１０－１２３４－５６７８",  # full-width digits
        "call 5 5 5 1 2 3 4 5 6 7",  # one digit at a time
        "급전 대출 0 1 0 - 1 2 3 4 - 5 6 7 8",
    ],
)
def test_phone_numbers_are_found_however_written(text: str) -> None:
    assert "phone number" in {hit.name for hit in signal_hits(normalize_comment(text))}


@pytest.mark.parametrize(
    "text",
    [
        "one two three four kids at home and five six seven eight cats, 2024",
        "order 1234567812345678 arrived",  # a long number, not a phone number's shape
        "일이 오래 걸린다 사이 오이 구이",  # syllables that are digits, in words
        "영화 일이삼 공사 일이 많다",
        "steps 1 2 3 4 5 6 7 and 8",  # single digits, but not one run of eight
    ],
)
def test_numbers_in_a_sentence_are_no_phone_number(text: str) -> None:
    assert "phone number" not in {hit.name for hit in signal_hits(normalize_comment(text))}


@pytest.mark.parametrize("text", ["he'll be back tomorrow", "who're they kidding"])
def test_contractions_are_no_swear_words(scorer: Scorer, text: str) -> None:
    # Dropping the apostrophe once read these as "hell" (abuse 0.31) and "whore" (0.96).
    assert scorer.score(text).scores["abuse"] < 0.5


def test_reasons_name_spam_signals(scorer: Scorer) -> None:
    result = scorer.score("FREE iPhone!!! click here bit.ly/win123")
    described = [r.describe() for r in result.reasons if r.category == "spam"]
    assert "spam: link shortener (bit.ly)" in described


@pytest.mark.parametrize(
    "text",
    [
        "click bit . ly / win123",
        "클릭 bit쩜ly/win123",
        "클릭 ｂｉｔ．ｌｙ／ｗｉｎ１２３",
        "click b.i.t...l.y./.w.i.n",
        "click b🔥i🔥t🔥.🔥l🔥y🔥/🔥w🔥i🔥n",
    ],
)
def test_a_spelled_out_shortener_is_a_shortener(text: str) -> None:
    hits = {hit.name: hit.evidence for hit in signal_hits(normalize_comment(text))}
    assert "link shortener" in hits and hits["link shortener"] == "bit.ly"


def test_korean_reasons_are_words_of_the_comment(scorer: Scorer) -> None:
    text = "이 기자 진짜 병신 아니냐"
    result = scorer.score(text)
    terms = [r.text for r in result.reasons if r.category == "abuse" and r.kind == "term"]
    assert "병신" in terms
    assert all(term in text for term in terms)


@pytest.mark.parametrize(
    "text",
    [
        "Thanks for the article, very informative.",
        "좋은 기사 감사합니다",
        "You are an IDIOT, go away",
        "FREE iPhone!!! click here bit.ly/win123",
        "",
    ],
)
def test_every_score_comes_with_reasons(scorer: Scorer, text: str) -> None:
    result = scorer.score(text)
    for category, score in result.scores.items():
        mine = [r for r in result.reasons if r.category == category]
        assert mine, f"no reason for {category} ({score:.3f})"
        # "Nothing stood out" is said alone, and always for a low score.
        if any(r.kind == "none" for r in mine):
            assert len(mine) == 1 and mine[0].weight == 0.0
        else:
            assert score >= REASON_MIN_SCORE and all(r.weight > 0 for r in mine)


def test_clean_comment_says_nothing_stood_out(scorer: Scorer) -> None:
    result = scorer.score("Thanks for the article, very informative.")
    assert result.scores["spam"] < 0.1
    assert "spam: no word or signal stood out" in [r.describe() for r in result.reasons]


def test_describe() -> None:
    assert Reason("abuse", "term", "idiot", 1.2).describe() == 'abuse: "idiot"'
    reason = Reason("spam", "signal", "bit.ly", 0.8, "link shortener")
    assert reason.describe() == "spam: link shortener (bit.ly)"


def test_language_given_or_detected(scorer: Scorer) -> None:
    assert scorer.score("좋은 기사 감사합니다").language == "ko"
    assert scorer.score("nice article").language == "en"
    assert scorer.score("nice article", language="fr").language == "fr"


@pytest.mark.parametrize("text", ["", "   ", "\u200b", "!!!", "\U0001f602" * 50, "a" * 5000])
def test_degenerate_comments_get_probabilities(scorer: Scorer, text: str) -> None:
    result = scorer.score(text)
    assert set(result.scores) == {"spam", "abuse"}
    assert all(0.0 <= p <= 1.0 for p in result.scores.values())
    assert result.model_version == scorer.version


def test_score_many_lines_up_with_score(scorer: Scorer) -> None:
    texts = ["hello", "병신", "subscribe to my channel"]
    assert scorer.score_many(texts, ["en", None, "en"]) == [
        scorer.score("hello", "en"),
        scorer.score("병신"),
        scorer.score(texts[2], "en"),
    ]
    with pytest.raises(ValueError):
        scorer.score_many(texts, ["en"])


def test_scoring_keeps_one_cache_entry_per_word(scorer: Scorer) -> None:
    """A served word's n-gram strings are not kept: only its vocabulary columns are (a tenth of
    the memory), or each worker would grow by hundreds of MiB with a site's vocabulary."""
    word_char_grams.cache_clear()
    scorer.score("Zorblaxian quintessentially flummoxed 병신같은놈들")
    assert word_char_grams.cache_info().currsize == 0
    assert {"zorblaxian", "flummoxed"} <= set(scorer._recent_word_columns)


def test_new_words_looked_up_together_score_as_looked_up_one_by_one(bundled_texts) -> None:
    """The words a batch has not met before go through ``CharGramIndex`` in one go; a scorer
    that looks each up in the dictionary gives bit-for-bit the same scores and reasons."""
    together, one_by_one = load_default_model(), load_default_model()
    one_by_one._char_grams = None
    assert together.score_many(bundled_texts) == one_by_one.score_many(bundled_texts)
    assert len(together._recent_word_columns) > 1000  # most of them new to this scorer


def test_the_cache_of_new_words_stays_bounded(monkeypatch, bundled_texts) -> None:
    fresh = load_default_model()
    expected = fresh.score_many(bundled_texts)
    monkeypatch.setattr(scorer_module, "WORD_CACHE_SIZE", 100)
    bounded = load_default_model()
    for start in range(0, len(bundled_texts), 50):
        results = bounded.score_many(bundled_texts[start : start + 50])
        assert results == expected[start : start + 50]
        assert len(bounded._recent_word_columns) <= 100
    bounded.warm()
    assert bounded.score_many(bundled_texts) == expected  # the vocabulary's words kept apart


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.one_of(
            st.text(min_size=0, max_size=12),
            st.text(alphabet="가각간병신새끼ㅋㅂㅅabcdef", min_size=1, max_size=10),
            st.sampled_from([GROUP_TOKEN, "", " ", "\x00", "ａｂｃ", "😀", "가", "a\ud800b"]),
        ),
        max_size=12,
    )
)
def test_char_gram_index_finds_each_words_columns_as_the_dictionary_does(
    scorer: Scorer, words: list[str]
) -> None:
    together = scorer._char_grams.columns(words)
    assert len(together) == len(words)
    for word, columns in zip(words, together, strict=True):
        assert columns.tolist() == scorer._char_columns_one_by_one(word).tolist(), word


def test_threads_sharing_a_scorer_get_the_same_scores(scorer: Scorer, bundled_texts) -> None:
    """Each thread counts a comment's terms in its own scratch array."""
    expected = probabilities(scorer, bundled_texts)
    with ThreadPoolExecutor(max_workers=4) as pool:
        chunks = list(pool.map(lambda i: probabilities(scorer, bundled_texts), range(8)))
    for got in chunks:
        assert np.abs(got - expected).max() < 1e-12


@pytest.fixture
def model_copy(tmp_path: Path) -> Path:
    return Path(shutil.copytree(DEFAULT_DIR, tmp_path / "model"))


def test_tampered_weights_are_refused(model_copy: Path) -> None:
    weights = model_copy / "weights.npz"
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="sha256"):
        load_model(model_copy)


def test_swapped_vocabulary_is_refused(model_copy: Path) -> None:
    (model_copy / "vocabulary.json.gz").write_bytes(b"not the vocabulary")
    with pytest.raises(ModelFileError, match="vocabulary.json.gz"):
        load_model(model_copy)


@pytest.mark.parametrize(
    "manifest",
    ["not json", json.dumps({"format": "something-else"}), json.dumps([1, 2])],
)
def test_unknown_manifest_is_refused(model_copy: Path, manifest: str) -> None:
    (model_copy / "manifest.json").write_text(manifest)
    with pytest.raises(ModelFileError):
        load_model(model_copy)


def test_future_format_is_refused(model_copy: Path) -> None:
    manifest = json.loads((model_copy / "manifest.json").read_text())
    manifest["format_version"] = 99
    (model_copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelFileError, match="format version"):
        load_model(model_copy)


def test_missing_model_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="not found"):
        load_model(tmp_path / "nowhere")


def test_missing_default_model_says_how_to_build_it(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(scorer_module, "DEFAULT_MODEL_DIR", tmp_path)
    with pytest.raises(ModelFileError, match="python -m training build-default"):
        load_default_model()


def test_manifest_path_also_loads(scorer: Scorer) -> None:
    assert load_model(DEFAULT_DIR / "manifest.json").version == scorer.version


def test_feature_blocks_are_joined_like_scipy_hstack() -> None:
    # Training joins its feature blocks a slice of rows at a time (a lower memory peak); the
    # matrix must be the one FeatureUnion would have built, array for array.
    rng = np.random.default_rng(3)
    blocks = [
        sparse.random(5000, 300, density=0.05, format="csr", random_state=rng),
        sparse.random(5000, 40, density=0.3, format="csr", random_state=rng),
        sparse.csr_matrix((5000, 11)),
    ]
    expected = sparse.hstack(blocks).tocsr()
    joined = hstack_rows(blocks, rows_per_slice=777)
    assert joined.shape == expected.shape
    for name in ("indptr", "indices", "data"):
        assert np.array_equal(getattr(joined, name), getattr(expected, name))
        assert getattr(joined, name).dtype == getattr(expected, name).dtype


@pytest.mark.slow
def test_the_shipped_model_is_rebuilt_from_the_repository(tmp_path: Path) -> None:
    """``python -m training build-default`` gives the shipped vocabulary, weights and scores.

    The vocabulary and the idf are the same exactly. The weights agree within what the solver's
    stopping tolerance leaves open: on another CPU the last bits of the feature arithmetic
    differ (BLAS kernels), and liblinear, which stops once the gradient is small enough, then
    stops a step apart (measured: weights 0.003 apart at most, scores 0.0004).
    """
    rebuilt_dir = train_model(tmp_path / "model")
    rebuilt = read_artifact(rebuilt_dir)
    shipped = read_artifact(DEFAULT_DIR)
    assert rebuilt.vocabulary == shipped.vocabulary
    assert rebuilt.manifest["training_data_sha256"] == shipped.manifest["training_data_sha256"]
    assert rebuilt.manifest["config"] == shipped.manifest["config"]
    assert set(rebuilt.arrays) == set(shipped.arrays)
    for name, array in shipped.arrays.items():
        assert rebuilt.arrays[name].shape == array.shape, name
        exact = name.endswith("idf")  # counted, not fitted
        tolerance = {"rtol": 0, "atol": 0} if exact else {"rtol": 0, "atol": 0.01}
        assert np.allclose(rebuilt.arrays[name], array, **tolerance), name
    texts = [example.text for example in load_examples()[::50]]  # 2,271, every source
    languages = [None] * len(texts)

    def scores(scorer: Scorer) -> np.ndarray:
        results = scorer.score_many(texts, languages)
        return np.asarray([[r.scores[c] for c in scorer.categories] for r in results])

    rebuilt_scorer, shipped_scorer = load_model(rebuilt_dir), load_default_model()
    assert rebuilt_scorer.categories == shipped_scorer.categories
    assert np.abs(scores(rebuilt_scorer) - scores(shipped_scorer)).max() < 0.002


def test_machine_made_disguises_score_like_their_plain_text(scorer: Scorer) -> None:
    found = disguises(scorer)
    # These tricks never move a score by more than the tolerance.
    always = {
        "upper case",
        "random case",
        "zero-width spaces",
        "Cyrillic look-alikes",
        "full width",
        "accents",
        "decomposed (NFD)",
        "stretched vowels",
        "spaced letters",
        "dotted letters",
        "dashed letters",
        "emoji between letters",
        "upper case, stretched",
    }
    assert [d for d in found if d.transform in always and not d.kept] == []
    # The rest (leetspeak, combined tricks, every word masked) mostly hold.
    assert sum(d.kept for d in found) >= 0.96 * len(found)


def test_few_short_ordinary_reactions_reach_a_moderator(scorer: Scorer) -> None:
    found = flagged(scorer)
    # 4 of 83 with this model, rude ones among them ("Pathetic", "Disgusting"); 6 before news
    # comments were trained on, 13 before the word-vector prior and the rare-class share
    # (docs/model.md).
    assert len(found) <= 6, found
    assert "potato" not in dict(found) and "감사합니다" not in dict(found)


def test_news_load_counts_the_comments_at_each_default_threshold(scorer: Scorer) -> None:
    examples = [
        Example(text, "abuse", label, "en", "civil_comments", "")
        for text, label in (
            ("You are an idiot and a moron, shut up.", 1),
            ("Thanks for the clear reporting on the council vote.", 0),
            ("Check out my channel for free money bit.ly/abc123 click here now!!!", 0),
            ("What a pathetic loser, go to hell.", 0),
        )
    ]
    results = scorer.score_many([e.text for e in examples])
    loads = {load.category: load for load in news_load(scorer, examples)}
    assert set(loads) == {"spam", "abuse"}
    for category, load in loads.items():
        scores = [r.scores[category] for r in results]
        assert load.comments == 4
        assert load.at_review == sum(s >= DEFAULT_REVIEW[category] for s in scores)
        assert load.at_reject == sum(s >= DEFAULT_REJECT[category] for s in scores)
    # The spam ad and the insults are where they belong; only abuse is labeled in the set.
    assert loads["spam"].at_reject >= 1 and loads["spam"].labeled_at_review is None
    assert loads["abuse"].at_review >= 2
    at_review = [
        e
        for e, r in zip(examples, results, strict=True)
        if r.scores["abuse"] >= DEFAULT_REVIEW["abuse"]
    ]
    assert loads["abuse"].labeled_at_review == sum(e.label for e in at_review)


def test_news_comments_never_trained_on_reach_moderators_in_bounded_shares(scorer: Scorer) -> None:
    loads = {(load.source, load.category): load for load in news_load(scorer)}
    civil_spam, civil_abuse = loads["civil_comments", "spam"], loads["civil_comments", "abuse"]
    # With this model: 4.5% of the Civil Comments at spam review, 1.3% at reject, a quarter of
    # them with a link, most others talking money; 6.4% and 2.2% before the speeches were among
    # the spam head's negatives. 8.3% at abuse review (14.2% before other Civil Comments sites'
    # comments were trained on).
    assert civil_spam.at_review <= 0.05 * civil_spam.comments, civil_spam
    assert civil_spam.at_reject <= 0.015 * civil_spam.comments, civil_spam
    assert civil_abuse.at_review <= 0.10 * civil_abuse.comments, civil_abuse
    assert loads["kmhas", "spam"].at_review <= 0.005 * loads["kmhas", "spam"].comments
    # The sample of 24 other sites: 3.7% at spam review, 1.2% at reject.
    sample_spam = loads["civil_comments_sample", "spam"]
    assert sample_spam.at_review <= 0.05 * sample_spam.comments, sample_spam
    assert sample_spam.at_reject <= 0.015 * sample_spam.comments, sample_spam


# Issue #5's targets, on the sets of other sites and another medium that nothing trains on (the
# sample's and K-MHaS's sites are trained on, their comments are not). With this model: the Civil
# Comments excerpt 0.899, the sample of 24 other sites 0.913, the K-MHaS excerpt 0.906, text
# messages 0.975.
HELD_OUT_TARGETS = {
    "civil_comments": ("abuse", 0.80),
    "civil_comments_sample": ("abuse", 0.80),
    "kmhas": ("abuse", 0.85),
    "sms_spam": ("spam", 0.93),
}


def test_the_shipped_model_meets_the_targets_on_the_sets_never_trained_on(scorer: Scorer) -> None:
    held_out = load_held_out()
    for source, (category, target) in HELD_OUT_TARGETS.items():
        chosen = [e for e in held_out if e.source == source]
        results = scorer.score_many([e.text for e in chosen], [e.language for e in chosen])
        score = roc_auc_score([e.label for e in chosen], [r.scores[category] for r in results])
        assert score >= target, (source, score)


def test_naming_a_group_of_people_does_not_make_a_comment_abusive(scorer: Scorer) -> None:
    english, korean = measure_all(scorer)
    # With each group's own words (before GROUP_WORDS): "I am Muslim." and its like scored 0.47
    # on average, "I am Christian." 0.13; half of the Muslim sentences reached review.
    assert english.spread <= 0.15, english
    assert english.ordinary_at_review == 0, english
    # What is said of a group counts: 29 of the 300 abusive sentences stay under review with
    # this model (61 before ToxiGen's statements about groups were trained on, 35 with each
    # group's own word, 86 with the pairs weighing as words).
    assert english.abusive_under_review <= 40, english
    assert english.worst_bpsn.bpsn_auc >= 0.95, english
    assert english.auc >= 0.97
    assert korean.auc >= 0.97


def test_every_group_is_one_token_with_no_letters_of_its_own() -> None:
    comment = normalize_comment("MUSLIMS and Gay-friendly jews; m u s l i m, not the grouping")
    texts = [token.text for token in comment.tokens]
    assert texts == [
        GROUP_TOKEN,
        "and",
        GROUP_TOKEN,
        "friendly",
        GROUP_TOKEN,
        GROUP_TOKEN,
        "not",
        "the",
        "grouping",
    ]
    # The highlight still marks the words as written.
    assert comment.original[comment.tokens[0].start : comment.tokens[0].end] == "MUSLIMS"
    assert word_char_grams(GROUP_TOKEN) == ()
    assert GROUP_WORDS.isdisjoint(w for w in texts if w != GROUP_TOKEN)
