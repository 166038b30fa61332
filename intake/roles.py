"""What a column header or a label says it holds, read from its words, not from a list of spellings.

    "牵头责任单位" "主责单位"              -> lead
    "协同配合单位" "协办单位" "参与单位"    -> cooperating
    "责任处室" "承办单位" "负责部门"        -> units (responsible)
    "牵头领导" "分 管 县领导" "领衔代表"    -> person (kept on the task, never assigned)
    "评分部门" "考核部门"                  -> scorer (not an assignee)
    "完成时限" "时间节点" "期限"            -> deadline
    "重点任务" "反馈问题" "建议题目"        -> text
    "类别" "考核项目"                      -> group (a category column)

Also the rules a notice prints about its own unit lists ("列第一位者为牵头单位",
"排在第一位的部门为牵头部门"): `first_is_lead_rule` finds them.
"""

from __future__ import annotations

import re
from functools import lru_cache

from intake.wording import squash

LEAD_WORDS = ("牵头", "主责", "主要", "主办")
COOPERATING_WORDS = ("配合", "协同", "协办", "会办", "参与", "会同", "协助", "协作")
RESPONSIBLE_WORDS = ("责任", "负责", "承办", "承担", "落实", "实施")
PERSON = re.compile(r"领导|责任人|负责人|联系人|分管|代表|领衔|委员|姓名")
SCORER = re.compile(r"评分|考核部门|考核单位|打分|评价部门")
UNIT_NOUN = re.compile(
    r"^(?!各)(?:.*(?:单位|部门|处室|科室|主体|机构)"
    r"|.*(?:责任|牵头|配合|协同|协办|参与|承办|负责|主责|主办|协助)[处科室局])$"
)
DEADLINE = re.compile(r"时限|时间|节点|期限|进度")
NUMBER = re.compile(r"^(序号|编号|序|号)$")
REMARKS = re.compile(r"^备注$")
GROUP = re.compile(r"(类别|类型|分类|领域|板块|考核项目|考核指标|项目类别)$")
TEXT = re.compile(
    r"任务|事项|内容|措施|目标|项目|实事|要求|分工|举措|指标|工作|问题|题目|建议|诉求|提案|议案|意见|"
    r"名称|事由|标题|主题"
)


@lru_cache(maxsize=8192)
def _simplified_char(char: str) -> str:
    from zhconv import convert  # a full Traditional→Simplified table, loaded on first use

    converted = convert(char, "zh-hans")
    return converted if len(converted) == 1 else char


def simplified(text: str) -> str:
    """The text with Traditional characters made Simplified, one character for one (a notice
    from a converted mirror: 類別, 備註, 牽頭單位), so positions in the text are kept."""
    return "".join(_simplified_char(char) for char in text)


# A column name or a label is a few words; longer text is a title or a sentence.
LABEL_LENGTH = 12


def column_name_like(cell: str) -> bool:
    """Whether a header cell reads like a column name even though its meaning is unknown
    (资金来源, 年度目标, 单位): a few words, no digits, no sentence marks, no list."""
    text = _BRACKETED.sub("", simplified(squash(cell))).strip(":：")
    return 0 < len(text) <= LABEL_LENGTH and not re.search(r"[\d。，,；;、！？!?]", text)


_BRACKETED = re.compile(r"[(\[（【〔].*?[)\]）】〕]")


def label_kind(label: str) -> str | None:
    """lead, cooperating, units, person, scorer, deadline, number, remarks, group, text, or None.

    Spacing and bracketed asides are ignored: "分 管 县领导", "责任单位（排在第一位的为牵头单位）".
    """
    text = _BRACKETED.sub("", simplified(squash(label))).strip(":：")
    if (
        not text
        or len(text) > LABEL_LENGTH
        or re.search(r"\d|清单|方案|通知|计划|要点|台账|分解表", text)
    ):
        return None  # a title line ("某县2024年实事清单"), not a column name
    if PERSON.search(text):
        return "person"
    if SCORER.search(text):
        return "scorer"
    if NUMBER.match(text):
        return "number"
    if REMARKS.match(text):
        return "remarks"
    if re.fullmatch(r"(部门|单位|责任|职责)分工", text):
        return "units"  # "部门分工:甲牵头,乙配合": the unit phrase that follows says the roles
    if UNIT_NOUN.search(text) and text != "单位":  # "单位" alone is a unit of measure (万亩, %)
        return _unit_label(text)
    if DEADLINE.search(text) and not re.search(r"任务|事项|内容|措施|项目|实事|指标|分工", text):
        return "deadline"
    if GROUP.search(text):
        return "group"
    if TEXT.search(text):
        return "text"
    return None


def _unit_label(text: str) -> str:
    """A column of units: lead, cooperating, or (neither said) units."""
    if any(word in text for word in LEAD_WORDS) and not any(w in text for w in ("协同", "配合")):
        return "lead"
    if any(word in text for word in COOPERATING_WORDS):
        return "cooperating"
    return "units"


# "列第一位者为牵头单位" "排在第一位的部门为牵头部门" "排名第一的为牵头单位" "第一个为牵头单位".
FIRST_IS_LEAD = re.compile(
    r"(?:列|排|排在|排名|位列)?(?:第一位|第一个|首位|第一)[^,，;；。)）]{0,8}?为[^,，;；。)）]{0,6}?牵头"
)


def first_is_lead_rule(text: str) -> bool:
    """Whether the text prints the rule that the first unit of each list is the lead."""
    return bool(FIRST_IS_LEAD.search(text))
