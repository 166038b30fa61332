"""The audit trail in words: every field an event records has a Chinese name, and codes inside the
values (a reminder's step, a message's kind, a ladder's stall) are read as the office says them."""

from __future__ import annotations

import ast
from datetime import UTC, datetime
from pathlib import Path

from models.audit import AuditEvent
from web.audit_words import KEY_WORDS, in_words

ROOT = Path(__file__).resolve().parent.parent
ZONE = "Asia/Shanghai"


def _recorded_fields() -> dict[str, str]:
    """Each key of a before/after dict literal the code records, with where it is written."""
    found: dict[str, str] = {}

    def keys_of(node: ast.AST, where: str) -> None:
        if isinstance(node, ast.Dict):
            for key in node.keys:
                if isinstance(key, ast.Constant) and isinstance(key.value, str):
                    found.setdefault(key.value, where)

    for folder in ("models", "web", "cli", "intake", "flows", "notifications", "reports"):
        for source in (ROOT / folder).rglob("*.py"):
            if "migrations" in source.parts:
                continue
            tree = ast.parse(source.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                where = f"{source.relative_to(ROOT)}:{getattr(node, 'lineno', 0)}"
                if isinstance(node, ast.keyword) and node.arg in ("before", "after"):
                    keys_of(node.value, where)
                if isinstance(node, ast.Dict):
                    for key, value in zip(node.keys, node.values, strict=True):
                        if isinstance(key, ast.Constant) and key.value in ("before", "after"):
                            keys_of(value, where)
    return found


def test_every_field_an_event_records_has_a_chinese_name() -> None:
    fields = _recorded_fields()
    assert {"state", "level", "reason"} <= set(fields), "found too few recorded fields"
    unnamed = {name: where for name, where in fields.items() if name not in KEY_WORDS}
    assert unnamed == {}


def _event(action: str, object_type: str, after: str, reason: str | None = None) -> AuditEvent:
    return AuditEvent(
        seq=7,
        at=datetime(2022, 9, 5, 1, 30, tzinfo=UTC),
        actor="system",
        action=action,
        object_type=object_type,
        object_id="13",
        outcome="ok",
        reason=reason,
        after=after,
        prev_hash="0" * 64,
        hash="1" * 64,
    )


def test_a_queued_reminder_reads_as_its_kind_and_step_without_the_outbox_key() -> None:
    words = in_words(
        _event(
            "reminder.enqueue",
            "unit",
            '{"kind": "reminder", "stage": "t-1", "items": 2, '
            '"key": "digest:u13:liaison:2022-09-05"}',
        ),
        ZONE,
    )
    assert words.when == "2022-09-05 09:30:00"
    assert words.after == "类别：报送提醒；提醒阶段：截止前1个工作日；事项数：2"
    overdue = in_words(
        _event("reminder.enqueue", "unit", '{"kind": "overdue", "stage": "overdue", "items": 1}'),
        ZONE,
    )
    assert overdue.after == "类别：逾期提醒；提醒阶段：已逾期；事项数：1"


def test_a_raised_escalation_reads_as_its_stall_and_level() -> None:
    words = in_words(
        _event(
            "escalation.raise",
            "escalation",
            '{"assignment": 5, "round": 2, "directive": null, "level": 2, "stall": "overdue", '
            '"number": "督〔2022〕3号"}',
        ),
        ZONE,
    )
    assert words.after == (
        "任务分工：5；督导轮次：2；领导批示：—；督办级别：黄色催办；督办原因：检查报送逾期超过宽限期；"
        "编号：督〔2022〕3号"
    )


def test_a_decline_s_pending_is_the_office_s_to_decide_not_a_check_in_s_to_file() -> None:
    decline = in_words(
        _event("decline.request", "decline", '{"state": "pending", "role": "lead"}'), ZONE
    )
    checkin = in_words(_event("checkin.submit", "checkin", '{"state": "pending"}'), ZONE)
    assert decline.after == "状态：待办公室审核；角色：牵头"
    assert checkin.after == "状态：待报送"
