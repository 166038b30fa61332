"""The portal's import preview over real HTTP (uvicorn on loopback, SQLite and PostgreSQL): 待分工
tasks, the office's corrections, and an apply bound to exactly what was previewed.

The seed plan "2022" is in the database (tests/support/portal.py); expected values are worked out by
hand.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from models.audit import AuditEvent, verify_chain
from models.db import reading
from models.plan import Plan, Task
from tests.support.imports import HEADER, ROWS, held, snapshot
from tests.support.portal import Portal, csrf_of, form_fields, serve_seeded


@pytest.fixture
def portal(engine: Engine, database_url: str, tmp_path: Path) -> Iterator[Portal]:
    yield from serve_seeded(engine, database_url, tmp_path, upload_max_mb=0.05)


SEED = Path(__file__).parent / "fixtures" / "seed-notice.txt"


def upload(client, name: str, data: bytes, plan_key: str):
    token = csrf_of(client.get("/import").text)
    return client.post(
        "/import",
        data={"csrf": token, "plan_key": plan_key},
        files={"notice": (name, data, "text/plain")},
    )


def plan_event(portal: Portal, key: str) -> dict:
    with reading(portal.engine) as session:
        plan_id = session.exec(select(Plan.id).where(Plan.key == key)).one()
        (event,) = session.exec(
            select(AuditEvent).where(
                AuditEvent.object_type == "plan",
                AuditEvent.object_id == str(plan_id),
                AuditEvent.action.in_(["plan.import", "plan.update"]),
            )
        )
        assert event.actor == "office"
        return json.loads(event.after)


def test_the_office_imports_a_partial_notice_and_assigns_its_pending_task(portal: Portal) -> None:
    with portal.login("office") as office:
        preview = upload(office, "清单.csv", (HEADER + ROWS).encode(), "p2023")
        assert preview.status_code == 200, preview.text
        assert "待分工" in preview.text and "1 项待分工" in preview.text
        assert "第 3 行：任务 2“推进儿童友好社区建设”没有责任单位" in preview.text
        applied = office.post("/import/apply", data=form_fields(preview.text, "/import/revise"))
        assert applied.status_code == 303 and applied.headers["location"] == "/import/pending"
        assert held(portal.engine, 2, "p2023") == {}
        assert office.get("/dashboard").status_code == 200
        assert "现有 <b>1</b> 项任务尚未分工" in office.get("/import").text
        pending = office.get("/import/pending")
        assert pending.status_code == 200 and "推进儿童友好社区建设" in pending.text
        (action,) = re.findall(r'action="(/import/pending/\d+)"', pending.text)
        assigned = office.post(
            action,
            data={
                "csrf": csrf_of(pending.text),
                "lead": "市住建局",
                "responsible": "",
                "cooperating": "市民政局\n市财政局",
            },
        )
        assert (
            assigned.status_code == 303 and assigned.headers["location"] == "/import/pending?done=2"
        )
        assert "没有待分工的任务" in office.get("/import/pending").text
        again = office.post(action, data={"csrf": csrf_of(pending.text), "lead": "市民政局"})
        assert again.status_code == 409 and "已有分工" in again.text
        # The same notice again: task 2 still names no unit; what the office assigned stays, and it
        # says so.
        reread = upload(office, "清单.csv", (HEADER + ROWS).encode(), "p2023")
        assert (
            "计划与通知一致，无需更新" in reread.text
            and "通知未读出单位，保留已有的分工" in reread.text
        )
        assert "badge" not in reread.text.split('id="task-2"')[1].split("</h2>")[0]
    assert held(portal.engine, 2, "p2023") == {
        "市住房和城乡建设局": ("lead", date(2023, 12, 31), date(2023, 12, 31), False),
        "市民政局": ("cooperating", date(2023, 12, 31), date(2023, 12, 31), False),
        "市财政局": ("cooperating", date(2023, 12, 31), date(2023, 12, 31), False),
    }
    with reading(portal.engine) as session:
        (event,) = session.exec(select(AuditEvent).where(AuditEvent.action == "task.assign"))
        assert event.actor == "office" and "市住房和城乡建设局（牵头）" in event.after
        assert verify_chain(session).ok
    with portal.login("edu") as edu:
        assert edu.get("/import/pending").status_code == 403


def test_corrections_in_the_preview_are_applied_and_recorded_in_the_import_event(
    portal: Portal,
) -> None:
    with portal.login("office") as office:
        preview = upload(office, "2023年通知.txt", SEED.read_bytes(), "2023")
        assert preview.status_code == 200
        fields = form_fields(preview.text, "/import/revise")
        assert (
            fields["title-12"] == "开展质量守护行动"
            and fields["responsible-1"] == "市民政局、如城街道"
        )
        fields["title-12"] = "深入开展质量守护行动"
        fields["deadline-5"] = "2022-12-31"
        fields["lead-1"], fields["responsible-1"] = "市民政局", "如城街道、市财政局"
        fields["cooperating-10"] = (
            fields["cooperating-10"] + "、市民证局"
        )  # a typo: checked against the directory
        revised = office.post("/import/revise", data=fields)
        assert revised.status_code == 200, revised.text
        assert "已按您的修改更新预览" in revised.text
        assert "任务 12 的标题：开展质量守护行动 → 深入开展质量守护行动" in revised.text
        assert "任务 5 的时限：无 → 2022-12-31" in revised.text
        assert "单位“市民证局”不在通讯录中，将新建（相近的已有单位：市民政局" in revised.text
        with reading(portal.engine) as session:
            assert (
                session.exec(select(Plan).where(Plan.key == "2023")).first() is None
            )  # a preview writes nothing
        applied = office.post("/import/apply", data=form_fields(revised.text, "/import/revise"))
        assert applied.status_code == 303, applied.text
    with reading(portal.engine) as session:
        plan_id = session.exec(select(Plan.id).where(Plan.key == "2023")).one()
        assert (
            session.exec(select(Task.title).where(Task.plan_id == plan_id, Task.number == 12)).one()
            == "深入开展质量守护行动"
        )
    assert held(portal.engine, 1, "2023") == {
        "市民政局": ("lead", None, None, False),
        "如城街道": ("responsible", None, None, False),
        "市财政局": ("responsible", None, None, False),
    }
    assert {due for _, due, _, _ in held(portal.engine, 5, "2023").values()} == {date(2022, 12, 31)}
    assert "市民证局" in held(portal.engine, 10, "2023")
    corrections = plan_event(portal, "2023")["corrections"]
    assert corrections[:2] == [
        {
            "task": 1,
            "field": "units",
            "from": ["市民政局（负责）", "如城街道（负责）"],
            "to": ["市民政局（牵头）", "如城街道（负责）", "市财政局（负责）"],
        },
        {"task": 5, "field": "deadline", "from": None, "to": "2022-12-31"},
    ]
    assert [(c["task"], c["field"]) for c in corrections] == [
        (1, "units"),
        (5, "deadline"),
        (10, "units"),
        (12, "title"),
    ]


def test_an_apply_is_refused_unless_it_is_exactly_what_was_previewed(portal: Portal) -> None:
    v2 = SEED.read_bytes().replace("开展质量守护行动".encode(), "深入开展质量守护行动".encode())
    v3 = SEED.read_bytes().replace("开展质量守护行动".encode(), "全面开展质量守护行动".encode())
    with portal.login("office") as office:
        first = upload(office, "v2.txt", v2, "2022")
        fields = form_fields(first.text, "/import/revise")
        before = snapshot(portal.engine)
        # Another plan key than the one previewed (the hidden field edited): refused, nothing
        # written.
        refused = office.post("/import/apply", data=fields | {"plan_key": "2099"})
        assert refused.status_code == 409 and "未导入" in refused.text
        # A correction typed but never previewed: refused with the up-to-date preview showing it.
        unpreviewed = office.post("/import/apply", data=fields | {"title-3": "改过但未预览的标题"})
        assert unpreviewed.status_code == 409 and "任务 3 的标题" in unpreviewed.text
        # Another file than the one previewed.
        other = upload(office, "v3.txt", v3, "2022")
        swapped = fields | {"sha": form_fields(other.text, "/import/revise")["sha"]}
        assert office.post("/import/apply", data=swapped).status_code == 409
        assert snapshot(portal.engine) == before
        with reading(portal.engine) as session:
            assert session.exec(select(Plan).where(Plan.key == "2099")).first() is None
        # The plan changed after the preview (v3 applied meanwhile): the v2 preview no longer says
        # what would happen.
        assert (
            office.post("/import/apply", data=form_fields(other.text, "/import/revise")).status_code
            == 303
        )
        stale = office.post("/import/apply", data=fields)
        assert stale.status_code == 409 and "未导入" in stale.text
        fresh = office.post("/import/apply", data=form_fields(stale.text, "/import/revise"))
        assert fresh.status_code == 303
    with reading(portal.engine) as session:
        plan_id = session.exec(select(Plan.id).where(Plan.key == "2022")).one()
        assert (
            session.exec(select(Task.title).where(Task.plan_id == plan_id, Task.number == 12)).one()
            == "深入开展质量守护行动"
        )


def test_an_apply_naming_another_plan_key_than_the_preview_writes_nothing(portal: Portal) -> None:
    """#13 item 9 as reported: the preview is for plan 2022, the apply posts the same file for plan
    2099."""
    with portal.login("office") as office:
        preview = upload(
            office,
            "v2.txt",
            SEED.read_bytes().replace("开展质量守护行动".encode(), "深入开展质量守护行动".encode()),
            "2022",
        )
        sha = re.search(r'name="sha" value="([0-9a-f]{64})"', preview.text).group(1)
        before = snapshot(portal.engine)
        tampered = office.post(
            "/import/apply",
            data={"csrf": csrf_of(preview.text), "sha": sha, "ext": "txt", "plan_key": "2099"},
        )
        assert tampered.status_code == 409
        assert snapshot(portal.engine) == before
    with reading(portal.engine) as session:
        assert session.exec(select(Plan).where(Plan.key == "2099")).first() is None


def test_hostile_titles_units_and_corrections_come_out_escaped_in_the_preview_and_the_pending_page(
    portal: Portal,
) -> None:
    import csv
    import io

    from tests.support.hostile import STORABLE, raw_values_in

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["序号", "重点任务", "具体措施", "牵头单位", "配合单位", "完成时限"])
    for number, value in enumerate(STORABLE, start=1):
        units = "" if number == 2 else ("市民政局" if number % 2 else value[:90])  # task 2: 待分工
        writer.writerow([number, value, f"{value}。", units, "", ""])
    with portal.login("office") as office:
        preview = upload(office, "hostile.csv", out.getvalue().encode(), "hostile")
        assert preview.status_code == 200, preview.text
        assert raw_values_in(preview.text) == []
        fields = form_fields(preview.text, "/import/revise")
        assert fields["title-1"] == STORABLE[0]  # shown escaped, read back as typed
        revised = office.post(
            "/import/revise", data=fields | {"title-3": STORABLE[1], "lead-2": STORABLE[4][:90]}
        )
        assert revised.status_code == 200, revised.text[-1500:]
        assert raw_values_in(revised.text) == []
        applied = office.post(
            "/import/apply", data=form_fields(revised.text, "/import/revise") | {"lead-2": ""}
        )
        assert applied.status_code == 409  # the field changed after the preview
        applied = office.post("/import/apply", data=form_fields(applied.text, "/import/revise"))
        assert applied.status_code == 303 and applied.headers["location"] == "/import/pending"
        pending = office.get("/import/pending")
        assert STORABLE[1][:20] not in pending.text and raw_values_in(pending.text) == []


def test_two_offices_applying_the_same_preview_at_once_import_it_once(portal: Portal) -> None:
    import threading

    with portal.login("office") as office, portal.login("staff") as staff:
        preview = upload(office, "清单.csv", (HEADER + ROWS).encode(), "twice")
        fields = form_fields(preview.text, "/import/revise")
        staff_fields = fields | {"csrf": csrf_of(staff.get("/import").text)}
        start, statuses = threading.Barrier(2), []

        def apply(client, data) -> None:
            start.wait()
            statuses.append(client.post("/import/apply", data=data).status_code)

        threads = [
            threading.Thread(target=apply, args=(office, fields)),
            threading.Thread(target=apply, args=(staff, staff_fields)),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    # The second waits for the first, then finds the plan changed (409) or the kept file gone (404;
    # 400 when it vanished between the check and the read): refused either way, never a 500 nor a
    # second import.
    assert sorted(statuses)[0] == 303 and sorted(statuses)[1] in (400, 404, 409), statuses
    with reading(portal.engine) as session:
        assert len(session.exec(select(Plan).where(Plan.key == "twice")).all()) == 1
        assert (
            len(
                session.exec(
                    select(AuditEvent).where(
                        AuditEvent.action == "plan.import",
                        AuditEvent.after.contains('"key":"twice"'),
                    )
                ).all()
            )
            == 1
        )
        assert verify_chain(session).ok
