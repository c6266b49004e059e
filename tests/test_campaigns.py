"""Spam campaigns: near-copies of one text under many comment ids raise the spam score."""

import subprocess
import sys
import unicodedata

import pytest
import regex
from hypothesis import given, settings
from hypothesis import strategies as st

from model.campaigns import campaign_probability, campaign_words, fingerprints, fingerprints_many
from model.text import strip_invisible
from service.campaigns import WINDOW_SECONDS
from training.datasets import load_examples

# A coordinated posting: each copy alone reads as an ordinary opinion.
VARIANTS = [
    "Nobody should vote for the new council plan, it will raise taxes on 5 streets.",
    "Nobody should vote for the new council plan - it will raise taxes on 7 streets",
    "nobody should vote for the new council plan, it would raise taxes on 5 streets!!",
    "NOBODY should vote for the new council plan... it will raise taxes on 9 streets.",
    "Nobody should vote for the new coun\u200bcil plan, it will raise taxes on 12 streets.",
]


def shared(a: str, b: str) -> int:
    return len(set(fingerprints(a)) & set(fingerprints(b)))


def test_near_copies_share_a_fingerprint_and_other_texts_do_not():
    for variant in VARIANTS[1:]:
        assert shared(VARIANTS[0], variant) >= 1, variant
    assert (
        shared(VARIANTS[0], "The council should publish the budget before next week's vote.") == 0
    )


def test_korean_near_copies_are_found_and_unrelated_comments_are_not():
    """MinHash is a matter of chance: measured over many bundled Korean comments, one word
    changed in each (a shingle overlap of about 0.7-0.9)."""
    texts = [
        e.text
        for e in load_examples(sources=["korean_hate_speech"])
        if len(e.text.split()) >= 10 and len(campaign_words(e.text)) >= 10
    ][:200]
    changed = [" ".join(t.split()[:-1] + ["정말"]) for t in texts]
    found = sum(shared(a, b) >= 1 for a, b in zip(texts, changed, strict=True))
    assert found >= 0.85 * len(texts)
    unrelated = sum(shared(a, b) >= 1 for a, b in zip(texts, texts[1:] + texts[:1], strict=True))
    assert unrelated <= 0.01 * len(texts)


@pytest.mark.parametrize("text", ["Great article!", "Thanks, well said.", "좋은 기사 감사합니다"])
def test_short_texts_have_no_fingerprints(text):
    assert fingerprints(text) == ()


def test_fingerprints_are_the_same_in_every_process():
    code = f"from model.campaigns import fingerprints; print(fingerprints({VARIANTS[0]!r}))"
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert other.stdout.strip() == str(fingerprints(VARIANTS[0]))


def test_fingerprints_stay_the_same_across_releases():
    """Workers of two releases count one campaign together during a rolling upgrade only if
    they fingerprint alike: these values were computed by the first release with campaigns."""
    assert fingerprints(VARIANTS[0]) == (
        "0-2f3364dea35f",
        "1-4a14fc5d10b3",
        "2-63b71c9940fd",
        "3-3317d1043470",
    )
    assert fingerprints("누가 봐도 이번 계획은 세금만 올리는 정책이라서 반대합니다 정말로") == (
        "0-e5efd3f16f2e",
        "1-dfc1c7e0f4b2",
        "2-820a3cdafeb2",
        "3-b11cdc09849b",
    )


TEXT_PARTS = st.sampled_from(
    [
        *VARIANTS,
        "Great article!",
        "좋은 기사 감사합니다",
        "누가 봐도 이번 계획은 세금만 올리는 정책",
        "a",
    ]
)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.lists(TEXT_PARTS, min_size=1, max_size=3).map(" ".join), max_size=8))
def test_fingerprints_of_a_batch_are_those_of_each_text_alone(texts):
    assert fingerprints_many(texts) == [fingerprints(text) for text in texts]


@settings(max_examples=300, deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from(
            [*"aZ09 ,.!'-_\u200b", "é", "ß", "İ", "ﬁ", "Ａ", "한", "ㄱ", "\u0301"]
        )
    )
)
def test_campaign_words_are_the_letter_runs_of_the_folded_text(text):
    folded = unicodedata.normalize("NFKC", strip_invisible(text)).casefold()
    assert campaign_words(text) == regex.findall(r"[\p{L}\p{M}]+", folded)


def test_campaign_probability_grows_with_copies():
    assert campaign_probability(1) == campaign_probability(2) == 0.0
    values = [campaign_probability(n) for n in range(3, 12)]
    assert values == sorted(values) and values[0] >= 0.5 and values[-1] < 1.0


def spam_of(response) -> float:
    assert response.status_code == 200, response.get_json()
    return response.get_json()["scores"]["spam"]


def test_the_third_copy_is_held_as_a_campaign(ingest, services, redis_client):
    plain = [spam_of(ingest({"id": f"c{i}", "text": VARIANTS[i]})) for i in range(2)]
    assert max(plain) < 0.5
    third = ingest({"id": "c2", "text": VARIANTS[2], "article_id": "other-article"}).get_json()
    assert third["scores"]["spam"] >= campaign_probability(3)
    assert third["decision"] in ("review", "reject")
    assert f"spam: campaign (3 copies within {WINDOW_SECONDS // 60} minutes)" in third["reasons"]
    fifth = ingest({"id": "c4", "text": VARIANTS[4]}).get_json()
    assert "campaign (4 copies" in " ".join(fifth["reasons"])
    keys = redis_client.keys(services.keys.campaigns("demo", "*"))
    assert len(keys) == 1 and 0 < redis_client.ttl(keys[0]) <= 2 * WINDOW_SECONDS


def test_resending_one_comment_is_not_a_campaign(ingest):
    for _ in range(5):
        response = ingest({"id": "same", "text": VARIANTS[0]})
    assert spam_of(response) < 0.5
    edited = ingest({"id": "same", "text": VARIANTS[1]})
    assert spam_of(edited) < 0.5


def test_short_repeated_praise_is_not_a_campaign(ingest):
    for i in range(10):
        assert spam_of(ingest({"id": f"p{i}", "text": "Great article!"})) < 0.5


def test_copies_in_the_previous_slot_count_and_older_ones_do_not(services):
    prints = fingerprints(VARIANTS[0])

    def copies(comment_id: str, now: float) -> int:
        record = {
            "id": comment_id,
            "site": "demo",
            "text_sha256": comment_id,
            "status": "approved",
            "urgency": 0.0,
        }
        [outcome] = services.comments.store_many([record], 0, [prints], 3, now=now)
        return outcome.copies

    start = 1_000 * WINDOW_SECONDS
    assert copies("a", start) == 1
    assert copies("b", start + WINDOW_SECONDS) == 2
    assert copies("c", start + 2 * WINDOW_SECONDS) == 2
    assert copies("c", start + 2 * WINDOW_SECONDS) == 0  # a retry is not counted (nor scored)


def test_a_held_campaign_comment_is_stored_once_raised(ingest, services, redis_client):
    for i in range(3):
        result = ingest({"id": f"h{i}", "text": VARIANTS[i]}).get_json()
    stored = services.comments.get("demo", "h2")
    assert stored["scores"]["spam"] == result["scores"]["spam"] >= campaign_probability(3)
    retry = ingest({"id": "h2", "text": VARIANTS[2]}).get_json()
    assert retry["scores"] == result["scores"]


def test_copies_in_one_batch_count_and_sites_are_apart(ingest, services):
    comments = [{"id": f"b{i}", "text": VARIANTS[i]} for i in range(4)]
    results = ingest({"comments": comments}, path="/v1/comments/batch").get_json()["results"]
    assert [r["scores"]["spam"] >= 0.6 for r in results] == [False, False, True, True]
    services.sites.create("other")
    other_key = services.api_keys.create("other", "ingest")[1]
    alone = ingest({"id": "x", "text": VARIANTS[0]}, key=other_key)
    assert spam_of(alone) < 0.5


def test_a_site_sets_its_campaign_threshold_or_turns_it_off(ingest, services):
    services.sites.update("demo", campaign_copies=2)
    ingest({"id": "t0", "text": VARIANTS[0]})
    assert spam_of(ingest({"id": "t1", "text": VARIANTS[1]})) >= 0.6
    services.sites.update("demo", campaign_copies=0)
    for i in range(2, 5):
        assert spam_of(ingest({"id": f"t{i}", "text": VARIANTS[i]})) < 0.5


@pytest.mark.parametrize("copies", [1, -1, 1001])
def test_bad_campaign_thresholds_are_refused(services, site, copies):
    from service.sites import SiteError

    with pytest.raises(SiteError, match="campaign copies"):
        services.sites.update("demo", campaign_copies=copies)
