"""The audit trail in words: who, when, on what, did what, why, and what changed (before → after).

The audit page and its CSV/JSONL/XLSX exports read an event through `in_words`, so the auditor
reads the same sentence on the page and in the file. Action and role names come from
models/labels.py; the object kinds and field names below are in that module's shape
(code → label) so they can move there as they are.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from models.audit import AuditEvent
from models.declines import DECLINE_STATE_LABELS
from models.escalations import STALL_REASONS
from models.labels import (
    ASSIGNMENT_ROLES,
    AUDIT_ACTIONS,
    CHANNELS,
    CHECKIN_STATES,
    CONTACT_ROLES,
    FIELDS,
    FIGURES,
    LIGHTS,
    MESSAGE_KINDS,
    OUTCOMES,
    PAUSES,
    ROUND_STATES,
    STATES,
    UNIT_KINDS,
    USER_ROLES,
    actor_label,
    label,
    local_time,
    reminder_stage,
)
from web.throttle import SCOPE_ZH

OBJECT_KINDS: Final[dict[str, str]] = {
    "assignment": "分工",
    "checkin": "报送",
    "escalation": "督办",
    "evidence": "佐证材料",
    "extension": "延期申请",
    "login_throttle": "登录限制",
    "notification": "通知消息",
    "plan": "通知",
    "results": "通报",
    "round": "督导轮次",
    "route": "页面",
    "schema": "数据库",
    "task": "任务",
    "unit": "单位",
    "user": "用户",
    "web_session": "登录会话",
}
CHANGE_FIELDS: Final[dict[str, str]] = {
    **FIELDS,
    "username": "用户名",
    "role": "角色",
    "unit": "单位",
    "disabled": "停用",
    "name": "名称",
    "kind": "类别",
    "aliases": "简称",
    "members": "成员单位",
    "contacts": "联系人",
    "email": "邮箱",
    "phone": "电话",
    "state": "状态",
    "tokens": "令牌数",
    "due_on": "办理时限",
    "level": "督办级别",
    "levels": "督办级别",
    "open": "未办结",
    "note": "备注",
    "attempts": "尝试次数",
    "version": "版次",
    "revision": "报送版次",
    "pending": "待分工任务",
    "new_units": "新增单位",
    "sha256": "文件指纹",
    "source": "来源文件",
    "key": "编号",
    "changes": "变更",
    "corrections": "更正",
    "plan": "通知",
    "number": "编号",
    "from": "原值",
    "to": "新值",
    "queued": "已排队",
    "recipients": "收件人",
    "user_id": "用户编号",
    "unit_id": "单位编号",
    "assignments": "转入的分工",
    "checkins_moved": "顺延的报送",
    "checkins": "报送数",
    "notices": "通知数",
    "report_by": "报送截止",
    "scope": "范围",
    "tasks": "任务",
    "overdue": "逾期",
    "files": "文件",
    "lights": "灯",
    "task_lights": "任务灯",
    "as_of": "截至",
    "figures": "通报数字",
    "issue_no": "期号",
    "doc_no": "文号",
    "items": "事项数",
    "task_id": "任务编号",
    "assignment_id": "分工编号",
    "archived_at": "归档时间",
    "archived_by": "归档人",
    "rounds_closed": "结束的轮次",
    "checkin_due_on": "报送截止",
    "working_days": "工作日数",
    "checkins_redated": "改期的报送",
    "from_assignment": "原分工",
    "from_role": "原角色",
    "to_role": "新角色",
    "to_unit": "改派至",
    "recipient_email": "收件邮箱",
    "prev_hash": "前一条哈希",
    "assignment": "任务分工",
    "round": "督导轮次",
    "directive": "领导批示",
    "stall": "督办原因",
    "stage": "提醒阶段",
    "completed": "报送办结",
    "percent": "进度（%）",
    "text": "报送内容",
    "milestone": "阶段进展",
    "problems": "存在问题",
    "evidence": "佐证材料数",
    "unreached": "无联系人未通知的单位",
    "unreviewed": "未审核的报送",
    "declines": "退办申请数",
    "suspension": "暂停记录",
    "pause": "计时状态",
    "ip": "地址",
    "failures": "失败次数",
    "withdrawn": "已撤销",
    "original_due_on": "原办理时限",
    "channel": "发送渠道",
}
# The fields that hold a 通报's figures: inside them a key is named as the 通报 names it
# (models.labels.FIGURES), not what the same code means elsewhere.
FIGURE_FIELDS: Final = frozenset(
    {"figures", "escalations", "open_escalations", "office_review", "task_lights"}
)
# A time kept as text (ISO 8601, as canonical_json writes a datetime): shown in the office's zone.
_ISO_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d")
# A key of a stored figure may itself be a code (counts by state, by light): its word, then.
KEY_WORDS: Final[dict[str, str]] = {
    **STATES,
    **CHECKIN_STATES,
    **ROUND_STATES,
    **LIGHTS,
    **ASSIGNMENT_ROLES,
    **USER_ROLES,
    **CONTACT_ROLES,
    **CHANGE_FIELDS,
}
Tables = dict[str, dict[str, str]]
# Values that are codes themselves, by the field that holds them.
VALUE_TABLES: Final[Tables] = {
    "role": {**USER_ROLES, **CONTACT_ROLES, **ASSIGNMENT_ROLES},
    "from_role": ASSIGNMENT_ROLES,
    "to_role": ASSIGNMENT_ROLES,
    "state": {
        **ROUND_STATES,
        **CHECKIN_STATES,
        **STATES,
    },
    "kind": {**UNIT_KINDS, **MESSAGE_KINDS},  # a unit's kind, or a message's
    "stall": {code: words[0] for code, words in STALL_REASONS.items()},
    "level": {code: FIGURES[code] for code in ("1", "2", "3")},
    "channel": CHANNELS,
    "pause": PAUSES,
    "scope": SCOPE_ZH,  # a login throttle's (a round's scope is a dict of tasks and units)
}
# A message's or a ladder step's own key (digest:u13:liaison:2022-09-05, a1:r1:l2) is how the
# outbox keeps one message per step: no words to it, the event's object and kind say the same.
# The JSONL export keeps it as stored.
_INTERNAL_KEY = re.compile(r"^[a-z_]+\d*:")
# Where one object's codes differ from the rest: a 退办 request's `pending` is 待办公室审核,
# not 待报送.
OBJECT_VALUE_TABLES: Final[dict[str, dict[str, dict[str, str]]]] = {
    "decline": {"state": {str(state): words for state, words in DECLINE_STATE_LABELS.items()}},
}
HEADERS: Final[tuple[str, ...]] = (
    "序号",
    "时间",
    "操作人",
    "做了什么",
    "对象",
    "结果",
    "原因",
    "变更前",
    "变更后",
)


@dataclass(frozen=True)
class EventInWords:
    seq: int
    when: str
    who: str
    what: str
    target: str
    outcome: str
    reason: str
    before: str
    after: str
    changes: tuple[tuple[str, str, str], ...]  # field, before, after: only what differs

    def cells(self) -> list[Any]:
        return [
            self.seq,
            self.when,
            self.who,
            self.what,
            self.target,
            self.outcome,
            self.reason,
            self.before,
            self.after,
        ]


def _value(field: str, value: Any, zone: str, tables: Tables = VALUE_TABLES) -> str:
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, list):
        return "、".join(_value(field, v, zone, tables) for v in value)
    if isinstance(value, dict):
        return "；".join(
            f"{_field(str(k), field)}：{_value(str(k), v, zone, tables)}" for k, v in value.items()
        )
    return _scalar(field, value, zone, tables)


def _scalar(field: str, value: Any, zone: str, tables: Tables) -> str:
    """A single stored value in words: a rate as a percentage, a time in the office's zone, a
    code by its field's table."""
    if isinstance(value, float) and field.endswith("_rate"):
        return f"{value * 100:.1f}%"
    if isinstance(value, str) and _ISO_TIME.match(value):
        try:
            return local_time(datetime.fromisoformat(value), zone)
        except ValueError:
            return value
    if field == "stage" and isinstance(value, str):
        return reminder_stage(value)
    table = tables.get(field)
    if table is not None and str(value) in table:
        return table[str(value)]
    return str(value)


def _decoded(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def _field(name: str, within: str = "") -> str:
    if within in FIGURE_FIELDS and name in FIGURES:
        return FIGURES[name]
    return KEY_WORDS.get(name, name)


def _described(state: Any, zone: str, tables: Tables) -> str:
    if state is None:
        return ""
    if isinstance(state, dict):
        return "；".join(
            f"{_field(k)}：{_value(k, v, zone, tables)}" for k, v in state.items() if _shown(k, v)
        )
    return _value("", state, zone, tables)


def _shown(field: str, value: Any) -> bool:
    return not (field == "key" and isinstance(value, str) and _INTERNAL_KEY.match(value))


def _changes(
    before: Any, after: Any, zone: str, tables: Tables
) -> tuple[tuple[str, str, str], ...]:
    if not isinstance(before, dict) and not isinstance(after, dict):
        if before is None and after is None:
            return ()
        return (("内容", _value("", before, zone, tables), _value("", after, zone, tables)),)
    old = before if isinstance(before, dict) else {}
    new = after if isinstance(after, dict) else {}
    return tuple(
        (_field(k), _value(k, old.get(k), zone, tables), _value(k, new.get(k), zone, tables))
        for k in dict.fromkeys([*old, *new])
        if old.get(k) != new.get(k) and _shown(k, new.get(k, old.get(k)))
    )


def in_words(event: AuditEvent, zone: str) -> EventInWords:
    """One event as the auditor reads it, its time in the office's zone."""
    before, after = _decoded(event.before), _decoded(event.after)
    tables = {**VALUE_TABLES, **OBJECT_VALUE_TABLES.get(event.object_type or "", {})}
    return EventInWords(
        seq=event.seq,
        when=local_time(event.at, zone, "second"),
        who=actor_label(event.actor),
        what=label(AUDIT_ACTIONS, event.action),
        target=f"{label(OBJECT_KINDS, event.object_type)} {event.object_id}".strip(),
        outcome=label(OUTCOMES, event.outcome),
        reason=event.reason or "",
        before=_described(before, zone, tables),
        after=_described(after, zone, tables),
        changes=_changes(before, after, zone, tables),
    )
