"""The bundled training data: the e-mail set's conversion, how each head weighs its sources, the
cross-source folds over them, and the held-out sets nothing trains on."""

from collections import Counter

import numpy as np
import pytest
from scipy import sparse
from sklearn.model_selection import StratifiedKFold

from model.features import SIGNAL_NAMES, is_jamo_gram
from model.normalize import GROUP_TOKEN
from training import crossval
from training.crossval import crossval_table
from training.datasets import (
    HELD_OUT,
    MAIL_TEXT_LENGTH,
    SOURCES,
    Example,
    import_civil_comments,
    import_held_out,
    import_kmhas,
    import_korean_malicious,
    import_speeches,
    import_toxigen,
    load_examples,
    load_held_out,
    mail_text,
)
from training.english_sets import read_insults, read_sfu_toxicity
from training.train import (
    CATEGORIES,
    ORDINARY_COMMENTS,
    ColumnLayout,
    HeadData,
    SourceCopies,
    TrainingConfig,
    fit_head,
    fit_logistic,
    head_column_weights,
    head_data,
    head_source_copies,
    sample_per_source,
    source_balanced_weights,
    train_pipeline,
    weigh_columns,
)
from training.unsmile import measure as measure_unsmile
from training.unsmile import read_unsmile

PLAIN_MAIL = """\
From: someone@example.com
To: list@example.com
Subject: [SAtalk] Re: Re: rules update
Content-Type: text/plain; charset="us-ascii"

On Mon, 2 Sep 2002, Dan wrote:
> the old rules missed it
> twice

The new rules catch it now.
--
Dan's signature
"""

HTML_MAIL = """\
Subject: =?iso-8859-1?q?Gr=E9at_offer?=
Content-Type: text/html; charset="iso-8859-1"
Content-Transfer-Encoding: quoted-printable

<html><head><title>hidden title</title><style>p {color: red}</style></head>
<body><p>Claim your <b>FREE</b> prize=21</p><script>track()</script></body></html>
"""


def test_mail_text_keeps_subject_and_body_without_list_tags_quotes_or_signature() -> None:
    assert mail_text(PLAIN_MAIL) == "rules update The new rules catch it now."


def test_mail_text_reads_html_and_encoded_headers() -> None:
    assert mail_text(HTML_MAIL) == "Gréat offer Claim your FREE prize!"


def test_mail_text_is_cut_at_a_word_to_comment_size() -> None:
    body = " ".join(f"word{i}" for i in range(200))
    text = mail_text(f"Subject: long\n\n{body}\n")
    assert len(text) <= MAIL_TEXT_LENGTH
    assert text.startswith("long word0 word1")
    assert body.split().count(text.split()[-1]) == 1  # the last word is whole


def test_unreadable_mail_gives_no_text() -> None:
    garbled = (
        "Subject: x\nContent-Type: text/plain; charset=utf-8\n\n" + "\ufffd" * 40 + " Best 5\n"
    )
    assert mail_text(garbled) == ""


def test_bundled_mail_set_has_both_classes_at_comment_size() -> None:
    mail = load_examples(sources=["spam_assassin"])
    assert SOURCES["spam_assassin"] == ("spam", "en")
    counts = Counter((e.group, e.label) for e in mail)
    assert set(counts) == {("spam", 1), ("easy_ham", 0), ("hard_ham", 0)}
    assert counts["spam", 1] > 1000 and counts["easy_ham", 0] > 3000
    assert max(len(e.text) for e in mail) <= MAIL_TEXT_LENGTH


def test_source_balanced_weights_give_each_source_its_share_split_by_class() -> None:
    strata = ["a"] * 8 + ["b"] * 2 + ["c"] * 5
    labels = [1] * 2 + [0] * 6 + [1, 0] + [0] * 5
    weights = np.asarray(source_balanced_weights(strata, labels, {"c": 0.5}))
    strata_array, labels_array = np.asarray(strata), np.asarray(labels)

    def total(stratum: str, label: int) -> float:
        return weights[(strata_array == stratum) & (labels_array == label)].sum()

    assert total("a", 1) == pytest.approx(total("a", 0))
    assert total("a", 1) == pytest.approx(total("b", 1))
    assert total("c", 0) == pytest.approx((total("a", 0) + total("a", 1)) / 2)
    assert weights.sum() == pytest.approx(len(labels))


def test_spam_head_weighs_each_medium_alike() -> None:
    examples = load_examples(sources=["youtube_spam", "spam_assassin", "fox_news"])
    data = head_data(examples, "spam", TrainingConfig(), seed=0)
    strata = np.asarray(
        [
            examples[i].source if examples[i].category == "spam" else ORDINARY_COMMENTS
            for i in data.rows
        ]
    )
    by_stratum = {s: data.calibration_weights[strata == s].sum() for s in set(strata)}
    # YouTube has a third as many comments as the e-mail set, and the same weight.
    assert by_stratum["youtube_spam"] == pytest.approx(by_stratum["spam_assassin"])
    assert by_stratum[ORDINARY_COMMENTS] == pytest.approx(2 * by_stratum["youtube_spam"])
    # Calibrated to a spam base rate of a quarter, as before the e-mail set was added.
    spam = data.calibration_weights[data.labels == 1].sum()
    assert spam / data.calibration_weights.sum() == pytest.approx(0.25)


def test_a_comment_a_site_labeled_spam_is_never_one_of_the_spam_head_s_ordinary_comments() -> None:
    site = [
        Example(
            f"site comment {i}",
            category,
            int(i < 20 and category == "spam"),
            "en",
            "extra",
            "extra",
        )
        for i in range(60)
        for category in ("spam", "abuse")
    ]
    examples = load_examples(sources=["youtube_spam"]) + site
    data = head_data(examples, "spam", TrainingConfig(), seed=0)
    negatives = [
        examples[i].text
        for i, label in zip(data.rows, data.labels, strict=True)
        if label == 0 and examples[i].source == "extra"
    ]
    assert negatives and not {f"site comment {i}" for i in range(20)} & set(negatives)


def test_a_source_at_share_zero_is_left_out_of_the_head() -> None:
    examples = load_examples(sources=["olid", "davidson", "fox_news"])
    data = head_data(examples, "abuse", TrainingConfig(), seed=0)
    trained = {examples[i].source for i in data.rows}
    assert TrainingConfig().abuse_source_shares["davidson"] == 0
    assert trained == {"olid", "fox_news"}
    # OLID weighs twice Fox News, whatever their sizes.
    by_source = {
        s: data.calibration_weights[[examples[i].source == s for i in data.rows]].sum()
        for s in trained
    }
    assert by_source["olid"] == pytest.approx(2 * by_source["fox_news"])
    # Its comments still serve the spam head as ordinary comments.
    spam = head_data(examples, "spam", TrainingConfig(), seed=0)
    assert any(examples[i].source == "davidson" for i in spam.rows)


def test_a_head_trained_on_scaled_blocks_exports_weights_for_the_plain_features() -> None:
    examples = sample_per_source(load_examples(), 150, seed=0)
    config = TrainingConfig(
        word_features=2000,
        char_features=5000,
        word_scale={"spam": 1.0, "abuse": 0.5},
        jamo_scale={"spam": 1.0, "abuse": 1.5},
    )
    pipeline, _ = train_pipeline(examples, config, calibrate=False)
    comments = pipeline.named_steps["normalize"].transform([e.text for e in examples])
    features = pipeline.named_steps["features"]
    X = features.transform(comments).tocsr()
    layout = ColumnLayout.of(features, X.shape[1])
    chars = {
        column: term
        for term, column in dict(features.transformer_list)["chars"].vocabulary_.items()
    }
    jamo_terms = [chars[column - layout.word_width] for column in layout.jamo_columns]
    assert jamo_terms and all(is_jamo_gram(term) for term in jamo_terms)
    assert "ᄉ" in "".join(jamo_terms) and not any(
        is_jamo_gram(t) for t in ("씨발", " 씨", "idiot")
    )

    weights = head_column_weights("abuse", config, layout)
    # The group token alone weighs nothing in the abuse head, pairs holding it twice a word.
    words = np.asarray(dict(features.transformer_list)["words"].get_feature_names_out())
    assert list(words[layout.group_words]) == [GROUP_TOKEN]
    assert all(GROUP_TOKEN in t.split() for t in words[layout.group_pairs])
    assert set(weights[layout.group_words]) == {0.0}
    assert len(layout.group_pairs) and set(weights[layout.group_pairs]) == {1.0}
    groups = np.r_[layout.group_words, layout.group_pairs]
    assert set(np.delete(weights[: layout.word_width], groups)) == {0.5}
    assert set(weights[layout.jamo_columns]) == {1.5}
    assert (weights[layout.word_width :] != 1.0).sum() == len(layout.jamo_columns)
    spam_weights = head_column_weights("spam", config, layout)
    assert set(spam_weights[layout.group_words]) == {1.0}
    vectors = slice(-len(SIGNAL_NAMES) - layout.vector_width, -len(SIGNAL_NAMES))
    assert not spam_weights[vectors].any()  # the spam head leaves the word vectors out

    data = head_data(examples, "abuse", config, seed=0)
    copies = head_source_copies("abuse", config, layout)
    assert copies is not None and copies.width == layout.word_width
    head = fit_logistic(
        weigh_columns(X[data.rows], weights), data, config.regularization["abuse"], copies=copies
    )
    assert head.coef_.shape == (1, X.shape[1])  # the source copies' weights are not kept
    abuse = list(CATEGORIES).index("abuse")
    exported = pipeline.named_steps["heads"].coef_[abuse]
    np.testing.assert_allclose(exported, head.coef_[0] * weights, atol=1e-9)
    # The exported model scores the plain features as the head scored the scaled ones.
    np.testing.assert_allclose(
        pipeline.decision_function([e.text for e in examples])[:, abuse],
        head.decision_function(weigh_columns(X, weights)),
        atol=1e-9,
    )


def test_source_copies_give_each_source_its_own_columns_but_a_site_s_labels() -> None:
    X = np.arange(1, 13, dtype=float).reshape(4, 3)
    X[1, 0] = 0.0  # the one row of source "a" lacks the first word
    copies = SourceCopies(width=2, scale=2.0)
    augmented = copies.augment(sparse.csr_matrix(X), np.asarray(["b", "a", "extra", "b"]))
    # "a" gets one column (the word it has), "b" two, the site's labels none.
    assert augmented.shape == (4, 3 + 1 + 2)
    augmented = augmented.toarray()
    np.testing.assert_array_equal(augmented[:, :3], X)
    np.testing.assert_array_equal(augmented[0, 3:], [0, 2, 4])
    np.testing.assert_array_equal(augmented[1, 3:], [10, 0, 0])
    np.testing.assert_array_equal(augmented[2, 3:], [0, 0, 0])
    np.testing.assert_array_equal(augmented[3, 3:], [0, 20, 22])


def test_calibration_folds_fitted_at_weight_zero_match_fits_on_their_own_rows() -> None:
    examples = sample_per_source(load_examples(), 120, seed=1)
    config = TrainingConfig(word_features=2000, char_features=5000)
    pipeline, _ = train_pipeline(examples, config, calibrate=False)
    features = pipeline.named_steps["features"]
    comments = pipeline.named_steps["normalize"].transform([e.text for e in examples])
    X = features.transform(comments).tocsr()
    layout = ColumnLayout.of(features, X.shape[1])
    data = head_data(examples, "abuse", config, seed=0)
    X_head = weigh_columns(X[data.rows], head_column_weights("abuse", config, layout))
    copies = head_source_copies("abuse", config, layout)
    assert copies is not None
    augmented = copies.augment(X_head, data.sources)
    c = config.regularization["abuse"]

    model, slope, offset, oof = fit_head(
        augmented, data, c, X_head.shape[1], calibration_folds=3, seed=0, threads=2
    )
    one_thread = fit_head(
        augmented, data, c, X_head.shape[1], calibration_folds=3, seed=0, threads=1
    )
    np.testing.assert_array_equal(one_thread[3], oof)
    assert (one_thread[1], one_thread[2]) == (slope, offset)
    np.testing.assert_array_equal(one_thread[0].coef_, model.coef_)
    np.testing.assert_array_equal(model.coef_, fit_logistic(X_head, data, c, copies=copies).coef_)
    assert slope > 0

    # Each fold as a fit on its own rows, as the held-out rows at weight 0 stand for.
    splitter = StratifiedKFold(n_splits=3, shuffle=True, random_state=0)
    expected = np.zeros(len(data.labels))
    for train_idx, test_idx in splitter.split(np.zeros(len(data.labels)), data.labels):
        part = HeadData(
            data.rows[train_idx],
            data.labels[train_idx],
            data.weights[train_idx],
            data.calibration_weights[train_idx],
            data.sources[train_idx],
        )
        fold = fit_logistic(X_head[train_idx], part, c, copies=copies)
        expected[test_idx] = fold.decision_function(X_head[test_idx])
    np.testing.assert_allclose(oof, expected, atol=1e-6)


def test_a_word_only_one_source_has_weighs_less_with_source_copies() -> None:
    # Columns: a word both sources use for abuse, a word of source a's own, one of b's, filler.
    # An eighth of each source's abusive rows hold its own word, a quarter the common one.
    rows, labels, sources = [], [], []
    for k, source in enumerate(("a", "b")):
        for i in range(400):
            abusive = i % 2 == 0
            row = [0.0, 0.0, 0.0, 1.0]
            if abusive and i % 8 in (0, 2, 4):
                row[1 + k if i % 8 == 4 else 0] = 1.0
            if not abusive and i % 40 == 1:
                row[0] = 1.0
            rows.append(row)
            labels.append(int(abusive))
            sources.append(source)
    X = sparse.csr_matrix(np.asarray(rows))
    data = HeadData(
        np.arange(len(rows)), np.asarray(labels), np.ones(len(rows)), sources=np.asarray(sources)
    )
    plain = fit_logistic(X, data, c=1.0).coef_[0]
    adapted = fit_logistic(X, data, c=1.0, copies=SourceCopies(width=3, scale=2.0)).coef_[0]
    assert adapted.shape == plain.shape
    assert (plain[:3] > 0).all() and (adapted[:3] > 0).all()
    # Without copies a source's own word weighs more than the common one (it is a surer sign
    # in its source); with them, less: its source's copy takes most of it.
    assert plain[1] / plain[0] > 1.05 and adapted[1] / adapted[0] < 0.9


def test_crossval_leaves_each_source_out_and_each_spam_medium() -> None:
    examples = sample_per_source(load_examples(), 300, seed=0)
    config = TrainingConfig(word_features=3000, char_features=8000, spam_negatives_per_source=100)
    results = crossval_table(examples, config, log=lambda line: None)
    abuse = [s for s, (category, _) in SOURCES.items() if category == "abuse"]
    assert [f"abuse: leave out {s}" for s in abuse] == list(results)[: len(abuse)]
    assert {"spam: leave out youtube_spam", "spam: leave out spam_assassin"} <= set(results)
    for metrics in results.values():
        assert 0.0 <= metrics["roc_auc"] <= 1.0 and metrics["positives"] > 0


def test_crossval_keeps_ordinary_text_out_of_each_fold_vocabulary() -> None:
    examples = sample_per_source(load_examples(), 150, seed=3)
    labeled = [e for e in examples if e.category != "ordinary"]
    config = TrainingConfig(word_features=3000, char_features=8000, spam_negatives_per_source=100)
    found = []
    for chosen in (labeled, examples):
        sources = np.asarray([e.source for e in chosen])
        held_out = sources == "fox_news"
        found.append(
            crossval.evaluate_fold(
                chosen,
                crossval.CountMatrices.build(chosen, config),
                "abuse",
                ~held_out,
                np.flatnonzero(held_out),
                np.asarray([e.label for e in chosen])[held_out],
                config,
            )
        )
    assert found[0] == found[1]


def test_held_out_sets_are_read_as_their_authors_publish_them(tmp_path) -> None:
    sms = tmp_path / "SMSSpamCollection"
    sms.write_text(
        "Label\tSMS\nham\tOk lar... Joking wif u oni...\n"
        "spam\tWINNER!! To claim call 09061701461.\n\nspam\t\n",
        encoding="utf-8",
    )
    kmhas = tmp_path / "kmhas_test.txt"
    kmhas.write_text(
        'document\tlabel\n이미연 닮음\t8\n"그만큼 뜯어먹었으면, 적당히 해야지"\t3\n'
        '"1. 8넘의 문재앙"\t2,3\n잘린 줄\n',
        encoding="utf-8",
    )
    assert import_held_out(sms, kmhas, out_dir=tmp_path) == {"sms_spam": 2, "kmhas": 3}
    read = load_examples(tmp_path, ["sms_spam", "kmhas"])
    assert [(e.text, e.category, e.label, e.language) for e in read] == [
        ("Ok lar... Joking wif u oni...", "spam", 0, "en"),
        ("WINNER!! To claim call 09061701461.", "spam", 1, "en"),
        ("이미연 닮음", "abuse", 0, "ko"),
        ("그만큼 뜯어먹었으면, 적당히 해야지", "abuse", 1, "ko"),
        ("1. 8넘의 문재앙", "abuse", 1, "ko"),
    ]


def test_civil_comments_are_read_from_jigsaw_s_train_csv_or_an_excerpt_of_it(tmp_path) -> None:
    published = tmp_path / "train.csv"
    published.write_text(
        "id,target,comment_text,severe_toxicity,publication_id,article_id\n"
        '59848,0.0,"This is so cool, well done!",0.0,2,2006\n'  # Civil's own announcement
        "59856,0.89,haha you guys are a bunch of losers.,0.02,2,2006\n"
        "239001,0.0,Tax the landlords then,0.0,6,26795\n"
        "239002,0.8936170212765957,You are an idiot and a liar,0.2,6,26795\n"
        '240750,0.5,"A ""quoted""\nsecond line, exactly half the raters",0.0,13,36937\n'
        "240751,0.49,Not quite toxic enough,0.0,,33231\n"
        "240752,0.97,You're an idiot.,0.0,111,32846\n"  # the demo article
        "240753,0.0,   ,0.0,6,33231\n"
        '240754,0.0,"a last line cut sho',  # an excerpt of whole lines ends in a partial one
        encoding="utf-8",
    )
    assert import_held_out(civil_comments=published, out_dir=tmp_path) == {"civil_comments": 4}
    read = load_examples(tmp_path, ["civil_comments"])
    assert [(e.text, e.category, e.label, e.language, e.group) for e in read] == [
        ("Tax the landlords then", "abuse", 0, "en", "publication 6"),
        ("You are an idiot and a liar", "abuse", 1, "en", "publication 6"),
        ('A "quoted"\nsecond line, exactly half the raters', "abuse", 1, "en", "publication 13"),
        ("Not quite toxic enough", "abuse", 0, "en", "publication unknown"),
    ]


def test_the_civil_comments_sample_leaves_out_the_excerpt_s_sites_and_civil_s_own(tmp_path) -> None:
    trained = next(
        e.text for e in load_examples(sources=["olid"]) if not {",", '"', "\n"} & set(e.text)
    )
    published = tmp_path / "sample.csv"
    published.write_text(
        "id,target,comment_text,publication_id,label,pred_prob\n"  # more columns, any order
        "5783139,0.52,Racists and Nazis: these losers are on their last legs,54,1,0.97\n"
        "1084054,0.0,And corruption should be punished.,21,0,0.26\n"
        "245866,0.0,The motorcyclist was speeding.,13,0,0.29\n"  # the excerpt's sites
        "239002,0.9,You are an idiot and a liar,6,1,0.9\n"
        "59856,0.89,haha you guys are a bunch of losers.,2,1,0.8\n"  # Civil's own pages
        "240752,0.97,You're an idiot.,111,1,0.9\n"
        f"5299257,0.0,{trained},55,0,0.1\n"  # a training set's comment
        '5299256,0.3,"Two twenty-',  # cut short
        encoding="utf-8",
    )
    written = import_held_out(civil_comments_sample=published, out_dir=tmp_path)
    assert written == {"civil_comments_sample": 2}
    read = load_examples(tmp_path, ["civil_comments_sample"])
    assert [(e.text, e.label, e.group) for e in read] == [
        ("Racists and Nazis: these losers are on their last legs", 1, "publication 54"),
        ("And corruption should be punished.", 0, "publication 21"),
    ]
    bundled = load_held_out()
    excerpt = {e.text for e in bundled if e.source == "civil_comments"}
    sample = [e for e in bundled if e.source == "civil_comments_sample"]
    assert sample and not excerpt & {e.text for e in sample}
    assert not {e.text for e in load_examples()} & {e.text for e in sample}
    assert not {e.group for e in sample} & {"publication 2", "publication 6", "publication 13"}


def test_civil_comments_trained_on_leave_out_the_excerpt_s_sites_and_the_held_out_comments(
    tmp_path,
) -> None:
    held_out = next(
        e.text
        for e in load_held_out()
        if e.source == "civil_comments_sample" and not {",", '"', "\n"} & set(e.text)
    )
    published = tmp_path / "rows.csv"
    published.write_text(
        "id,target,comment_text,publication_id,label,pred_prob\n"
        "5783139,0.52,These losers are on their last legs,54,1,0.97\n"
        '1084054,0.0,"Corruption should be punished, and ""soon"".",21,0,0.26\n'
        "245866,0.0,The motorcyclist was speeding.,13,0,0.29\n"  # the excerpt's sites
        "239002,0.9,You are an idiot and a liar,6,1,0.9\n"
        "240752,0.97,You're an idiot.,111,1,0.9\n"  # Civil's own pages
        f"5299257,0.0,{held_out},55,0,0.1\n"  # a held-out set's comment
        '5299256,0.3,"Two twenty-',  # cut short
        encoding="utf-8",
    )
    assert import_civil_comments(published, out_dir=tmp_path) == 2
    read = load_examples(tmp_path, ["civil_comments_train"])
    assert [(e.text, e.category, e.label, e.group) for e in read] == [
        ("These losers are on their last legs", "abuse", 1, "publication 54"),
        ('Corruption should be punished, and "soon".', "abuse", 0, "publication 21"),
    ]
    bundled = load_examples(sources=["civil_comments_train"])
    assert len(bundled) > 5000 and {e.language for e in bundled} == {"en"}
    assert not {e.group for e in bundled} & {"publication 2", "publication 6", "publication 13"}
    assert not {e.text for e in bundled} & {e.text for e in load_held_out()}


def test_kmhas_splits_are_trained_on_without_the_held_out_comments(tmp_path) -> None:
    held_out_text = next(e.text for e in load_held_out() if e.source == "kmhas")
    beep = load_examples(sources=["korean_hate_speech"])[1].text
    valid = tmp_path / "kmhas_valid.txt"
    valid.write_text(
        f"document\tlabel\n{held_out_text}\t8\n다들 수고 많으셨습니다\t8\n"
        '"조선족들은 다 꺼져라, 진짜"\t0,7\n',
        encoding="utf-8",
    )
    test = tmp_path / "kmhas_test.txt"
    test.write_text(
        f"{held_out_text}!!\t8\n"  # a held-out comment with marks added
        f"{beep}ㅋㅋ\t8\n"  # a BEEP! comment, trained on there
        "틀딱들은 집에나 가라\t4\n다들 수고 많으셨습니다\t8\n",
        encoding="utf-8",
    )
    assert import_kmhas(valid, test, out_dir=tmp_path) == 3
    read = load_examples(tmp_path, ["kmhas_train"])
    assert [(e.text, e.label, e.language, e.group) for e in read] == [
        ("다들 수고 많으셨습니다", 0, "ko", "valid"),
        ("조선족들은 다 꺼져라, 진짜", 1, "ko", "valid"),
        ("틀딱들은 집에나 가라", 1, "ko", "test"),
    ]
    assert "kmhas_train" in SOURCES and "kmhas_train" in TrainingConfig().abuse_source_shares


def test_korean_malicious_comments_are_read_without_those_of_the_other_korean_sets(
    tmp_path,
) -> None:
    beep = load_examples(sources=["korean_hate_speech"])[1].text  # ends "...알지못했네요ㅠ"
    curse = load_examples(sources=["korean_curse"])[1].text  # "... 10년 더 입어야지 ㅋㅋ"
    published = tmp_path / "Dataset.csv"
    published.write_text(
        "content\tlable\n"
        "짱깨 꺼라ㅡ패쓰\t0\n"
        "기자님 오늘도 수고 많으셨어요 내일 봬요\t1\n"
        '"이딴 걸 ""기사""라고 쓰냐 기레기야\t0"\n'
        f"{beep}ㅠㅠㅠ\t1\n"  # a BEEP! comment with its last letter repeated
        f"{curse.replace(' ㅋㅋ', 'ㅋㅋㅋㅋ')}\t1\n"  # a Curse comment, spaced and repeated
        f"{beep.replace('...', ' ')[:-12]} http://example.com\t1\n"  # cut, with a link
        "\t0\n",
        encoding="utf-8",
    )
    assert import_korean_malicious(published, out_dir=tmp_path) == 3
    read = load_examples(tmp_path, ["korean_malicious"])
    assert [(e.text, e.label, e.language) for e in read] == [
        ("짱깨 꺼라ㅡ패쓰", 1, "ko"),
        ("기자님 오늘도 수고 많으셨어요 내일 봬요", 0, "ko"),
        ('이딴 걸 "기사"라고 쓰냐 기레기야', 1, "ko"),
    ]
    assert "korean_malicious" in TrainingConfig().abuse_source_shares


def test_toxigen_statements_are_read_one_by_one_from_its_prompt_files(tmp_path) -> None:
    prompts = tmp_path / "prompts"
    prompts.mkdir()
    # As the published files hold them: prompts of statements joined by a literal "\n".
    (prompts / "hate_immigrant_1k.txt").write_text(
        "- they should all go back to where they came from\\n- immigrants  are  vermin\\n-\n"
        "- immigrants are vermin\\n- a statement with a stray escape\\\\n-\n",
        encoding="utf-8",
    )
    (prompts / "neutral_immigrant_1k.txt").write_text(
        "- many immigrants start businesses\\n- they should all go back to where they came from\\n-\n",
        encoding="utf-8",
    )
    (prompts / "README.md").write_text("not a prompt file\n", encoding="utf-8")
    assert import_toxigen(prompts, out_dir=tmp_path) == 4
    read = load_examples(tmp_path, ["toxigen"])
    assert [(e.text, e.label, e.language, e.group) for e in read] == [
        ("they should all go back to where they came from", 1, "en", "immigrant"),
        ("immigrants are vermin", 1, "en", "immigrant"),
        ("a statement with a stray escape", 1, "en", "immigrant"),
        ("many immigrants start businesses", 0, "en", "immigrant"),
    ]
    assert TrainingConfig().abuse_source_shares["toxigen"] > 0


def test_speeches_are_read_in_passages_of_the_addresses_since_1946(tmp_path) -> None:
    data = tmp_path / "package" / "data"
    data.mkdir(parents=True)
    (data / "1790_george_washington_n.txt").write_text(
        "Fellow-Citizens of the Senate and House of Representatives: I embrace with great "
        "satisfaction the opportunity.",
        encoding="utf-8",
    )
    (data / "1990_george_bush_r.txt").write_text(
        "Tonight I come not to speak about the state of the Government. [Applause] We must "
        "balance the budget.\n\nOur economy grew. Jobs came back! Taxes stayed low? Short. "
        + "A sentence far too long to pass for a comment on the news, " * 6
        + "ends here.",
        encoding="utf-8",
    )
    (data / "1990_george_bush_r.json").write_text("{}", encoding="utf-8")
    written = import_speeches(tmp_path / "package", out_dir=tmp_path)
    read = load_examples(tmp_path, ["speeches"])
    assert written == len(read) > 0
    assert SOURCES["speeches"] == ("ordinary", "en")
    assert {(e.category, e.label, e.language, e.group) for e in read} == {
        ("ordinary", 1, "en", "1990_george_bush_r")
    }
    text = " ".join(e.text for e in read)
    assert "[Applause]" not in text and "Senate" not in text  # markers out; 1790 too old
    assert "We must balance the budget." in text
    assert all(30 <= len(e.text) <= 300 for e in read)
    assert "far too long" not in text
    assert import_speeches(tmp_path / "package", out_dir=tmp_path / "again") == written
    assert load_examples(tmp_path / "again", ["speeches"]) == read  # the same passages


def test_ordinary_text_is_a_spam_negative_only_and_stays_out_of_the_vocabulary() -> None:
    examples = sample_per_source(load_examples(), 120, seed=2)
    labeled = [e for e in examples if e.category != "ordinary"]
    ordinary = [e for e in examples if e.category == "ordinary"]
    assert ordinary and labeled
    config = TrainingConfig(word_features=3000, char_features=6000)
    without, _ = train_pipeline(labeled, config, calibrate=False)
    # Ordinary text first: training puts the labeled examples first, in their order.
    with_text, _ = train_pipeline(ordinary + labeled, config, calibrate=False)
    for name in ("words", "chars"):
        assert (
            dict(with_text.named_steps["features"].transformer_list)[name].vocabulary_
            == dict(without.named_steps["features"].transformer_list)[name].vocabulary_
        )
    heads = [pipeline.named_steps["heads"] for pipeline in (without, with_text)]
    abuse = CATEGORIES.index("abuse")
    np.testing.assert_array_equal(heads[0].coef_[abuse], heads[1].coef_[abuse])
    assert heads[0].intercept_[abuse] == heads[1].intercept_[abuse]
    spam = CATEGORIES.index("spam")
    assert not np.array_equal(heads[0].coef_[spam], heads[1].coef_[spam])
    spam_rows = head_data(ordinary + labeled, "spam", TrainingConfig(), seed=0)
    from_speeches = spam_rows.rows < len(ordinary)
    assert from_speeches.any() and not spam_rows.labels[from_speeches].any()
    assert set(spam_rows.sources[from_speeches]) == {ORDINARY_COMMENTS}
    abuse_rows = head_data(ordinary + labeled, "abuse", TrainingConfig(), seed=0)
    assert not (abuse_rows.rows < len(ordinary)).any()


def test_bundled_held_out_sets_are_kept_apart_from_training() -> None:
    held_out = load_held_out()
    assert {e.source for e in held_out} == set(HELD_OUT)
    assert not set(HELD_OUT) & set(SOURCES)
    trained_on = {e.text for e in load_examples()}
    assert not {e.source for e in load_examples()} & set(HELD_OUT)
    # A few texts may be common to both ("ok", "lol"); the sets are not copies of training data.
    assert sum(e.text in trained_on for e in held_out) < 0.01 * len(held_out)


def test_crossval_tests_on_held_out_sets_and_never_trains_on_them(monkeypatch) -> None:
    examples = sample_per_source(load_examples(), 200, seed=0)
    examples += sample_per_source(load_held_out(), 200, seed=0)
    held = np.array([e.source in HELD_OUT for e in examples])
    train_masks = []
    real = crossval.evaluate_fold

    def recording(examples_, matrices, category, train_mask, *args, **kwargs):
        train_masks.append(train_mask.copy())
        return real(examples_, matrices, category, train_mask, *args, **kwargs)

    monkeypatch.setattr(crossval, "evaluate_fold", recording)
    config = TrainingConfig(word_features=3000, char_features=8000, spam_negatives_per_source=100)
    results = crossval_table(examples, config, log=lambda line: None)
    assert {"abuse: kmhas (never trained on)", "spam: sms_spam (never trained on)"} <= set(results)
    assert results["spam: sms_spam (never trained on)"]["n"] == 200
    assert len(train_masks) == len(results)
    assert not any((mask & held).any() for mask in train_masks)


def test_a_rare_class_gets_its_configured_share_of_its_source() -> None:
    # Source "w": 2 toxic of 40 (5%, rare); source "o": 10 of 40 (25%, not rare).
    strata = ["w"] * 40 + ["o"] * 40
    labels = [1] * 2 + [0] * 38 + [1] * 10 + [0] * 30
    weights = np.asarray(source_balanced_weights(strata, labels, {}, rare_class_share=0.2))
    strata_array, labels_array = np.asarray(strata), np.asarray(labels)

    def total(stratum: str, label: int) -> float:
        return weights[(strata_array == stratum) & (labels_array == label)].sum()

    assert total("w", 1) == pytest.approx(0.2 * (total("w", 0) + total("w", 1)))
    assert total("o", 1) == pytest.approx(total("o", 0))  # half and half as before
    assert total("w", 0) + total("w", 1) == pytest.approx(total("o", 0) + total("o", 1))


def test_a_site_label_weighs_at_most_ten_public_examples_until_the_site_s_share_is_reached() -> (
    None
):
    public = sample_per_source(load_examples(), 300, seed=0)
    config = TrainingConfig(site_weight=3.0)

    def site_share(n: int) -> tuple[float, float]:
        site = [
            Example(f"site comment {i}", "abuse", i % 3 == 0, "en", "extra", "extra")
            for i in range(n)
        ]
        examples = [*public, *site]
        data = head_data(examples, "abuse", config, seed=0)
        from_site = np.asarray([examples[i].source == "extra" for i in data.rows])
        weights = data.calibration_weights
        return weights[from_site].max() / weights[~from_site].mean(), weights[
            from_site
        ].sum() / weights.sum()

    few_ratio, few_share = site_share(40)
    assert few_ratio == pytest.approx(config.site_label_cap)
    more_ratio, more_share = site_share(80)
    assert more_ratio == pytest.approx(config.site_label_cap)
    assert more_share > 1.5 * few_share  # the share grows with the labels
    many_ratio, many_share = site_share(3000)
    assert many_ratio < config.site_label_cap  # the configured share is reached
    # The configured share, three times over with --site: extra's 2 against the others' sum.
    shares = config.abuse_source_shares
    others = sum(v for k, v in shares.items() if k != "extra" and v > 0)
    assert many_share == pytest.approx(
        3 * shares["extra"] / (others + 3 * shares["extra"]), rel=0.02
    )


def test_unsmile_splits_are_read_and_measured_kind_by_kind(tmp_path) -> None:
    """UnSmile is never bundled (its licence allows no derivative); the command reads the
    authors' file: a header of labels, then a comment and a 0 or 1 per label, tab-separated."""
    header = "문장\t여성/가족\t남성\t악플/욕설\tclean\t개인지칭\n"
    lines = [
        "씨발 병신 새끼들 다 꺼져\t0\t0\t1\t0\t0",
        "여자들은 집에서 애나 봐라 멍청한 년들\t1\t0\t0\t0\t0",
        "한남충 새끼들 극혐\t0\t1\t0\t0\t1",
        "좋은 기사 감사합니다\t0\t0\t0\t1\t0",
        "오늘 날씨가 정말 좋네요\t0\t0\t0\t1\t0",
        "\t0\t0\t0\t1\t0",  # no text
        "a line cut short\t0",
    ]
    path = tmp_path / "unsmile_valid_v1.0.tsv"
    path.write_text(header + "\n".join(lines) + "\n", encoding="utf-8")
    comments = read_unsmile(path)
    assert [c.kinds for c in comments] == [
        {"악플/욕설"},
        {"여성/가족"},
        {"남성", "개인지칭"},
        {"clean"},
        {"clean"},
    ]
    found = measure_unsmile(comments, np.array([0.9, 0.6, 0.2, 0.3, 0.1]))
    assert found == {
        "any": (3, pytest.approx(5 / 6)),
        "남성": (1, 0.5),
        "악플/욕설": (1, 1.0),
        "여성/가족": (1, 1.0),
    }
    (tmp_path / "other.tsv").write_text("text\tlabel\nhello\t0\n", encoding="utf-8")
    with pytest.raises(ValueError, match="clean"):
        read_unsmile(tmp_path / "other.tsv")


def test_the_english_sets_not_bundled_are_read_from_their_authors_files(tmp_path) -> None:
    """Impermium's insults keep Python's string escapes inside quotes; the SFU corpus rates each
    comment's toxicity from 1 (not toxic) to 4 (very toxic)."""
    insults = tmp_path / "test_with_solutions.csv"
    insults.write_text(
        "Insult,Date,Comment,Usage\r\n"
        '1,20120603163526Z,"""You are an idiot\\\\nand a liar""",PublicTest\r\n'
        '0,,"""Caf\\xc3\\xa9 au lait,\\xa0please""",PrivateTest\r\n'
        '0,20120603163604Z,"""\\u2019Good point\\u2019\\nindeed""",PublicTest\r\n',
        encoding="utf-8",
        newline="",
    )
    assert [(c.text, c.level) for c in read_insults(insults)] == [
        ("You are an idiot\nand a liar", 1),
        ("Caf\u00e9 au lait,\u00a0please", 0),
        ("\u2019Good point\u2019\nindeed", 0),
    ]
    sfu = tmp_path / "SFU_constructiveness_toxicity.csv"
    sfu.write_text(
        "_unit_id,is_toxic_popular_answer_1,comment,title\r\n"
        '1,1,"A fair point,\nwell made.",Budget\r\n'
        "2,3,Only an idiot would vote for this.,Budget\r\n",
        encoding="utf-8",
        newline="",
    )
    assert [(c.text, c.level) for c in read_sfu_toxicity(sfu)] == [
        ("A fair point,\nwell made.", 1),
        ("Only an idiot would vote for this.", 3),
    ]
    with pytest.raises(ValueError, match="Impermium"):
        read_insults(sfu)
    with pytest.raises(ValueError, match="SFU"):
        read_sfu_toxicity(insults)
