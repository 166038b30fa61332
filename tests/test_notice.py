"""The printable 督办通知单 (issue 17 item 12): a level-2 or level-3 escalation as a Word document,
on the command line, the portal and the API.

The seed round is opened on Monday 19 September 2022 (due the 21st) and nobody files. Task 12
(开展质量守护行动) has one unit, 市市场监管局, listed without a role (负责). Its ladder:
- 22 Sep blue: not signed for 3 working days after the 19th (任务交办后长期未签收);
- 26 Sep yellow: the check-in due the 21st is 3 working days overdue (22, 23, 26), past the grace
  of 2 (检查报送逾期超过宽限期); the unit answers 2 working days on (`escalation_step_days`):
  27, 28 → 28 September;
- 28 Sep red, answered by 29, 30 → 30 September (National Day's rest starts on 1 October).
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from urllib.parse import unquote
from zoneinfo import ZoneInfo

import pytest
from docx import Document
from sqlalchemy import Engine
from sqlmodel import select

from config import Settings
from models.assignment import Assignment
from models.db import reading, unit_of_work
from models.escalation import Escalation
from models.plan import Plan, Task
from models.rounds import open_round
from models.unit import Unit
from models.users import add_user
from tests.support.browser import ARTIFACTS, needs_chromium
from tests.support.hostile import STORABLE, terminal_escapes_in
from tests.support.pages import check_page, signed_in_pages
from tests.support.portal import PASSWORD, USERS, Portal, running
from tests.support.scenario import OFFICE
from tests.support.seed_round import assignment_of, escalate, seed

CST = ZoneInfo("Asia/Shanghai")
DUBAN = str(Path(sys.executable).parent / "duban")
SHOTS = ARTIFACTS  # beside the browser tests' screenshots
PLAN_TITLE = "中国足彩网市未成年人保护工作领导小组2022年重点工作任务清单"


def _at(day: str) -> datetime:
    return datetime.fromisoformat(f"{day}T10:30").replace(tzinfo=CST)


@pytest.fixture
def ladder(engine: Engine, tmp_path: Path) -> Engine:
    """The seed with its users, the September round, and three escalation runs."""
    seed(engine)
    with unit_of_work(engine) as session:
        for username, (role, unit) in USERS.items():
            add_user(
                session,
                username=username,
                role=role,
                password=PASSWORD,
                unit_name=unit,
                actor=OFFICE,
                now=_at("2022-09-01"),
            )
        open_round(
            session,
            plan_key="2022",
            name="九月督导",
            report_by=datetime(2022, 9, 21).date(),
            actor=OFFICE,
            now=_at("2022-09-19"),
            cooperating_lead_days=2,
        )
    for day in ("2022-09-22", "2022-09-26", "2022-09-28"):
        escalate(engine, Settings(home=tmp_path), _at(day))
    return engine


def _levels(engine: Engine, task: int, unit: str) -> dict[int, Escalation]:
    """The task's escalations for the unit, by level."""
    assignment = assignment_of(engine, task, unit)
    with reading(engine) as session:
        found = session.exec(select(Escalation).where(Escalation.assignment_id == assignment))
        return {e.level: e for e in found}


def _text(docx: bytes) -> tuple[list[str], list[list[str]]]:
    """The document's paragraphs, and every table's rows as cell texts."""
    document = Document(io.BytesIO(docx))
    rows = [[c.text for c in r.cells] for t in document.tables for r in t.rows]
    return [p.text for p in document.paragraphs], rows


def _print(engine: Engine, reference: int | str, home: Path) -> bytes:
    from reports.notice import notice_docx, notice_of

    with reading(engine) as session:
        return notice_docx(notice_of(session, reference, Settings(home=home)))


def test_a_yellow_notice_says_number_level_task_unit_basis_action_and_deadline(
    ladder: Engine, tmp_path: Path
) -> None:
    levels = _levels(ladder, 12, "市市场监管局")
    blue, yellow = levels[1].number, levels[2].number
    paragraphs, rows = _text(_print(ladder, yellow, tmp_path))
    assert paragraphs[:4] == ["领导小组办公室", yellow, "督办通知单", "市市场监管局："]
    form = {label: text for label, text in rows[:8]}
    assert form["督办单编号"] == yellow
    assert form["督办级别"] == "二级督办（黄色催办）"
    assert (
        form["督办事项"] == "任务12：开展质量守护行动"
    )  # the importer drops the title's full stop
    assert form["具体内容"].startswith("实施校园食品安全守护行动。督促食品生产企业")
    assert form["具体内容"].endswith("……") and len(form["具体内容"]) == 122
    assert form["责任单位"] == "市市场监管局（负责）"
    # The ladder as it stood on the 26th: the red level of the 28th is not this notice's basis.
    assert form["督办依据"] == (
        f"根据《{PLAN_TITLE}》和督办工作有关规定。“九月督导”要求于2022年9月21日前报送。"
        "截至2022年9月26日，检查报送逾期超过宽限期。"
        f"督办经过：2022年9月22日蓝色提醒（{blue}）；2022年9月26日黄色催办（{yellow}）。"
    )
    assert form["办理要求"].startswith(
        "请贵单位主要负责同志高度重视，督促相关责任处室于2022年9月28日前报送本轮进展情况"
    )
    assert form["办结时限"] == "2022年9月28日前"
    # The 签收栏: the unit's name printed, the signer and the time left for the pen.
    assert rows[8] == ["签收单位", "签收人", "签收时间"]
    assert rows[9][:2] == ["市市场监管局", ""] and "年" in rows[9][2]
    assert paragraphs[-2:] == ["领导小组办公室", "2022年9月26日"]


def test_a_red_notice_goes_to_the_consultation_and_is_answered_before_national_day(
    ladder: Engine, tmp_path: Path
) -> None:
    levels = _levels(ladder, 12, "市市场监管局")
    paragraphs, rows = _text(_print(ladder, levels[3].id or 0, tmp_path))
    form = dict(rows[:8])  # type: ignore[arg-type]
    assert form["督办级别"] == "三级督办（红色提请协调）"
    assert form["办结时限"] == "2022年9月30日前"
    assert form["办理要求"].startswith(
        "本事项已提请协调机制研究，列入下次会商会议议题。请贵单位于2022年9月30日前报送本轮进展情况"
    )
    assert form["督办依据"].endswith(f"2022年9月28日红色提请协调（{levels[3].number}）。")
    assert paragraphs[-1] == "2022年9月28日"


def test_a_blue_reminder_and_the_office_s_own_backlog_print_no_notice(
    ladder: Engine, tmp_path: Path
) -> None:
    from models.errors import NotFound
    from reports.notice import NoNoticeAtLevel, NoNoticeForOffice

    blue = _levels(ladder, 12, "市市场监管局")[1]
    with pytest.raises(NoNoticeAtLevel) as refused:
        _print(ladder, blue.number or "", tmp_path)
    assert refused.value.message() == (
        f"督办单 {blue.number} 为蓝色提醒（第一级），不印发督办通知单；二级、三级督办方可打印。"
    )
    with unit_of_work(ladder) as session:  # the same rows, as the office's own stall
        office = session.get_one(Escalation, _levels(ladder, 12, "市市场监管局")[2].id)
        office.stall = "unreviewed"
        session.add(office)
    with pytest.raises(NoNoticeForOffice):
        _print(ladder, office.id or 0, tmp_path)
    with pytest.raises(NotFound):
        _print(ladder, "督〔2099〕001号", tmp_path)


def _hostile(engine: Engine, assignment_id: int, value: str) -> None:
    """The assignment's task title and unit name become the hostile value."""
    with unit_of_work(engine) as session:
        assignment = session.get_one(Assignment, assignment_id)
        task = session.get_one(Task, assignment.task_id)
        unit = session.get_one(Unit, assignment.unit_id)
        task.title, unit.name = value, value[:200]  # a unit's name is at most 200 characters
        session.add_all([task, unit])


def test_hostile_task_titles_and_unit_names_make_a_valid_document(
    ladder: Engine, tmp_path: Path
) -> None:
    from escaping.xml import xml_text
    from reports.notice import notice_filename, notice_of

    yellow = _levels(ladder, 12, "市市场监管局")[2]
    for value in STORABLE:
        _hostile(ladder, yellow.assignment_id, value)
        paragraphs, rows = _text(_print(ladder, yellow.id or 0, tmp_path))  # python-docx opens it
        form = dict(rows[:8])  # type: ignore[arg-type]
        # What XML cannot hold (ESC, BEL) is written as its escape; the rest as typed.
        assert form["督办事项"] == f"任务12：{xml_text(value)}", value[:40]
        assert form["责任单位"].startswith(xml_text(value[:200])), value[:40]
        assert not terminal_escapes_in("".join(paragraphs) + form["督办事项"] + form["责任单位"])
        with reading(ladder) as session:
            name = notice_filename(notice_of(session, yellow.id or 0, Settings(home=tmp_path)))
        assert name.startswith("督办通知单-") and name.endswith(".docx") and len(name) <= 160
        assert not set(name) & set('/\\:*?"<>|\x00\x1b\x07\n\r\t '), name
    assert xml_text(STORABLE[7]) == STORABLE[7]  # the check is not empty: most values pass as typed


def _cli(home: Path, url: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DUBAN_")}
    environment |= {"DUBAN_HOME": str(home), "DUBAN_DATABASE_URL": url, "DUBAN_LANG": "zh"}
    return subprocess.run(
        [DUBAN, *args], capture_output=True, text=True, env=environment, cwd=cwd, timeout=120
    )


def test_the_command_prints_under_a_chinese_name_and_refuses_blue_and_unknown_items(
    ladder: Engine, database_url: str, tmp_path: Path
) -> None:
    levels = _levels(ladder, 12, "市市场监管局")
    folder = tmp_path / "out"
    folder.mkdir()
    done = _cli(tmp_path, database_url, "escalation", "print", str(levels[2].id), cwd=folder)
    assert done.returncode == 0, done.stderr
    name = f"督办通知单-{levels[2].number}-市市场监管局.docx"
    assert [p.name for p in folder.iterdir()] == [name]
    assert _text((folder / name).read_bytes())[1][0] == ["督办单编号", levels[2].number]
    chosen = folder / "red.docx"
    done = _cli(
        tmp_path, database_url, "escalation", "print", levels[3].number or "", "-o", str(chosen),
        cwd=folder,
    )  # fmt: skip
    assert done.returncode == 0 and chosen.is_file(), done.stderr
    blue = _cli(tmp_path, database_url, "escalation", "print", str(levels[1].id), cwd=folder)
    assert blue.returncode == 2 and "蓝色提醒（第一级），不印发督办通知单" in blue.stderr
    unknown = _cli(tmp_path, database_url, "escalation", "print", "99999", cwd=folder)
    assert unknown.returncode == 3 and "未找到督办事项：99999" in unknown.stderr
    for refused in (blue, unknown):
        assert "Traceback" not in refused.stderr and len(refused.stderr.strip().splitlines()) == 1
    assert sorted(p.name for p in folder.iterdir()) == sorted([name, "red.docx"])  # no leftovers


@pytest.mark.skipif(not Path("/usr/bin/soffice").exists(), reason="LibreOffice is not installed")
def test_libreoffice_opens_the_notice_as_word_and_renders_one_page(
    ladder: Engine, backend: str, tmp_path: Path
) -> None:
    if backend != "sqlite":
        pytest.skip("one conversion is enough: the document does not depend on the database")
    from pypdf import PdfReader

    levels = _levels(ladder, 12, "市市场监管局")
    source = tmp_path / "notice.docx"
    source.write_bytes(_print(ladder, levels[3].id or 0, tmp_path))
    profile = (tmp_path / "lo-profile").as_uri()
    subprocess.run(
        ["soffice", f"-env:UserInstallation={profile}", "--headless", "--convert-to", "pdf",
         "--outdir", str(tmp_path), str(source)],
        check=True, capture_output=True, timeout=180,
    )  # fmt: skip
    pdf = PdfReader(tmp_path / "notice.pdf")
    assert len(pdf.pages) == 1  # the form and its 签收栏 on one sheet
    text = pdf.pages[0].extract_text()
    for words in ("督办通知单", "三级督办", "签收栏", "2022年9月30日"):
        assert words in text.replace(" ", ""), words
    import pypdfium2

    SHOTS.mkdir(parents=True, exist_ok=True)
    pypdfium2.PdfDocument(str(tmp_path / "notice.pdf"))[0].render(scale=1.4).to_pil().save(
        SHOTS / "notice-red-libreoffice.png"
    )


@pytest.fixture
def portal(ladder: Engine, database_url: str, tmp_path: Path) -> Iterator[Portal]:
    settings = Settings(home=tmp_path, database_url=database_url, dev_mode=True)
    with running(settings, ladder) as found:
        yield found


def _filename(response) -> str:
    header = response.headers["content-disposition"]
    assert header.isascii()
    return unquote(header.split("filename*=UTF-8''")[1])


def test_the_portal_prints_for_the_office_and_the_unit_concerned_only(portal: Portal) -> None:
    levels = _levels(portal.engine, 12, "市市场监管局")
    yellow, red = levels[2], levels[3]
    path = f"/escalations/{red.id}/notice"
    with portal.login("office") as office:
        desk = office.get("/escalations?unit=市市场监管局&task=12").text
        assert f'href="{path}"' in desk  # the item's red level, on its desk row
        page = office.get(f"/assignments/{red.assignment_id}").text
        assert f'href="/escalations/{yellow.id}/notice"' in page and f'href="{path}"' in page
        assert f'href="/escalations/{levels[1].id}/notice"' not in page  # blue: no notice
        printed = office.get(path)
        assert printed.status_code == 200
        assert printed.headers["content-type"].startswith("application/vnd.openxmlformats")
        assert _filename(printed) == f"督办通知单-{red.number}-市市场监管局.docx"
        assert _text(printed.content)[1][1] == ["督办级别", "三级督办（红色提请协调）"]
        blue = office.get(f"/escalations/{levels[1].id}/notice")
        assert (
            blue.status_code == 400 and "不印发督办通知单" in blue.text and 'href="/"' in blue.text
        )
        assert office.get("/escalations/99999/notice").status_code == 404
    with portal.login("market") as market:
        page = market.get(f"/assignments/{red.assignment_id}").text
        assert f'href="{path}"' in page
        assert market.get(path).status_code == 200
    with portal.login("edu") as edu:  # another unit: as its assignment page, not found
        refused = edu.get(path)
        assert refused.status_code == 404 and "未找到" in refused.text
    with portal.login("leader") as leader:
        refused = leader.get(path)
        assert refused.status_code == 403 and "无权" in refused.text
    with portal.client() as api:
        got = api.get(f"/api/v1{path}", headers=portal.token("market"))
        assert got.status_code == 200 and _text(got.content)[1][0] == ["督办单编号", red.number]
        for user, status in (("edu", 404), ("leader", 403), ("auditor", 403)):
            refused = api.get(f"/api/v1{path}", headers=portal.token(user))
            assert refused.status_code == status, user
            assert refused.json()["detail"]
        blue = api.get(f"/api/v1/escalations/{levels[1].id}/notice", headers=portal.token("office"))
        assert blue.status_code == 400 and "不印发督办通知单" in blue.json()["detail"]


def test_an_archived_plan_s_notice_still_prints(portal: Portal) -> None:
    """Printing reads: archiving (its own tests cover when it is allowed) does not stop it."""
    red = _levels(portal.engine, 12, "市市场监管局")[3]
    with unit_of_work(portal.engine) as session:
        plan = session.exec(select(Plan)).one()
        plan.archived_at = datetime(2022, 12, 31, tzinfo=CST)
        session.add(plan)
    with portal.login("office") as office:
        assert office.get(f"/escalations/{red.id}/notice").status_code == 200
    with reading(portal.engine) as session:
        assert session.exec(select(Assignment).where(Assignment.id == red.assignment_id)).one()


@needs_chromium
def test_the_print_links_in_chromium(portal: Portal, browser, backend: str) -> None:
    if backend != "sqlite":
        pytest.skip("one browser run is enough: the HTTP tests cover both databases")
    red = _levels(portal.engine, 12, "市市场监管局")[3]
    SHOTS.mkdir(parents=True, exist_ok=True)
    with signed_in_pages(browser, portal.url, "office") as pages:
        for width, page in pages.items():
            page.goto(f"{portal.url}/escalations?unit=市市场监管局")
            check_page(page, "escalations-print")
            page.screenshot(path=str(SHOTS / f"desk-{width}.png"), full_page=True)
            page.goto(f"{portal.url}/assignments/{red.assignment_id}#escalations")
            check_page(page, "assignment-print")
            page.locator("#escalations").screenshot(path=str(SHOTS / f"assignment-{width}.png"))
        page = pages[min(pages)]
        with page.expect_download() as download:
            page.locator(f'#escalations a[href="/escalations/{red.id}/notice"]').click()
        assert download.value.suggested_filename == f"督办通知单-{red.number}-市市场监管局.docx"
