"""Filings and their review: only a check-in moves an assignment, and the office's review names what
it read.

Over real HTTP (the portal and the API), the real CLI and the domain, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from models import workflow
from models.assignment import Assignment
from models.audit import AuditEvent
from models.db import reading, unit_of_work
from models.errors import FilingRequired
from models.lifecycle import Action, State
from models.round import CheckIn, CheckInState
from models.rounds import open_round as open_scenario_round
from tests.support import scenario
from tests.support.cli import duban
from tests.support.portal import Portal, csrf_of, serve_seeded

CHANGED = "已被修改，请刷新后重新审核"


@pytest.fixture
def portal(engine: Engine, database_url: str, tmp_path: Path) -> Iterator[Portal]:
    yield from serve_seeded(engine, database_url, tmp_path, upload_max_mb=0.5)


def row(engine: Engine, assignment_id: int) -> Assignment:
    with reading(engine) as session:
        return session.get(Assignment, assignment_id)


def checkin_of(engine: Engine, assignment_id: int) -> CheckIn:
    with reading(engine) as session:
        return session.exec(select(CheckIn).where(CheckIn.assignment_id == assignment_id)).one()


def events(engine: Engine, action: str) -> int:
    with reading(engine) as session:
        return len(session.exec(select(AuditEvent).where(AuditEvent.action == action)).all())


# --- item 4: only a filing moves an assignment
# -----------------------------------------------------


@pytest.mark.parametrize("action", [Action.PROGRESS, Action.REPORT])
@pytest.mark.parametrize("who", ["unit", "office"])
def test_no_one_reaches_progress_or_reported_without_a_check_in(
    engine: Engine, now: datetime, action: Action, who: str
) -> None:
    plan = scenario.build(engine, now)
    actor = plan.unit_actor("市市场监管局") if who == "unit" else scenario.OFFICE
    with unit_of_work(engine) as session:
        workflow.sign(session, assignment_id=plan.market, actor=actor, now=now)
    before = row(engine, plan.market)
    with pytest.raises(FilingRequired) as refused, unit_of_work(engine) as session:
        workflow.take_action(
            session,
            assignment_id=plan.market,
            action=action,
            actor=actor,
            now=now + timedelta(days=3),
        )
    assert "请填写报送表" in refused.value.message(
        "zh"
    ) and f"#{plan.market}" in refused.value.message("zh")
    after = row(engine, plan.market)
    assert (after.state, after.version, after.last_activity_at) == (
        State.IN_PROGRESS,
        before.version,
        before.last_activity_at,
    )


def test_a_progress_check_in_cannot_carry_the_completion_move(
    engine: Engine, now: datetime
) -> None:
    plan = scenario.build(engine, now)
    market = plan.unit_actor("市市场监管局")
    with unit_of_work(engine) as session:
        workflow.sign(session, assignment_id=plan.market, actor=market, now=now)
    with pytest.raises(FilingRequired), unit_of_work(engine) as session:
        progress = scenario.filing(session, plan.market, completed=False, now=now)
        workflow.take_action(
            session,
            assignment_id=plan.market,
            action=Action.REPORT,
            actor=market,
            now=now,
            filing=progress,
        )
    with (
        pytest.raises(FilingRequired),
        unit_of_work(engine) as session,
    ):  # another assignment's report
        elsewhere = scenario.filing(session, plan.police, completed=True, now=now)
        workflow.take_action(
            session,
            assignment_id=plan.market,
            action=Action.REPORT,
            actor=market,
            now=now,
            filing=elsewhere,
        )
    assert row(engine, plan.market).state == State.IN_PROGRESS


@pytest.mark.parametrize("action", ["report", "progress"])
def test_a_unit_pressing_report_or_progress_in_the_portal_moves_nothing(
    portal: Portal, action: str
) -> None:
    own = portal.assignment(12, "市市场监管局")
    with portal.login("market") as market:
        assert (
            market.post(
                f"/assignments/{own}/act/sign",
                data={"csrf": csrf_of(market.get(f"/assignments/{own}").text)},
            ).status_code
            == 303
        )
        before = row(portal.engine, own)
        page = market.get(f"/assignments/{own}").text
        pressed = market.post(
            f"/assignments/{own}/act/{action}",
            data={"csrf": csrf_of(page), "version": str(before.version)},
        )
    assert pressed.status_code == 409
    assert "请填写报送表" in pressed.text and "text/html" in pressed.headers["content-type"]
    after = row(portal.engine, own)
    assert (after.state, after.version, after.last_activity_at) == (
        State.IN_PROGRESS,
        before.version,
        before.last_activity_at,
    )
    assert checkin_of(portal.engine, own).state == CheckInState.PENDING


def test_the_api_reaches_reported_only_with_a_completion_check_in(portal: Portal) -> None:
    own = portal.assignment(12, "市市场监管局")
    headers = portal.token("market")
    with portal.client() as api:
        for action in ("report", "progress"):  # no bare move through the API either
            assert api.post(
                f"/api/v1/assignments/{own}/act/{action}", headers=headers
            ).status_code in (404, 405)
        assert row(portal.engine, own).state == State.ASSIGNED
        progress = api.post(
            f"/api/v1/assignments/{own}/checkins", headers=headers, json={"text": "完成30%"}
        )
        assert progress.status_code == 201 and row(portal.engine, own).state == State.IN_PROGRESS
        done = api.post(
            f"/api/v1/assignments/{own}/checkins",
            headers=headers,
            json={"text": "已全部完成", "completed": True},
        )
        assert done.status_code == 201
    assert row(portal.engine, own).state == State.REPORTED
    assert (
        checkin_of(portal.engine, own).state == CheckInState.SUBMITTED
    )  # something for the office to review


# --- item 3: the office's review names the filing it read
# ------------------------------------------


def test_the_office_cannot_accept_a_filing_changed_after_it_opened_the_review(
    portal: Portal,
) -> None:
    own = portal.assignment(12, "市市场监管局")
    with portal.login("market") as market, portal.login("office") as office:
        market.post(
            f"/assignments/{own}/checkins",
            data={
                "csrf": csrf_of(market.get(f"/assignments/{own}").text),
                "text": "完成30%",
                "percent": "30",
            },
        )
        review_page = office.get("/review").text  # the office reads 完成30%
        assert "完成30%" in review_page and 'name="revision" value="1"' in review_page
        checkin = review_page.split('data-checkin="')[1].split('"')[0]
        # Meanwhile the unit files again, now as its completion report.
        market.post(
            f"/assignments/{own}/checkins",
            data={
                "csrf": csrf_of(market.get(f"/assignments/{own}").text),
                "text": "已全部完成",
                "percent": "100",
                "completed": "on",
            },
        )
        accepted = office.post(
            f"/review/{checkin}/accept", data={"csrf": csrf_of(review_page), "revision": "1"}
        )
        assert accepted.status_code == 409 and CHANGED in accepted.text
        returned = office.post(
            f"/review/{checkin}/return",
            data={"csrf": csrf_of(review_page), "revision": "1", "reason": "进度偏慢"},
        )
        assert returned.status_code == 409 and CHANGED in returned.text
        nameless = office.post(f"/review/{checkin}/accept", data={"csrf": csrf_of(review_page)})
        assert nameless.status_code == 400 and "revision" in nameless.text
        filing = checkin_of(portal.engine, own)
        assert (filing.state, filing.revision, filing.text) == (
            CheckInState.SUBMITTED,
            2,
            "已全部完成",
        )
        assert row(portal.engine, own).state == State.REPORTED
        assert (
            events(portal.engine, "checkin.accept") == events(portal.engine, "checkin.return") == 0
        )

        fresh = office.get(
            "/review"
        ).text  # reloaded: the office now reads what is there, and accepts it
        assert "已全部完成" in fresh and 'name="revision" value="2"' in fresh
        assert (
            office.post(
                f"/review/{checkin}/accept", data={"csrf": csrf_of(fresh), "revision": "2"}
            ).status_code
            == 303
        )
    assert row(portal.engine, own).state == State.VERIFIED
    assert checkin_of(portal.engine, own).state == CheckInState.ACCEPTED


def test_the_api_review_names_the_revision_it_read(portal: Portal) -> None:
    own = portal.assignment(12, "市市场监管局")
    unit, office = portal.token("market"), portal.token("office")
    with portal.client() as api:
        filed = api.post(
            f"/api/v1/assignments/{own}/checkins",
            headers=unit,
            json={"text": "完成30%", "percent": 30},
        )
        checkin = filed.json()["id"]
        read = api.get(f"/api/v1/checkins/{checkin}", headers=office).json()
        assert (read["text"], read["revision"]) == ("完成30%", 1)
        api.post(
            f"/api/v1/assignments/{own}/checkins",
            headers=unit,
            json={"text": "已全部完成", "completed": True},
        )
        stale = api.post(
            f"/api/v1/checkins/{checkin}/review",
            headers=office,
            json={"decision": "accept", "revision": 1},
        )
        assert stale.status_code == 409 and CHANGED in stale.json()["detail"]
        assert checkin_of(portal.engine, own).state == CheckInState.SUBMITTED
        assert row(portal.engine, own).state == State.REPORTED
        assert (
            api.post(
                f"/api/v1/checkins/{checkin}/review",
                headers=unit,
                json={"decision": "accept", "revision": 2},
            ).status_code
            == 403
        )  # a unit never reviews
        fresh = api.post(
            f"/api/v1/checkins/{checkin}/review",
            headers=office,
            json={"decision": "accept", "revision": 2},
        )
        assert fresh.status_code == 200 and fresh.json()["state"] == "accepted"
    assert row(portal.engine, own).state == State.VERIFIED


def test_the_cli_review_names_the_revision_it_read(
    engine: Engine, database_url: str, tmp_path: Path, now: datetime
) -> None:
    plan = scenario.build(engine, now)
    with unit_of_work(engine) as session:
        open_scenario_round(
            session,
            plan_key="2022",
            name="第三季度",
            report_by=date(2022, 9, 30),
            actor=scenario.OFFICE,
            now=now,
            cooperating_lead_days=2,
        )

    def run(*args: str, code: int = 0) -> str:
        result = duban(*args, home=tmp_path, url=database_url)
        assert result.returncode == code, result.stdout + result.stderr
        assert "Traceback" not in result.stderr
        return result.stdout + result.stderr

    run(
        "checkin",
        "submit",
        "--task",
        "12",
        "--unit",
        "市市场监管局",
        "--text",
        "完成30%",
        "--percent",
        "30",
        "--now",
        "2022-09-06T10:00:00+08:00",
    )
    assert "第1次报送（审核时 --revision 1）" in run("round", "show", "第三季度")
    run(
        "checkin",
        "submit",
        "--task",
        "12",
        "--unit",
        "市市场监管局",
        "--text",
        "已全部完成",
        "--completed",
        "--now",
        "2022-09-06T11:00:00+08:00",
    )
    refused = run(
        "review", "accept", "--task", "12", "--unit", "市市场监管局", "--revision", "1", code=5
    )
    assert CHANGED in refused and len(refused.strip().splitlines()) == 1
    filing = checkin_of(engine, plan.market)
    assert (filing.state, filing.revision, filing.text) == (CheckInState.SUBMITTED, 2, "已全部完成")
    assert row(engine, plan.market).state == State.REPORTED
    assert "已审核通过" in run(
        "review", "accept", "--task", "12", "--unit", "市市场监管局", "--revision", "2"
    )
    assert checkin_of(engine, plan.market).state == CheckInState.ACCEPTED
    assert row(engine, plan.market).state == State.VERIFIED


def test_a_review_and_a_new_filing_at_the_same_moment_never_both_land(
    engine: Engine, now: datetime
) -> None:
    """Threads started together: either the review lands (and the late filing is refused) or the
    filing does (and the review of what it replaced is refused); never both, on each backend's real
    locking."""
    import threading

    from models.checkins import CheckInChanged, CheckInNotOpen, review_checkin, submit_checkin

    plan = scenario.build(engine, now)
    with unit_of_work(engine) as session:
        round_id = open_scenario_round(
            session,
            plan_key="2022",
            name="第三季度",
            report_by=date(2022, 9, 30),
            actor=scenario.OFFICE,
            now=now,
            cooperating_lead_days=2,
        ).round.id
    trials = {
        plan.market: "市市场监管局",
        plan.police: "市公安局",
        plan.procuratorate: "市检察院",
        plan.lead: "市教育局",
    }
    for assignment_id, unit in trials.items():
        with unit_of_work(engine) as session:
            submit_checkin(
                session,
                round_id=round_id,
                assignment_id=assignment_id,
                actor=plan.unit_actor(unit),
                now=now,
                text="完成30%",
                percent=30,
            )
        outcome: dict[str, str] = {}
        barrier = threading.Barrier(2)

        def review() -> None:
            barrier.wait()
            try:
                with unit_of_work(engine) as session:
                    review_checkin(
                        session,
                        round_id=round_id,
                        assignment_id=assignment_id,
                        accept=True,
                        actor=scenario.OFFICE,
                        now=now,
                        revision=1,
                    )
                outcome["review"] = "landed"
            except CheckInChanged:
                outcome["review"] = "refused"

        def refile() -> None:
            barrier.wait()
            try:
                with unit_of_work(engine) as session:
                    submit_checkin(
                        session,
                        round_id=round_id,
                        assignment_id=assignment_id,
                        actor=plan.unit_actor(unit),
                        now=now,
                        text="完成60%",
                        percent=60,
                    )
                outcome["filing"] = "landed"
            except CheckInNotOpen:
                outcome["filing"] = "refused"

        threads = [threading.Thread(target=review), threading.Thread(target=refile)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        filing = checkin_of(engine, assignment_id)
        # An accepted progress report still takes the next filing (issue 16): the review may land
        # first and the filing after it, as a new revision on top; never the review of a filing
        # replaced before it.
        if outcome["review"] == "landed" and outcome["filing"] == "refused":
            assert (filing.state, filing.revision, filing.text) == (
                CheckInState.ACCEPTED,
                1,
                "完成30%",
            )
        elif outcome["review"] == "landed":
            assert (filing.state, filing.revision, filing.text, filing.reviewed_by) == (
                CheckInState.SUBMITTED,
                2,
                "完成60%",
                scenario.OFFICE.name,
            )
        else:
            assert outcome == {"review": "refused", "filing": "landed"}, outcome
            assert (filing.state, filing.revision, filing.text) == (
                CheckInState.SUBMITTED,
                2,
                "完成60%",
            )


def _menu_badge(html: str) -> str | None:
    import re

    menu = re.search(r'<nav aria-label="主菜单">(.*?)</nav>', html, re.S).group(1)
    found = re.search(r'<a href="/review">审核<span class="badge">(\d+)<span class="sr">', menu)
    return found.group(1) if found else None


def test_the_office_s_menu_counts_the_filings_awaiting_its_review(portal: Portal) -> None:
    """Two units file; the office sees 2 beside 审核 on every page, 1 after accepting one, none
    when the queue is empty; a unit's menu has no such count."""
    filed = {}
    for number, unit, user in ((12, "市市场监管局", "market"), (5, "市教育局", "edu")):
        own = portal.assignment(number, unit)
        with portal.login(user) as liaison:
            liaison.post(
                f"/assignments/{own}/checkins",
                data={
                    "csrf": csrf_of(liaison.get(f"/assignments/{own}").text),
                    "text": "完成30%",
                    "percent": "30",
                },
            )
            assert _menu_badge(liaison.get("/inbox").text) is None
        filed[user] = checkin_of(portal.engine, own).id
    with portal.login("office") as office:
        assert _menu_badge(office.get("/dashboard").text) == "2"
        assert _menu_badge(office.get("/rounds").text) == "2"
        review = office.get("/review").text
        office.post(
            f"/review/{filed['market']}/accept", data={"csrf": csrf_of(review), "revision": "1"}
        )
        assert _menu_badge(office.get("/rounds").text) == "1"
        review = office.get("/review").text
        office.post(
            f"/review/{filed['edu']}/return",
            data={"csrf": csrf_of(review), "revision": "1", "reason": "请补充台账"},
        )
        assert _menu_badge(office.get("/rounds").text) is None


def test_a_returned_filing_comes_back_in_the_form_beside_the_office_s_reason(
    portal: Portal,
) -> None:
    """The unit refiles what the office returned: the form holds the returned text, percent and
    problems, and the reason stands right above it, so nothing is retyped and nothing guessed."""
    own = portal.assignment(12, "市市场监管局")
    with portal.login("market") as market:
        market.post(
            f"/assignments/{own}/checkins",
            data={
                "csrf": csrf_of(market.get(f"/assignments/{own}").text),
                "text": "已完成全市抽检<b>120</b>批次",
                "percent": "60",
                "problems": "检测经费不足",
            },
        )
    with portal.login("office") as office:
        review = office.get("/review").text
        checkin = review.split('data-checkin="')[1].split('"')[0]
        office.post(
            f"/review/{checkin}/return",
            data={"csrf": csrf_of(review), "revision": "1", "reason": "请附抽检台账"},
        )
    with portal.login("market") as market:
        html = market.get(f"/assignments/{own}").text
    filing = html[
        html.index('<h2 id="filing">') : html.index("</form>", html.index('id="filing-form"'))
    ]
    assert "已退回：请附抽检台账" in filing
    assert "已填入被退回的第 1 次报送" in filing
    assert (
        '<textarea name="text" required rows="4">'
        "已完成全市抽检&lt;b&gt;120&lt;/b&gt;批次</textarea>" in filing
    )
    assert 'name="percent" type="number" min="0" max="100" value="60"' in filing
    assert ">检测经费不足</textarea>" in filing
