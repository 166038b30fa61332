"""One sample payload per message kind: the contract between the cycle that enqueues
messages and the templates that render them.

The cycle (flows, models) writes payloads of exactly these shapes into the
outbox; tests render every template with these under StrictUndefined, and
`duban notifications preview KIND` shows them. Dates are ISO strings; the
renderer adds `url` (notifications.links: the assignment's portal page) to every item and item
list entry that has an `assignment_id`.
"""

from __future__ import annotations

from typing import Any

_ITEM = {
    "task_number": 5,
    "task_title": "持续推进校园安全和疫情防控工作",
    "role": "lead",  # lead | responsible | cooperating
    "due_on": "2022-09-30",
    "checkin_id": 17,
    "assignment_id": 5,
}
_ROUND = {"name": "2022年第三季度督导", "report_by": "2022-09-30"}
_PLAN = {"title": "2022年重点工作任务清单"}

SAMPLES: dict[str, dict[str, Any]] = {
    # A supervision round opened: one digest per unit contact, listing what the unit owes.
    "round_opened": {
        "unit": "市教育局",
        "round": _ROUND,
        "plan": _PLAN,
        "items": [
            _ITEM,
            {
                "task_number": 6,
                "task_title": "促进未成年人身心健康",
                "role": "lead",
                "due_on": "2022-09-30",
                "checkin_id": 18,
                "assignment_id": 118,
            },
            {
                "task_number": 9,
                "task_title": "推动儿童友好城市建设",
                "role": "cooperating",
                "due_on": "2022-09-28",
                "checkin_id": 21,
                "assignment_id": 121,
            },
        ],
    },
    # Before or on the due day: stage "t-3", "t-1" or "due"; days_left 3, 1 or 0.
    "reminder": {
        "unit": "市教育局",
        "stage": "t-1",
        "days_left": 1,
        "round": _ROUND,
        "plan": _PLAN,
        "items": [_ITEM],
    },
    # 一键催办: the office pressed 催办; the unit's open items concerned (models.nudges).
    "nudge": {
        "unit": "市教育局",
        "items": [
            {k: v for k, v in _ITEM.items() if k != "checkin_id"},
            {
                "task_number": 9,
                "task_title": "推动儿童友好城市建设",
                "role": "cooperating",
                "due_on": None,
                "assignment_id": 121,
            },
        ],
    },
    # 领导批示: a leader's instruction on one of the unit's tasks (models.directives).
    "directive": {
        "unit": "市教育局",
        "leader": "张副市长",
        "text": "请市教育局会同公安部门本月内完成校园周边隐患排查，结果报我。",
        "deadline": "2022-10-14",
        "item": {k: v for k, v in _ITEM.items() if k != "checkin_id"} | {"assignment_id": 120},
    },
    # After the due day, every few working days while nothing arrives.
    "overdue": {
        "unit": "市公安局",
        "round": _ROUND,
        "plan": _PLAN,
        "items": [_ITEM | {"role": "cooperating", "days_overdue": 4}],
    },
    # Escalations are digests: one message per recipient and level per run, each item with its own
    # 督办单 number. Level 1 blue 提醒: to the unit's liaison, copy to the unit head.
    "escalation_blue": {
        "unit": "市公安局",
        "opened_on": "2022-10-08",
        "items": [
            _ITEM
            | {
                "role": "cooperating",
                "number": "督〔2022〕001号",
                "reason": "检查报送逾期超过宽限期",
                "round": "2022年第三季度督导",
                "unit": "市公安局",
            },
            {
                "task_number": 7,
                "task_title": "深化开展青少年法治宣传教育",
                "role": "cooperating",
                "due_on": "2022-09-28",
                "checkin_id": 23,
                "assignment_id": 123,
                "number": "督〔2022〕002号",
                "reason": "任务交办后长期未签收",
                "round": "2022年第三季度督导",
                "unit": "市公安局",
            },
        ],
    },
    # Level 2 yellow 催办: to the unit head, with the numbered 督办单 and a date to answer by.
    "escalation_yellow": {
        "unit": "市公安局",
        "opened_on": "2022-10-12",
        "respond_by": "2022-10-17",
        "items": [
            _ITEM
            | {
                "role": "cooperating",
                "number": "督〔2022〕003号",
                "reason": "提醒后仍未报送",
                "round": "2022年第三季度督导",
                "unit": "市公安局",
            }
        ],
    },
    # Level 3 red: to the coordination mechanism (the office and the leading group), across units;
    # each item goes on the agenda of the next consultation (会商), with its history and the
    # problems raised.
    "escalation_red": {
        "opened_on": "2022-10-19",
        "items": [
            _ITEM
            | {
                "role": "cooperating",
                "number": "督〔2022〕004号",
                "reason": "催办后仍未报送",
                "round": "2022年第三季度督导",
                "unit": "市公安局",
                "history": [
                    {"on": "2022-10-08", "what": "蓝色提醒（督〔2022〕001号）"},
                    {"on": "2022-10-12", "what": "黄色催办（督〔2022〕003号）"},
                ],
                "problems": ["跨部门数据共享机制尚未建立，需协调市委政法委"],
            },
            {
                "task_number": 13,
                "task_title": "加强烟草制品监管",
                "role": "lead",
                "due_on": "2022-09-30",
                "checkin_id": 40,
                "assignment_id": 140,
                "number": "督〔2022〕005号",
                "reason": "催办后仍未报送",
                "round": "2022年第三季度督导",
                "unit": "市烟草专卖局",
                "history": [],
                "problems": [],
            },
        ],
    },
    # The office returned a completion report for rework.
    "report_returned": {
        "unit": "市市场监管局",
        "item": _ITEM
        | {"task_number": 12, "task_title": "开展质量守护行动", "role": "responsible"},
        "reason": "缺少抽检数据等佐证材料，请补充后重新报送",
        "completed": True,
        "rework_count": 1,
        "round": _ROUND,
    },
    # The office decided on an extension request.
    "extension_decided": {
        "unit": "市卫生健康委",
        "item": _ITEM | {"task_number": 11, "task_title": "加强未成年人健康保障能力建设"},
        "approved": True,
        "original_due_on": "2022-09-30",
        "requested_due_on": "2022-10-31",
        "new_due_on": "2022-10-31",
        "reason": "疫情防控任务繁重，同意延期一个月",
    },
    # The round's results (通报) were published.
    "results_published": {
        "round": _ROUND,
        "plan": _PLAN,
        "figures": {
            "assignments": 98,
            "on_time": 71,
            "late": 15,
            "missing": 12,
            "verified": 64,
            "returned": 9,
            "completion_rate": 0.653,
        },
        "report_id": 3,
    },
}

KINDS = tuple(SAMPLES)
