"""Reading a 责任单位 phrase: which units, and in which role.

    "市教育局牵头,市政法委、市公安局配合"  -> 市教育局 lead; 市政法委, 市公安局 cooperating
    "市发展改革委、市妇儿委牵头"          -> both lead
    "市妇联、市法院按照职责分工负责"      -> responsible
    "市市场监管局"                        -> responsible
    "市教育局(牵头)、市公安局"            -> a role in brackets belongs to its own name only

A role word closes the list of names before it. Separators 、 , ; / and line
breaks (full- or half-width) split names, never inside brackets, so
各镇(区、街道) stays one name. Placeholders such as 相关单位 are kept and
flagged; the importer warns and assigns nothing for them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from intake.wording import normalize
from models.assignment import AssignmentRole

LEAD, RESPONSIBLE, COOPERATING = AssignmentRole.LEAD, AssignmentRole.RESPONSIBLE, AssignmentRole.COOPERATING

# Longest first: "牵头负责" before "负责".
ROLE_WORDS: tuple[tuple[str, AssignmentRole], ...] = (
    ("按照职责分工负责", RESPONSIBLE), ("按职责分工负责", RESPONSIBLE), ("按照职责分工落实", RESPONSIBLE),
    ("按照职责负责", RESPONSIBLE), ("按职责负责", RESPONSIBLE), ("分别负责", RESPONSIBLE),
    ("共同负责", RESPONSIBLE), ("牵头负责", LEAD), ("具体负责", RESPONSIBLE), ("负责", RESPONSIBLE),
    ("牵头", LEAD), ("配合", COOPERATING), ("协助", COOPERATING), ("参与", COOPERATING), ("协同", COOPERATING),
)

PLACEHOLDER = re.compile(
    r"^[省市县区镇乡]?各?(?:其他|其它)?(?:相关|有关)(?:的)?(?:单位|部门|地区)(?:和|及|、)?(?:单位|部门)?$"
)
SEPARATORS = frozenset("、,;/\n")
OPENERS, CLOSERS = frozenset("([（【"), frozenset(")]）】")
PRIORITY = {LEAD: 0, RESPONSIBLE: 1, COOPERATING: 2}


@dataclass(frozen=True)
class NamedUnit:
    name: str
    role: AssignmentRole
    placeholder: bool = False

    @property
    def group(self) -> bool:
        """各镇(区、街道), 各街道 ...: stands for several units."""
        return not self.placeholder and self.name.startswith("各")


def split_names(phrase: str) -> list[str]:
    """Split at separators outside brackets."""
    parts, current, depth = [], [], 0
    for char in phrase:
        if char in OPENERS:
            depth += 1
        elif char in CLOSERS:
            depth = max(0, depth - 1)
        if char in SEPARATORS and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [p.strip() for p in parts if p.strip()]


def _role_suffix(token: str) -> tuple[str, AssignmentRole | None, bool]:
    """(name, role, applies_to_this_name_only)."""
    bracketed = re.fullmatch(r"(.*?)\((牵头|配合|负责|牵头单位|配合单位|责任单位)\)", token)
    if bracketed:
        word = bracketed.group(2).removesuffix("单位")
        role = {"牵头": LEAD, "配合": COOPERATING, "负责": RESPONSIBLE, "责任": RESPONSIBLE}[word]
        return bracketed.group(1).strip(), role, True
    for word, role in ROLE_WORDS:
        if token.endswith(word):
            return token[: -len(word)].strip(), role, False
    return token, None, False


def parse_unit_phrase(phrase: str, default_role: AssignmentRole = RESPONSIBLE) -> tuple[list[NamedUnit], list[str]]:
    """The units a phrase names, each with its role, and warnings about the phrase."""
    warnings: list[str] = []
    text = normalize(phrase).removeprefix("由")  # "由市民政局牵头"
    found: list[NamedUnit] = []
    pending: list[str] = []
    for token in split_names(text):
        name, role, own_only = _role_suffix(token)
        if name.endswith("等单位") or name.endswith("等部门"):
            name = name[:-3]
            warnings.append(f"“{token}”含“等”，只导入列出的单位 / “{token}” says “and others”: only the listed units are imported")
        elif name.endswith("等"):
            name = name[:-1]
            warnings.append(f"“{token}”含“等”，只导入列出的单位 / “{token}” says “and others”: only the listed units are imported")
        if own_only:
            if name:
                found.append(_named(name, role))
            continue
        if name:
            pending.append(name)
        if role is not None:
            found.extend(_named(n, role) for n in pending)
            pending = []
    found.extend(_named(n, default_role) for n in pending)
    return strongest_roles(found), warnings


def _named(name: str, role: AssignmentRole) -> NamedUnit:
    name = name.strip().rstrip("。.")
    return NamedUnit(name=name, role=role, placeholder=bool(PLACEHOLDER.match(name)))


def strongest_roles(units: list[NamedUnit]) -> list[NamedUnit]:
    """A unit named twice keeps its strongest role (lead > responsible > cooperating), first place."""
    best: dict[str, NamedUnit] = {}
    for unit in units:
        held = best.get(unit.name)
        if held is None or PRIORITY[unit.role] < PRIORITY[held.role]:
            best[unit.name] = unit
    order = list(dict.fromkeys(u.name for u in units))
    return [best[name] for name in order]
