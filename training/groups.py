"""Whether naming a group of people moves a comment's abuse score: the same sentences, one per group.

``python -m training groups`` scores sentences made from templates, each filled in with every
group (religions, sexualities, ethnicities, origins, gender, age, disability; English and
Korean): ordinary ones ("My neighbours are {} and very kind.") and abusive ones ("{} people are
filthy animals."). A fair model gives an ordinary sentence about one group about the score it
gives the same sentence about another, and ranks every abusive sentence above the ordinary ones
whichever groups they name.

Per group it prints the mean abuse score of the ordinary sentences, how many of them reach the
default review threshold, the ROC-AUC within the group and the ROC-AUC of the group's ordinary
sentences against the other groups' abusive ones ("background positive, subgroup negative",
Borkan et al. 2019): low when ordinary talk about the group looks like abuse of others. Training
sets mention some groups mostly in abuse, so a model that learns from the words themselves
fails here; ``model.normalize.GROUP_WORDS`` is what the default model does about it.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import numpy as np
from sklearn.metrics import roc_auc_score

from model.scorer import Scorer
from training.reactions import REVIEW

ENGLISH_GROUPS: tuple[str, ...] = (
    *("muslim", "christian", "jewish", "catholic", "buddhist", "hindu", "atheist"),
    *("gay", "lesbian", "bisexual", "transgender", "straight"),
    *("black", "white", "asian", "african", "mexican", "hispanic", "chinese", "indian", "arab"),
    *("american", "european", "immigrant", "female", "male", "old", "young", "deaf", "blind"),
)
ENGLISH_ORDINARY: tuple[str, ...] = (
    "I am {}.",
    "I am {} and I support this proposal.",
    "My neighbours are {} and very kind.",
    "{} people live on my street.",
    "Being {} is wonderful.",
    "The {} community organised the food drive.",
    "The council should listen to {} residents too.",
    "My best friend is {}.",
    "{} families have lived in this town for generations.",
    "Thanks for covering what {} voters think.",
)
ENGLISH_ABUSIVE: tuple[str, ...] = (
    "I hate {} people.",
    "{} people are disgusting.",
    "Kill all {} people.",
    "{} people are stupid and worthless.",
    "Get rid of the {} scum.",
    "All {} people should be deported.",
    "Being {} is disgusting.",
    "{} people are filthy animals.",
    "{} people are a plague on this country.",
    "Never trust {} people, they are liars and thieves.",
)
KOREAN_GROUPS: tuple[str, ...] = (
    *("여자", "남자", "동성애자", "게이", "흑인", "백인", "중국인", "조선족", "일본인"),
    *("무슬림", "기독교인", "불교 신자", "장애인", "노인", "청년", "외국인", "이민자", "난민"),
)
KOREAN_ORDINARY: tuple[str, ...] = (
    "{} 친구가 있어요.",
    "우리 동네에 사는 {} 가족은 정말 친절해요.",
    "{} 이웃이 빵집을 열었어요.",
    "{} 주민들의 이야기도 들어야 합니다.",
    "{} 손님들도 환영합니다.",
    "저도 {} 입장에서 이 기사에 공감합니다.",
    "{} 봉사단이 어제 급식 봉사를 했대요.",
    "{} 유권자들의 생각을 알려줘서 고맙습니다.",
)
KOREAN_ABUSIVE: tuple[str, ...] = (
    "{} 놈들은 다 쫓아내야 한다.",
    "{} 새끼들 다 꺼져라.",
    "{} 것들은 벌레만도 못하다.",
    "더러운 {} 놈들 역겹다.",
    "{}들은 이 나라에서 다 사라져야 해.",
    "{} 따위는 다 죽어버려라.",
    "{}들은 머리가 나빠서 말이 안 통한다.",
    "{} 쓰레기들 꼴도 보기 싫다.",
)


@dataclass(frozen=True)
class GroupResult:
    """How a model treats the sentences about one group."""

    group: str
    ordinary_mean: float  # mean abuse score of the group's ordinary sentences
    ordinary_flagged: int  # how many of them reach the review threshold
    ordinary_count: int
    abusive_missed: int  # how many of its abusive sentences stay under the review threshold
    within_auc: float  # abusive against ordinary sentences about this group
    bpsn_auc: float  # this group's ordinary sentences against other groups' abusive ones


@dataclass(frozen=True)
class LanguageResult:
    language: str
    groups: tuple[GroupResult, ...]
    auc: float  # every abusive sentence against every ordinary one

    @property
    def spread(self) -> float:
        """Highest minus lowest group mean of the ordinary sentences' scores."""
        means = [g.ordinary_mean for g in self.groups]
        return max(means) - min(means)

    @property
    def worst_bpsn(self) -> GroupResult:
        return min(self.groups, key=lambda g: g.bpsn_auc)

    @property
    def ordinary_count(self) -> int:
        return sum(g.ordinary_count for g in self.groups)

    @property
    def ordinary_at_review(self) -> int:
        """Ordinary sentences, of any group, that reach the review threshold."""
        return sum(g.ordinary_flagged for g in self.groups)

    @property
    def abusive_under_review(self) -> int:
        """Abusive sentences, of any group, that stay under the review threshold."""
        return sum(g.abusive_missed for g in self.groups)


def sentences(
    groups: tuple[str, ...], ordinary: tuple[str, ...], abusive: tuple[str, ...]
) -> list[tuple[str, int, str]]:
    """(group, 1 if abusive else 0, sentence) for every template filled with every group."""
    rows = []
    for group in groups:
        for label, templates in ((0, ordinary), (1, abusive)):
            for template in templates:
                text = template.format(group)
                rows.append((group, label, text[0].upper() + text[1:]))
    return rows


def measure(
    scorer: Scorer,
    language: str,
    groups: tuple[str, ...],
    ordinary: tuple[str, ...],
    abusive: tuple[str, ...],
    review: float = REVIEW,
) -> LanguageResult:
    rows = sentences(groups, ordinary, abusive)
    scores = np.array([r.scores["abuse"] for r in scorer.score_many([text for *_, text in rows])])
    labels = np.array([label for _, label, _ in rows])
    named = np.array([group for group, _, _ in rows])
    results = []
    for group in groups:
        mine = named == group
        calm, rude = scores[mine & (labels == 0)], scores[~mine & (labels == 1)]
        missed = int((scores[mine & (labels == 1)] < review).sum())
        bpsn = roc_auc_score(np.r_[np.zeros(len(calm)), np.ones(len(rude))], np.r_[calm, rude])
        results.append(
            GroupResult(
                group=group,
                ordinary_mean=float(calm.mean()),
                ordinary_flagged=int((calm >= review).sum()),
                ordinary_count=len(calm),
                abusive_missed=missed,
                within_auc=float(roc_auc_score(labels[mine], scores[mine])),
                bpsn_auc=float(bpsn),
            )
        )
    return LanguageResult(language, tuple(results), float(roc_auc_score(labels, scores)))


def measure_all(scorer: Scorer, review: float = REVIEW) -> list[LanguageResult]:
    """Both languages' sentences, judged against the abuse review threshold ``review``."""
    return [
        measure(scorer, "en", ENGLISH_GROUPS, ENGLISH_ORDINARY, ENGLISH_ABUSIVE, review),
        measure(scorer, "ko", KOREAN_GROUPS, KOREAN_ORDINARY, KOREAN_ABUSIVE, review),
    ]


def print_groups(scorer: Scorer) -> None:
    print(f"model {scorer.version}: abuse scores of the same sentences about different groups")
    for result in measure_all(scorer):
        print(
            f"\n{result.language}: ROC-AUC {result.auc:.3f}; ordinary sentences' mean score "
            f"from group to group spans {result.spread:.3f}; lowest BPSN ROC-AUC "
            f"{result.worst_bpsn.bpsn_auc:.3f} ({result.worst_bpsn.group})"
        )
        print(
            f"  at the review threshold ({REVIEW}): {result.ordinary_at_review} of "
            f"{result.ordinary_count} ordinary sentences reach it, "
            f"{result.abusive_under_review} of the abusive ones do not"
        )
        header = f"{'ordinary mean':>13} {'at review':>10} {'abusive under':>13}"
        print(f"  {'group':<12} {header} {'within':>7} {'BPSN':>6}")
        for g in sorted(result.groups, key=lambda g: -g.ordinary_mean):
            flagged = f"{g.ordinary_flagged}/{g.ordinary_count}"
            print(
                f"  {_padded(g.group, 12)} {g.ordinary_mean:>13.3f} {flagged:>10} "
                f"{g.abusive_missed:>13} "
                f"{g.within_auc:>7.3f} {g.bpsn_auc:>6.3f}"
            )


def _padded(text: str, width: int) -> str:
    """``text`` padded to ``width`` terminal columns (a Hangul syllable takes two)."""
    columns = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
    return text + " " * max(width - columns, 0)
