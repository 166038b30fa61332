"""Fairness of the escalation ladder (issue 17): what the office itself has not done is the office's
backlog, never the unit's failure; an item counts once, at the highest level it reached.

tests/support/small_office.py: five assignments (市教育局 lead on task 5 and cooperating on task 12,
市公安局 and 市检察院 cooperating on task 5, 市市场监管局 on task 12), a round opened Monday 5
September 2022 due Friday 9th. Rules (defaults): unsigned after 3 working days, a completion report
unreviewed for 3, at least 2 working days between two levels. Saturday 10 to Monday 12 September
(中秋) are days off.

市市场监管局 files its completion report on Monday 5th and the office never reviews it. The four
other items are never signed for. Worked out by hand:
  Thu 8th  (3 working days: 6, 7, 8): four unsigned items blue; the unreviewed report blue.
  Tue 13th (2 more: 9, 13): all five yellow.
  Thu 15th (2 more: 14, 15): the four unsigned items red; the unreviewed report stays the office's
           own (yellow at most): it reminds the office and its head, never the leading group.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from bench.synthetic import climb_ladder
from config import Settings
from models.db import reading, unit_of_work
from models.escalation import Escalation
from models.escalations import agenda
from models.lights import lights
from models.plan import Plan
from models.round import SupervisionRound
from models.status import status
from models.users import add_user
from reports.page import html, markdown
from reports.results import compute, end_of_day
from tests.support.browser import ARTIFACTS, needs_chromium
from tests.support.portal import PASSWORD, running
from tests.support.scenario import OFFICE, Scenario
from tests.support.small_office import (
    at,
    files_completion,
    open_september,
    outbox,
    with_contacts,
)

DAYS = ("2022-09-08", "2022-09-13", "2022-09-15")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        home=tmp_path, office_name="市未保办", cycle={"leading_group_email": "group@example.org"}
    )


@pytest.fixture
def played(engine: Engine, settings: Settings) -> tuple[Scenario, int]:
    plan = with_contacts(engine)
    round_id = open_september(engine)
    files_completion(engine, plan, round_id, "检查学校食堂120家，已全部完成")
    climb_ladder(engine, settings, [at(day) for day in DAYS])
    return plan, round_id


def results(engine: Engine, settings: Settings, round_id: int, day: str = "2022-09-15"):
    with reading(engine) as session:
        round_ = session.get(SupervisionRound, round_id)
        return compute(
            session,
            plan=session.get(Plan, round_.plan_id),
            round_=round_,
            as_of=end_of_day(date.fromisoformat(day), settings.timezone),
            timezone=settings.timezone,
            rules=settings.cycle,
            issuer=settings.office_name,
        )


def test_an_unreviewed_report_reminds_the_office_and_never_turns_the_unit_red(
    engine: Engine, settings: Settings, played: tuple[Scenario, int]
) -> None:
    plan, _ = played
    with Session(engine) as session:
        ladder = session.exec(
            select(Escalation.level, Escalation.stall)
            .where(Escalation.assignment_id == plan.market)
            .order_by(Escalation.level)
        ).all()
        colours = lights(session, today=date(2022, 9, 15), rules=settings.cycle)
        on_agenda = {item["unit"] for item in agenda(session)}
    assert ladder == [(1, "unreviewed"), (2, "unreviewed")]
    assert colours["assignments"][plan.market] != "red"
    assert "市市场监管局" not in on_agenda and len(on_agenda) == 3  # 教育局, 公安局, 检察院
    to_market = {
        row.recipient_email
        for row in outbox(engine, "escalation_blue", "escalation_yellow", "escalation_red")
        if any(item["unit"] == "市市场监管局" for item in row.payload["items"])
    }
    assert to_market == {"office@localhost", "office-head@localhost"}


def test_the_report_shows_the_offices_backlog_apart_and_not_in_the_units_count(
    engine: Engine, settings: Settings, played: tuple[Scenario, int]
) -> None:
    _, round_id = played
    r = results(engine, settings, round_id)
    by_unit = {u.name: u.escalations for u in r.units}
    assert by_unit["市市场监管局"] == 0
    # Filed Monday 5th, waiting on Thursday 15th: 6, 7, 8, 9, 13, 14, 15 = 7 working days.
    assert r.headline["office_review"] == {"items": 1, "longest_days": 7, "past_limit": 1}
    assert [(i.unit, i.waiting_days) for i in r.office_backlog] == [("市市场监管局", 7)]
    assert "市市场监管局" not in {e.unit for e in r.agenda}
    page = html(r, [], "2022-09-15 18:00")
    assert "六、办公室待审核" in page and "最长已等 7 个工作日" in page
    assert "办公室待审核 | 1（最长已等 7 个工作日）" in markdown(r)


def test_each_item_counts_once_at_its_highest_level_with_its_ladder(
    engine: Engine, settings: Settings, played: tuple[Scenario, int]
) -> None:
    plan, round_id = played
    r = results(engine, settings, round_id)
    # Four unsigned items reached red; the office's own backlog is not a unit's escalation.
    assert r.headline["escalations"] == {"1": 0, "2": 0, "3": 4}
    assert r.headline["open_escalations"] == {"1": 0, "2": 0, "3": 4}
    by_unit = {u.name: u.escalations for u in r.units}
    assert (by_unit["市教育局"], by_unit["市公安局"], by_unit["市检察院"]) == (2, 1, 1)
    lead = next(e for e in r.escalations if e.assignment_id == plan.lead)
    assert [step.split("（")[0] for step in lead.history] == [
        "2022-09-08 蓝色提醒",
        "2022-09-13 黄色催办",
        "2022-09-15 红色提请协调",
    ]
    assert lead.level == 3 and lead.number in lead.history[-1]
    assert len(r.escalations) == 5  # one per item: four units' items and the office's one
    from models.escalations import open_items  # new with this rule: imported where it is used

    with reading(engine) as session:
        figures = status(session)
        items = open_items(session)
    assert figures["open_escalations"] == {"total": 4, "by_level": {"1": 0, "2": 0, "3": 4}}
    assert len(items) == 5 and len({(i["task_number"], i["unit"]) for i in items}) == 5
    # The 督办单 numbers stay one per level issued: 5 blue, 5 yellow, 4 red = 14, no gaps.
    numbers = sorted(step.split("（")[1][:-1] for e in r.escalations for step in e.history)
    assert numbers == [f"督〔2022〕{n:03d}号" for n in range(1, 15)]


def test_the_escalations_page_lists_each_item_once_with_its_level_history(
    engine: Engine, settings: Settings, played: tuple[Scenario, int], database_url: str
) -> None:
    with unit_of_work(engine) as session:
        add_user(
            session,
            username="office",
            role="office_admin",
            password=PASSWORD,
            unit_name=None,
            actor=OFFICE,
            now=at("2022-09-05"),
        )
    portal_settings = Settings(
        home=settings.home, database_url=database_url, dev_mode=True, office_name="市未保办"
    )
    with running(portal_settings, engine) as portal, portal.login("office") as office:
        page = office.get("/escalations").text
    units_part, office_part = page.split("<h2>未办结的督办事项")[1].split("<h2>办公室待审核")
    # Four items (one card each), each with its three steps; not twelve, one per level.
    assert units_part.count('data-escalation="') == 4
    assert units_part.count(">催办</button>") == 4  # 一键催办 on each row (models/nudges.py)
    cards = units_part.split("</form>", 1)[1]  # after the filters (whose level list names it)
    assert cards.count("红色提请协调") == 4 + 4  # the item's level and its last step
    assert units_part.count("蓝色提醒（督〔2022〕") == 4
    assert "市市场监管局" not in units_part
    assert office_part.count("<tr><td>督〔2022〕") == 1 and "市市场监管局" in office_part


@needs_chromium
def test_the_escalations_page_and_the_report_read_well_on_a_desk_and_a_phone(
    engine: Engine,
    settings: Settings,
    played: tuple[Scenario, int],
    database_url: str,
    browser,
    backend: str,
) -> None:
    if backend != "sqlite":
        pytest.skip("one browser run is enough: the HTTP tests cover both databases")
    _, round_id = played
    with unit_of_work(engine) as session:
        add_user(
            session,
            username="office",
            role="office_admin",
            password=PASSWORD,
            unit_name=None,
            actor=OFFICE,
            now=at("2022-09-05"),
        )
    report = settings.home / "通报.html"
    report.write_text(html(results(engine, settings, round_id), [], "2022-09-15 18:00"), "utf-8")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    portal_settings = Settings(home=settings.home, database_url=database_url, dev_mode=True)
    with running(portal_settings, engine) as portal:
        for width in (1366, 390):
            context = browser.new_context(locale="zh-CN", viewport={"width": width, "height": 900})
            page = context.new_page()
            page.goto(f"{portal.url}/login")
            page.fill("input[name=username]", "office")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.goto(f"{portal.url}/escalations")
            assert page.locator("h2", has_text="办公室待审核").count() == 1
            page.screenshot(path=str(ARTIFACTS / f"escalations-fair-{width}.png"), full_page=True)
            page.goto(report.as_uri())
            assert page.locator("h2", has_text="六、办公室待审核").count() == 1
            page.screenshot(
                path=str(ARTIFACTS / f"report-office-backlog-{width}.png"), full_page=True
            )
            context.close()
