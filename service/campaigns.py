"""Spam campaigns: the same or nearly the same text posted as many comments raises its spam score.

Every comment of six words or more has MinHash band fingerprints (``model.campaigns``). Time is
cut into slots of ``WINDOW_SECONDS``; per site and slot one Redis hash counts, per fingerprint,
the comments posted with it. The counting happens in the script that stores the comment
(``service.comments``), in the same round trip, and only for a new text: re-sending a comment id
with the same text (a retry) does not count again. A comment's copies are the largest count over
its fingerprints in the current and the previous slot, so copies posted up to one to two windows
apart count together. From three copies on (a site's ``campaign_copies``; 0 turns the rule off),
the spam score is raised to at least ``model.campaigns.campaign_probability(copies)`` and the
reason names the campaign. A slot's hash expires two windows after it starts: memory is bounded
by the comments of the last two hours, about 250 bytes each.
"""

from __future__ import annotations

import dataclasses

from model.campaigns import campaign_probability
from model.scorer import Reason, ScoreResult

WINDOW_SECONDS = 3600


def with_campaign(result: ScoreResult, copies: int, threshold: int) -> ScoreResult:
    """``result`` with the spam score raised for a text posted as ``copies`` comments, when that
    reaches the site's ``threshold``."""
    floor = campaign_probability(copies, threshold)
    if floor <= result.scores.get("spam", 0.0):
        return result
    reason = Reason(
        category="spam",
        kind="signal",
        text=f"{copies} copies within {WINDOW_SECONDS // 60} minutes",
        weight=floor,
        signal="campaign",
    )
    return dataclasses.replace(
        result,
        scores={**result.scores, "spam": floor},
        # The campaign is what raised the score now: "nothing stood out" no longer holds.
        reasons=[reason, *(r for r in result.reasons if (r.category, r.kind) != ("spam", "none"))],
    )
