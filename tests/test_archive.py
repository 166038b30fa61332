"""Archiving a finished plan (models/archive.py): refused while items are open, one audit event,
read-only afterwards (one refusal wherever a write comes from), off the dashboards, the inbox and
the scheduled flows, still listed, its trail intact. On SQLite and PostgreSQL.

The finished plan is tests/support/archive.py's "done" (2 assignments, both closed on 13 March
2023) beside the seed plan "2022" (16 tasks, 98 assignments, nothing filed).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, update
from sqlmodel import col, func, select

from config import Settings
from intake.plan_import import reconcile, resolve
from intake.source import read_notice
from models.archive import PlanArchived, PlanItemsOpen, archive_plan, plan_rows
from models.audit import AuditEvent, verify_chain
from models.cadence import open_due_rounds, set_cadence
from models.checkins import review_checkin, submit_checkin
from models.db import id_of, reading, unit_of_work
from models.errors import NotPermitted
from models.escalations import escalate_stalled
from models.extensions import request_extension
from models.filings import save_draft, withdraw_filing
from models.lifecycle import SYSTEM_ACTOR, Action, available_actions
from models.nudges import nudge
from models.plan import Plan
from models.reminders import send_reminders
from models.round import RoundState, SupervisionRound
from models.rounds import close_round, open_round
from models.unit import Unit
from models.urgency import assignment_item, unit_items
from models.workflow import context_of, get_assignment, reopen
from tests.support.archive import NOTICE, assignment_in, finish, import_small_plan
from tests.support.cli import assert_one_clean_line, duban
from tests.support.scenario import OFFICE
from tests.support.seed_round import at, liaison, seed

READ_ONLY = "计划“done”已归档，只读：不能再修改其任务分工、督导轮次、报送或报送周期。"


@pytest.fixture
def finished(engine: Engine, tmp_path: Path) -> Engine:
    seed(engine)
    import_small_plan(engine, tmp_path)
    return engine


def _events(engine: Engine) -> int:
    with reading(engine) as session:
        return session.exec(select(func.count()).select_from(AuditEvent)).one()


def _archive(engine: Engine, key: str = "done", when: datetime | None = None) -> Plan:
    with unit_of_work(engine) as session:
        plan = archive_plan(session, plan_key=key, actor=OFFICE, now=when or at("2023-03-15"))
        session.expunge(plan)
        return plan


def test_a_plan_with_items_still_open_is_refused_naming_how_many(finished: Engine) -> None:
    finish(finished, leave_open=2)  # 市教育局's report is still unreviewed: 1 item open
    before = _events(finished)
    with pytest.raises(PlanItemsOpen) as refused:
        _archive(finished)
    assert refused.value.message() == "计划“done”还有 1 项任务分工未销号（也未撤销），不能归档。"
    with pytest.raises(PlanItemsOpen) as seed_refused:
        _archive(finished, "2022")
    assert seed_refused.value.params["count"] == 98  # nothing of the seed is closed
    assert _events(finished) == before
    with reading(finished) as session:
        assert session.exec(select(Plan.archived_at).where(Plan.key == "done")).one() is None


def test_a_finished_plan_is_archived_with_one_audit_event_and_only_by_the_office(
    finished: Engine,
) -> None:
    round_id = finish(finished)
    with pytest.raises(NotPermitted):
        with unit_of_work(finished) as session:
            archive_plan(
                session, plan_key="done", actor=liaison(finished, "市教育局"), now=at("2023-03-15")
            )
    before = _events(finished)
    plan = _archive(finished)
    assert _events(finished) == before + 1
    # 10:00 Beijing time on 15 March is 02:00 UTC.
    assert plan.archived_at == datetime(2023, 3, 15, 2, 0, tzinfo=UTC)
    assert plan.archived_by == OFFICE.name
    with reading(finished) as session:
        event = session.exec(select(AuditEvent).order_by(col(AuditEvent.seq).desc())).first()
        assert event is not None and event.action == "plan.archive"
        assert (event.object_type, event.object_id) == ("plan", "done")
        assert json.loads(event.after or "{}")["rounds_closed"] == [
            "第一轮"
        ]  # its one round, still open, closed
        assert session.get_one(SupervisionRound, round_id).state == RoundState.CLOSED
        assert verify_chain(session).ok
    with pytest.raises(PlanArchived) as again:
        _archive(finished)
    assert again.value.message() == READ_ONLY
    assert _events(finished) == before + 1


def test_every_write_on_an_archived_plan_is_refused_with_one_message(
    finished: Engine, tmp_path: Path
) -> None:
    round_id = finish(finished)
    _archive(finished)
    edu = assignment_in(finished, "done", 2, "市教育局")
    later = at("2023-03-20")
    settings = Settings(home=tmp_path)
    writes: dict[str, Callable[[Any], object]] = {
        "reopen": lambda s: reopen(s, assignment_id=edu, actor=OFFICE, now=later, reason="复核"),
        "file": lambda s: submit_checkin(
            s,
            round_id=round_id,
            assignment_id=edu,
            actor=liaison(finished, "市教育局"),
            now=later,
            text="补充材料",
        ),
        "review": lambda s: review_checkin(
            s,
            round_id=round_id,
            assignment_id=edu,
            accept=True,
            actor=OFFICE,
            now=later,
            revision=1,
        ),
        "withdraw filing": lambda s: withdraw_filing(
            s, round_id=round_id, assignment_id=edu, actor=OFFICE, now=later, revision=1
        ),
        "draft": lambda s: save_draft(
            s,
            user_id=1,
            assignment_id=edu,
            text="草稿",
            percent=None,
            problems=None,
            completed=False,
            now=later,
        ),
        "extension": lambda s: request_extension(
            s,
            assignment_id=edu,
            until=date(2023, 12, 31),
            reason="延期",
            actor=OFFICE,
            now=later,
            timezone="Asia/Shanghai",
            max_days=90,
        ),
        "nudge": lambda s: nudge(s, settings=settings, now=later, actor=OFFICE, assignment_id=edu),
        "open round": lambda s: open_round(
            s,
            plan_key="done",
            name="第二轮",
            report_by=date(2023, 4, 28),
            actor=OFFICE,
            now=later,
            cooperating_lead_days=2,
        ),
        "close round": lambda s: close_round(
            s, plan_key="done", name="第一轮", actor=OFFICE, now=later
        ),
        "cadence": lambda s: set_cadence(
            s,
            plan_key="done",
            cadence="monthly",
            day=25,
            adjust="later",
            start=None,
            until=None,
            task_numbers=None,
            actor=OFFICE,
            now=later,
        ),
    }
    changed = tmp_path / "done-v2.csv"  # a new version of its notice: task 2 renamed
    changed.write_text(NOTICE.replace("加强校园安全管理", "加强校园安全管理工作"), encoding="utf-8")
    writes["re-import"] = lambda s: reconcile(
        s, "done", resolve(s, read_notice(changed)), actor=OFFICE, now=later, write=True
    )
    before = _events(finished)
    for what, write in writes.items():
        with pytest.raises(PlanArchived) as refused:
            with unit_of_work(finished) as session:
                write(session)
        assert refused.value.message() == READ_ONLY, what
    assert _events(finished) == before  # nothing written by any of them
    with reading(finished) as session:
        assert session.exec(select(func.count()).select_from(SupervisionRound)).one() == 1
        # The lifecycle offers nothing: a closed assignment of a live plan may be reopened.
        archived = get_assignment(session, edu)
        assert available_actions(archived, OFFICE, context_of(session, archived)) == []


def test_a_closed_assignment_of_a_live_plan_may_still_be_reopened(finished: Engine) -> None:
    finish(finished)  # closed, not archived
    edu = assignment_in(finished, "done", 2, "市教育局")
    with reading(finished) as session:
        live = get_assignment(session, edu)
        assert available_actions(live, OFFICE, context_of(session, live)) == [Action.REOPEN]


def test_the_scheduled_open_round_leaves_an_archived_plan_alone(
    finished: Engine, tmp_path: Path
) -> None:
    finish(finished)
    settings = Settings(home=tmp_path)
    with unit_of_work(finished) as session:
        set_cadence(
            session,
            plan_key="done",
            cadence="monthly",
            day=25,
            adjust="later",
            start=None,
            until=None,
            task_numbers=None,
            actor=OFFICE,
            now=at("2023-03-14"),
        )
    # April 2023 is due Tuesday 25 April, opened ten working days before (mid-April): on Friday
    # 14 April its round is due to open.
    with unit_of_work(finished) as session:
        live = open_due_rounds(session, now=at("2023-04-14", 9), settings=settings, actor=OFFICE)
    # Live, the finished plan still opens each period's round, empty (nothing is left to file):
    # what archiving it ends. A rerun would name the period again, as already open.
    assert [(p.plan, p.name, p.created, p.checkins) for p in live] == [
        ("done", "2023年4月进展", True, 0)
    ]
    _archive(finished, when=at("2023-04-14", 11))
    with unit_of_work(finished) as session:
        assert (
            open_due_rounds(session, now=at("2023-04-17", 9), settings=settings, actor=OFFICE) == []
        )


def test_reminders_and_escalations_skip_an_archived_plan(finished: Engine, tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    with unit_of_work(finished) as session:
        open_round(
            session,
            plan_key="2022",
            name="第三季度",
            report_by=date(2022, 9, 30),
            actor=OFFICE,
            now=at("2022-09-19", 9),
            cooperating_lead_days=2,
        )
    # archive_plan refuses a plan with open items, so the seed plan is marked archived directly:
    # what is tested is the flows' own filter, not only that a finished plan has nothing left.
    with unit_of_work(finished) as session:
        session.execute(update(Plan).where(Plan.key == "2022").values(archived_at=at("2022-09-20")))
    with unit_of_work(finished) as session:
        reminded = send_reminders(
            session, now=at("2022-09-23"), settings=settings, actor=SYSTEM_ACTOR
        )
        escalated = escalate_stalled(
            session, now=at("2022-10-10"), settings=settings, actor=SYSTEM_ACTOR
        )
    assert (reminded.units, reminded.enqueued) == (0, 0)
    assert (escalated["stalled"], escalated["raised"]) == (0, 0)
    with unit_of_work(finished) as session:
        session.execute(update(Plan).where(Plan.key == "2022").values(archived_at=None))
    with unit_of_work(finished) as session:
        reminded = send_reminders(
            session, now=at("2022-09-23"), settings=settings, actor=SYSTEM_ACTOR
        )
        escalated = escalate_stalled(
            session, now=at("2022-10-10"), settings=settings, actor=SYSTEM_ACTOR
        )
    # Live again, the figures of tests/test_flows.py: 22 reminder digests, all 98 items stalled.
    assert reminded.enqueued == 22
    assert (escalated["stalled"], escalated["1"]) == (98, 98)


def test_an_archived_plan_leaves_the_dashboard_and_the_inbox_but_stays_listed(
    finished: Engine, tmp_path: Path
) -> None:
    from web.dashboard import headline, overview

    finish(finished)
    settings = Settings(home=tmp_path)
    today = date(2023, 3, 20)

    def board() -> tuple[dict[str, int], int]:
        with reading(finished) as session:
            by_state = headline(session, today)[0]
            view = overview(session, today=today, rules=settings.cycle, per_page=100)
            return by_state, len(view.rows)

    def inbox() -> list[int]:
        with reading(finished) as session:
            unit_id = session.exec(select(Unit.id).where(Unit.name == "市教育局")).one()
            items = unit_items(
                session,
                unit_id=unit_id,
                today=today,
                rules=settings.cycle,
                timezone="Asia/Shanghai",
            )
            return [id_of(i.assignment) for i in items]

    edu = assignment_in(finished, "done", 2, "市教育局")
    # Live: the seed's 98 assigned and the finished plan's 2 closed; 16 + 2 task rows.
    assert board() == ({"assigned": 98, "closed": 2}, 18)
    assert edu in inbox()
    _archive(finished)
    assert board() == ({"assigned": 98}, 16)
    assert edu not in inbox()
    with reading(finished) as session:
        # Its page stays readable: the item is still there for its own page.
        item = assignment_item(
            session,
            get_assignment(session, edu),
            today=today,
            rules=settings.cycle,
            timezone="Asia/Shanghai",
        )
        assert item is not None
        rows = {r.key: r for r in plan_rows(session)}
        assert [r.key for r in plan_rows(session, search="校园")] == []  # titles, not task titles
        assert [r.key for r in plan_rows(session, search="don")] == ["done"]
    done, live = rows["done"], rows["2022"]
    assert (done.state_zh, done.tasks, done.assignments, done.closed, done.open) == (
        "已归档",
        2,
        2,
        2,
        0,
    )
    assert (live.state_zh, live.tasks, live.assignments, live.open) == ("进行中", 16, 98, 98)
    assert not done.archivable and not live.archivable


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # the domain runs on both above
def test_the_command_line_lists_and_archives_plans(
    finished: Engine, database_url: str, tmp_path: Path
) -> None:
    def run(*args: str, code: int = 0) -> subprocess.CompletedProcess:
        result = duban(*args, home=tmp_path, url=database_url, DUBAN_ACTOR="clerk")
        assert result.returncode == code, result.stdout + result.stderr
        assert "Traceback" not in result.stderr
        return result

    finish(finished)
    listed = run("plan", "list").stdout.splitlines()
    assert len(listed) == 2
    assert listed[0].startswith("2022 ") and "[进行中]" in listed[0]
    assert "任务 16 项，分工 98 项（已销号 0，已撤销 0，未办结 98），轮次 0 个" in listed[0]
    assert listed[1] == (
        "done done [进行中] 任务 2 项，分工 2 项（已销号 2，已撤销 0，未办结 0），轮次 1 个"
    )
    assert_one_clean_line(
        run("plan", "archive", "2022", "--now", "2023-03-15T10:00", code=5),
        5,
        "计划“2022”还有 98 项任务分工未销号（也未撤销），不能归档。",
    )
    assert_one_clean_line(run("plan", "archive", "nope", code=3), 3, "未找到计划：nope")
    done = run("plan", "archive", "done", "--now", "2023-03-15T10:00")
    assert done.stdout.strip() == "已归档计划 done：此后只读，不再出现在工作台和定时任务中"
    # 10:00 typed without a zone is the office's time, shown back as such.
    assert run("plan", "list", "--search", "don").stdout.strip() == (
        "done done [已归档]（2023-03-15 10:00 由 clerk 归档） 任务 2 项，分工 2 项（已销号 2，"
        "已撤销 0，未办结 0），轮次 1 个"
    )
    as_json = {r["key"]: r for r in json.loads(run("plan", "list", "--json").stdout)}
    assert as_json["done"]["state"] == "archived" and as_json["2022"]["state"] == "active"
    assert as_json["done"]["archived_at"].startswith("2023-03-15T02:00:00")
    assert_one_clean_line(run("plan", "archive", "done", code=5), 5, READ_ONLY)
    assert_one_clean_line(
        run("round", "cadence", "monthly", "--day", "25", "--plan", "done", code=5), 5, READ_ONLY
    )
    assert_one_clean_line(
        run("round", "open", "--name", "第二轮", "--due", "2023-04-28", "--plan", "done", code=5),
        5,
        READ_ONLY,
    )
