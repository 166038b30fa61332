"""A directory adopts a unit that a notice import made and nobody curated: the office imports its
notice first (市政法委 is created from the notice's words, with no contact) and its directory second
(市委政法委, alias 市政法委). The unit is renamed when the directory's unit is new, merged into it
when both exist; a merge that would give one task the same unit twice is refused, and so is an
alias held by a unit the office has curated.

Expected values are worked out by hand from the small notices below, imported into an empty
database: every unit they name is created by the import.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import col, select

from escaping.terminal import visible
from intake.directory import DirectoryEntry, sync_directory
from models.adoption import unit_references
from models.assignment import Assignment
from models.audit import AuditEvent, verify_chain
from models.db import id_of, reading, unit_of_work
from models.labels import AUDIT_ACTIONS
from models.lifecycle import Role
from models.nudges import Nudge
from models.plan import Plan, Task
from models.unit import Contact, ContactRole, GroupMember, Unit, UnitAlias, find_unit, uncurated
from models.user import User
from tests.support.cli import office
from tests.support.hostile import STORABLE, terminal_escapes_in
from tests.support.imports import HEADER, snapshot
from tests.support.portal import Portal, csrf_of, serve_seeded
from tests.support.scenario import OFFICE
from web.audit_words import in_words

KEY = "平安建设"
NOW = datetime(2022, 9, 5, 1, 30, tzinfo=UTC)
# 市政法委 leads task 1 and cooperates on task 2; 市公安局 the other way round: 4 assignments.
RENAME_NOTICE = (
    "1,维护社会稳定,开展矛盾纠纷排查。,市政法委,市公安局,2023年6月30日\n"
    "2,推进平安建设,建设平安社区5个。,市公安局,市政法委,2023年9月30日\n"
)
# Both names, on different tasks: 市委政法委 leads 1; 市政法委 cooperates on 2 and leads 3;
# 市公安局 cooperates on 1 and leads 2: 5 assignments, 2 of them 市政法委's.
MERGE_NOTICE = (
    "1,维护社会稳定,开展矛盾纠纷排查。,市委政法委,市公安局,2023年6月30日\n"
    "2,推进平安建设,建设平安社区5个。,市公安局,市政法委,2023年9月30日\n"
    "3,深化法治宣传,开展法治宣传活动。,市政法委,,2023年12月31日\n"
)
# Both names on task 2: merging them would assign task 2 to 市委政法委 twice.
CONFLICT_NOTICE = (
    "1,维护社会稳定,开展矛盾纠纷排查。,市政法委,,2023年6月30日\n"
    "2,推进平安建设,建设平安社区5个。,市委政法委,市政法委,2023年9月30日\n"
)
DIRECTORY = (
    "name,kind,aliases,liaison_name,liaison_email\n"
    "市委政法委,department,市政法委,政法委联络员,zfw@example.gov.cn\n"
    "市公安局,department,,公安局联络员,gaj@example.gov.cn\n"
)


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _assignments(engine: Engine) -> set[tuple[int, str, str]]:
    """(task number, unit, role) of every assignment of the plan."""
    with reading(engine) as session:
        rows = session.exec(
            select(Task.number, Unit.name, Assignment.role)
            .join(Assignment, col(Assignment.task_id) == col(Task.id))
            .join(Unit, col(Unit.id) == col(Assignment.unit_id))
            .join(Plan, col(Plan.id) == col(Task.plan_id))
            .where(Plan.key == KEY)
        ).all()
    return {(number, name, str(role)) for number, name, role in rows}


def _unit_names(engine: Engine) -> set[str]:
    with reading(engine) as session:
        return set(session.exec(select(Unit.name)))


def _adoptions(engine: Engine) -> list[tuple[dict[str, object], dict[str, object]]]:
    with reading(engine) as session:
        events = session.exec(select(AuditEvent).where(AuditEvent.action == "unit.adopt")).all()
        assert verify_chain(session).ok
    return [(json.loads(e.before or "null"), json.loads(e.after or "null")) for e in events]


def test_a_directory_renames_the_unit_a_notice_made_and_its_assignments_follow(
    tmp_path: Path, database_url: str, engine: Engine
) -> None:
    run = office(tmp_path / "home", database_url)
    notice = _write(tmp_path, "清单.csv", HEADER + RENAME_NOTICE)
    first = run("import", str(notice), "--plan-key", KEY)
    assert "新建单位 2 个，尚无联系人：" in first
    with reading(engine) as session:
        made = id_of(find_unit(session, "市政法委"))

    loaded = run("units", "import", str(_write(tmp_path, "dir.csv", DIRECTORY)))
    assert "已改名：“市政法委”改名为“市委政法委”，原名作为简称保留" in loaded
    # 市委政法委 existed once renamed (its alias and liaison are the change), as did 市公安局.
    assert "通讯录已更新：新建 0 个，修改 2 个，未变 0 个" in loaded

    assert _unit_names(engine) == {"市委政法委", "市公安局"}
    assert _assignments(engine) == {
        (1, "市委政法委", "lead"),
        (1, "市公安局", "cooperating"),
        (2, "市公安局", "lead"),
        (2, "市委政法委", "cooperating"),
    }
    with reading(engine) as session:
        assert id_of(find_unit(session, "市政法委")) == made  # the same row, found by its alias
        assert find_unit(session, "市委政法委").id == made
    assert _adoptions(engine) == [
        ({"name": "市政法委", "unit_id": made}, {"name": "市委政法委", "unit_id": made})
    ]
    listed = run("units", "list").splitlines()
    assert [line.split("（")[0].split(" ")[0] for line in listed] == ["市委政法委", "市公安局"]
    assert listed[0].startswith("市委政法委（又称 市政法委） [department]")

    again = run("import", str(notice), "--plan-key", KEY)
    assert "新建单位" not in again
    assert _unit_names(engine) == {"市委政法委", "市公安局"}
    assert len(_assignments(engine)) == 4
    with reading(engine) as session:
        assert len(session.exec(select(Assignment)).all()) == 4


def test_a_directory_merges_the_unit_a_notice_made_into_its_own_unit_and_moves_every_row(
    tmp_path: Path, database_url: str, engine: Engine
) -> None:
    run = office(tmp_path / "home", database_url)
    notice = _write(tmp_path, "清单.csv", HEADER + MERGE_NOTICE)
    first = run("import", str(notice), "--plan-key", KEY)
    assert "新建单位 3 个，尚无联系人：" in first
    with unit_of_work(engine) as session:
        holder = find_unit(session, "市政法委")
        kept = id_of(find_unit(session, "市委政法委"))
        held = session.exec(select(Assignment).where(Assignment.unit_id == holder.id)).first()
        assert held is not None
        # A 催办 row names the unit itself, not only through its assignment: it must move too.
        session.add(
            Nudge(
                unit_id=id_of(holder),
                task_id=held.task_id,
                assignment_id=held.id,
                at=NOW,
                actor="office",
                dedup_key="nudge:adoption-test",
            )
        )
        gone = id_of(holder)

    loaded = run("units", "import", str(_write(tmp_path, "dir.csv", DIRECTORY)))
    assert (
        "已并入：“市政法委”并入“市委政法委”（2 项分工随之转入），“市政法委”作为简称保留"
    ) in loaded
    assert "通讯录已更新：新建 0 个，修改 2 个，未变 0 个" in loaded

    assert _unit_names(engine) == {"市委政法委", "市公安局"}
    assert _assignments(engine) == {
        (1, "市委政法委", "lead"),
        (1, "市公安局", "cooperating"),
        (2, "市公安局", "lead"),
        (2, "市委政法委", "cooperating"),
        (3, "市委政法委", "lead"),
    }
    with reading(engine) as session:
        assert session.get(Unit, gone) is None
        assert [n.unit_id for n in session.exec(select(Nudge))] == [kept]
        assert id_of(find_unit(session, "市政法委")) == kept
    assert _adoptions(engine) == [
        (
            {"name": "市政法委", "unit_id": gone},
            {"name": "市委政法委", "unit_id": kept, "assignments": 2},
        )
    ]

    again = run("import", str(notice), "--plan-key", KEY)
    assert "新建单位" not in again
    assert _unit_names(engine) == {"市委政法委", "市公安局"}
    with reading(engine) as session:
        assert len(session.exec(select(Assignment)).all()) == 5


def test_a_merge_that_would_assign_one_task_twice_is_refused_and_nothing_is_written(
    tmp_path: Path, database_url: str, engine: Engine
) -> None:
    run = office(tmp_path / "home", database_url)
    notice = _write(tmp_path, "清单.csv", HEADER + CONFLICT_NOTICE)
    run("import", str(notice), "--plan-key", KEY)
    before = snapshot(engine)

    refused = run("units", "import", str(_write(tmp_path, "dir.csv", DIRECTORY)), code=2)
    assert (
        f"第 2 行：“市政法委”与“市委政法委”都承担计划“{KEY}”第 2 项任务，"
        "无法把“市政法委”并入“市委政法委”"
    ) in refused
    assert "未写入任何数据" in refused
    assert snapshot(engine) == before


@pytest.mark.parametrize(
    "curated_by",
    ["a liaison", "an alias"],
)
def test_an_alias_held_by_a_unit_the_office_curated_is_still_refused(
    tmp_path: Path, database_url: str, engine: Engine, curated_by: str
) -> None:
    run = office(tmp_path / "home", database_url)
    first = "name,kind,aliases,liaison_name,liaison_email\n" + (
        "市政法委,department,,联络员,zfw@example.gov.cn\n"
        if curated_by == "a liaison"
        else "政法委员会,department,市政法委,,\n"
    )
    run("units", "import", str(_write(tmp_path, "一.csv", first)))
    before = snapshot(engine)
    holder = "市政法委" if curated_by == "a liaison" else "政法委员会"

    refused = run("units", "import", str(_write(tmp_path, "二.csv", DIRECTORY)), code=2)
    assert f"第 2 行：别名“市政法委”已属于单位“{holder}”" in refused
    assert snapshot(engine) == before


def test_a_unit_is_uncurated_only_while_nobody_has_given_it_anything(engine: Engine) -> None:
    curations = {
        "contact": lambda u: Contact(unit_id=id_of(u), role=ContactRole.LIAISON, name="联络员"),
        "alias": lambda u: UnitAlias(alias="别名", unit_id=id_of(u)),
        "group": lambda u: GroupMember(group_id=id_of(u), member_id=id_of(u)),
        "user": lambda u: User(
            username="zfw", password_hash="x", role=Role.UNIT, unit_id=id_of(u), created_at=NOW
        ),
    }
    for what, curation in curations.items():
        with unit_of_work(engine) as session:
            unit = Unit(name=f"新单位{what}", created_at=NOW)
            session.add(unit)
            session.flush()
            assert uncurated(session, unit)
            session.add(curation(unit))
            session.flush()
            assert not uncurated(session, unit), what
            session.rollback()
    with unit_of_work(engine) as session:
        robot = Unit(name="有机器人", created_at=NOW, wecom_key="env:ZFW_WECOM")
        session.add(robot)
        session.flush()
        assert not uncurated(session, robot)
        session.rollback()


def test_every_table_that_names_a_unit_is_moved_by_a_merge() -> None:
    """Worked out from `grep -n 'foreign_key="unit.id"' models/*.py`: the merge moves these."""
    assert {f"{c.table.name}.{c.name}" for c in unit_references()} == {
        "assignment.unit_id",
        "contact.unit_id",
        "decline.unit_id",
        "directive_unit.unit_id",
        "group_member.group_id",
        "group_member.member_id",
        "notification.unit_id",
        "nudge.unit_id",
        "unit_alias.unit_id",
        "user.unit_id",
    }


@pytest.mark.parametrize("hostile", [v for v in STORABLE if len(v) <= 200])
def test_a_hostile_name_a_notice_made_is_adopted_and_printed_safely(
    engine: Engine, hostile: str
) -> None:
    with unit_of_work(engine) as session:
        session.add(Unit(name=hostile, created_at=NOW))  # as an import creates it
    with unit_of_work(engine) as session:
        synced = sync_directory(
            session,
            [DirectoryEntry(name="市委政法委", aliases=[hostile])],
            actor=OFFICE,
            now=NOW,
        )
    (adoption,) = synced.adopted
    assert adoption.old_name == hostile and adoption.name == "市委政法委"
    assert not terminal_escapes_in(visible(adoption.zh()))
    with reading(engine) as session:
        assert find_unit(session, hostile).name == "市委政法委"
        assert set(session.exec(select(Unit.name))) == {"市委政法委"}
        event = session.exec(select(AuditEvent).where(AuditEvent.action == "unit.adopt")).one()
        words = in_words(event, "Asia/Shanghai")
    assert words.what == AUDIT_ACTIONS["unit.adopt"] == "合并或改名单位"
    assert ("名称", hostile, "市委政法委") in words.changes


@pytest.fixture
def portal(engine: Engine, database_url: str, tmp_path: Path) -> Iterator[Portal]:
    yield from serve_seeded(engine, database_url, tmp_path, upload_max_mb=1)


def test_the_unit_form_adopts_a_unit_nobody_curated_as_the_import_does(portal: Portal) -> None:
    with unit_of_work(portal.engine) as session:
        made = Unit(name="市新设专班", created_at=NOW)  # as an import creates it
        session.add(made)
        session.flush()
        made_id = id_of(made)
    with portal.login("office") as office:
        form = office.get("/units/new").text
        saved = office.post(
            "/units",
            data={
                "csrf": csrf_of(form),
                "name": "市儿童工作专班",
                "kind": "department",
                "aliases": "市新设专班",
                "liaison_name": "专班联络员",
                "liaison_email": "zb@example.gov.cn",
            },
        )
        assert saved.status_code == 303, saved.text
        assert "已保存" in office.get(saved.headers["location"]).text
        trail = office.get("/audit", params={"action": "unit.adopt"}).text
    assert "合并或改名单位" in trail and "unit.adopt</td>" not in trail
    assert "通讯录把“市新设专班”列为“市儿童工作专班”的简称" in trail  # the event's row itself
    with reading(portal.engine) as session:
        assert id_of(find_unit(session, "市新设专班")) == made_id
        assert session.get_one(Unit, made_id).name == "市儿童工作专班"
    assert _adoptions(portal.engine) == [
        ({"name": "市新设专班", "unit_id": made_id}, {"name": "市儿童工作专班", "unit_id": made_id})
    ]
