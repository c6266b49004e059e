"""Short, ordinary reader reactions: how many would reach a moderator at the default threshold.

``python -m training reactions`` scores each comment of ``REACTIONS`` (English and Korean
one-liners a news site sees all day: agreement, thanks, dismay at the news) and prints those
scoring ``REVIEW`` or more in any category. A comment of one or two words gives the model little
to go on, so its words' own weights decide; this list shows how that plays out, after any change
to the data, the features or the calibration.
"""

from __future__ import annotations

from model.scorer import Scorer

REVIEW = 0.5  # the default review threshold of every category

REACTIONS: tuple[str, ...] = (
    *("Agreed!", "Agreed.", "I agree", "Great article", "Thanks for sharing", "So true"),
    *("Well said", "Interesting", "I disagree", "Not sure about this", "Me too", "Exactly"),
    *("This", "Good point", "Nice", "Wow", "Sad news", "RIP", "Congratulations!", "Finally"),
    *("About time", "Love it", "Hello", "Hi everyone", "First!", "lol", "haha", "Yes", "No"),
    *("Maybe", "Why?", "Really?", "Source?", "Thank you", "Thanks", "Great job", "Good news"),
    *("Bad news", "Terrible news", "Unbelievable", "Shocking", "What a shame", "So sad"),
    *("Ridiculous", "Nonsense", "Fake news", "Wrong", "Correct", "Absolutely", "Totally agree"),
    *("Couldn't agree more", "Spot on", "Brilliant", "Amazing", "Awesome", "Beautiful", "Cute"),
    *("Lovely", "Pathetic", "Disgusting", "potato", "banana", "I like potato soup"),
    *("감사합니다", "좋은 기사", "동의합니다", "맞아요", "안녕하세요", "대박", "축하합니다"),
    *("슬프네요", "ㅋㅋㅋ", "그렇군요", "공감합니다", "힘내세요", "좋아요", "최고", "화이팅"),
    *("감동이네요", "응원합니다", "말도 안돼", "진짜요?", "헐"),
)


def flagged(scorer: Scorer) -> list[tuple[str, dict[str, float]]]:
    """The reactions scoring ``REVIEW`` or more in some category, with their scores."""
    results = scorer.score_many(list(REACTIONS))
    return [
        (text, result.scores)
        for text, result in zip(REACTIONS, results, strict=True)
        if max(result.scores.values()) >= REVIEW
    ]


def print_reactions(scorer: Scorer) -> None:
    found = flagged(scorer)
    print(f"model {scorer.version}: {len(found)} of {len(REACTIONS)} reactions at {REVIEW} or more")
    for text, scores in found:
        shown = ", ".join(f"{category} {value:.2f}" for category, value in scores.items())
        print(f"  {text!r}: {shown}")
