"""Every link in every message leads somewhere: followed over HTTP against a real portal.

The domain builds the messages (a round on the seed notice on a simulated clock: the round
notice, reminders, overdue digests, a returned report, a decided extension, the three escalation
levels, the published 通报); each is rendered in Chinese and English, every URL is taken from
the text body, the HTML body and the .ics file, and each is opened: without a session it leads
to the login page and, once signed in, to the item itself; another unit's user gets 404.
"""

from __future__ import annotations

import html
import re
from collections import defaultdict
from datetime import UTC, date, datetime
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, urlparse
from zoneinfo import ZoneInfo

import httpx
import pytest
from icalendar import Calendar
from sqlalchemy import Engine
from sqlmodel import col, select

from config import Settings
from intake.directory import read_directory, sync_directory
from intake.plan_import import reconcile, resolve
from intake.source import read_notice
from models.assignment import Assignment
from models.checkins import review_checkin, submit_checkin
from models.db import reading, unit_of_work
from models.escalations import escalate_stalled
from models.extensions import decide_extension, request_extension
from models.lifecycle import SYSTEM_ACTOR, Actor, Role
from models.notification import Notification
from models.plan import Plan, Task
from models.reminders import send_reminders
from models.round import SupervisionRound
from models.rounds import open_round
from models.unit import Unit
from models.users import add_user
from notifications.render import render
from tests.support.portal import PASSWORD, Portal, running, sign_in
from tests.support.scenario import OFFICE

ROOT = Path(__file__).resolve().parent.parent
CST = ZoneInfo("Asia/Shanghai")
KINDS = (
    "round_opened",
    "reminder",
    "overdue",
    "report_returned",
    "extension_decided",
    "escalation_blue",
    "escalation_yellow",
    "escalation_red",
    "results_published",
)


def at(day: str, hour: int = 10) -> datetime:
    return datetime.fromisoformat(f"{day}T{hour:02d}:00:00").replace(tzinfo=CST)


def assignment_of(engine: Engine, task: int, unit: str) -> int:
    with reading(engine) as session:
        return session.exec(
            select(Assignment.id)
            .join(Task, col(Task.id) == col(Assignment.task_id))
            .join(Unit, col(Unit.id) == col(Assignment.unit_id))
            .where(Task.number == task, Unit.name == unit)
        ).one()


def liaison(engine: Engine, unit: str) -> Actor:
    with reading(engine) as session:
        unit_id = session.exec(select(Unit.id).where(Unit.name == unit)).one()
    return Actor(name=f"liaison:{unit}", role=Role.UNIT, unit_id=unit_id)


def run_the_cycle(engine: Engine, settings: Settings, tmp_path: Path) -> None:
    """A round from its opening to the 通报, enqueuing one message of every kind (and many more)."""
    with unit_of_work(engine) as session:
        sync_directory(
            session,
            read_directory(ROOT / "config/units/rugao.yaml"),
            actor=OFFICE,
            now=at("2022-09-01"),
        )
        reconcile(
            session,
            "2022",
            resolve(session, read_notice(ROOT / "tests/fixtures/seed-notice.txt")),
            actor=OFFICE,
            now=at("2022-09-01"),
            write=True,
        )
    with unit_of_work(engine) as session:
        round_id = open_round(
            session,
            plan_key="2022",
            name="2022年第三季度督导",
            report_by=date(2022, 9, 30),
            actor=OFFICE,
            now=at("2022-09-19", 9),
            cooperating_lead_days=2,
            task_numbers=[5, 11, 12],
        ).round.id  # a few units: each gets a user below
    market = assignment_of(engine, 12, "市市场监管局")
    with unit_of_work(engine) as session:
        submit_checkin(
            session,
            round_id=round_id,
            assignment_id=market,
            actor=liaison(engine, "市市场监管局"),
            now=at("2022-09-26"),
            text="已完成",
            percent=100,
            completed=True,
        )
    with unit_of_work(engine) as session:
        review_checkin(
            session,
            round_id=round_id,
            assignment_id=market,
            accept=False,
            actor=OFFICE,
            now=at("2022-09-26", 15),
            revision=1,
            reason="缺少抽检报告",
        )
    with unit_of_work(engine) as session:
        send_reminders(session, now=at("2022-09-27"), settings=settings, actor=SYSTEM_ACTOR)
    with unit_of_work(engine) as session:
        request_id = request_extension(
            session,
            assignment_id=assignment_of(engine, 11, "市卫生健康委"),
            until=date(2022, 10, 31),
            reason="疫情防控任务繁重",
            actor=liaison(engine, "市卫生健康委"),
            now=at("2022-09-28"),
            timezone="Asia/Shanghai",
            max_days=366,
        ).id
    with unit_of_work(engine) as session:
        decide_extension(
            session, request_id=request_id, approve=True, actor=OFFICE, now=at("2022-09-28", 15)
        )
    with unit_of_work(engine) as session:
        send_reminders(session, now=at("2022-09-30"), settings=settings, actor=SYSTEM_ACTOR)
    for day in ("2022-10-10", "2022-10-12", "2022-10-14"):
        with unit_of_work(engine) as session:
            escalate_stalled(session, now=at(day), settings=settings, actor=SYSTEM_ACTOR)
    from reports.compile import compile_report

    with unit_of_work(engine) as session:
        compile_report(
            session,
            plan=session.exec(select(Plan)).one(),
            round_=session.get(SupervisionRound, round_id),
            as_of=at("2022-10-14", 11),
            formats=["md"],
            out_dir=tmp_path / "reports",
            settings=settings,
            actor=OFFICE,
            now=at("2022-10-14", 11),
            publish=True,
        )


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.hrefs += [value for name, value in attrs if name == "href" and value]


URL = re.compile(r"https?://[^\s<>\"'）)，。；]+")


def urls_of(kind: str, lang: str, payload: dict, portal_url: str) -> dict[str, set[str]]:
    """Every URL of one rendered message, by where it was found."""
    message = render(
        kind,
        lang,
        payload,
        office="市未保办",
        portal_url=portal_url,
        recipient_name="联络员",
        created_at=datetime(2022, 10, 14, tzinfo=UTC),
    )
    parser = _Links()
    parser.feed(message.html)
    found = {
        "text": set(URL.findall(message.text)),
        "html": set(parser.hrefs) | set(URL.findall(message.html)),
    }
    ics: set[str] = set()
    for attachment in message.attachments:
        for event in Calendar.from_ical(attachment.data).walk("VEVENT"):
            ics.add(str(event.get("url")))
            ics |= set(URL.findall(str(event.get("description"))))
    found["ics"] = ics
    return found


def one_of_each_kind(engine: Engine) -> dict[str, Notification]:
    """The first message of each kind (a red digest names every stalled unit of the round)."""
    with reading(engine) as session:
        rows = session.exec(select(Notification).order_by(Notification.id)).all()
    first: dict[str, Notification] = {}
    for row in rows:
        first.setdefault(row.kind, row)
    return first


def unit_of(engine: Engine, path: str) -> tuple[int, str] | None:
    """(unit id, task title) of an assignment page's path; None for another kind of page."""
    found = re.fullmatch(r"/assignments/(\d+)", path)
    if not found:
        return None
    with reading(engine) as session:
        assignment = session.get(Assignment, int(found.group(1)))
        return assignment.unit_id, session.get(Task, assignment.task_id).title


class Users:
    """One signed-in browser per unit, made when first needed (users added while the portal
    runs)."""

    def __init__(self, portal: Portal) -> None:
        self.portal, self.clients = portal, {}

    def of(self, unit_id: int) -> httpx.Client:
        if unit_id not in self.clients:
            with unit_of_work(self.portal.engine) as session:
                name = session.get(Unit, unit_id).name
                add_user(
                    session,
                    username=f"unit{unit_id}",
                    role="unit",
                    password=PASSWORD,
                    unit_name=name,
                    actor=OFFICE,
                    now=datetime.now(UTC),
                )
            client = self.portal.client()
            signed = sign_in(client, f"unit{unit_id}")
            assert signed.status_code == 303, signed.text
            self.clients[unit_id] = client
        return self.clients[unit_id]

    def close(self) -> None:
        for client in self.clients.values():
            client.close()


@pytest.fixture
def cycle_portal(engine: Engine, database_url: str, tmp_path: Path):
    settings = Settings(home=tmp_path, database_url=database_url, dev_mode=True)
    run_the_cycle(engine, settings, tmp_path)
    with running(settings, engine) as portal:
        yield portal


def test_every_link_in_every_message_leads_to_its_item_after_sign_in_and_nowhere_for_others(
    cycle_portal: Portal,
) -> None:
    portal, engine = cycle_portal, cycle_portal.engine
    messages = one_of_each_kind(engine)
    assert set(messages) == set(KINDS)
    by_url: dict[str, set[str]] = defaultdict(set)  # url -> the kinds that carry it
    for kind, row in messages.items():
        for lang in ("zh", "en"):
            found = urls_of(kind, lang, row.payload, portal.url)
            item_urls = {
                where: {u for u in urls if urlparse(u).path not in ("", "/")}
                for where, urls in found.items()
            }
            assert item_urls["text"] and item_urls["html"], (kind, lang, found)
            assert item_urls["text"] == item_urls["html"], (kind, lang)
            if kind in ("round_opened", "reminder", "overdue"):
                assert item_urls["ics"] and item_urls["ics"] <= item_urls["text"], (
                    kind,
                    lang,
                    found["ics"],
                )
            for url in {u for urls in found.values() for u in urls}:
                assert url == portal.url or url.startswith(portal.url + "/"), url
                by_url[url].add(kind)

    users = Users(portal)
    education = session_unit = None
    with reading(engine) as session:
        education = session.exec(select(Unit.id).where(Unit.name == "市教育局")).one()
        session_unit = session.exec(select(Unit.id).where(Unit.name == "市公安局")).one()
    checked: dict[str, int] = defaultdict(int)
    try:
        with portal.client() as anonymous:
            for url, kinds in sorted(by_url.items()):
                path = urlparse(url).path
                if path in ("", "/"):
                    continue  # the portal's front door in every footer
                # Before login: the login page, keeping the link; signing in there lands on the
                # item.
                response = anonymous.get(url)
                assert response.status_code == 303, (url, response.status_code)
                login = urlparse(response.headers["location"])
                assert login.path == "/login" and parse_qs(login.query)["next"] == [path], (
                    response.headers
                )
                shown = anonymous.get(response.headers["location"])
                assert shown.status_code == 200 and 'action="/login"' in shown.text
                assert f'name="next" value="{path}"' in shown.text
                owner = unit_of(engine, path)
                if owner is None:
                    # The 通报: published to every unit of the round and to the leaders.
                    report = re.fullmatch(r"/reports/(\d+)", path)
                    assert report and kinds == {"results_published"}, (url, kinds)
                    page = users.of(education).get(url)
                    assert page.status_code == 200 and f"通报第 {report.group(1)} 期" in page.text
                    checked["report"] += 1
                    continue
                unit_id, title = owner
                page = users.of(unit_id).get(url)
                assert page.status_code == 200, (url, page.status_code)
                assert title in html.unescape(page.text), (url, title)
                other = education if unit_id != education else session_unit
                assert users.of(other).get(url).status_code == 404, url
                checked["assignment"] += 1
        # Signing in from the login page a link led to lands on the item.
        first = next(u for u in sorted(by_url) if "/assignments/" in u)
        unit_id, title = unit_of(engine, urlparse(first).path)
        users.of(unit_id)  # the user exists
        with portal.client() as fresh:
            landed = sign_in(fresh, f"unit{unit_id}", next=urlparse(first).path)
            assert landed.status_code == 303 and landed.headers["location"] == urlparse(first).path
            assert title in html.unescape(fresh.get(landed.headers["location"]).text)
    finally:
        users.close()
    assert checked["report"] == 1 and checked["assignment"] >= 5, checked


def test_a_link_from_a_message_sent_before_assignment_links_is_sent_on_to_its_assignment(
    cycle_portal: Portal,
) -> None:
    """Messages already in mailboxes named /checkins/ID: the portal forwards them, after the same
    checks."""
    portal = cycle_portal
    with reading(portal.engine) as session:
        checkin_id, assignment_id, unit_id = (
            session.exec(select(Notification.payload)).first()["items"][0]["checkin_id"],
            None,
            None,
        )
        from models.round import CheckIn

        checkin = session.get(CheckIn, checkin_id)
        assignment_id = checkin.assignment_id
        unit_id = session.get(Assignment, assignment_id).unit_id
        other = session.exec(
            select(Unit.id).where(Unit.id != unit_id, Unit.kind == "department")
        ).first()
    users = Users(portal)
    try:
        with portal.client() as anonymous:
            assert (
                anonymous.get(f"/checkins/{checkin_id}").headers["location"]
                == f"/login?next=/checkins/{checkin_id}"
            )
        forwarded = users.of(unit_id).get(f"/checkins/{checkin_id}")
        assert (
            forwarded.status_code == 303
            and forwarded.headers["location"] == f"/assignments/{assignment_id}"
        )
        assert users.of(other).get(f"/checkins/{checkin_id}").status_code == 404
    finally:
        users.close()
