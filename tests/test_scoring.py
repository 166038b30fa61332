"""考核 scoring (issue 17 item 11): scores, ranks and the 红黑榜 worked out by hand, as of a date,
through `duban score`, GET /api/v1/plans/{key}/scores and the 通报.

The round is the one of tests/test_reports.py (tests/support/scenario.py): task 5 — 市教育局 leads,
市公安局 and 市检察院 cooperate; task 12 — 市市场监管局 alone (responsible). "第三季度" opens Monday
19 September 2022, due Friday 30 September; the cooperating units two working days earlier,
Wednesday 28 September.

  市公安局     progress 27 Sep                        on time; idle 10 working days -> blue (14 Oct)
  市检察院     completion 30 Sep, never reviewed      late; its unreviewed report is the office's
  市市场监管局  completion 30 Sep, returned 8 Oct,
               filed again 10 Oct, accepted 11 Oct   on time, one return
  市教育局     nothing                                missing; overdue -> blue 12 Oct, yellow 14 Oct

The shipped rules (config/defaults.toml [scoring]): base 100, on time 0, late -2, missing -5,
returned -1, escalated blue -1 / yellow -3 / red -5; weights 牵头 1.5, 负责 1, 配合 0.5; cap 100,
floor 0; the 红黑榜 three places each. As of 14 October, by hand:

  市公安局     100 + 0 (on time) - 1 x 0.5 (blue)               = 99.5   rank 1
  市市场监管局  100 + 0 (on time) - 1 x 1 (one return)           = 99     rank 2
  市检察院     100 - 2 x 0.5 (late); the office's backlog: 0    = 99     rank 2 (tie)
  市教育局     100 - 5 x 1.5 (missing) - 3 x 1.5 (yellow, once) = 88     rank 4

Everyone lost something, so the 红榜 (units that lost nothing) is empty; the 黑榜 takes the worst
three: 市教育局 88, then the two tied at 99 (市市场监管局 before 市检察院 by name).
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine

from config import Settings
from models.checkins import review_checkin, submit_checkin
from models.db import reading, unit_of_work
from models.escalations import escalate_stalled
from models.lifecycle import SYSTEM_ACTOR
from models.plan import Plan
from models.round import SupervisionRound
from models.rounds import open_round
from models.scoring import Fact, score_units
from reports.compile import FORMATS, compile_report
from reports.results import Results, Scores, compute, compute_scores, end_of_day
from tests.support import scenario
from tests.support.cli import assert_one_clean_line, duban
from tests.support.scenario import OFFICE
from tests.support.seed_round import at

ROUND = "第三季度"
ON_14_OCTOBER = {
    "市公安局": (99.5, 1),
    "市市场监管局": (99, 2),
    "市检察院": (99, 2),
    "市教育局": (88, 4),
}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path)


class Round:
    """The round above, played step by step so that a score can be taken on any day in between."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine, self.settings = engine, settings
        self.s = scenario.build(engine, at("2022-09-01"))
        with unit_of_work(engine) as session:
            self.round_id = open_round(
                session,
                plan_key="2022",
                name=ROUND,
                report_by=date(2022, 9, 30),
                actor=OFFICE,
                now=at("2022-09-19"),
                cooperating_lead_days=2,
            ).round.id

    def submit(self, unit: str, assignment: int, day: str, **details) -> None:
        with unit_of_work(self.engine) as session:
            submit_checkin(
                session,
                round_id=self.round_id,
                assignment_id=assignment,
                actor=self.s.unit_actor(unit),
                now=at(day),
                **details,
            )

    def review(self, assignment: int, day: str, accept: bool, revision: int = 1) -> None:
        with unit_of_work(self.engine) as session:
            review_checkin(
                session,
                round_id=self.round_id,
                assignment_id=assignment,
                accept=accept,
                actor=OFFICE,
                now=at(day),
                revision=revision,
                reason=None if accept else "缺少检查台账",
            )

    def until_29_september(self) -> None:
        self.submit(
            "市公安局", self.s.police, "2022-09-27", text="开展校园周边治安整治", percent=50
        )

    def the_rest(self) -> None:
        s = self.s
        self.submit("市检察院", s.procuratorate, "2022-09-30", text="已完成", completed=True)
        self.submit("市市场监管局", s.market, "2022-09-30", text="检查食堂120家", completed=True)
        self.review(s.market, "2022-10-08", accept=False)
        self.submit("市市场监管局", s.market, "2022-10-10", text="补充台账", completed=True)
        self.review(s.market, "2022-10-11", accept=True, revision=2)
        for day in ("2022-10-12", "2022-10-14"):
            with unit_of_work(self.engine) as session:
                escalate_stalled(session, now=at(day), settings=self.settings, actor=SYSTEM_ACTOR)

    def scores(self, day: str) -> Scores:
        """考核 alone, as `duban score` and the API take it."""
        with reading(self.engine) as session:
            round_ = session.get(SupervisionRound, self.round_id)
            return compute_scores(
                session,
                plan=session.get(Plan, round_.plan_id),
                round_=round_,
                as_of=end_of_day(date.fromisoformat(day), self.settings.timezone),
                timezone=self.settings.timezone,
                rules=self.settings.cycle,
                scoring=self.settings.scoring,
            )

    def results(self, day: str, settings: Settings | None = None) -> Results:
        settings = settings or self.settings
        with reading(self.engine) as session:
            round_ = session.get(SupervisionRound, self.round_id)
            return compute(
                session,
                plan=session.get(Plan, round_.plan_id),
                round_=round_,
                as_of=end_of_day(date.fromisoformat(day), settings.timezone),
                timezone=settings.timezone,
                rules=settings.cycle,
                issuer=settings.office_name,
                scoring=settings.scoring,
            )


@pytest.fixture
def played(engine: Engine, settings: Settings) -> Round:
    r = Round(engine, settings)
    r.until_29_september()
    r.the_rest()
    return r


def figures(results: Results) -> dict[str, tuple[float, int]]:
    return {u.unit: (u.score, u.rank) for u in results.scores.units}


def test_scores_ranks_and_the_boards_match_the_round_worked_out_by_hand(played: Round) -> None:
    board = played.results("2022-10-14").scores
    assert figures(played.results("2022-10-14")) == ON_14_OCTOBER
    assert [u.unit for u in board.units] == ["市公安局", "市市场监管局", "市检察院", "市教育局"]
    edu = board.of("市教育局")
    assert edu.counts == {"missing": 1, "escalated_2": 1}  # blue then yellow: counted once
    assert edu.points == {"missing": -7.5, "escalated_2": -4.5}
    assert edu.reasons == "未报送 1 次，黄色督办 1 项"
    assert (
        board.of("市检察院").reasons == "逾期报送 1 次"
    )  # no 督办: its report waits on the office
    assert board.of("市市场监管局").deductions == "退回 1 次"
    assert board.red == []
    assert [u.unit for u in board.black] == ["市教育局", "市市场监管局", "市检察院"]
    assert played.scores("2022-10-14").scores == board  # 考核 alone: the same replay, the same


def test_a_score_as_of_an_earlier_day_is_the_score_that_day_gave(
    engine: Engine, settings: Settings
) -> None:
    r = Round(engine, settings)
    r.until_29_september()
    # 29 Sep: 市公安局 filed on time (0); 市检察院 was due the 28th and filed nothing:
    # 100 - 5 x 0.5 = 97.5; the lead and responsible units are not due yet and keep 100. Three tie
    # at 100 (rank 1, by name), 市检察院 is 4th. The 红榜: units that had something due and lost
    # nothing — 市公安局 alone; the 黑榜: 市检察院.
    then = r.results("2022-09-29")
    expected = {
        "市公安局": (100, 1),
        "市市场监管局": (100, 1),
        "市教育局": (100, 1),
        "市检察院": (97.5, 4),
    }
    assert figures(then) == expected
    assert [u.unit for u in then.scores.red] == ["市公安局"]
    assert [(u.unit, u.deductions) for u in then.scores.black] == [("市检察院", "未报送 1 次")]
    r.the_rest()
    again = r.results("2022-09-29")
    assert figures(again) == expected
    assert [u.reasons for u in again.scores.units] == [u.reasons for u in then.scores.units]
    assert figures(r.results("2022-10-14")) == ON_14_OCTOBER


def test_an_approved_extension_moves_the_date_a_report_is_scored_against(
    played: Round, settings: Settings
) -> None:
    from models.extensions import decide_extension, request_extension

    s = played.s
    with unit_of_work(played.engine) as session:
        asked = request_extension(
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
            session, request_id=asked.id, approve=True, actor=OFFICE, now=at("2022-10-18")
        )
    played.submit("市教育局", s.lead, "2022-10-19", text="完成平安校园创建", percent=60)
    after = played.results("2022-10-19")
    # The 通报 still calls it late against 30 Sep; 考核 counts it against the approved 20 Jan: on
    # time (0). The yellow 督办 of 14 Oct happened and stays: 100 - 3 x 1.5 = 95.5.
    assert {i.unit: i.status for i in after.items}["市教育局"] == "late"
    edu = after.scores.of("市教育局")
    assert (edu.score, edu.counts) == (95.5, {"on_time": 1, "escalated_2": 1})


def test_an_extension_moves_only_what_was_owed_then_not_a_later_round(
    played: Round, settings: Settings
) -> None:
    from models.extensions import decide_extension, request_extension

    s = played.s
    with unit_of_work(played.engine) as session:
        asked = request_extension(
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
            session, request_id=asked.id, approve=True, actor=OFFICE, now=at("2022-10-18")
        )
        open_round(
            session,
            plan_key="2022",
            name="十月",
            report_by=date(2022, 10, 31),
            actor=OFFICE,
            now=at("2022-10-19"),
            cooperating_lead_days=2,
        )
    with reading(played.engine) as session:
        plan = session.get(Plan, played.s.plan_id)
        whole = compute(
            session,
            plan=plan,
            round_=None,
            as_of=end_of_day(date(2022, 11, 2), settings.timezone),
            timezone=settings.timezone,
            rules=settings.cycle,
            issuer=settings.office_name,
            scoring=settings.scoring,
        )
    edu = {i.round_name: i for i in whole.items if i.unit == "市教育局"}
    # 第三季度's check-in was owed when the extension was approved: moved to 20 Jan, not yet due.
    # 十月's was opened the day after and is due 31 Oct as its round says: missing on 2 Nov.
    assert (edu[ROUND].status, edu[ROUND].due_in_force) == ("pending", date(2023, 1, 20))
    assert (edu["十月"].status, edu["十月"].due_in_force) == ("missing", date(2022, 10, 31))
    # 100 - 5 x 1.5 (十月 missing) - 3 x 1.5 (第三季度's yellow 督办) = 88.
    scored = whole.scores.of("市教育局")
    assert (scored.score, scored.counts) == (88, {"missing": 1, "escalated_2": 1})


def test_the_office_s_own_rules_weights_cap_and_floor(played: Round, tmp_path: Path) -> None:
    # On time +2, late -10, weights 牵头 2, 配合 1, 负责 1, cap 101, floor 90, two places a board:
    #   市公安局     100 + 2 x 1 - 1 x 1 (blue)            = 101
    #   市市场监管局  100 + 2 x 1 - 1 x 1 (return)          = 101
    #   市检察院     100 - 10 x 1 (late)                    = 90
    #   市教育局     100 - 5 x 2 - 3 x 2 = 84, held at the floor: 90
    rules = Settings(
        home=tmp_path,
        scoring={
            "on_time": 2,
            "late": -10,
            "weight_lead": 2,
            "weight_cooperating": 1,
            "cap": 101,
            "floor": 90,
            "board_size": 2,
        },
    )
    board = played.results("2022-10-14", rules).scores
    assert figures(played.results("2022-10-14", rules)) == {
        "市公安局": (101, 1),
        "市市场监管局": (101, 1),
        "市检察院": (90, 3),
        "市教育局": (90, 3),
    }
    assert board.of("市教育局").raw == 84
    assert board.red == []  # both at the top lost a point
    assert [u.unit for u in board.black] == ["市教育局", "市检察院"]  # the two at 90


def test_ties_share_a_rank_and_a_tie_at_the_last_place_of_a_board_is_listed_whole() -> None:
    rules = Settings(home=Path("/nonexistent"), scoring={"board_size": 1}).scoring
    facts = [
        Fact("甲", "responsible", "on_time"),
        Fact("乙", "responsible", "on_time"),
        Fact("丙", "lead", "late"),  # 100 - 2 x 1.5 = 97
        Fact("丁", "cooperating", "missing", 2),  # 100 - 2 x 5 x 0.5 = 95
        Fact("戊", "cooperating", "escalated_3"),  # 100 - 5 x 0.5 = 97.5
    ]
    board = score_units(facts, units=["甲", "乙", "丙", "丁", "戊", "己"], rules=rules)
    # 甲, 乙 and 己 (nothing due) keep 100: rank 1; 戊 97.5 is 4th, 丙 5th, 丁 6th.
    assert [(u.unit, u.score, u.rank) for u in board.units] == [
        ("乙", 100, 1),
        ("己", 100, 1),
        ("甲", 100, 1),
        ("戊", 97.5, 4),
        ("丙", 97, 5),
        ("丁", 95, 6),
    ]
    # One place on the 红榜, shared by the two tied that had something due (己 had nothing).
    assert [u.unit for u in board.red] == ["乙", "甲"]
    assert [(u.unit, u.deductions) for u in board.black] == [("丁", "未报送 2 次")]
    assert board.of("戊").reasons == "红色督办 1 项" and board.of("己").reasons == "无应报事项"


def test_the_default_rules_award_nothing_for_traces_or_instructions() -> None:
    rules = Settings(home=Path("/nonexistent")).scoring
    assert rules.on_time == 0 and rules.base == rules.cap == 100
    # No rule scores 留痕 (evidence, photos, messages) or a 批示 received: such keys are refused.
    names = set(type(rules).model_fields)
    assert not {n for n in names if "evidence" in n or "trace" in n or "directive_received" in n}
    text = (Path(__file__).parent.parent / "config/defaults.toml").read_text(encoding="utf-8")
    assert "基层减负" in text and "留痕" in text and "批示" in text


@pytest.mark.parametrize(
    ("toml", "fragments"),
    [
        ("[scoring]\ncap = -5\n", ("scoring", "上限 cap=-5 低于下限 floor=0")),
        ("[scoring]\nevidence_bonus = 1\n", ("scoring.evidence_bonus", "没有这个设置项")),
        ("[scoring]\nlate = 2\n", ("late（逾期报送）应为扣分",)),
        ("[scoring]\nbase = 120\n", ("基础分 base=120 应在下限 0 与上限 100 之间",)),
    ],
)
def test_bad_scoring_rules_are_refused_with_one_chinese_line(
    tmp_path: Path, toml: str, fragments: tuple[str, ...]
) -> None:
    (tmp_path / "duban.toml").write_text(toml, encoding="utf-8")
    result = duban("score", "--plan", "2022", home=tmp_path)
    assert_one_clean_line(result, 2, "错误：配置无效", *fragments)


def test_duban_score_prints_scores_ranks_and_the_boards(
    played: Round, database_url: str, tmp_path: Path
) -> None:
    result = duban(
        "score", "--round", ROUND, "--as-of", "2022-10-14", "--now", "2022-10-20T10:00",
        home=tmp_path, url=database_url,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "“第三季度”考核得分（截至 2022-10-14）："
    assert lines[1].split() == ["1", "市公安局", "99.5", "按时报送", "1", "次，蓝色督办", "1", "项"]
    assert lines[4].split()[:3] == ["4", "市教育局", "88"]
    assert lines[5] == "红榜：无"
    assert lines[6] == (
        "黑榜：市教育局 88（未报送 1 次，黄色督办 1 项）；市市场监管局 99（退回 1 次）；"
        "市检察院 99（逾期报送 1 次）"
    )
    as_json = duban(
        "score", "--plan", "2022", "--as-of", "2022-09-29", "--now", "2022-10-20T10:00", "--json",
        home=tmp_path, url=database_url,
    )  # fmt: skip
    payload = json.loads(as_json.stdout)
    assert {u["unit"]: (u["score"], u["rank"]) for u in payload["units"]} == {
        "市公安局": (100, 1),
        "市市场监管局": (100, 1),
        "市教育局": (100, 1),
        "市检察院": (97.5, 4),
    }
    assert [u["unit"] for u in payload["red"]] == ["市公安局"]
    future = duban(
        "score", "--plan", "2022", "--as-of", "2022-10-21", "--now", "2022-10-20T10:00",
        home=tmp_path, url=database_url,
    )  # fmt: skip
    assert_one_clean_line(future, 2, "晚于当前时间")
    nowhere = duban("score", home=tmp_path, url=database_url)
    assert nowhere.returncode == 2 and "请用 --round 或 --plan 指定范围" in nowhere.stderr


def test_the_api_gives_the_scores_to_the_office_and_leaders(
    played: Round, database_url: str, tmp_path: Path
) -> None:
    from models.users import add_user
    from tests.support.portal import PASSWORD, running

    with unit_of_work(played.engine) as session:
        for username, role, unit in (
            ("office", "office_admin", None),
            ("leader", "leader", None),
            ("edu", "unit", "市教育局"),
        ):
            add_user(
                session,
                username=username,
                role=role,
                password=PASSWORD,
                unit_name=unit,
                actor=OFFICE,
                now=at("2022-09-01"),
            )
    settings = Settings(home=tmp_path, database_url=database_url, dev_mode=True)
    with running(settings, played.engine) as portal, portal.client() as client:
        url = "/api/v1/plans/2022/scores"
        query = {"round": ROUND, "as_of": "2022-10-14"}
        for who in ("office", "leader"):
            got = client.get(url, params=query, headers=portal.token(who))
            assert got.status_code == 200, got.text
            body = got.json()
            assert {u["unit"]: (u["score"], u["rank"]) for u in body["units"]} == ON_14_OCTOBER
        assert [u["unit"] for u in body["black"]] == ["市教育局", "市市场监管局", "市检察院"]
        assert body["black"][0]["deductions"] == "未报送 1 次，黄色督办 1 项"
        office = portal.token("office")
        earlier = client.get(url, params={"as_of": "2022-09-29"}, headers=office).json()
        assert {u["unit"]: u["score"] for u in earlier["units"]}["市检察院"] == 97.5
        assert client.get(url, params=query, headers=portal.token("edu")).status_code == 403
        assert client.get("/api/v1/plans/nope/scores", headers=office).status_code == 404
        unknown_round = client.get(url, params={"round": "第九季度"}, headers=office)
        assert unknown_round.status_code == 404
        bad = client.get(url, params={"as_of": "十月"}, headers=office)
        assert bad.status_code == 400 and "as_of 应为" in bad.text
        assert client.get(url, params={"round": "第\x00轮"}, headers=office).status_code == 422
        assert client.get(url).status_code == 401


def test_the_report_carries_the_scores_and_the_boards_in_every_format(
    played: Round, settings: Settings, tmp_path: Path
) -> None:
    import openpyxl
    from docx import Document

    with unit_of_work(played.engine) as session:
        round_ = session.get(SupervisionRound, played.round_id)
        compiled = compile_report(
            session,
            plan=session.get(Plan, round_.plan_id),
            round_=round_,
            as_of=end_of_day(date(2022, 10, 14), settings.timezone),
            formats=list(FORMATS),
            out_dir=tmp_path / "out",
            settings=settings,
            actor=OFFICE,
            now=at("2022-10-15"),
        )
    files = {p.suffix: p for p in compiled.files}
    page = files[".html"].read_text(encoding="utf-8")
    assert "七、考核得分" in page and "基础分100" in page and "不以留痕、批示计分" in page
    assert '<td>市公安局</td><td class="n">99.5</td>' in page
    assert "<h3>红榜</h3>\n<p>无。</p>" in page
    assert '<td>市教育局</td><td class="n">88</td><td>未报送 1 次，黄色督办 1 项</td>' in page

    markdown = files[".md"].read_text(encoding="utf-8")
    assert (
        "## 七、考核得分" in markdown
        and "| 1 | 市公安局 | 99.5 | 按时报送 1 次，蓝色督办 1 项 |" in markdown
    )
    assert "红榜：无" in markdown
    assert (
        "黑榜：市教育局 88（未报送 1 次，黄色督办 1 项）；市市场监管局 99（退回 1 次）" in markdown
    )

    doc = Document(str(files[".docx"]))
    text = [p.text for p in doc.paragraphs]
    assert "六、考核得分" in text and "七、有关要求" in text
    assert "黑榜：市教育局（88分，未报送 1 次，黄色督办 1 项）；市市场监管局（99分，退回 1 次）；" \
        "市检察院（99分，逾期报送 1 次）。" in text  # fmt: skip
    scores = doc.tables[-1]
    assert [row.cells[2].text for row in scores.rows] == ["得分", "99.5", "99", "99", "88"]

    book = openpyxl.load_workbook(files[".xlsx"])
    assert book.sheetnames[-1] == "考核"
    sheet = book["考核"]
    header = [c.value for c in sheet[1]]
    rows = {
        r[1]: dict(zip(header, r, strict=True))
        for r in sheet.iter_rows(min_row=2, values_only=True)
    }
    assert rows["市教育局"]["得分"] == 88 and rows["市教育局"]["未报送"] == 1
    assert rows["市教育局"]["黄色督办"] == 1 and rows["市教育局"]["红黑榜"] == "黑榜"
    assert rows["市公安局"]["得分"] == 99.5 and rows["市公安局"]["红黑榜"] is None
    assert sheet["C2"].number_format == "0.0#" and rows["计分规则"]["计分事项"].startswith(
        "基础分100"
    )
