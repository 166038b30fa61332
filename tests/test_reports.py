"""The 通报: figures against a round worked out by hand, each file opened with its own library.

The round (tests/support/scenario.py): task 5 — 市教育局 leads, 市公安局 and
市检察院 cooperate; task 12 — 市市场监管局 alone. "第三季度" opens Monday 19
September 2022, due Friday 30 September; the cooperating units are due two
working days earlier, Wednesday 28 September.

  市公安局     progress 50%, 27 Sep; then nothing for 10 working days -> on time, idle
  市检察院     completion, 30 Sep, with a problem; never reviewed  -> late
  市市场监管局  completion 30 Sep; returned 8 Oct (a make-up working Saturday);
               filed again 10 Oct; accepted 11 Oct                -> on time, verified, one return
  市教育局     nothing                                              -> missing, overdue

By 14 October 市教育局 is 7 working days overdue (8 and 9 October were
working days, 1-7 October were not).
"""

from __future__ import annotations

import warnings
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import func, select

from config import Settings
from models.checkins import review_checkin, submit_checkin
from models.db import reading, unit_of_work
from models.escalation import Escalation
from models.escalations import escalate_stalled
from models.lifecycle import SYSTEM_ACTOR
from models.notification import Notification
from models.plan import Plan
from models.results import ResultsReport
from models.round import SupervisionRound
from models.rounds import open_round
from reports.compile import FORMATS, compile_report
from reports.results import compute, end_of_day
from tests.support import scenario
from tests.support.scenario import OFFICE
from tests.support.seed_round import ROOT, at

ROUND = "第三季度"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path)


@pytest.fixture
def played(engine: Engine, settings: Settings) -> tuple[Engine, scenario.Scenario, int]:
    """The round above, played out to 14 October 10:00."""
    s = scenario.build(engine, at("2022-09-01"))
    with unit_of_work(engine) as session:
        round_id = open_round(
            session,
            plan_key="2022",
            name=ROUND,
            report_by=date(2022, 9, 30),
            actor=OFFICE,
            now=at("2022-09-19"),
            cooperating_lead_days=2,
        ).round.id

    def submit(unit: str, assignment: int, day: str, **details) -> None:
        with unit_of_work(engine) as session:
            submit_checkin(
                session,
                round_id=round_id,
                assignment_id=assignment,
                actor=s.unit_actor(unit),
                now=at(day),
                **details,
            )

    def review(
        assignment: int, day: str, accept: bool, reason: str | None = None, revision: int = 1
    ) -> None:
        with unit_of_work(engine) as session:
            review_checkin(
                session,
                round_id=round_id,
                assignment_id=assignment,
                accept=accept,
                actor=OFFICE,
                now=at(day),
                revision=revision,
                reason=reason,
            )

    submit("市公安局", s.police, "2022-09-27", text="开展校园周边治安整治", percent=50)
    submit(
        "市检察院",
        s.procuratorate,
        "2022-09-30",
        text="已完成法治副校长全覆盖",
        completed=True,
        problems="需市财政局协调专项经费",
    )
    submit("市市场监管局", s.market, "2022-09-30", text="检查学校食堂120家", completed=True)
    review(s.market, "2022-10-08", accept=False, reason="缺少检查台账")
    submit("市市场监管局", s.market, "2022-10-10", text="补充检查台账", completed=True, percent=100)
    review(s.market, "2022-10-11", accept=True, revision=2)
    for day in ("2022-10-12", "2022-10-14"):
        with unit_of_work(engine) as session:
            escalate_stalled(session, now=at(day), settings=settings, actor=SYSTEM_ACTOR)
    return engine, s, round_id


def results_at(engine: Engine, settings: Settings, round_id: int, day: str):
    with reading(engine) as session:
        round_ = session.get(SupervisionRound, round_id)
        plan = session.get(Plan, round_.plan_id)
        return compute(
            session,
            plan=plan,
            round_=round_,
            as_of=end_of_day(date.fromisoformat(day), settings.timezone),
            timezone=settings.timezone,
            rules=settings.cycle,
            issuer=settings.office_name,
        )


def test_the_headline_figures_match_the_round_worked_out_by_hand(
    played, settings: Settings
) -> None:
    engine, _, round_id = played
    r = results_at(engine, settings, round_id, "2022-10-14")
    h = r.headline
    assert (h["tasks"], h["assignments"], h["checkins"]) == (2, 4, 4)
    assert (h["on_time"], h["late"], h["missing"], h["pending"]) == (2, 1, 1, 0)
    assert (h["verified"], h["returned"]) == (1, 1)
    assert h["completion_rate"] == 0.25 and h["on_time_rate"] == 0.5
    # 12 Oct: 市教育局 overdue past the grace period, 市检察院's report unreviewed -> blue;
    # 14 Oct, two working days on: both yellow, and 市公安局 idle for 10 working days since 27 Sep
    # -> blue. Five 督办单 in all; each item counts once at its highest level, and the unreviewed
    # report is the office's own backlog, not a unit's: 市公安局 blue, 市教育局 yellow.
    assert h["escalations"] == {"1": 1, "2": 1, "3": 0}
    with reading(engine) as session:
        assert session.exec(select(func.count()).select_from(Escalation)).one() == 5
    # 市检察院 filed 30 Sep and waits: 8, 9 (make-up working days), 10-14 Oct = 7 working days.
    assert h["office_review"] == {"items": 1, "longest_days": 7, "past_limit": 1}
    assert h["task_lights"] == {"green": 1, "yellow": 0, "red": 1, "grey": 0}


def test_per_task_per_unit_and_overdue(played, settings: Settings) -> None:
    engine, _, round_id = played
    r = results_at(engine, settings, round_id, "2022-10-14")
    task5, task12 = r.tasks
    assert (task5.number, task5.light, task5.lead_units) == (5, "red", ["市教育局"])
    assert (task12.light, task12.lead_units, task12.completion_rate) == (
        "green",
        ["市市场监管局"],
        1.0,
    )
    lines = {line.unit: line for line in task5.lines}
    assert (
        lines["市检察院"].state == "reported"
        and lines["市检察院"].latest.text == "已完成法治副校长全覆盖"
    )
    assert lines["市公安局"].latest.percent == 50 and lines["市教育局"].latest.status == "missing"
    assert task5.problems == [("市检察院", "需市财政局协调专项经费")]
    assert task12.lines[0].latest.text == "补充检查台账" and task12.lines[0].latest.returns == 1

    ranking = [(u.rank, u.name, u.on_time_rate) for u in r.units]
    # 市检察院 and 市教育局 tie on rates; the office's delay in reviewing is not 市检察院's 督办, so
    # it has none and ranks ahead.
    assert ranking == [
        (1, "市市场监管局", 1.0),
        (2, "市公安局", 1.0),
        (3, "市检察院", 0.0),
        (4, "市教育局", 0.0),
    ]
    assert {u.name: u.escalations for u in r.units} == {
        "市市场监管局": 0,
        "市公安局": 1,
        "市教育局": 1,
        "市检察院": 0,
    }

    (overdue,) = r.overdue
    assert (overdue.unit, overdue.due_in_force, overdue.overdue_days) == (
        "市教育局",
        date(2022, 9, 30),
        7,
    )
    assert r.agenda == []


def test_as_of_before_a_late_report_shows_it_missing_and_the_past_does_not_change(
    played, settings: Settings
) -> None:
    engine, _, round_id = played
    before = results_at(engine, settings, round_id, "2022-09-29")
    h = before.headline
    # 29 Sep: 市检察院 was due the 28th and had filed nothing; the lead units were not due yet.
    assert (h["on_time"], h["late"], h["missing"], h["pending"]) == (1, 0, 1, 2)
    assert {i.unit: i.status for i in before.items}["市检察院"] == "missing"
    assert (h["verified"], h["returned"], h["escalations"]["1"]) == (0, 0, 0)
    assert [(i.unit, i.overdue_days) for i in before.overdue] == [("市检察院", 1)]
    again = results_at(engine, settings, round_id, "2022-09-29")
    assert again.headline == before.headline


def test_every_format_opened_with_its_own_library(
    played, settings: Settings, tmp_path: Path
) -> None:
    import openpyxl
    from docx import Document

    engine, _, round_id = played
    out = tmp_path / "out"
    with unit_of_work(engine) as session, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        round_ = session.get(SupervisionRound, round_id)
        compiled = compile_report(
            session,
            plan=session.get(Plan, round_.plan_id),
            round_=round_,
            as_of=end_of_day(date(2022, 10, 14), settings.timezone),
            formats=list(FORMATS),
            out_dir=out,
            settings=settings,
            actor=OFFICE,
            now=at("2022-10-15"),
        )
    assert not [w for w in caught if "Glyph" in str(w.message) or "missing from" in str(w.message)]
    files = {p.suffix: p for p in compiled.files}
    assert set(files) == {".html", ".xlsx", ".docx", ".md", ".png"}
    assert not list(out.glob(".compiling-*"))

    book = openpyxl.load_workbook(files[".xlsx"])
    assert book.sheetnames == ["汇总", "任务", "单位", "逾期", "督办", "考核"]
    units = book["单位"]
    assert units.freeze_panes == "A2" and units.auto_filter.ref == "A1:L5"
    header = [c.value for c in units[1]]
    rows = {
        row[1]: dict(zip(header, row, strict=True))
        for row in units.iter_rows(min_row=2, values_only=True)
    }
    assert rows["市市场监管局"]["排名"] == 1 and rows["市检察院"]["逾期报送"] == 1
    assert rows["市公安局"]["按时报送率"] == 1.0 and units["H2"].number_format == "0.0%"
    overdue = book["逾期"]
    assert overdue["B2"].value.startswith("持续推进校园安全") and overdue["H2"].value == 7
    assert overdue["F2"].value == datetime(2022, 9, 30) and overdue["F2"].is_date
    summary = {row[0]: row[1] for row in book["汇总"].iter_rows(min_row=2, values_only=True)}
    assert summary["按时报送"] == 2 and summary["完成率"] == 0.25
    escalations = book["督办"]
    # One row per item (市教育局, 市检察院's unreviewed report, 市公安局), under the header.
    assert escalations.max_row == 4 and isinstance(escalations["B2"].value, int)
    assert book["任务"].max_row == 5

    doc = Document(str(files[".docx"]))
    text = [p.text for p in doc.paragraphs]
    assert text[0] == settings.office_name and text[1] == f"关于“{ROUND}”落实情况的通报"
    assert any("按时报送2项次，逾期报送1项次，未报送1项次" in t for t in text)
    assert "2022年10月14日" in text[-1]
    tables = doc.tables
    assert [row.cells[1].text for row in tables[0].rows] == [
        "任务",
        "持续推进校园安全和疫情防控工作",
        "开展质量守护行动",
    ]
    assert [row.cells[1].text for row in tables[1].rows][1:] == [
        "市市场监管局",
        "市公安局",
        "市检察院",
        "市教育局",
    ]
    assert len(doc.inline_shapes) == 2  # the two charts

    page = files[".html"].read_text(encoding="utf-8")
    assert page.count("data:image/png;base64,") == 2 and "需市财政局协调专项经费" in page
    markdown = files[".md"].read_text(encoding="utf-8")
    assert (
        "| 按时报送 | 2 |" in markdown
        and "市教育局（牵头）：截止2022-09-30，逾期7个工作日" in markdown
    )


def test_compiling_again_replaces_the_files_and_keeps_one_record(
    played, settings: Settings, tmp_path: Path
) -> None:
    engine, _, round_id = played
    out = tmp_path / "out"
    for now in ("2022-10-15", "2022-10-16"):
        with unit_of_work(engine) as session:
            round_ = session.get(SupervisionRound, round_id)
            compile_report(
                session,
                plan=session.get(Plan, round_.plan_id),
                round_=round_,
                as_of=end_of_day(date(2022, 10, 14), settings.timezone),
                formats=["xlsx", "md"],
                out_dir=out,
                settings=settings,
                actor=OFFICE,
                now=at(now),
            )
    with reading(engine) as session:
        (report,) = session.exec(select(ResultsReport)).all()
    assert report.compiled_at.date() == date(2022, 10, 16) and [
        f["format"] for f in report.files
    ] == ["xlsx", "md"]
    assert sorted(p.suffix for p in out.iterdir()) == [".md", ".xlsx"]


def test_the_html_of_the_seed_holds_every_task_title_and_publishing_twice_sends_once(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    from intake.directory import read_directory, sync_directory
    from intake.plan_import import reconcile, resolve
    from intake.source import read_notice

    with unit_of_work(engine) as session:
        sync_directory(
            session,
            read_directory(ROOT / "config/units/rugao.yaml"),
            actor=OFFICE,
            now=at("2022-09-01"),
        )
        notice = read_notice(ROOT / "tests/fixtures/seed-notice.txt")
        reconcile(
            session,
            "2022",
            resolve(session, notice),
            actor=OFFICE,
            now=at("2022-09-01"),
            write=True,
        )
        open_round(
            session,
            plan_key="2022",
            name=ROUND,
            report_by=date(2022, 9, 30),
            actor=OFFICE,
            now=at("2022-09-19"),
            cooperating_lead_days=2,
        )
    counts = []
    for _ in range(2):
        with unit_of_work(engine) as session:
            plan = session.exec(select(Plan)).one()
            compiled = compile_report(
                session,
                plan=plan,
                round_=None,
                as_of=at("2022-10-10"),
                formats=["html"],
                out_dir=tmp_path,
                settings=settings,
                actor=OFFICE,
                now=at("2022-10-10"),
                publish=True,
            )
            counts.append(compiled.published)
    page = compiled.files[-1].read_text(encoding="utf-8")
    assert len(notice.tasks) == 16 and all(task.title in page for task in notice.tasks)
    with reading(engine) as session:
        sent = session.exec(
            select(Notification).where(Notification.kind == "results_published")
        ).all()
    assert counts[0] == len(sent) > 49 and counts[1] == 0
    assert (
        sent[0].payload["figures"]["missing"] == 98
        and sent[0].payload["report_id"] == compiled.report.id
    )


def test_the_chart_font_has_every_chinese_glyph_the_labels_use(settings: Settings) -> None:
    from matplotlib.ft2font import FT2Font

    from reports.charts import bar_chart, cjk_font

    font = cjk_font()
    labels = ["5. 持续推进校园安全和疫情防控工作", "市市场监管局", "如皋经济技术开发区"]
    face = FT2Font(font)
    assert all(face.get_char_index(ord(ch)) for label in labels for ch in label if not ch.isascii())
    chart = bar_chart("t", "各单位按时报送率", labels, [0.5, 1.0, 0.0], ["#000000"] * 3, font=font)
    assert chart.png.startswith(b"\x89PNG")


def test_a_large_workbook_is_written_by_a_process_of_its_own_with_the_same_cells(
    played, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import openpyxl

    import reports.compile

    engine, _, round_id = played
    books = {}
    for threshold in (10**9, 0):  # in process, then in a child process
        monkeypatch.setattr(reports.compile, "PARALLEL_FROM", threshold)
        out = tmp_path / str(threshold)
        with unit_of_work(engine) as session:
            round_ = session.get(SupervisionRound, round_id)
            compiled = compile_report(
                session,
                plan=session.get(Plan, round_.plan_id),
                round_=round_,
                as_of=end_of_day(date(2022, 10, 14), settings.timezone),
                formats=["xlsx"],
                out_dir=out,
                settings=settings,
                actor=OFFICE,
                now=at("2022-10-15"),
            )
        book = openpyxl.load_workbook(compiled.files[0])
        books[threshold] = {
            name: [[c.value for c in row] for row in book[name].iter_rows()]
            for name in book.sheetnames
        }
        assert [p.name for p in out.iterdir()] == [
            compiled.files[0].name
        ]  # no pickle, no staging folder left
    assert books[0] == books[10**9] and len(books[0]["督办"]) == 4  # header and three items


def test_an_approved_extension_moves_the_due_date_in_force_and_keeps_the_original(
    played, settings: Settings
) -> None:
    from models.extensions import decide_extension, request_extension

    engine, s, round_id = played
    with unit_of_work(engine) as session:
        request = request_extension(
            session,
            assignment_id=s.lead,
            until=date(2023, 1, 20),
            reason="需协调场地",
            actor=s.unit_actor("市教育局"),
            now=at("2022-10-17"),
            timezone=settings.timezone,
            max_days=90,
        )
        decide_extension(
            session, request_id=request.id, approve=True, actor=OFFICE, now=at("2022-10-18")
        )
    # 17 Oct, before the approval: 市教育局 owes its 30 Sep report, 8 working days late (8 and 9 Oct
    # were make-up working days; 10-14 and 17 Oct the rest).
    before = {i.unit: i for i in results_at(engine, settings, round_id, "2022-10-17").items}[
        "市教育局"
    ]
    assert (before.status, before.due_in_force, before.overdue_days) == (
        "missing",
        date(2022, 9, 30),
        8,
    )
    # 19 Oct: its open check-in moved with the assignment to 20 Jan, so it is not yet due; the
    # original date stays what on-time is judged against.
    after = results_at(engine, settings, round_id, "2022-10-19")
    item = {i.unit: i for i in after.items}["市教育局"]
    assert (item.status, item.due_on, item.due_in_force, item.overdue_days) == (
        "pending",
        date(2022, 9, 30),
        date(2023, 1, 20),
        None,
    )
    h = after.headline
    assert (h["on_time"], h["late"], h["missing"], h["pending"], h["overdue"]) == (2, 1, 0, 1, 0)
    assert after.overdue == []
