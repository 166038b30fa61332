"""The reminder budget (基层减负): no person receives more than `notify.max_per_person_per_day`
messages on one office day; what would exceed it is merged, never dropped.

The small office (tests/support/small_office.py): a round opened Monday 5 September 2022, due
Friday 9th, cooperating units Wednesday 7th. 市教育局 owes task 5 (lead) and task 12 (cooperating);
市公安局 and 市检察院 owe task 5; 市市场监管局 owes task 12. Nobody files except 市公安局, whose
completion report the office returns; so every unit is reminded, then escalated up to red.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, update
from sqlmodel import Session, col, select

from config import Settings
from models.budget import attach
from models.db import unit_of_work
from models.escalations import escalate_stalled
from models.lifecycle import SYSTEM_ACTOR
from models.notification import Notification, NotificationStatus
from models.outbox import enqueue_many
from models.reminders import send_reminders
from notifications.dispatch import dispatch
from tests.support.browser import ARTIFACTS, needs_chromium
from tests.support.channel import ListChannel
from tests.support.scenario import OFFICE
from tests.support.small_office import CST, at, open_september, rendered, with_contacts


def settings_with(tmp_path: Path, limit: int) -> Settings:
    return Settings(home=tmp_path, notify={"max_per_person_per_day": limit})


def message(key: str, to: str = "liaison@example.org") -> dict[str, Any]:
    return {"kind": "reminder", "dedup_key": key, "recipient_email": to, "payload": {"n": key}}


def rows(engine: Engine) -> list[Notification]:
    with Session(engine) as session:
        return list(session.exec(select(Notification).order_by(Notification.id)))


def send(engine: Engine, settings: Settings, moment: datetime) -> None:
    dispatch(engine, ListChannel(settings), settings, now=lambda: moment)


def parts(row: Notification) -> list[str]:
    """The dedup keys a row carries: itself, or what was merged into it."""
    if row.kind == "combined":
        return [p["key"] for p in row.payload["parts"]]
    return [row.dedup_key]


def test_over_the_budget_a_message_joins_the_days_last_unsent_one_then_the_next_working_day(
    engine: Engine, tmp_path: Path
) -> None:
    settings = settings_with(tmp_path, 2)
    budgeted = attach(engine, settings)
    monday = at("2022-09-05")
    with unit_of_work(budgeted) as session:
        assert enqueue_many(session, [message(k) for k in ("a", "b", "c", "d")], now=monday) == 4
    # Two rows reach the person on Monday; the second carries b, c and d.
    pending = [r for r in rows(engine) if r.status == NotificationStatus.PENDING]
    assert [parts(r) for r in pending] == [["a"], ["b", "c", "d"]]
    assert {r.dedup_key: r.merged_into for r in rows(engine) if r.merged_into} == {
        "c": pending[1].id,
        "d": pending[1].id,
    }
    send(engine, settings, at("2022-09-05", 11))
    # The dispatcher took Monday's two: e waits for Tuesday's opening (08:30), counted on Tuesday.
    with unit_of_work(budgeted) as session:
        enqueue_many(session, [message("e")], now=at("2022-09-05", 14))
    carrier = next(
        r for r in rows(engine) if r.kind == "combined" and r.budget_day != date(2022, 9, 5)
    )
    assert (parts(carrier), carrier.budget_day, carrier.next_attempt_at.astimezone(CST).time()) == (
        ["e"],
        date(2022, 9, 6),
        datetime(2022, 9, 6, 8, 30).time(),
    )
    # A rerun of Monday's enqueue spends nothing and merges nothing twice.
    with unit_of_work(budgeted) as session:
        assert enqueue_many(session, [message(k) for k in "abcde"], now=at("2022-09-05", 15)) == 0
    assert len(rows(engine)) == 6
    send(engine, settings, at("2022-09-06", 8) + timedelta(minutes=45))  # 08:45 Tuesday
    # Tuesday: the carrier was one; f is the second; g joins f, which is still unsent.
    with unit_of_work(budgeted) as session:
        enqueue_many(session, [message("f"), message("g")], now=at("2022-09-06"))
    tuesday = [r for r in rows(engine) if r.budget_day == date(2022, 9, 6) and r.status != "merged"]
    assert sorted(parts(r) for r in tuesday) == [["e"], ["f", "g"]]
    # Another person's budget is their own.
    with unit_of_work(budgeted) as session:
        assert enqueue_many(session, [message("h", "head@example.org")], now=at("2022-09-06")) == 1
    assert rows(engine)[-1].status == NotificationStatus.PENDING


def run_round(engine: Engine, settings: Settings) -> None:
    """Every day from Monday 5 September to Friday 30th on the office's clock: the dispatcher at
    08:45, 11:00 and 16:00, reminders at 10:00 and escalations at 10:30; 市公安局 files its
    completion report on the 8th and the office returns it on the 9th. Then the first working
    day after National Day sends what was carried."""
    from models.checkins import review_checkin, submit_checkin

    plan = with_contacts(engine)
    round_id = open_september(engine)
    day = date(2022, 9, 5)
    while day <= date(2022, 9, 30):
        text = day.isoformat()
        send(engine, settings, at(text, 8) + timedelta(minutes=45))
        with unit_of_work(engine) as session:
            send_reminders(session, now=at(text), settings=settings, actor=SYSTEM_ACTOR)
        with unit_of_work(engine) as session:
            escalate_stalled(
                session,
                now=at(text, 10) + timedelta(minutes=30),
                settings=settings,
                actor=SYSTEM_ACTOR,
            )
        if text == "2022-09-08":
            with unit_of_work(engine) as session:
                submit_checkin(
                    session,
                    round_id=round_id,
                    assignment_id=plan.police,
                    actor=plan.unit_actor("市公安局"),
                    now=at(text, 10) + timedelta(minutes=45),
                    text="已完成",
                    percent=100,
                    completed=True,
                )
        if text == "2022-09-09":
            with unit_of_work(engine) as session:
                review_checkin(
                    session,
                    round_id=round_id,
                    assignment_id=plan.police,
                    accept=False,
                    actor=OFFICE,
                    now=at(text, 10) + timedelta(minutes=45),
                    revision=1,
                    reason="佐证材料不全",
                )
        send(engine, settings, at(text, 11))
        send(engine, settings, at(text, 16))
        day += timedelta(days=1)
    send(engine, settings, at("2022-10-08", 9))


def received(engine: Engine) -> Counter[tuple[str, date]]:
    return Counter(
        (r.recipient_email, r.sent_at.astimezone(CST).date())
        for r in rows(engine)
        if r.status == NotificationStatus.SENT and r.recipient_email and r.sent_at
    )


def tasks_reached(engine: Engine) -> dict[str, set[tuple[str, int]]]:
    """Per recipient, the (kind, task number) of every item in what was actually sent."""
    reached: dict[str, set[tuple[str, int]]] = {}
    for row in rows(engine):
        if row.status != NotificationStatus.SENT or row.recipient_email is None:
            continue
        carried = row.payload["parts"] if row.kind == "combined" else [row.__dict__]
        for part in carried:
            payload = part["payload"]
            kind = part["kind"].split("_")[0]
            items = payload.get("items", [payload["item"]] if "item" in payload else [])
            for item in items:
                reached.setdefault(row.recipient_email, set()).add((kind, item["task_number"]))
    return reached


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_whole_round_on_a_budget_of_one_sends_one_a_day_and_every_item_reaches_its_unit(
    engine: Engine, tmp_path: Path
) -> None:
    settings = settings_with(tmp_path, 1)
    budgeted = attach(engine, settings)
    run_round(budgeted, settings)
    counts = received(engine)
    assert counts and max(counts.values()) == 1, [k for k, v in counts.items() if v > 1]
    # Nothing is left behind: each row was sent, or merged into a row that was sent.
    by_id = {r.id: r for r in rows(engine)}
    for row in by_id.values():
        if row.status == NotificationStatus.MERGED:
            assert by_id[row.merged_into].status == NotificationStatus.SENT, row.dedup_key
        else:
            assert row.status == NotificationStatus.SENT, row.dedup_key
    assert any(r.status == NotificationStatus.MERGED for r in by_id.values())
    # Item by item (worked out from the plan): each liaison hears of its unit's tasks in the
    # round notice, the reminders and the escalations; each head in the escalations; 市公安局's
    # liaison also of its returned report.
    with Session(engine) as session:
        from models.unit import Unit

        units = {u.name: u.id for u in session.exec(select(Unit))}
    owed = {"市教育局": {5, 12}, "市公安局": {5}, "市检察院": {5}, "市市场监管局": {12}}
    reached = tasks_reached(engine)
    for name, tasks in owed.items():
        liaison, head = (
            reached[f"liaison{units[name]}@example.org"],
            reached[f"head{units[name]}@example.org"],
        )
        for task in tasks:
            assert {("round", task), ("reminder", task), ("escalation", task)} <= liaison, name
            assert ("escalation", task) in head, name
            assert ("overdue", task) in liaison, name
    assert ("report", 5) in reached[f"liaison{units['市公安局']}@example.org"]
    # Each carried message renders as one Chinese digest naming its parts.
    combined = next(r for r in by_id.values() if r.kind == "combined")
    message = rendered(combined)
    assert (
        message.subject.startswith("【督办汇总】")
        and f"等{len(combined.payload['parts'])}条" in message.subject
    )


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_without_the_budget_the_same_round_sends_some_people_several_messages_a_day(
    engine: Engine, tmp_path: Path
) -> None:
    settings = settings_with(tmp_path, 50)
    run_round(attach(engine, settings), settings)
    assert max(received(engine).values()) > 1


def test_the_status_and_the_results_count_the_messages_each_unit_received(
    engine: Engine, tmp_path: Path
) -> None:
    from models.plan import Plan
    from models.round import SupervisionRound
    from models.status import status
    from reports.page import markdown
    from reports.results import compute, end_of_day

    settings = settings_with(tmp_path, 3)
    budgeted = attach(engine, settings)
    with_contacts(engine)
    round_id = open_september(budgeted)  # Monday: one round notice to each unit's liaison
    send(engine, settings, at("2022-09-05", 11))
    with unit_of_work(budgeted) as session:  # Tuesday: each of the four units owes a step
        send_reminders(session, now=at("2022-09-06"), settings=settings, actor=SYSTEM_ACTOR)
    send(engine, settings, at("2022-09-06", 11))
    every = {"市教育局": 2, "市公安局": 2, "市检察院": 2, "市市场监管局": 2}
    with Session(engine) as session:
        figures = status(session, today=date(2022, 9, 6), timezone=settings.timezone)
        assert figures["messages_received"] == {
            "since": "2022-08-31",
            "until": "2022-09-06",
            "by_unit": every,
        }
        # On the 12th the seven days start on the 6th: Monday's notice is out; the round keeps it.
        later = status(session, today=date(2022, 9, 12), timezone=settings.timezone)
        assert later["messages_received"]["by_unit"] == dict.fromkeys(every, 1)
        round_ = session.get_one(SupervisionRound, round_id)
        results = compute(
            session,
            plan=session.get_one(Plan, round_.plan_id),
            round_=round_,
            as_of=end_of_day(date(2022, 9, 6), settings.timezone),
            timezone=settings.timezone,
            rules=settings.cycle,
            issuer=settings.office_name,
        )
        before = compute(
            session,
            plan=session.get_one(Plan, round_.plan_id),
            round_=round_,
            as_of=end_of_day(date(2022, 9, 5), settings.timezone),
            timezone=settings.timezone,
            rules=settings.cycle,
            issuer=settings.office_name,
        )
    assert {u.name: u.messages for u in results.units} == every
    assert {u.name: u.messages for u in before.units} == dict.fromkeys(every, 1)
    assert "| 督办 | 收到消息 |" in markdown(results)


@needs_chromium
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_the_results_page_shows_the_messages_column_at_desktop_and_phone_widths(
    engine: Engine, tmp_path: Path, browser: Any
) -> None:
    from models.plan import Plan
    from models.round import SupervisionRound
    from reports.compile import compile_report

    settings = settings_with(tmp_path, 3)
    budgeted = attach(engine, settings)
    with_contacts(engine)
    round_id = open_september(budgeted)
    send(engine, settings, at("2022-09-05", 11))
    with unit_of_work(engine) as session:
        round_ = session.get_one(SupervisionRound, round_id)
        compiled = compile_report(
            session,
            plan=session.get_one(Plan, round_.plan_id),
            round_=round_,
            as_of=at("2022-09-05", 18),
            formats=["html"],
            out_dir=tmp_path / "reports",
            settings=settings,
            actor=OFFICE,
            now=at("2022-09-05", 18),
        )
    page_file = next(p for p in compiled.files if p.suffix == ".html")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for width in (1366, 390):
        page = browser.new_page(viewport={"width": width, "height": 900})
        page.goto(page_file.as_uri())
        header = page.locator("th", has_text="收到消息")
        assert header.count() == 1
        # the column wherever it stands (the 催办 column follows it)
        column = page.evaluate(
            "[...document.querySelectorAll('tr:has(th) th')]"
            ".filter(th => th.closest('tr').textContent.includes('收到消息'))"
            ".findIndex(th => th.textContent.includes('收到消息')) + 1"
        )
        cells = page.locator(f"tr:has(th:has-text('收到消息')) ~ tr td:nth-child({column})")
        assert sorted(cells.all_inner_texts()) == ["1", "1", "1", "1"]
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        page.screenshot(path=str(ARTIFACTS / f"results-messages-{width}.png"), full_page=True)
        page.close()


def test_a_combined_digest_escapes_every_hostile_title_its_parts_carry() -> None:
    import copy

    from notifications.render import render
    from notifications.samples import SAMPLES
    from tests.support.hostile import HOSTILE, raw_values_in

    parts = []
    for value in HOSTILE:
        payload = copy.deepcopy(SAMPLES["report_returned"])
        payload["item"]["task_title"] = value
        parts.append({"kind": "report_returned", "key": value, "unit_id": 1, "payload": payload})
    parts.append({"kind": "reminder", "key": "r", "unit_id": 1, "payload": SAMPLES["reminder"]})
    message = render(
        "combined",
        "zh",
        {"parts": parts},
        office="办公室",
        portal_url="http://127.0.0.1:8000",
        recipient_name="<b>联络员</b>",
        created_at=datetime(2022, 9, 5, 2),
    )
    assert (
        message.subject.startswith("【督办汇总】")
        and f"等{len(parts)}条督办消息" in message.subject
    )
    assert raw_values_in(message.html) == []
    assert "<b>联络员</b>" not in message.html and "&lt;b&gt;联络员" in message.html
    assert message.attachments  # the reminder's calendar event rides along


def test_the_notifications_list_says_where_a_merged_message_went(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    from tests.support.cli import duban

    settings = settings_with(tmp_path, 1)
    with unit_of_work(attach(engine, settings)) as session:
        enqueue_many(session, [message("a"), message("b")], now=at("2022-09-05"))
    carrier, merged = rows(engine)
    listed = duban("notifications", "list", "--status", "merged", home=tmp_path, url=database_url)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.count("\n") == 1 and f"#{merged.id} [merged]" in listed.stdout
    assert f"已并入#{carrier.id}合并发送" in listed.stdout


def test_the_dispatcher_holds_a_message_that_would_exceed_the_day_until_the_next_working_day(
    engine: Engine, tmp_path: Path
) -> None:
    from notifications.samples import SAMPLES

    settings = settings_with(tmp_path, 1)
    budgeted = attach(engine, settings)
    sample = {"kind": "report_returned", "payload": SAMPLES["report_returned"]}
    with unit_of_work(budgeted) as session:
        enqueue_many(session, [message("a") | sample], now=at("2022-09-05"))
    # A second message the enqueue-side count never saw (a race, or yesterday's retry): stamped
    # for the same person and day by an engine without the budget.
    with unit_of_work(engine) as session:
        enqueue_many(session, [message("b") | sample], now=at("2022-09-05"))
        session.execute(
            update(Notification)
            .where(col(Notification.dedup_key) == "b")
            .values(person="liaison@example.org", budget_day=date(2022, 9, 5))
        )
    report = dispatch(budgeted, ListChannel(settings), settings, now=lambda: at("2022-09-05", 11))
    assert report.sent == 1
    first, second = rows(engine)
    assert (first.status, second.status, second.attempts) == ("sent", "pending", 0)
    # Monday's one is spent: Tuesday's opening, 08:30 office time.
    assert second.next_attempt_at.astimezone(CST) == datetime(2022, 9, 6, 8, 30, tzinfo=CST)
    assert (
        dispatch(budgeted, ListChannel(settings), settings, now=lambda: at("2022-09-06", 9)).sent
        == 1
    )
