"""领导批示 through the `duban` command, on hand-worked dates, on both databases.

Task 8 of the seed has four units: 市委宣传部 leads (weight 1.5), 市科技局, 市文化广电和旅游局 and
市科协 cooperate (0.5). A 批示 is written on Friday 2022-09-09 with the deadline Friday 2022-09-16.
On the 16th nothing is overdue yet (the deadline day is still in time); on Monday the 19th each
unreplied part is overdue: the ladder raises it to level 1, and 考核 deducts directive_unresolved
(-2 by default) times the weight: -3 for the lead, -1 for each cooperating unit. With
`escalation_step_days` = 2, level 2 comes on Wednesday the 21st (working days 19→21 = 2), not on
the 20th (1).
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from models.directives import (
    DIRECTIVE_MOVES,
    REPLY_MOVES,
    Directive,
    DirectiveMove,
    DirectiveState,
    ReplyMove,
    ReplyState,
)
from tests.support.cli import Run, assert_one_clean_line, duban, seeded_office, stored


def test_the_move_tables_and_no_state_assigned_directly() -> None:
    assert DIRECTIVE_MOVES == {(DirectiveState.OPEN, DirectiveMove.CLOSE): DirectiveState.CLOSED}
    assert REPLY_MOVES == {(ReplyState.PENDING, ReplyMove.REPLY): ReplyState.REPLIED}
    row = Directive(task_id=1, leader="张副市长", author="office", text="x", created_at=None)  # type: ignore[arg-type]
    with pytest.raises(AttributeError):
        row.state = DirectiveState.CLOSED


def _third_quarter(home: Path, url: str) -> Run:
    """The seed plan with the third quarter's round open (due 30 September), on the 8th."""
    return seeded_office(
        home, url, round_name="第三季度", due="2022-09-30", opened="2022-09-08T10:00"
    )


def _deduction(run: Run, as_of: str) -> dict[str, float]:
    board = json.loads(run("score", "--plan", "2022", "--as-of", as_of, "--json"))
    return {
        u["unit"]: u["points"].get("directive_unresolved", 0)
        for u in board["units"]
        if u["unit"] in ("市委宣传部", "市科技局", "市科协")
    }


def test_a_directive_is_told_escalated_answered_scored_and_closed(
    database_url: str, tmp_path: Path
) -> None:
    run = _third_quarter(tmp_path, database_url)
    base = ["directive", "add", "--task", "8", "--text", "请本月内完成排查，结果报我"]
    noleader = duban(
        *base, "--leader", " ", "--now", "2022-09-09T10:00", home=tmp_path, url=database_url
    )
    assert_one_clean_line(noleader, 2, "须注明批示领导")
    past = duban(
        *base,
        "--leader",
        "张副市长",
        "--deadline",
        "2022-09-01",
        "--now",
        "2022-09-09T10:00",
        home=tmp_path,
        url=database_url,
    )
    assert_one_clean_line(past, 2, "早于今天")
    assert stored(database_url, "select count(*) from directive") == [(0,)]
    said = run(
        *base, "--leader", "张副市长", "--deadline", "2022-09-16", "--now", "2022-09-09T10:00"
    )
    assert "已登记批示 #1：任务8，张副市长，涉及 4 个单位，限 2022-09-16 前回复" in said
    assert stored(database_url, "select count(*) from notification where kind = 'directive'") == [
        (4,)
    ]
    assert stored(
        database_url, "select count(*) from audit_event where action = 'directive.add'"
    ) == [(1,)]
    directive_escalations = "select count(*), max(level) from escalation where stall = 'directive'"
    run("escalate", "--now", "2022-09-16T16:00")
    assert stored(database_url, directive_escalations) == [(0, None)]
    run("escalate", "--now", "2022-09-19T10:00")
    assert stored(database_url, directive_escalations) == [(4, 1)]
    run("escalate", "--now", "2022-09-19T10:05")  # a rerun raises nothing new
    assert stored(database_url, directive_escalations) == [(4, 1)]
    run("escalate", "--now", "2022-09-20T10:00")  # one working day at level 1: not yet
    assert stored(database_url, directive_escalations) == [(4, 1)]

    assert _deduction(run, "2022-09-16") == {"市委宣传部": 0, "市科技局": 0, "市科协": 0}
    assert _deduction(run, "2022-09-19T10:30") == {
        "市委宣传部": -3.0,
        "市科技局": -1.0,
        "市科协": -1.0,
    }

    several = duban(
        "directive",
        "reply",
        "1",
        "--text",
        "已排查",
        "--now",
        "2022-09-19T11:00",
        home=tmp_path,
        url=database_url,
    )
    assert_one_clean_line(several, 2, "请指明回复的单位")
    run(
        "directive",
        "reply",
        "1",
        "--unit",
        "市科技局",
        "--text",
        "已排查完毕",
        "--now",
        "2022-09-19T11:00",
    )
    again = duban(
        "directive",
        "reply",
        "1",
        "--unit",
        "市科技局",
        "--text",
        "再次",
        "--now",
        "2022-09-19T11:05",
        home=tmp_path,
        url=database_url,
    )
    assert_one_clean_line(again, 4, "本单位已回复")
    # The reply ends 市科技局's part and its escalation; the others stay.
    assert _deduction(run, "2022-09-19") == {"市委宣传部": -3.0, "市科技局": 0, "市科协": -1.0}
    assert stored(
        database_url,
        "select count(*) from escalation where stall = 'directive' and resolved_at is null",
    ) == [(3,)]
    run("escalate", "--now", "2022-09-21T10:00")
    assert stored(
        database_url,
        "select count(*) from escalation where stall = 'directive' and level = 2",
    ) == [(3,)]

    run("directive", "close", "1", "--note", "已落实", "--now", "2022-09-22T10:00")
    closed = duban(
        "directive", "close", "1", "--now", "2022-09-22T10:05", home=tmp_path, url=database_url
    )
    assert_one_clean_line(closed, 4, "该批示已办结")
    assert _deduction(run, "2022-09-22") == {"市委宣传部": 0, "市科技局": 0, "市科协": 0}
    assert _deduction(run, "2022-09-19") == {"市委宣传部": -3.0, "市科技局": 0, "市科协": -1.0}
    listed = json.loads(run("directive", "list", "--json", "--now", "2022-09-22T11:00"))
    assert [(u["unit"], u["state"]) for u in listed[0]["units"]] == [
        ("市委宣传部", "pending"),
        ("市科技局", "replied"),
        ("市文化广电和旅游局", "pending"),
        ("市科协", "pending"),
    ]
    assert listed[0]["state"] == "closed"
    assert stored(
        database_url,
        "select action, count(*) from audit_event where action like 'directive.%' "
        "group by action order by action",
    ) == [("directive.add", 1), ("directive.close", 1), ("directive.reply", 1)]


def test_a_reply_or_a_close_settles_its_own_directive_not_another_on_the_same_item(
    database_url: str, tmp_path: Path
) -> None:
    run = _third_quarter(tmp_path, database_url)
    for leader, words in (("张副市长", "请本月内完成排查"), ("李主任", "请报送排查台账")):
        run(
            *("directive", "add", "--task", "8", "--text", words, "--leader", leader),
            *("--deadline", "2022-09-16", "--now", "2022-09-09T10:00"),
        )
    run("escalate", "--now", "2022-09-19T10:00")
    still_open = "select count(*) from escalation where stall = 'directive' and resolved_at is null"
    # Task 8 has four units: each 批示 raised one rung per unit.
    assert stored(database_url, still_open) == [(8,)]
    run(
        *("directive", "reply", "1", "--unit", "市科技局", "--text", "已排查完毕"),
        *("--now", "2022-09-19T11:00"),
    )
    settled = (
        "select stage_key from escalation where stall = 'directive' and resolved_at is not null"
    )
    (only,) = stored(database_url, settled)
    assert only[0].startswith("d1:"), only
    assert stored(database_url, still_open) == [(7,)]
    # Closing 批示 2 ends its four rungs; 批示 1's three unanswered units stay escalated.
    run("directive", "close", "2", "--now", "2022-09-20T10:00")
    assert stored(database_url, still_open) == [(3,)]
    assert stored(
        database_url,
        "select count(*) from escalation where stall = 'directive' and resolved_at is null "
        "and stage_key like 'd1:%'",
    ) == [(3,)]


def test_a_round_report_counts_a_directive_once_in_the_round_it_was_written_in(
    database_url: str, tmp_path: Path
) -> None:
    from sqlmodel import Session, select

    from config import Settings
    from models.plan import Plan
    from models.round import SupervisionRound
    from reports.results import compute, end_of_day

    run = _third_quarter(tmp_path, database_url)
    run(
        *("directive", "add", "--task", "8", "--text", "请本月内完成排查"),
        *("--leader", "张副市长", "--deadline", "2022-09-16", "--now", "2022-09-09T10:00"),
    )
    run("escalate", "--now", "2022-09-19T10:00")  # four blue rungs, one per unit of task 8
    run("round", "open", "--name", "第四季度", "--due", "2022-12-30", "--now", "2022-10-10T10:00")
    run(
        *("directive", "add", "--task", "8", "--text", "请报送排查台账"),
        *("--leader", "李主任", "--now", "2022-10-11T10:00"),
    )
    settings = Settings(home=tmp_path, database_url=database_url)
    engine = create_engine(database_url)
    seen: dict[str | None, tuple[list[tuple[int, str]], int]] = {}
    with Session(engine) as session:
        plan = session.exec(select(Plan)).one()
        rounds = {r.name: r for r in session.exec(select(SupervisionRound))}
        for name in (None, "第三季度", "第四季度"):
            results = compute(
                session,
                plan=plan,
                round_=rounds[name] if name else None,
                as_of=end_of_day(date(2022, 10, 11), settings.timezone),
                timezone=settings.timezone,
                rules=settings.cycle,
                issuer=settings.office_name,
            )
            parts = sorted({(d.directive_id, d.state) for d in results.directives})
            rungs = sum(1 for e in results.escalations if e.stall == "directive")
            seen[name] = (parts, rungs)
    engine.dispose()
    # 批示 1 (written in the third quarter, overdue since the 16th) and its four rungs count in
    # the third quarter's 通报; 批示 2 (written 10-11, no deadline) in the fourth's; both in the
    # plan's. Neither counts twice.
    assert seen["第三季度"] == ([(1, "overdue")], 4)
    assert seen["第四季度"] == ([(2, "pending")], 0)
    assert seen[None] == ([(1, "overdue"), (2, "pending")], 4)
