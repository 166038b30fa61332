"""Importing notices into the database: what is written, what a re-import changes, what bad input
leaves behind."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, func
from sqlmodel import select

from intake.notice import ImportFailed
from models import workflow
from models.assignment import Assignment
from models.audit import AuditEvent, verify_chain
from models.db import reading, unit_of_work
from models.errors import GuardFailed
from models.lifecycle import Action
from models.plan import Measure, Task
from models.unit import Unit
from tests.support import notices
from tests.support.cli import duban
from tests.support.imports import (
    DIRECTORY,
    SEED,
    changed_seed,
    import_file,
    load_directory,
    snapshot,
)
from tests.support.scenario import OFFICE


def assignments_by_task(
    engine: Engine, key: str = "plan"
) -> dict[int, dict[str, tuple[str, str, bool]]]:
    with reading(engine) as session:
        rows = session.exec(
            select(
                Task.number, Unit.name, Assignment.role, Assignment.state, Assignment.withdrawn_at
            )
            .join(Assignment, Assignment.task_id == Task.id)
            .join(Unit, Unit.id == Assignment.unit_id)
        ).all()
    result: dict[int, dict[str, tuple[str, str, bool]]] = {}
    for number, unit, role, state, withdrawn in rows:
        result.setdefault(number, {})[unit] = (role, state, withdrawn is not None)
    return result


def test_the_seed_with_its_directory_becomes_16_tasks_and_98_assignments(
    engine: Engine, now: datetime
) -> None:
    load_directory(engine, now)
    _resolved, outcome = import_file(engine, SEED, now, key="2022")
    assert outcome.created
    assert outcome.counts == {
        "tasks": 16,
        "measures": 80,
        "units": 49,
        "assignments": 98,
        "new_units": 0,
        "warnings": 4,
    }
    tasks = assignments_by_task(engine)
    assert len(tasks) == 16
    assert tasks[5]["市教育局"][0] == "lead"
    assert (
        tasks[5]["市委政法委"][0] == "cooperating"
    )  # written 市政法委: one unit with 市委政法委 of task 14
    assert tasks[14]["市委政法委"][0] == "lead"
    assert (
        len(tasks[2]) == 17 and tasks[2]["白蒲镇"][0] == "responsible"
    )  # 各镇(区、街道) expanded, + 市民政局
    assert set(tasks[10]) == {
        "市委宣传部",
        "市委网信办",
        "市公安局",
        "市文化广电和旅游局",
        "市通信管理办",
    }
    with reading(engine) as session:
        assert session.exec(select(func.count()).select_from(Measure)).one() == 80
        measure = session.exec(
            select(Measure).where(Measure.text == "新建1个示范性未成年人保护工作站")
        ).one()
        assert measure.targets == ["新建1个"]
        actions = [
            e.action
            for e in session.exec(
                select(AuditEvent).where(
                    AuditEvent.action.in_(["plan.import", "task.create", "assignment.create"])
                )
            )
        ]
        assert actions.count("plan.import") == 1 and actions.count("task.create") == 16
        assert actions.count("assignment.create") == 98
        assert verify_chain(session).ok


def test_without_a_directory_units_are_created_with_warnings_and_the_group_stays_one(
    engine: Engine, now: datetime
) -> None:
    resolved, outcome = import_file(engine, SEED, now)
    assert outcome.counts["new_units"] == 36  # 市政法委 and 市委政法委 are two names here
    assert any("各镇(区、街道)" in w and "成员" in w for w in resolved.warnings)
    assert any("市政法委" in w and "不在通讯录" in w for w in resolved.warnings)
    tasks = assignments_by_task(engine)
    assert len(tasks[2]) == 2 and "各镇(区、街道)" in tasks[2]
    with reading(engine) as session:
        group = session.exec(select(Unit).where(Unit.name == "各镇(区、街道)")).one()
        assert group.kind == "group"


def test_an_unknown_unit_gets_the_closest_names_and_strict_refuses_it(
    engine: Engine, now: datetime, tmp_path: Path
) -> None:
    load_directory(engine, now)
    changed = tmp_path / "typo.txt"
    changed.write_text(
        SEED.read_text(encoding="utf-8").replace("市市场监管局 |", "市市场监督局 |"),
        encoding="utf-8",
    )
    before = snapshot(engine)
    with pytest.raises(ImportFailed) as refused:
        import_file(engine, changed, now, strict=True)
    message = refused.value.message("zh")
    assert "市市场监督局" in message and "市市场监管局" in message and "第 " in message
    assert snapshot(engine) == before
    resolved, _ = import_file(engine, changed, now)
    assert any("市市场监督局" in w and "市市场监管局" in w for w in resolved.warnings)


def test_importing_the_same_notice_again_changes_nothing(engine: Engine, now: datetime) -> None:
    load_directory(engine, now)
    import_file(engine, SEED, now)
    before = snapshot(engine)
    _, outcome = import_file(engine, SEED, now, apply=True)
    assert not outcome.created and outcome.changes == []
    assert snapshot(engine) == before


def test_a_changed_notice_is_a_diff_applied_only_with_apply_and_history_is_kept(
    engine: Engine, now: datetime, tmp_path: Path
) -> None:
    load_directory(engine, now)
    import_file(engine, SEED, now)
    police_on_13 = assignments_by_task(engine)[13]["市公安局"]
    with reading(engine) as session:
        police_id = session.exec(
            select(Assignment.id)
            .join(Task, Task.id == Assignment.task_id)
            .join(Unit, Unit.id == Assignment.unit_id)
            .where(Task.number == 13, Unit.name == "市公安局")
        ).one()
    with unit_of_work(engine) as session:
        workflow.sign(session, assignment_id=police_id, actor=OFFICE, now=now)

    before = snapshot(engine)
    _, outcome = import_file(engine, changed_seed(tmp_path), now)  # no --apply
    kinds = sorted((c.task, c.kind) for c in outcome.changes)
    assert (
        (12, "change_task") in kinds
        and (17, "add_task") in kinds
        and (16, "withdraw_task") in kinds
    )
    assert (13, "withdraw_unit") in kinds and (13, "add_unit") in kinds
    assert snapshot(engine) == before

    _, outcome = import_file(engine, changed_seed(tmp_path), now, apply=True)
    tasks = assignments_by_task(engine)
    assert tasks[13]["市公安局"] == (
        "cooperating",
        "in_progress",
        True,
    )  # withdrawn, its state and history kept
    assert police_on_13[1] == "assigned"
    assert tasks[13]["市司法局"] == ("cooperating", "assigned", False)
    assert all(withdrawn for _, _, withdrawn in tasks[16].values())
    assert not any(withdrawn for _, _, withdrawn in tasks[17].values())
    with reading(engine) as session:
        assert (
            session.exec(select(Task.title).where(Task.number == 12)).one()
            == "深入开展质量守护行动"
        )
        assert session.exec(select(Task.withdrawn_at).where(Task.number == 16)).one() is not None
        assert [
            e.action
            for e in session.exec(select(AuditEvent).where(AuditEvent.object_id == str(police_id)))
        ] == ["assignment.create", "assignment.sign", "assignment.withdraw"]
        assert verify_chain(session).ok
    with pytest.raises(GuardFailed, match="withdrawn"), unit_of_work(engine) as session:
        workflow.take_action(
            session, assignment_id=police_id, action=Action.PROGRESS, actor=OFFICE, now=now
        )

    # Importing the first version again restores what was withdrawn, keeping the same rows.
    import_file(engine, SEED, now, apply=True)
    tasks = assignments_by_task(engine)
    assert tasks[13]["市公安局"] == ("cooperating", "in_progress", False)
    assert all(not withdrawn for _, _, withdrawn in tasks[16].values())


@pytest.mark.parametrize("layout", ["docx", "xlsx", "csv"])
def test_office_formats_import_with_the_directory(
    engine: Engine, now: datetime, tmp_path: Path, layout: str
) -> None:
    load_directory(engine, now)
    write = {
        "docx": notices.write_docx_table,
        "xlsx": notices.write_xlsx,
        "csv": notices.write_csv,
    }[layout]
    _, outcome = import_file(engine, write(tmp_path / f"notice.{layout}"), now)
    assert outcome.counts["tasks"] == 3
    tasks = assignments_by_task(engine)
    assert tasks[1]["市民政局"][0] == "lead" and tasks[1]["市财政局"][0] == "cooperating"
    assert len(tasks[2]) == 18  # 市民政局, 16 towns, 市住房和城乡建设局
    assert tasks[3]["市卫生健康委"][0] == "lead"  # written 市卫健委


# --- the CLI: JSON shape, bad input --------------------------------------------------------------


def test_dry_run_json_has_the_documented_shape_and_writes_nothing(
    database_url: str, engine: Engine, tmp_path: Path
) -> None:
    before = snapshot(engine)
    result = duban("import", str(SEED), "--dry-run", "--json", home=tmp_path, url=database_url)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert {"title", "issuer", "issued_on"} <= set(document["plan"])
    assert document["plan"]["issued_on"] == "2022-08-25"
    task = document["tasks"][4]
    assert {
        "number",
        "title",
        "category",
        "content",
        "measures",
        "targets",
        "deadline",
        "deadline_text",
        "units",
    } <= set(task)
    assert task["number"] == 5 and task["units"][0] == {"name": "市教育局", "role": "lead"}
    assert isinstance(document["warnings"], list) and len(document["warnings"]) >= 4
    assert snapshot(engine) == before


def test_import_then_reimport_through_the_cli(database_url: str, tmp_path: Path) -> None:
    assert duban("units", "import", str(DIRECTORY), home=tmp_path, url=database_url).returncode == 0
    first = duban("import", str(SEED), "--plan-key", "2022", home=tmp_path, url=database_url)
    assert first.returncode == 0, first.stderr
    assert "任务 16 项" in first.stdout and "任务分工 98 项" in first.stdout
    again = duban("import", str(SEED), "--plan-key", "2022", home=tmp_path, url=database_url)
    assert again.returncode == 0 and "无需更新" in again.stdout
    changed = duban(
        "import", str(changed_seed(tmp_path)), "--plan-key", "2022", home=tmp_path, url=database_url
    )
    assert (
        changed.returncode == 0 and "--apply" in changed.stdout and "新增任务 17" in changed.stdout
    )
    applied = duban(
        "import",
        str(changed_seed(tmp_path)),
        "--plan-key",
        "2022",
        "--apply",
        "--json",
        home=tmp_path,
        url=database_url,
    )
    assert json.loads(applied.stdout)["applied"] is True


def bad_csv(path: Path) -> Path:
    path.write_text(
        "序号,任务,具体内容,责任单位\n"
        "1,完善制度,完善制度。,市民政局\n"
        "2,,没有标题的任务。,市教育局\n"
        "2,重复的序号,内容。,市公安局\n"
        "3,只有泛指单位,内容。,相关单位\n",
        encoding="utf-8",
    )
    return path


def no_header_xlsx(path: Path) -> Path:
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(["名称", "说明"])
    book.active.append(["1", "这不是任务清单"])
    book.save(path)
    return path


BAD_INPUTS = {
    "missing file": (lambda p: p / "nowhere.txt", ["无法读取文件"]),
    "unknown format": (
        lambda p: (p / "notice.pages").write_bytes(b"PK\x03\x04") and p / "notice.pages",
        ["不支持的文件格式", ".pages"],
    ),
    "no task list": (
        lambda p: (
            (p / "letter.txt").write_text("各单位：\n请按时报送材料。\n", encoding="utf-8")
            and p / "letter.txt"
        ),
        ["没有找到任务清单"],
    ),
    "several problems": (
        lambda p: bad_csv(p / "bad.csv"),
        ["第 3 行", "没有标题", "第 4 行", "序号 2 重复", "第 5 行", "没有责任单位"],
    ),
    "no header": (lambda p: no_header_xlsx(p / "sheet.xlsx"), ["没有可识别的表头"]),
    "damaged docx": (
        lambda p: (p / "broken.docx").write_bytes(b"PK\x03\x04 not a zip") and p / "broken.docx",
        ["文件已损坏"],
    ),
    "binary as text": (
        lambda p: (p / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00") and p / "image.txt",
        ["不是文本"],
    ),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_is_one_report_exit_2_and_nothing_written(
    case: str, database_url: str, engine: Engine, tmp_path: Path
) -> None:
    make, fragments = BAD_INPUTS[case]
    path = make(tmp_path)
    before = snapshot(engine)
    result = duban("import", str(path), home=tmp_path, url=database_url)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in result.stderr
    assert snapshot(engine) == before


def test_a_directory_with_a_bad_email_is_refused_with_its_row(
    database_url: str, engine: Engine, tmp_path: Path
) -> None:
    bad = tmp_path / "units.csv"
    bad.write_text(
        "name,kind,liaison_name,liaison_email\n市民政局,department,张三,zhangsan@example.org\n"
        "市教育局,department,李四,lisi-at-example.org\n",
        encoding="utf-8",
    )
    before = snapshot(engine)
    result = duban("units", "import", str(bad), home=tmp_path, url=database_url)
    assert (
        result.returncode == 2
        and "第 3 行" in result.stderr
        and "lisi-at-example.org" in result.stderr
    )
    assert snapshot(engine) == before


def test_the_directory_exports_and_reimports_unchanged(database_url: str, tmp_path: Path) -> None:
    assert duban("units", "import", str(DIRECTORY), home=tmp_path, url=database_url).returncode == 0
    for fmt in ("yaml", "csv"):
        out = tmp_path / f"units.{fmt}"
        assert (
            duban(
                "units",
                "export",
                "--format",
                fmt,
                "--out",
                str(out),
                home=tmp_path,
                url=database_url,
            ).returncode
            == 0
        )
        again = duban("units", "import", str(out), home=tmp_path, url=database_url)
        assert "新建 0 个，修改 0 个，未变 50 个" in again.stdout, again.stdout + again.stderr
    shown = json.loads(
        duban("units", "show", "市政法委", "--json", home=tmp_path, url=database_url).stdout
    )
    assert (
        shown["name"] == "市委政法委"
        and shown["contacts"]["liaison"]["email"] == "zfw.liaison@rugao.example.org"
    )
    group = json.loads(
        duban("units", "show", "各镇（区、街道）", "--json", home=tmp_path, url=database_url).stdout
    )
    assert len(group["members"]) == 16
