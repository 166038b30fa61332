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
from dataclasses import dataclass, field

from intake.wording import normalize
from models.assignment import AssignmentRole, stronger

LEAD, RESPONSIBLE, COOPERATING = (
    AssignmentRole.LEAD,
    AssignmentRole.RESPONSIBLE,
    AssignmentRole.COOPERATING,
)

# Longest first: "牵头负责" before "负责".
ROLE_WORDS: tuple[tuple[str, AssignmentRole], ...] = (
    ("按照职责分工负责", RESPONSIBLE),
    ("按职责分工负责", RESPONSIBLE),
    ("按照职责分工落实", RESPONSIBLE),
    ("按照职责负责", RESPONSIBLE),
    ("按职责负责", RESPONSIBLE),
    ("分别负责", RESPONSIBLE),
    ("共同负责", RESPONSIBLE),
    ("牵头负责", LEAD),
    ("分别牵头", LEAD),
    ("具体负责", RESPONSIBLE),
    ("负责", RESPONSIBLE),
    ("牵头", LEAD),
    ("配合", COOPERATING),
    ("协助", COOPERATING),
    ("参与", COOPERATING),
    ("协同", COOPERATING),
)

# 相关单位, 区政府有关部门, 各有关省级人民政府, 各项目牵头单位 (the units of other tasks): no
# determinable set. 各责任单位, 各牵头部门, 各配合单位: the units named by role in other tasks, no
# set of their own.
PLACEHOLDER = re.compile(
    r"有关|相关|相關|有關"
    r"|^各(?:项目|項目)?(?:牵头|牽頭|责任|責任|配合|协办|協辦|承办|承辦|主责|主責)(?:单位|部门|單位|部門)$"
)
SEPARATORS = frozenset("、,;/\n。")
OPENERS, CLOSERS = frozenset("([（【〔"), frozenset(")]）】〕")
# After 各, a 、 list of bare kinds of body is one group: 各区、县级市; 各乡镇人民政府、街道办事处.
BARE_KIND = re.compile(
    r"^(?:县级市|县|市|区|旗|乡|镇|乡镇|街道|街道办事处|功能区|开发区|园区|园区管委会)"
    r"(?:人民政府|政府|党委|办事处|管委会)?$"
)
LABEL = re.compile(r"^([^:：]{1,12})[:：]\s*(.*)$", re.S)
# What a deadline is written with (2023年, 6月, 年底前, 全年, 长期, 十二月): one list for phrases
# and cells.
DEADLINE_WORDS = (
    r"\d{4}\s*年|\d{1,2}\s*月|底前|年底|年内|全年|长期|持续|常态|[一二三四五六七八九十]+月"
)
DEADLINE_PART = re.compile(f"({DEADLINE_WORDS})")
ALL_LATER = re.compile(r"以下.{0,30}(?:均需|均由|都需|均要).{0,40}不再(?:单独|一一|逐项)?列出")
RULE_TAIL = re.compile(r"^(?:下同|以下同|下同。)$")


@dataclass(frozen=True)
class NamedUnit:
    name: str
    role: AssignmentRole
    placeholder: bool = False

    @property
    def group(self) -> bool:
        """各镇(区、街道), 各街道 ...: stands for several units."""
        return not self.placeholder and self.name.startswith("各")


@dataclass
class Assignment:
    """What a unit phrase or a unit bracket says: the units and roles, and the people and deadline
    beside them."""

    units: list[NamedUnit]
    people: list[str]
    deadline_text: str | None
    warnings: list[str]
    first_is_lead: bool  # the phrase printed the rule itself (列第一位者为牵头单位)


def split_names(phrase: str) -> list[str]:
    """Split at separators outside brackets; 及 separates too, 和 never (党工委和管委会 is one
    body)."""
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for char in phrase:
        if char in OPENERS:
            depth += 1
        elif char in CLOSERS:
            depth = max(0, depth - 1)
        if (char in SEPARATORS or char == "及") and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [p.strip() for p in parts if p.strip()]


def _join_groups(tokens: list[str]) -> list[str]:
    """各区、县级市 is one group: a 各 name followed by bare kinds that have no 各, place or owner
    of their own."""
    joined: list[str] = []
    for token in tokens:
        previous = joined[-1].split(":")[-1] if joined else ""
        group = re.match(r"^各(?:有关|相关)?(.+)$", previous)
        if (
            group
            and BARE_KIND.match(group.group(1).split("、")[-1])
            and BARE_KIND.match(_role_suffix(token)[0])
        ):
            joined[-1] = f"{joined[-1]}、{token}"
        else:
            joined.append(token)
    return joined


def _role_suffix(token: str) -> tuple[str, AssignmentRole | None, bool]:
    """(name, role, applies_to_this_name_only)."""
    bracketed = re.fullmatch(r"(.*?)\((牵头|配合|负责|牵头单位|配合单位|责任单位)\)", token)
    if bracketed:
        word = bracketed.group(2).removesuffix("单位")
        role = {"牵头": LEAD, "配合": COOPERATING, "负责": RESPONSIBLE, "责任": RESPONSIBLE}[word]
        return bracketed.group(1).strip(), role, True
    # "分别负责落实", "按职责分工落实": the verb after the role word says nothing more.
    if re.search(r"(负责|牵头|配合|分工)(?:落实|实施|完成|推进)$", token):
        token = re.sub(r"(?:落实|实施|完成|推进)$", "", token)
        token = re.sub(r"(按照?职责)?分工$", r"\1分工负责", token)
    from intake.roles import simplified

    for word, role in ROLE_WORDS:
        if simplified(token).endswith(
            word
        ):  # 牽頭, 負責 read like 牵头, 负责; the name stays as written
            return token[: -len(word)].strip(), role, False
    return token, None, False


def _unitish(text: str) -> bool:
    return bool(
        re.search(
            r"(局|委|办|部|院|会|府|街道|镇|乡|团|联|社|中心|公司|队|所|行|处|厅|署|科|室|组|站|馆|台|区|市|县|"
            r"单位|政府|机构|总局|银行|海关|集团|协会|学校|法院|检察院|指挥部)",
            text,
        )
    )


# How the name of a body ends: an organ (局, 委, 办 …), a place's government, a grass-roots body.
UNIT_END = re.compile(
    r"(局|委|办|部|院|府|会|所|队|站|馆|组|厅|署|科|室|处|团|社|联|行|中心|单位|部门|机关|机构|"
    r"政府|街道|办事处|镇|乡|村|社区|指挥部|公司|集团|银行|海关|学校|医院|法院|示范区|高新区|开发区|园区)$"
)
# Nouns that begin with 会 inside a body's name (会展办公室, 会计核算中心): there 会 is not 会同.
_HUI_WORDS = "展|议|计|务|员|馆|堂|场|所|费|籍|刊|徽|标"
# A cell meaning "none" in a unit column (协办单位: 无).
NO_UNIT = re.compile(r"^(?:无|暂无|没有|/|／|-|—|——|－)$")


def is_unit_name(name: str) -> bool:
    """Whether one name of a list names a body: 区信访局(牵头), 各村(社区), 相关部门, 区直各部门,
    县某局等.

    A role in brackets, a trailing 等 and an aside in brackets are not part of what it is.
    """
    from intake.roles import simplified

    name = _role_suffix(simplified(normalize(name)).strip())[0] if name else ""
    name = re.sub(r"等$", "", name)
    while re.search(r"[(（][^()（）]*[)）]$", name):
        name = re.sub(r"[(（][^()（）]*[)）]$", "", name).strip()
    if not name or len(name) > 30 or re.search(r"[。；;:：]", name):
        return False
    placeholder = PLACEHOLDER.search(name) and re.search(r"(单位|部门|机构)$", name)
    return bool(UNIT_END.search(name) or placeholder)


def is_unit_cell(text: str) -> bool:
    """Whether a cell is a list of bodies (each name one, see `is_unit_name`), not a sentence."""
    text = normalize(text)
    if text.endswith(("。", ".", ";", "；")):
        return False  # a sentence, even when it ends in 中心 or 局
    names = split_names(text)
    return bool(names) and all(is_unit_name(n) for n in names)


def read_assignment(phrase: str, default_role: AssignmentRole = RESPONSIBLE) -> Assignment:
    """The units a phrase names with their roles, plus people, a deadline and the printed rules in
    it.

    Labels switch the role of the names after them ("牵头单位:A,配合单位:B、C"), role words close
    the names before them ("A、B牵头"), "A会同B" makes A lead and B cooperating.
    """
    text = normalize(phrase)
    if ALL_LATER.search(text):
        # "以下各项均需各区政府落实，不再单独列出": a rule for the later tasks, whose own lists are
        # read as printed; it names no unit of this one.
        return Assignment(units=[], people=[], deadline_text=None, warnings=[], first_is_lead=False)
    for opener, closer in (("【", "】"), ("〔", "〕"), ("[", "]")):
        text = text.replace(opener, "(").replace(closer, ")")
    if text.startswith("(") and text.endswith(")") and split_names(text) == [text]:
        text = text[1:-1]  # the whole phrase in one bracket
    reading = _Reading(current=default_role)
    for token in _join_groups(split_names(text)):
        reading.read(token)
    reading.flush(reading.current)
    return Assignment(
        units=strongest_roles([u for u in reading.found if u.name]),
        people=reading.people,
        deadline_text="，".join(reading.deadlines) or None,
        warnings=reading.warnings,
        first_is_lead=reading.rule,
    )


@dataclass
class _Reading:
    """A phrase read token by token: names wait in `pending` until a role word or label closes
    them."""

    current: AssignmentRole  # the role a label set for the names after it
    kind: str | None = "units"  # what the last label said the names after it are
    rule: bool = False  # the phrase prints the first-is-lead rule
    found: list[NamedUnit] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    people: list[str] = field(default_factory=list)
    deadlines: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def flush(self, role: AssignmentRole) -> None:
        self.found.extend(_named(n, role) for n in self.pending)
        self.pending = []

    def read(self, token: str) -> None:
        kept = self.without_rule(token)
        if kept is None or RULE_TAIL.match(kept) or NO_UNIT.match(kept):
            return  # "协办单位:无" names nobody
        named = self.after_label(kept)
        if named is None or self.kind == "scorer":
            return
        token = named
        if self.kind == "person":
            self.people.append(token)
        elif self.kind == "deadline" or (DEADLINE_PART.search(token) and not _unitish(token)):
            self.deadlines.append(token)
        else:
            self.names(token.removeprefix("由"))  # "由市民政局牵头"

    def without_rule(self, token: str) -> str | None:
        """The token without the first-is-lead rule it prints (the rule noted); None if it is only
        the rule."""
        from intake.roles import first_is_lead_rule

        if not first_is_lead_rule(token):
            return token
        self.rule = True
        # "市甲局(列第一位者为牵头单位,下同)": the rule's bracket is glued onto the last name
        token = re.sub(r"\([^()]*\)$", "", token).strip() if token.endswith(")") else ""
        return None if not token or first_is_lead_rule(token) else token

    def after_label(self, token: str) -> str | None:
        """A label ("牵头单位:") switches the role of the names after it; what follows it, None if
        nothing."""
        from intake.roles import label_kind

        labelled = LABEL.match(token)
        if not (labelled and label_kind(labelled.group(1))):
            return token
        self.flush(self.current)
        self.kind = kind = label_kind(labelled.group(1))
        self.current = {"lead": LEAD, "cooperating": COOPERATING}.get(kind or "", RESPONSIBLE)
        token = labelled.group(2).strip()
        return None if not token or NO_UNIT.match(token) else token

    def names(self, token: str) -> None:
        together = re.fullmatch(r"(.+?)会同(.+?)(负责|牵头|落实|实施)?", token) or re.fullmatch(
            rf"(.+?[处科室局办部厅署])会(?!{_HUI_WORDS})(.+?)(负责|牵头|落实|实施)?", token
        )
        # 会 alone means 会同, unless it begins a word inside a name (市商务局会展办公室)
        if together and _unitish(together.group(1)):
            self.flush(LEAD)  # "A、B会同C": the names listed before A lead with it
            self.found.append(_named(together.group(1), LEAD))
            self.found.append(
                _named(_without_etc(together.group(2), token, self.warnings)[0], COOPERATING)
            )
            return
        name, role, own_only = _role_suffix(token)
        if role is None and name.endswith("分别牵头"):
            name, role = name.removesuffix("分别牵头"), LEAD
        names = _without_etc(name, token, self.warnings)
        if own_only:
            self.found.extend(_named(n, role or self.current) for n in names)
            return
        self.pending.extend(n for n in names if n)
        if role is not None:
            self.flush(role)


def _without_etc(name: str, token: str, warnings: list[str]) -> list[str]:
    """Names in "X等有关部门" (X and the placeholder), "X等" (X), "X等和各省级人民政府" (X and the
    group)."""
    etc = re.fullmatch(r"(.+?)等(?:和|及)?(.*)", name)
    if not etc:
        return [name]
    rest = etc.group(2)
    if rest.startswith(("各", "有关", "相关", "其他", "其它")):
        return [etc.group(1), rest]
    if rest and rest not in ("单位", "部门", "单位和部门", "部门和单位", "机构"):
        return [name]  # 等 inside a name: 高等教育局
    warnings.append(
        f"“{token}”含“等”，只导入列出的单位 / “{token}” says “and others”: only the listed "
        "units are imported"
    )
    return [etc.group(1)]


def parse_unit_phrase(
    phrase: str, default_role: AssignmentRole = RESPONSIBLE, first_is_lead: bool = False
) -> tuple[list[NamedUnit], list[str]]:
    """The units a phrase names, each with its role, and warnings about the phrase.

    `first_is_lead`: the notice printed 列第一位者为牵头单位 (the phrase itself may print it too).
    """
    assignment = read_assignment(phrase, default_role)
    units = assignment.units
    if (
        (first_is_lead or assignment.first_is_lead)
        and units
        and not any(u.role is LEAD for u in units)
    ):
        units = [NamedUnit(units[0].name, LEAD, units[0].placeholder), *units[1:]]
    return units, assignment.warnings


def _named(name: str, role: AssignmentRole) -> NamedUnit:
    name = re.sub(r"\s+", "", name.strip().rstrip("。."))
    return NamedUnit(name=name, role=role, placeholder=bool(PLACEHOLDER.search(name)))


def strongest_roles(units: list[NamedUnit]) -> list[NamedUnit]:
    """A unit named twice keeps its strongest role (lead > responsible > cooperating), first
    place."""
    best: dict[str, NamedUnit] = {}
    for unit in units:
        held = best.get(unit.name)
        if held is None or stronger(unit.role, than=held.role):
            best[unit.name] = unit
    order = list(dict.fromkeys(u.name for u in units))
    return [best[name] for name in order]
