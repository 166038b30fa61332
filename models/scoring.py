"""考核 scoring: each unit's score, its rank and the 红黑榜, from the facts a 通报 replays.

Pure: no rows, no clock. The facts (a report on time, late or missing against the date it counts
against; a return for rework; an escalated item at the highest level it reached; an unresolved
批示) come from the 通报's replay of the audit trail (reports/results.py), so a score as of a
date is the score the trail gave on that date. The rules are the office's, from config ([scoring],
config.settings.ScoringRules): a base, points per fact (negative: a deduction) times the weight of
the unit's role on that assignment, the total held within a floor and a cap.

The 红榜 names the best units that lost nothing and had something due; the 黑榜 the worst of those
that lost points. Each takes `board_size` ranks, so a tie at the last place is listed whole.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final, NamedTuple

if TYPE_CHECKING:
    from config.settings import ScoringRules

# What scores, in the order a reason lists it; each with its words and its counting word.
KINDS: Final[dict[str, tuple[str, str]]] = {
    "on_time": ("按时报送", "次"),
    "late": ("逾期报送", "次"),
    "missing": ("未报送", "次"),
    "returned": ("退回", "次"),
    "escalated_1": ("蓝色督办", "项"),
    "escalated_2": ("黄色督办", "项"),
    "escalated_3": ("红色督办", "项"),
    "directive_unresolved": ("批示未办结", "项"),
}
ROLES: Final = ("lead", "responsible", "cooperating")


class UnknownFact(ValueError):
    """A fact of a kind or role the rules do not score: a programming error, never user input."""


class Fact(NamedTuple):
    """One thing a unit did (or failed to do) on one of its assignments, `times` times. (A tuple: a
    province's round makes a hundred thousand of them.)"""

    unit: str
    role: str  # lead, responsible, cooperating: the weight it counts with
    kind: str  # a key of KINDS
    times: int = 1


@dataclass(slots=True)
class UnitScore:
    unit: str
    score: float = 0.0
    raw: float = 0.0  # before the floor and the cap
    rank: int = 0
    counts: dict[str, int] = field(default_factory=dict)  # kind -> how many
    points: dict[str, float] = field(default_factory=dict)  # kind -> its weighted points

    @property
    def counted(self) -> bool:
        """Whether anything was due from the unit (a report, an item): a 红榜 needs it."""
        return any(self.counts.values())

    @property
    def lost(self) -> bool:
        return any(points < 0 for points in self.points.values())

    @property
    def reasons(self) -> str:
        """Everything counted, as the office writes it: "按时报送 1 次，逾期报送 2 次"."""
        return _words(self.counts, KINDS) or "无应报事项"

    @property
    def deductions(self) -> str:
        """What lost points: "逾期报送 2 次，退回 1 次"."""
        lost = {k: n for k, n in self.counts.items() if self.points.get(k, 0) < 0}
        return _words(lost, KINDS) or "无扣分"


@dataclass(slots=True)
class Scoreboard:
    units: list[UnitScore]  # best first; ties share a rank
    red: list[UnitScore]  # 红榜, best first
    black: list[UnitScore]  # 黑榜, worst first
    basis: str = ""  # the rules in words, printed with the scores (`rules_words`)

    def of(self, unit: str) -> UnitScore:
        return next(u for u in self.units if u.unit == unit)


def rules_words(rules: ScoringRules) -> str:
    """The rules as the 通报 prints them beside the scores: what each fact counts, the weights, the
    bounds."""
    points = "，".join(
        f"{words}{float(getattr(rules, kind)):+g}" for kind, (words, _) in KINDS.items()
    )
    return (
        f"基础分{rules.base:g}；{points}；牵头×{rules.weight_lead:g}、负责×"
        f"{rules.weight_responsible:g}、配合×{rules.weight_cooperating:g}；最高{rules.cap:g}分、"
        f"最低{rules.floor:g}分。按原定截止日期计（经批准延期的按延期后日期）；督办事项按所升至的"
        "最高级别计一次，办公室待审核不计入单位；不以留痕、批示计分。"
    )


def _words(counts: dict[str, int], kinds: dict[str, tuple[str, str]]) -> str:
    return "，".join(
        f"{words} {counts[kind]} {unit}"
        for kind, (words, unit) in kinds.items()
        if counts.get(kind)
    )


def points_of(rules: ScoringRules, kind: str, role: str) -> float:
    """One fact's points: the rule for its kind times the weight of the role."""
    if kind not in KINDS or role not in ROLES:
        raise UnknownFact(f"{kind!r} by a {role!r} unit")
    return float(getattr(rules, kind)) * float(getattr(rules, f"weight_{role}"))


def score_units(facts: Iterable[Fact], *, units: Iterable[str], rules: ScoringRules) -> Scoreboard:
    """Every unit's score (a unit with no fact keeps the base), ranked, and the 红黑榜."""
    scores = {name: UnitScore(unit=name) for name in units}
    tally: Counter[tuple[str, str, str]] = Counter()
    for unit, role, kind, count in facts:
        tally[unit, kind, role] += count
    for (unit, kind, role), count in sorted(tally.items()):
        found = scores.setdefault(unit, UnitScore(unit=unit))
        found.counts[kind] = found.counts.get(kind, 0) + count
        found.points[kind] = found.points.get(kind, 0.0) + count * points_of(rules, kind, role)
    for found in scores.values():
        found.points = {kind: round(p, 2) for kind, p in found.points.items()}
        # Summed in one order and rounded once: the same facts always give the same figure.
        found.raw = round(rules.base + sum(found.points[k] for k in sorted(found.points)), 2)
        found.score = min(rules.cap, max(rules.floor, found.raw))
    ranked = _rank(list(scores.values()))
    return Scoreboard(
        units=ranked,
        red=_red(ranked, rules.board_size),
        black=_black(ranked, rules.board_size),
        basis=rules_words(rules),
    )


def _rank(units: list[UnitScore]) -> list[UnitScore]:
    """Best first, by name within a score; equal scores share a rank (1, 1, 3)."""
    units.sort(key=lambda u: (-u.score, u.unit))
    for position, unit in enumerate(units, start=1):
        same = position > 1 and units[position - 2].score == unit.score
        unit.rank = units[position - 2].rank if same else position
    return units


def _within(candidates: list[UnitScore], size: int) -> list[UnitScore]:
    """The first `size` places of an ordered list, with everyone tied with the last of them."""
    if size <= 0 or not candidates:
        return []
    last = candidates[min(size, len(candidates)) - 1].score
    cut = size
    while cut < len(candidates) and candidates[cut].score == last:
        cut += 1
    return candidates[:cut]


def _red(ranked: list[UnitScore], size: int) -> list[UnitScore]:
    return _within([u for u in ranked if u.counted and not u.lost], size)


def _black(ranked: list[UnitScore], size: int) -> list[UnitScore]:
    return _within(sorted((u for u in ranked if u.lost), key=lambda u: (u.score, u.unit)), size)
