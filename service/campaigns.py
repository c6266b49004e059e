"""Spam campaigns: the same or nearly the same text posted as many comments raises its spam score.

Every comment of six words or more leaves its MinHash band fingerprints (``model.campaigns``) in
Redis. Time is cut into slots of ``WINDOW_SECONDS``; per site and slot one hash maps each
fingerprint to the short hashes of the comment ids seen with it (at most ``MAX_IDS``). A
comment's copy count is the number of distinct ids behind its fingerprints in the current and the
previous slot, so copies posted up to one to two windows apart count together. From three copies
on (a site's ``campaign_copies``; 0 turns the rule off), the spam score is raised to at least
``model.campaigns.campaign_probability(copies)`` and the reason names the campaign. Re-sending the same comment id does not count again. A slot's hash
expires two windows after it starts: memory is bounded by the comments of the last two hours,
about 250 bytes each.
"""

from __future__ import annotations

import dataclasses
import hashlib
import time

import redis

from model.campaigns import campaign_probability
from model.scorer import Reason, ScoreResult
from service.keys import RedisKeys

WINDOW_SECONDS = 3600
MAX_IDS = 16

# KEYS: this slot's hash, the previous slot's. ARGV: seconds to keep this slot, most ids kept per
# fingerprint, then per comment: its id hash, its number of fingerprints, the fingerprints.
# Returns per comment the largest number of distinct ids behind any of its fingerprints.
_COUNT_SCRIPT = """
local keep, most_ids = tonumber(ARGV[1]), tonumber(ARGV[2])
local counts = {}
local i = 3
while i <= #ARGV do
  local id, n = ARGV[i], tonumber(ARGV[i + 1])
  local most = 0
  for j = i + 2, i + 1 + n do
    local fp = ARGV[j]
    local current = redis.call('HGET', KEYS[1], fp) or ''
    local seen, distinct = {}, 0
    for other in string.gmatch(current .. ',' .. (redis.call('HGET', KEYS[2], fp) or ''), '[^,]+') do
      if not seen[other] then seen[other] = true; distinct = distinct + 1 end
    end
    if not seen[id] then
      distinct = distinct + 1
      if #current < most_ids * 9 then
        redis.call('HSET', KEYS[1], fp, current == '' and id or current .. ',' .. id)
      end
    end
    if distinct > most then most = distinct end
  end
  counts[#counts + 1] = most
  i = i + 2 + n
end
redis.call('EXPIRE', KEYS[1], keep)
return counts
"""


def _id_hash(comment_id: str) -> str:
    return hashlib.blake2b(comment_id.encode("utf-8", "surrogatepass"), digest_size=4).hexdigest()


class CampaignTracker:
    """Counts copies of a text across a site's comments within the window.

    :param connection: a Redis client (or cluster client).
    :param keys: the key builder.
    """

    def __init__(self, connection: redis.Redis, keys: RedisKeys) -> None:
        self.keys = keys
        self._count = connection.register_script(_COUNT_SCRIPT)

    def copies(
        self, site: str, comments: list[tuple[str, tuple[str, ...]]], now: float | None = None
    ) -> list[int]:
        """Record each ``(comment id, fingerprints)`` and return how many distinct comments of the
        window share its text (0 for a text without fingerprints). One round trip for all."""
        args: list = [2 * WINDOW_SECONDS, MAX_IDS]
        for comment_id, prints in comments:
            args += [_id_hash(comment_id), len(prints), *prints]
        if not any(prints for _, prints in comments):
            return [0] * len(comments)
        slot = int((time.time() if now is None else now) // WINDOW_SECONDS)
        keys = [self.keys.campaigns(site, slot), self.keys.campaigns(site, slot - 1)]
        return [int(c) for c in self._count(keys=keys, args=args)]


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
        result, scores={**result.scores, "spam": floor}, reasons=[reason, *result.reasons]
    )
