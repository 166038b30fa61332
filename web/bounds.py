"""What the portal accepts from a request: bounded numbers, capped text without NUL, and each
field's Chinese name.

One definition of every limit. Route signatures use the types (`Id`, `Version`, `Text[...]`),
the API's models use `capped(...)`, and `form_of` runs `check_form` over every form field, so a
value the database would choke on (a 20-digit id, a NUL byte on PostgreSQL, 10 MiB of text) is
refused with a message naming the field before any query runs.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import HTTPException, Path
from pydantic import AfterValidator, BeforeValidator, Field
from pydantic_core import PydanticCustomError

from models.numbers import number_in_text

INT32_MAX = 2**31 - 1  # ids and versions are INTEGER columns on both backends

# The cap of every free-text field a person or a script can send, by its form or JSON name.
LIMITS: dict[str, int] = {
    "text": 10_000,
    "milestone": 500,
    "problems": 5_000,
    "reason": 2_000,
    "name": 200,
    "plan": 100,
    "plan_key": 100,
    "username": 100,
    "password": 1_000,
    "next": 2_000,
    "actor": 100,
    "action": 60,
    "unit": 200,
    # The import preview's per-task fields (title-3, lead-3 …): as long as a notice may print them.
    "title": 10_000,
    "lead": 10_000,
    "responsible": 10_000,
    "cooperating": 10_000,
    "deadline": 100,
    "doc_no": 60,  # a 通报's 文号 (models/report_state.py)
    "note": 2_000,  # the office's note on an escalated item (models/escalation_desk.py)
}
DEFAULT_LIMIT = 1_000  # any other field: tokens, dates, choices

# Each field's name as the person filling the form knows it.
LABELS: dict[str, str] = {
    "text": "进展情况",
    "milestone": "进度节点",
    "problems": "需协调解决的问题",
    "reason": "理由",
    "name": "名称",
    "plan": "计划代号",
    "plan_key": "计划代号",
    "username": "用户名",
    "password": "密码",
    "next": "跳转地址",
    "actor": "操作人",
    "action": "动作",
    "since": "起始时间",
    "until": "截止时间",
    "unit": "单位",
    "state": "状态",
    "light": "灯色",
    "task": "任务序号",
    "page": "页码",
    "page_no": "页码",
    "version": "版本号",
    "percent": "完成比例",
    "round_id": "轮次编号",
    "id": "编号",
    "limit": "条数",
    "offset": "起始位置",
    "report_by": "报送截止日期",
    "completed": "是否完成",
    "csrf": "表单令牌",
    "decision": "决定",
    "sha256": "文件指纹",
    "doc_no": "文号",
    "note": "备注",
    "level": "督办级别",
    "round": "轮次",
    "as_of": "截至日期",
    "role": "角色",
    "kind": "类型",
}


def label(name: str) -> str:
    """A field's Chinese name; ids in paths (assignment_id, checkin_id, …) are all 编号."""
    if name in LABELS:
        return LABELS[name]
    return "编号" if name.endswith("_id") else name


def limit_of(name: str) -> int:
    """The cap of a field; a per-task field of the import preview ("title-3") has the cap of its
    kind."""
    return LIMITS.get(name, LIMITS.get(re.sub(r"-\d+$", "", name), DEFAULT_LIMIT))


def too_long(name: str, limit: int) -> str:
    return f"“{label(name)}”不能超过 {limit} 个字符 / {name}: at most {limit} characters"


def has_nul(name: str) -> str:
    return f"“{label(name)}”含有空字符（NUL），请删除后重试 / {name}: contains a NUL character"


def storable(text: str) -> str:
    """Text from a request as it can be kept on the trail: a NUL written as \\0."""
    return text.replace("\x00", "\\0")


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise PydanticCustomError("nul_character", "contains a NUL character")
    return value


def capped(name: str) -> Any:
    """The type of a free-text field called `name`: at most its limit, no NUL."""
    return Annotated[str, Field(max_length=limit_of(name)), AfterValidator(_no_nul)]


Id = Annotated[int, Field(ge=1, le=INT32_MAX)]
Version = Annotated[int, Field(ge=0, le=INT32_MAX)]
Count = Annotated[int, Field(ge=0, le=INT32_MAX)]


def _blank_is_none(value: object) -> object:
    """A filter left at 全部, or a number field left empty, arrives as `name=`: no filter."""
    return None if value == "" else value


# A number to filter a list by, in a filter form's query string (empty: no filter).
CountFilter = Annotated[Count | None, BeforeValidator(_blank_is_none)]
Percent = Annotated[int, Field(ge=0, le=100)]
Word = Annotated[
    str, Field(max_length=100), AfterValidator(_no_nul)
]  # a choice in a path: an action, a name
FileName = Annotated[
    str, Field(max_length=255), AfterValidator(_no_nul)
]  # a name or a digest in a path
SearchText = Annotated[
    str, Field(max_length=200), AfterValidator(_no_nul)
]  # a filter in a query string
# A plan's key in a path: no NUL (PostgreSQL refuses it in a query: a 500), at most 100 characters.
PlanKey = Annotated[
    Word, Path(min_length=1, description="the plan's key (`duban import --plan-key`)")
]


class InputRefused(HTTPException):
    """A value refused before it reached the database: 422 with the field's name in Chinese."""

    def __init__(self, message: str) -> None:
        super().__init__(status_code=422, detail=message)


def number_in_form(value: object) -> int | None:
    """A number a form carries as text (an id, a revision); None for anything else."""
    return number_in_text(value)


def check_form(form: Any) -> None:
    """Every text field of a submitted form within its limit and free of NUL (files are checked
    elsewhere)."""
    for name, value in form.multi_items():
        if not isinstance(value, str):
            continue
        if "\x00" in value:
            raise InputRefused(has_nul(name))
        if len(value) > limit_of(name):
            raise InputRefused(too_long(name, limit_of(name)))


# The named free-text fields, each capped by its entry in LIMITS.
CheckInText = Annotated[capped("text"), Field(min_length=1)]
Milestone = capped("milestone")
Problems = capped("problems")
Username = capped("username")
Password = capped("password")
Actor = capped("actor")
ActionName = capped("action")
