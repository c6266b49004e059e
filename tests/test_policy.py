"""Site thresholds and word lists decide approve, review or reject."""

import pytest

from service.policy import decide, find_listed_words
from service.sites import Site


@pytest.fixture
def site():
    return Site(
        name="demo",
        review_thresholds={"spam": 0.5, "abuse": 0.4},
        reject_thresholds={"spam": 0.9, "abuse": 0.8},
        banned_words=("scumbag", "개새끼"),
        suspect_words=("crypto",),
    )


@pytest.mark.parametrize(
    ("scores", "expected"),
    [
        ({"spam": 0.1, "abuse": 0.1}, "approve"),
        ({"spam": 0.49, "abuse": 0.39}, "approve"),
        ({"spam": 0.5, "abuse": 0.0}, "review"),
        ({"spam": 0.0, "abuse": 0.4}, "review"),
        ({"spam": 0.89, "abuse": 0.79}, "review"),
        ({"spam": 0.9, "abuse": 0.0}, "reject"),
        ({"spam": 0.6, "abuse": 0.85}, "reject"),
    ],
)
def test_thresholds_per_category(site, scores, expected):
    assert decide(site, scores, "an ordinary comment").decision == expected


@pytest.mark.parametrize(
    "text",
    [
        "you scumbag",
        "you SCUMBAG!",
        "you ｓｃｕｍｂａｇ",  # full width
        "you sc\u200bumbag",  # zero-width space
        "you s c u m b a g",
        "you s.c.u.m.b.a.g",
        "you $cumb@g",
        "you scummmmbag",
        "이 개새끼야",
        "이 개 새 끼 야",
    ],
)
def test_banned_words_survive_obfuscation(site, text):
    decision = decide(site, {"spam": 0.0, "abuse": 0.0}, text)
    assert decision.decision == "reject"
    assert any(r.startswith("banned word") for r in decision.rule_reasons)


def test_banned_words_match_whole_words_only():
    assert find_listed_words("a classic classy assessment", ("ass",)) == []
    assert find_listed_words("what an ass", ("ass",)) == ["ass"]


def test_suspect_word_sends_to_review_but_never_lowers_a_reject(site):
    assert decide(site, {"spam": 0.0, "abuse": 0.0}, "buy Crypto now").decision == "review"
    assert decide(site, {"spam": 0.95, "abuse": 0.0}, "buy crypto now").decision == "reject"
