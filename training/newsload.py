"""How the default thresholds sort the comments of news sites the model never trained on.

``python -m training news-load`` scores the held-out news comments (Civil Comments, English: the
excerpt of two sites and the sample of 24 others; the K-MHaS excerpt, Korean) with the default
model and prints, per set and category, the share of comments at the default review threshold
and at the default reject threshold, and what share of those the set itself labels abusive. That
is what a site's moderators would face: how much of its traffic lands in the queue or is turned
away, and how much of it for nothing. No set labels spam, so a spam score there is a false alarm
on an ordinary news comment (about a quarter of them hold a link, which a site may well want a
moderator to see).
"""

from __future__ import annotations

from dataclasses import dataclass

from model.scorer import Scorer
from service.sites import DEFAULT_REJECT, DEFAULT_REVIEW
from training.datasets import Example, load_held_out

NEWS_SETS = ("civil_comments", "civil_comments_sample", "kmhas")


@dataclass(frozen=True)
class Load:
    """One set's comments at the default thresholds of one category."""

    source: str
    category: str
    comments: int
    at_review: int  # at or over the review threshold (review or reject)
    at_reject: int
    labeled_at_review: int | None  # of those at review, how many the set labels so (abuse only)
    labeled_at_reject: int | None


def news_load(scorer: Scorer, examples: list[Example] | None = None) -> list[Load]:
    """Per held-out news set and category, how many comments reach each default threshold."""
    examples = load_held_out() if examples is None else examples
    found = []
    for source in NEWS_SETS:
        chosen = [e for e in examples if e.source == source]
        if not chosen:
            continue
        results = scorer.score_many([e.text for e in chosen], [e.language for e in chosen])
        for category in scorer.categories:
            scores = [result.scores[category] for result in results]
            labeled = category == chosen[0].category
            review = [
                e for e, s in zip(chosen, scores, strict=True) if s >= DEFAULT_REVIEW[category]
            ]
            reject = [
                e for e, s in zip(chosen, scores, strict=True) if s >= DEFAULT_REJECT[category]
            ]
            found.append(
                Load(
                    source,
                    category,
                    len(chosen),
                    len(review),
                    len(reject),
                    sum(e.label for e in review) if labeled else None,
                    sum(e.label for e in reject) if labeled else None,
                )
            )
    return found


def print_news_load(scorer: Scorer) -> None:
    print(
        f"model {scorer.version}; default thresholds review {DEFAULT_REVIEW}, reject {DEFAULT_REJECT}"
    )
    loads = news_load(scorer)
    width = max((len(load.source) for load in loads), default=0)
    for load in loads:
        line = (
            f"  {load.source:<{width}} {load.category:<6} {load.comments:>5} comments: "
            f"{load.at_review / load.comments:6.1%} at review or over, "
            f"{load.at_reject / load.comments:6.1%} at reject"
        )
        if load.labeled_at_review is not None:
            line += (
                f"; labeled {load.category}: {_share(load.labeled_at_review, load.at_review)} of "
                f"those at review or over, {_share(load.labeled_at_reject, load.at_reject)} of "
                "those at reject"
            )
        else:
            line += f" (the set labels no {load.category}: ordinary news comments)"
        print(line)


def _share(part: int | None, whole: int) -> str:
    return f"{part / whole:.0%}" if whole and part is not None else "-"
