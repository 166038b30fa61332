"""Partial imports (待分工), the office's corrections from an edited plan JSON, and re-imports that
keep extensions: on a real SQLite file and a real PostgreSQL server, through the domain and the
`duban` CLI.

Every expected value below is worked out by hand from the notices written here.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from intake.notice import ImportFailed
from intake.source import read_notice
from models.assignment import Assignment, AssignmentRole
from models.audit import AuditEvent, verify_chain
from models.db import reading, unit_of_work
from models.extensions import decide_extension, request_extension
from models.plan import Task
from models.unit import Unit
from tests.support.cli import duban
from tests.support.imports import (
    DIRECTORY,
    HEADER,
    ROWS,
    SEED,
    changed_seed,
    held,
    import_file,
    load_directory,
    partial_csv,
    snapshot,
)
from tests.support.scenario import OFFICE


def events(engine: Engine, action: str) -> list[AuditEvent]:
    with reading(engine) as session:
        return list(
            session.exec(
                select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)
            )
        )


# --- 待分工
# -----------------------------------------------------------------------------------------


def test_a_task_whose_units_cannot_be_read_is_imported_awaiting_its_units(
    engine: Engine, now: datetime, tmp_path: Path
) -> None:
    from intake.plan_import import pending_tasks

    load_directory(engine, now)
    resolved, outcome = import_file(engine, partial_csv(tmp_path), now)
    assert outcome.created and outcome.pending == [2]
    assert resolved.pending[2] == [
        "第 3 行：任务 2“推进儿童友好社区建设”没有责任单位——请填写牵头或责任单位"
    ]
    assert any("任务 2" in w and "待分工" in w for w in resolved.warnings)
    # tasks 1 and 3 as written: 市卫健委 is 市卫生健康委 of the directory; 相关单位 assigns nothing
    assert held(engine, 1) == {
        "市民政局": ("lead", date(2023, 6, 30), date(2023, 6, 30), False),
        "市财政局": ("cooperating", date(2023, 6, 30), date(2023, 6, 30), False),
    }
    assert held(engine, 2) == {}
    assert held(engine, 3) == {
        "市卫生健康委": ("lead", date(2023, 9, 30), date(2023, 9, 30), False)
    }
    with reading(engine) as session:
        assert [(p.key, t.number) for p, t in pending_tasks(session)] == [("plan", 2)]
        (created,) = [e for e in events(engine, "task.create") if '"number":2' in e.after]
        assert '"pending":true' in created.after
        (imported,) = events(engine, "plan.import")
        assert '"pending":[2]' in imported.after
        assert verify_chain(session).ok


def test_strict_refuses_a_notice_with_a_task_without_units_and_writes_nothing(
    engine: Engine, now: datetime, tmp_path: Path
) -> None:
    load_directory(engine, now)
    before = snapshot(engine)
    with pytest.raises(ImportFailed) as refused:
        import_file(engine, partial_csv(tmp_path), now, strict=True)
    assert "第 3 行：任务 2“推进儿童友好社区建设”没有责任单位" in refused.value.message("zh")
    assert snapshot(engine) == before


def test_a_notice_in_which_no_task_has_units_is_still_refused(
    engine: Engine, now: datetime, tmp_path: Path
) -> None:
    before = snapshot(engine)
    rows = "1,完善制度,完善制度。,,,2023年6月30日\n2,推进建设,推进建设。,相关单位,,\n"
    with pytest.raises(ImportFailed) as refused:
        import_file(engine, partial_csv(tmp_path, rows), now)
    message = refused.value.message("zh")
    assert "没有一项任务读出责任单位" in message and "第 2 行" in message and "第 3 行" in message
    assert snapshot(engine) == before


def test_a_pending_task_is_assigned_later_and_a_reimport_keeps_what_the_office_assigned(
    engine: Engine, now: datetime, tmp_path: Path
) -> None:
    from intake.plan_import import TaskAlreadyAssigned, assign_pending, pending_tasks

    load_directory(engine, now)
    notice = partial_csv(tmp_path)
    import_file(engine, notice, now)
    with reading(engine) as session:
        task_id = session.exec(select(Task.id).where(Task.number == 2)).one()
    with unit_of_work(engine) as session:
        made = assign_pending(
            session,
            task_id=task_id,
            actor=OFFICE,
            now=now,
            units=[
                ("市住建局", AssignmentRole.LEAD),
                ("各镇(区、街道)", AssignmentRole.COOPERATING),
            ],
        )
    assert len(made) == 17  # 市住房和城乡建设局 (written 市住建局) and the 16 towns of the group
    assigned = held(engine, 2)
    assert assigned["市住房和城乡建设局"] == ("lead", date(2023, 12, 31), date(2023, 12, 31), False)
    assert assigned["白蒲镇"][0] == "cooperating" and len(assigned) == 17
    (event,) = events(engine, "task.assign")
    assert (
        event.task_id == task_id
        and "市住房和城乡建设局（牵头）" in event.after
        and "白蒲镇（配合）" in event.after
    )
    with reading(engine) as session:
        assert pending_tasks(session) == []
    # The same notice again: task 2 still has no unit line, and what the office assigned stays.
    _, outcome = import_file(engine, notice, now, apply=True)
    assert outcome.changes == [] and outcome.pending == []
    assert held(engine, 2) == assigned
    # Assigning a task that has units is refused, and nothing changes.
    before = snapshot(engine)
    with pytest.raises(TaskAlreadyAssigned), unit_of_work(engine) as session:
        assign_pending(
            session,
            task_id=task_id,
            units=[("市民政局", AssignmentRole.LEAD)],
            actor=OFFICE,
            now=now,
        )
    assert snapshot(engine) == before


def test_corrections_change_title_deadline_and_units_and_go_into_the_import_event(
    engine: Engine, now: datetime, tmp_path: Path
) -> None:
    from intake.plan_import import Correction, reconcile, resolve

    load_directory(engine, now)
    notice = read_notice(partial_csv(tmp_path))
    corrections = [
        Correction(1, "title", "完善儿童福利保障制度体系"),
        Correction(1, "deadline", date(2023, 7, 31)),
        Correction(
            1,
            "units",
            (("市民政局", AssignmentRole.LEAD), ("市财政局", AssignmentRole.COOPERATING)),
        ),  # as read
        Correction(
            2,
            "units",
            (("市住建局", AssignmentRole.LEAD), ("市民证局", AssignmentRole.COOPERATING)),
        ),
    ]
    with pytest.raises(ImportFailed) as refused, unit_of_work(engine) as session:
        resolve(session, notice, strict=True, corrections=corrections)
    assert "未知单位“市民证局”（相近的已有单位：市民政局" in refused.value.message("zh")
    with unit_of_work(engine) as session:
        resolved = resolve(session, notice, corrections=corrections)
        reconcile(session, "plan", resolved, actor=OFFICE, now=now, write=True)
    assert resolved.corrections == [
        {
            "task": 1,
            "field": "title",
            "from": "完善儿童福利保障制度",
            "to": "完善儿童福利保障制度体系",
        },
        {"task": 1, "field": "deadline", "from": date(2023, 6, 30), "to": date(2023, 7, 31)},
        {
            "task": 2,
            "field": "units",
            "from": [],
            "to": ["市住房和城乡建设局（牵头）", "市民证局（配合）"],
        },
    ]
    # the typo is checked against the directory like an imported name: created, with the closest
    # name
    assert any("市民证局" in w and "不在通讯录" in w and "市民政局" in w for w in resolved.warnings)
    assert held(engine, 1)["市民政局"] == ("lead", date(2023, 7, 31), date(2023, 7, 31), False)
    assert set(held(engine, 2)) == {"市住房和城乡建设局", "市民证局"}
    (imported,) = events(engine, "plan.import")
    after = json.loads(imported.after)
    assert after["corrections"][1] == {
        "task": 1,
        "field": "deadline",
        "from": "2023-06-30",
        "to": "2023-07-31",
    }
    assert after["pending"] == []


# --- #13 item 10: a re-import never moves a due date an extension moved
# ----------------------------


def _extend(engine: Engine, now: datetime, number: int, unit: str, until: date) -> int:
    with reading(engine) as session:
        assignment_id = session.exec(
            select(Assignment.id)
            .join(Task, Task.id == Assignment.task_id)
            .join(Unit, Unit.id == Assignment.unit_id)
            .where(Task.number == number, Unit.name == unit)
        ).one()
    with unit_of_work(engine) as session:
        asked = request_extension(
            session,
            assignment_id=assignment_id,
            until=until,
            reason="需要更多时间",
            actor=OFFICE,
            now=now,
            timezone="Asia/Shanghai",
            max_days=366,
        )
        decide_extension(session, request_id=asked.id, approve=True, actor=OFFICE, now=now)
    return assignment_id


def test_reimporting_a_changed_notice_keeps_an_approved_extension(
    engine: Engine, now: datetime, tmp_path: Path
) -> None:
    load_directory(engine, now)
    import_file(engine, SEED, now)  # the seed prints no deadlines: every due date is empty
    _extend(engine, now, 5, "市教育局", date(2022, 12, 31))
    assert held(engine, 5)["市教育局"] == ("lead", date(2022, 12, 31), None, False)
    _, outcome = import_file(
        engine, changed_seed(tmp_path), now, apply=True
    )  # tasks 12, 13, 16/17 change
    assert not [c for c in outcome.changes if c.task == 5]
    assert held(engine, 5)["市教育局"] == ("lead", date(2022, 12, 31), None, False)


def test_a_changed_deadline_is_a_line_per_assignment_and_an_extended_date_stays(
    engine: Engine, now: datetime, tmp_path: Path
) -> None:
    load_directory(engine, now)
    import_file(engine, partial_csv(tmp_path), now)
    _extend(engine, now, 1, "市民政局", date(2023, 8, 31))
    moved = partial_csv(tmp_path, ROWS.replace("2023年6月30日", "2023年9月30日"), name="v2.csv")
    before = snapshot(engine)
    _, outcome = import_file(engine, moved, now)  # without --apply: shown, not written
    assert snapshot(engine) == before
    lines = [c.zh for c in outcome.changes]
    assert lines == [
        "任务 1 修改：时限由 2023-06-30 改为 2023-09-30、时限原文",
        "任务 1：市民政局 原定时限由 2023-06-30 改为 2023-09-30；已批准延期至 2023-08-31，延期"
        "后的时限不变",
        "任务 1：市财政局 时限由 2023-06-30 改为 2023-09-30",
    ]
    _, applied = import_file(engine, moved, now, apply=True)
    assert [c.zh for c in applied.changes] == lines  # the list shown is the list applied
    assert held(engine, 1) == {
        "市民政局": ("lead", date(2023, 8, 31), date(2023, 9, 30), False),
        "市财政局": ("cooperating", date(2023, 9, 30), date(2023, 9, 30), False),
    }
    updates = [json.loads(e.after) for e in events(engine, "assignment.update")]
    assert {
        "role": "lead",
        "withdrawn": False,
        "due_on": "2023-08-31",
        "original_due_on": "2023-09-30",
    } in updates
    _, again = import_file(engine, moved, now, apply=True)
    assert again.changes == []


# --- the CLI: partial import, --strict, the edited plan JSON, duban assign
# -----------------------------


def test_the_cli_imports_a_partial_notice_refuses_it_with_strict_and_assigns_later(
    database_url: str, engine: Engine, tmp_path: Path
) -> None:
    assert duban("units", "import", str(DIRECTORY), home=tmp_path, url=database_url).returncode == 0
    notice = partial_csv(tmp_path)
    before = snapshot(engine)
    strict = duban(
        "import", str(notice), "--plan-key", "p", "--strict", home=tmp_path, url=database_url
    )
    assert (
        strict.returncode == 2
        and "没有责任单位" in strict.stderr
        and "Traceback" not in strict.stderr
    )
    assert snapshot(engine) == before
    partial = duban("import", str(notice), "--plan-key", "p", home=tmp_path, url=database_url)
    assert partial.returncode == 0, partial.stderr
    assert (
        "任务 3 项" in partial.stdout
        and "任务分工 3 项" in partial.stdout
        and "待分工任务 1 项（任务 2）" in partial.stdout
    )
    status = duban("status", "--json", home=tmp_path, url=database_url)
    assert status.returncode == 0 and json.loads(status.stdout)["tasks"] == 3
    opened = duban(
        "round",
        "open",
        "--plan",
        "p",
        "--name",
        "第一轮",
        "--due",
        "2023-06-20",
        "--now",
        "2023-06-01T09:00",
        home=tmp_path,
        url=database_url,
    )
    assert opened.returncode == 0, (
        opened.stderr
    )  # a round covers the assigned tasks; 待分工 has nothing to report
    before = snapshot(engine)
    unknown = duban(
        "assign",
        "--plan",
        "p",
        "--task",
        "2",
        "--lead",
        "市民证局",
        home=tmp_path,
        url=database_url,
    )
    assert unknown.returncode == 2 and "Traceback" not in unknown.stderr
    assert (
        "任务 2：通讯录中没有单位 “市民证局”（“市民证局”相近的已有单位：市民政局" in unknown.stderr
    )
    assert snapshot(engine) == before
    assigned = duban(
        "assign",
        "--plan",
        "p",
        "--task",
        "2",
        "--lead",
        "市住建局",
        "--cooperating",
        "市民政局、市财政局",
        home=tmp_path,
        url=database_url,
    )
    assert assigned.returncode == 0, assigned.stderr
    assert held(engine, 2, "p") == {
        "市住房和城乡建设局": ("lead", date(2023, 12, 31), date(2023, 12, 31), False),
        "市民政局": ("cooperating", date(2023, 12, 31), date(2023, 12, 31), False),
        "市财政局": ("cooperating", date(2023, 12, 31), date(2023, 12, 31), False),
    }
    again = duban(
        "assign",
        "--plan",
        "p",
        "--task",
        "2",
        "--lead",
        "市民政局",
        home=tmp_path,
        url=database_url,
    )
    assert again.returncode == 4 and "已有分工" in again.stderr


def test_an_edited_plan_json_is_imported_with_its_corrections_recorded(
    database_url: str, engine: Engine, tmp_path: Path
) -> None:
    assert duban("units", "import", str(DIRECTORY), home=tmp_path, url=database_url).returncode == 0
    notice = partial_csv(tmp_path)
    dry = duban(
        "import",
        str(notice),
        "--plan-key",
        "p",
        "--dry-run",
        "--json",
        home=tmp_path,
        url=database_url,
    )
    assert dry.returncode == 0, dry.stderr
    document = json.loads(dry.stdout)
    assert document["plan"]["source_path"] == str(notice.resolve()) and document["pending"] == [2]
    assert [t["pending"] for t in document["tasks"]] == [False, True, False]
    document["tasks"][0]["title"] = "完善儿童福利保障制度体系"
    document["tasks"][1]["units"] = [
        {"name": "市住建局", "role": "lead"},
        {"name": "市民政局", "role": "cooperating"},
    ]
    document["tasks"][2]["deadline"] = "2023-10-31"
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    result = duban("import", str(plan), "--apply", home=tmp_path, url=database_url)
    assert result.returncode == 0, result.stderr
    assert (
        "修改：任务 1 的标题由 “完善儿童福利保障制度” 改为 “完善儿童福利保障制度体系”"
        in result.stdout
    )
    assert held(engine, 2, "p") == {
        "市住房和城乡建设局": ("lead", date(2023, 12, 31), date(2023, 12, 31), False),
        "市民政局": ("cooperating", date(2023, 12, 31), date(2023, 12, 31), False),
    }
    assert held(engine, 3, "p")["市卫生健康委"][1] == date(2023, 10, 31)
    with reading(engine) as session:
        assert (
            session.exec(select(Task.title).where(Task.number == 1)).one()
            == "完善儿童福利保障制度体系"
        )
    (imported,) = events(engine, "plan.import")
    assert json.loads(imported.after)["corrections"] == [
        {
            "task": 1,
            "field": "title",
            "from": "完善儿童福利保障制度",
            "to": "完善儿童福利保障制度体系",
        },
        {
            "task": 2,
            "field": "units",
            "from": [],
            "to": ["市住房和城乡建设局（牵头）", "市民政局（配合）"],
        },
        {"task": 3, "field": "deadline", "from": "2023-09-30", "to": "2023-10-31"},
    ]


def test_a_bad_plan_json_is_one_report_of_every_problem_with_its_path(
    database_url: str, engine: Engine, tmp_path: Path
) -> None:
    notice = partial_csv(tmp_path)
    document = json.loads(
        duban("import", str(notice), "--dry-run", "--json", home=tmp_path, url=database_url).stdout
    )
    document["tasks"][0]["deadline"] = "2023-13-01"
    document["tasks"][0]["content"] = "改过的内容。"
    document["tasks"][1]["units"] = [{"name": "市民政局", "role": "boss"}, {"name": ""}]
    document["tasks"][2]["number"] = 9
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    before = snapshot(engine)
    result = duban("import", str(bad), "--apply", home=tmp_path, url=database_url)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    for fragment in (
        "共 6 个问题",
        "tasks[0].deadline：“2023-13-01”不是日期",
        "tasks[0].content：具体内容不能在此修改",
        "tasks[1].units[0].role：角色“boss”无效",
        "tasks[1].units[1].name：单位名称应为",
        "tasks[2].number：“9”不是通知中的任务序号",
        "tasks：缺少任务 3",
    ):
        assert fragment in result.stderr, result.stderr
    broken = tmp_path / "broken.json"
    broken.write_text('{"plan": {"source_path": "x",}\n', encoding="utf-8")
    syntax = duban("import", str(broken), home=tmp_path, url=database_url)
    assert (
        syntax.returncode == 2 and "第 1 行" in syntax.stderr and "不是有效的 JSON" in syntax.stderr
    )
    notice.write_text(
        HEADER + ROWS.replace("市财政局", "市教育局"), encoding="utf-8"
    )  # the notice changed since
    stale = duban("import", str(bad), "--apply", home=tmp_path, url=database_url)
    assert stale.returncode == 2 and "已改动" in stale.stderr
    assert snapshot(engine) == before
