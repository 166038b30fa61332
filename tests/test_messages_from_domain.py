"""Every message kind rendered, in both languages, from the payload the domain itself queued in a
real round.

notifications/samples.py is written by hand; a payload the domain builds could drift from it (a key
renamed, an item without its number) and only a real run would show it. Here one small round
(tests/support/small_office.py) runs through every use case that writes to the outbox, and each
queued row renders strictly, naming what its reader must see.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from config import Settings
from models.checkins import review_checkin, submit_checkin
from models.db import unit_of_work
from models.directives import add as add_directive
from models.escalations import escalate_stalled
from models.extensions import decide_extension, request_extension
from models.lifecycle import SYSTEM_ACTOR, Actor, Role
from models.nudges import nudge
from models.plan import Plan
from models.reminders import send_reminders
from models.round import SupervisionRound
from notifications.render import WITH_CALENDAR
from notifications.samples import SAMPLES
from reports.compile import compile_report
from tests.support.scenario import OFFICE
from tests.support.small_office import (
    OFFICE_NAME,
    at,
    open_september,
    outbox,
    rendered,
    with_contacts,
)


@pytest.fixture
def queued(engine: Engine, tmp_path: Path) -> Engine:
    """A round from opening to its 通报, with a return, an approved and a rejected extension, and
    the ladders."""
    settings = Settings(
        home=tmp_path, office_name="市未保办", cycle={"leading_group_email": "group@example.org"}
    )
    plan = with_contacts(engine)
    round_id = open_september(engine)  # round_opened to each unit's liaison
    with unit_of_work(engine) as session:
        filed = submit_checkin(
            session,
            round_id=round_id,
            assignment_id=plan.market,
            actor=plan.unit_actor("市市场监管局"),
            now=at("2022-09-06"),
            text="已完成抽检",
            percent=100,
            completed=True,
        )
        revision = filed.revision
    with unit_of_work(engine) as session:  # report_returned
        review_checkin(
            session,
            round_id=round_id,
            assignment_id=plan.market,
            accept=False,
            actor=OFFICE,
            now=at("2022-09-06", 15),
            revision=revision,
            reason="佐证材料不全",
        )
    for assignment_id, unit, approve in (
        (plan.police, "市公安局", True),
        (plan.procuratorate, "市检察院", False),
    ):
        with unit_of_work(engine) as session:
            asked = request_extension(
                session,
                assignment_id=assignment_id,
                until=date(2023, 1, 31),
                reason="需协调经费",
                actor=plan.unit_actor(unit),
                now=at("2022-09-07"),
                timezone=settings.timezone,
                max_days=90,
            )
            asked_id = asked.id
        with unit_of_work(engine) as session:  # extension_decided, approved and rejected
            decide_extension(
                session,
                request_id=asked_id,
                approve=approve,
                actor=OFFICE,
                now=at("2022-09-07", 15),
                reason=None if approve else "理由不充分",
            )
    for day in ("2022-09-06", "2022-09-07", "2022-09-09"):  # reminder (t-3, t-1, due) and overdue
        with unit_of_work(engine) as session:
            send_reminders(session, now=at(day), settings=settings, actor=SYSTEM_ACTOR)
    for day in ("2022-09-08", "2022-09-13", "2022-09-15"):  # blue, yellow, red
        with unit_of_work(engine) as session:
            escalate_stalled(session, now=at(day), settings=settings, actor=SYSTEM_ACTOR)
    with unit_of_work(engine) as session:  # nudge: the office presses 催办 on one assignment
        nudge(
            session,
            settings=settings,
            now=at("2022-09-14", 10),
            actor=OFFICE,
            assignment_id=plan.police,
        )
    with unit_of_work(engine) as session:  # directive: a leader's 批示 tells the unit at once
        add_directive(
            session,
            settings=settings,
            actor=Actor(name="leader", role=Role.LEADER),
            now=at("2022-09-14", 11),
            text="请抓紧落实，按期报告",
            assignment_id=plan.police,
            deadline=date(2022, 9, 21),
        )
    with unit_of_work(engine) as session:  # results_published
        compile_report(
            session,
            plan=session.exec(select(Plan)).one(),
            round_=session.exec(select(SupervisionRound)).one(),
            as_of=at("2022-09-15", 12),
            formats=["md"],
            out_dir=tmp_path / "reports",
            settings=settings,
            actor=OFFICE,
            now=at("2022-09-15", 12),
            publish=True,
        )
    return engine


def test_the_round_queues_every_kind_the_templates_know(queued: Engine) -> None:
    assert {row.kind for row in outbox(queued)} == set(SAMPLES)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_queued_message_renders_strictly_with_its_items_and_links(
    queued: Engine, lang: str
) -> None:
    for row in outbox(queued):
        message = rendered(row, lang)
        assert message.subject and "\n" not in message.subject, row.dedup_key
        assert message.text.strip() and message.html.lstrip().startswith("<"), row.dedup_key
        items = [
            *row.payload.get("items", []),
            *([row.payload["item"]] if "item" in row.payload else []),
        ]
        for item in items:
            if "assignment_id" in item:
                assert (
                    f"http://127.0.0.1:8000/assignments/{item['assignment_id']}" in message.text
                ), row.dedup_key
            if "number" in item:
                assert item["number"] in message.text, row.dedup_key
        assert bool(message.attachments) == (row.kind in WITH_CALENDAR), row.dedup_key
        if lang == "zh":
            assert OFFICE_NAME in message.text, row.dedup_key  # the signature


def test_what_each_reader_is_told_in_chinese(queued: Engine) -> None:
    text = {row.dedup_key: rendered(row).text for row in outbox(queued)}
    returned = next(t for k, t in text.items() if k.startswith("returned:"))
    assert "佐证材料不全" in returned
    decided = [t for k, t in text.items() if k.startswith("extension:")]
    assert (
        len(decided) == 2
        and any("2023" in t for t in decided)
        and any("理由不充分" in t for t in decided)
    )
    with Session(queued) as session:
        assert session.exec(select(SupervisionRound.name)).one() in next(
            t for k, t in text.items() if k.startswith("round_opened")
        )


def test_a_returned_progress_report_is_called_one_and_counted_from_the_first_return(
    engine: Engine,
) -> None:
    """A progress report returned twice is told "进展情况报告" and 第1次, then 第2次 (it was
    "完成情况报告" and 第0次: the assignment's counter counts returned completion reports only)."""
    plan = with_contacts(engine)
    round_id = open_september(engine)
    unit = plan.unit_actor("市市场监管局")
    for filed_on, returned_on in (("2022-09-05", "2022-09-06"), ("2022-09-07", "2022-09-08")):
        with unit_of_work(engine) as session:
            revision = submit_checkin(
                session,
                round_id=round_id,
                assignment_id=plan.market,
                actor=unit,
                now=at(filed_on),
                text="抽检过半",
                percent=50,
            ).revision
        with unit_of_work(engine) as session:
            review_checkin(
                session,
                round_id=round_id,
                assignment_id=plan.market,
                accept=False,
                actor=OFFICE,
                now=at(returned_on, 15),
                revision=revision,
                reason="请补充抽检数据",
            )
    returns = sorted(
        (row for row in outbox(engine) if row.kind == "report_returned"),
        key=lambda row: row.dedup_key,
    )
    told = [rendered(row) for row in returns]
    assert [("进展情况报告" in m.subject, "完成情况" in m.text) for m in told] == [
        (True, False)
    ] * 2
    assert ["（第1次退回）" in told[0].text, "（第2次退回）" in told[1].text] == [True, True]
    assert all("第0次" not in m.text for m in told)
