"""退办 through the `duban` command, on hand-worked 签收 windows.

The round opens on Thursday 2022-09-08 and `cycle.unsigned_days` is 3. Working days after the
8th: Fri 9th (1); Sat 10th to Mon 12th are the Mid-Autumn Festival (rest days); Tue 13th (2),
Wed 14th (3). So a unit may decline up to the 13th, and on the 14th it is too late and an
unsigned assignment is escalated (3 working days >= 3).
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, text

from tests.support.cli import assert_one_clean_line, duban

ROOT = Path(__file__).parent.parent
REASON = "不属于本单位职责，建议由市司法局牵头"


def _office(tmp_path: Path, database_url: str):
    def run(*args: str, code: int = 0) -> str:
        result = duban(*args, home=tmp_path, url=database_url)
        assert result.returncode == code, result.stdout + result.stderr
        assert "Traceback" not in result.stderr
        return result.stdout + result.stderr

    run("units", "import", str(ROOT / "config/units/rugao.yaml"))
    run("import", str(ROOT / "tests/fixtures/seed-notice.txt"), "--plan-key", "2022")
    run("round", "open", "--name", "第三季度", "--due", "2022-09-30", "--now", "2022-09-08T10:00")
    return run


def _rows(database_url: str, sql: str, **params: object) -> list[tuple]:
    engine = create_engine(database_url)
    with engine.connect() as connection:
        rows = [tuple(r) for r in connection.execute(text(sql), params)]
    engine.dispose()
    return rows


ASSIGNMENT = (
    "select a.id, a.role, a.withdrawn_at is not null from assignment a join task t on t.id = "
    "a.task_id join unit u on u.id = a.unit_id where t.number = :n and u.name = :u"
)
UNSIGNED = (
    "select count(*) from escalation e join assignment a on a.id = e.assignment_id join task t "
    "on t.id = a.task_id join unit u on u.id = a.unit_id where e.stall = 'unsigned' and "
    "t.number = :n and u.name = :u"
)


def test_a_lead_unit_declines_in_its_window_and_the_office_reassigns_the_lead(
    database_url: str, tmp_path: Path
) -> None:
    run = _office(tmp_path, database_url)
    base = ["--task", "8", "--unit", "市委宣传部"]

    # No reason: one clear line, nothing written.
    empty = duban(
        "decline",
        *base,
        "--reason",
        " ",
        "--now",
        "2022-09-13T16:00",
        home=tmp_path,
        url=database_url,
    )
    assert_one_clean_line(empty, 2, "必须填写理由")
    assert _rows(database_url, "select count(*) from decline") == [(0,)]

    # Tuesday the 13th: 2 working days after the round opened, within the window of 3.
    said = run("decline", *base, "--reason", REASON, "--now", "2022-09-13T16:00")
    assert "已申请退办：任务8／市委宣传部，待办公室审核" in said
    again = duban(
        "decline",
        *base,
        "--reason",
        REASON,
        "--now",
        "2022-09-13T16:05",
        home=tmp_path,
        url=database_url,
    )
    assert_one_clean_line(again, 4, "提出过退办")

    # While the office has not decided, the unit cannot sign, and it is not escalated for it.
    signing = duban("sign", *base, "--now", "2022-09-13T16:10", home=tmp_path, url=database_url)
    assert_one_clean_line(signing, 4, "本单位已申请退办，待办公室审核")
    run("escalate", "--now", "2022-09-14T10:00")
    assert _rows(database_url, UNSIGNED, n=8, u="市委宣传部") == [(0,)]
    # Its cooperating unit 市科技局 did not sign either: on the 14th it is escalated, and too late
    # to decline (3 working days).
    assert _rows(database_url, UNSIGNED, n=8, u="市科技局") == [(1,)]
    late = duban(
        "decline",
        "--task",
        "8",
        "--unit",
        "市科技局",
        "--reason",
        REASON,
        "--now",
        "2022-09-14T10:00",
        home=tmp_path,
        url=database_url,
    )
    assert_one_clean_line(late, 4, "已超过签收期限")

    # The office reassigns the lead to 市司法局, notified like a new assignment.
    said = run("decline", "review", *base, "--reassign-to", "市司法局", "--now", "2022-09-14T11:00")
    assert "已改派：任务8由市司法局（牵头）办理，已通知 1 条" in said
    [(old_id, _, withdrawn)] = _rows(database_url, ASSIGNMENT, n=8, u="市委宣传部")
    [(new_id, role, new_withdrawn)] = _rows(database_url, ASSIGNMENT, n=8, u="市司法局")
    assert (withdrawn, role, new_withdrawn) == (True, "lead", False)
    assert _rows(
        database_url,
        "select state, new_assignment_id, reason from decline where assignment_id = :a",
        a=old_id,
    ) == [("reassigned", new_id, REASON)]
    # A check-in in the open round, due on the round's date (a lead unit's), and its message.
    assert [
        str(d)
        for (d,) in _rows(
            database_url, "select due_on from check_in where assignment_id = :a", a=new_id
        )
    ] == ["2022-09-30"]
    assert _rows(
        database_url,
        "select kind, recipient_email from notification where dedup_key like :k",
        k=f"round_opened:%:a{new_id}:%",
    ) == [("round_opened", "sfj.liaison@rugao.example.org")]

    # The new lead's window is fresh from the 14th: Thu 15th (1), Fri 16th (2): not yet escalated;
    # Mon 19th (3): escalated for not signing.
    run("escalate", "--now", "2022-09-16T10:00")
    assert _rows(database_url, UNSIGNED, n=8, u="市司法局") == [(0,)]
    run("escalate", "--now", "2022-09-19T10:00")
    assert _rows(database_url, UNSIGNED, n=8, u="市司法局") == [(1,)]

    # The lead/cooperating rule holds for the new lead: its completion report waits for the three
    # cooperating units (市科技局、市文化广电和旅游局、市科协).
    report = duban(
        "checkin",
        "submit",
        "--task",
        "8",
        "--unit",
        "市司法局",
        "--text",
        "已完成",
        "--completed",
        "--now",
        "2022-09-19T11:00",
        home=tmp_path,
        url=database_url,
    )
    assert_one_clean_line(report, 4, "配合单位尚未报结")

    # The 通报 lists task 8 under its new lead, not the unit that declined it (the trail keeps it).
    run(
        "report",
        "--round",
        "第三季度",
        "--format",
        "md",
        "--out",
        str(tmp_path / "reports"),
        "--now",
        "2022-09-19T12:00",
    )
    (markdown,) = (tmp_path / "reports").rglob("*.md")
    (task_row,) = [
        line
        for line in markdown.read_text(encoding="utf-8").splitlines()
        if line.startswith("| 8 | 丰富未成年人精神文化生活 |")
    ]
    assert "市司法局" in task_row and "市委宣传部" not in task_row

    # One audit event per move, with its Chinese label on the trail.
    assert _rows(
        database_url,
        "select action from audit_event where action like 'decline.%' order by seq",
    ) == [("decline.request",), ("decline.reassign",)]
    trail = run("audit", "show", "--limit", "200")
    assert "申请退办" in trail and "退办改派" in trail
    run("audit", "verify")


def test_the_office_rejects_a_decline_and_the_units_window_starts_again(
    database_url: str, tmp_path: Path
) -> None:
    run = _office(tmp_path, database_url)
    base = ["--task", "12", "--unit", "市市场监管局"]
    run("decline", *base, "--reason", "不属于本单位职责", "--now", "2022-09-09T10:00")
    unclear = duban(
        "decline",
        "review",
        *base,
        "--reject",
        "--now",
        "2022-09-13T10:00",
        home=tmp_path,
        url=database_url,
    )
    assert_one_clean_line(unclear, 2, "必须填写理由")
    said = run(
        "decline",
        "review",
        *base,
        "--reject",
        "--reason",
        "食品安全属本单位职责",
        "--now",
        "2022-09-13T10:00",
    )
    assert "不予退办：任务12由市市场监管局继续办理" in said
    # The window restarts on the 13th: the 14th (1), 15th (2) are within it, so the run on the
    # 15th raises nothing for it; the 16th (3) escalates.
    run("escalate", "--now", "2022-09-15T10:00")
    assert _rows(database_url, UNSIGNED, n=12, u="市市场监管局") == [(0,)]
    # Once rejected, the unit cannot decline again; it must sign.
    again = duban(
        "decline",
        *base,
        "--reason",
        "再次申请",
        "--now",
        "2022-09-15T10:05",
        home=tmp_path,
        url=database_url,
    )
    assert_one_clean_line(again, 4, "提出过退办")
    run("escalate", "--now", "2022-09-16T10:00")
    assert _rows(database_url, UNSIGNED, n=12, u="市市场监管局") == [(1,)]
    run("sign", *base, "--now", "2022-09-16T11:00")
    assert _rows(database_url, "select state, decision_reason from decline") == [
        ("rejected", "食品安全属本单位职责")
    ]


def test_a_role_change_moves_the_check_in_to_the_lead_units_date(
    database_url: str, tmp_path: Path
) -> None:
    run = _office(tmp_path, database_url)
    base = ["--task", "7", "--unit", "市司法局"]
    # A cooperating unit reports cooperating_lead_days = 2 working days before the 30th (Fri):
    # Thu 29th (1), Wed 28th (2).
    [(a_id, role, _)] = _rows(database_url, ASSIGNMENT, n=7, u="市司法局")
    due = "select due_on from check_in where assignment_id = :a"
    assert role == "cooperating"
    assert [str(d) for (d,) in _rows(database_url, due, a=a_id)] == ["2022-09-28"]
    run("decline", *base, "--reason", "法治宣传教育应由本单位牵头", "--now", "2022-09-08T15:00")
    same = duban(
        "decline",
        "review",
        *base,
        "--role",
        "cooperating",
        "--now",
        "2022-09-09T10:00",
        home=tmp_path,
        url=database_url,
    )
    assert_one_clean_line(same, 4, "已是配合单位")
    bad = duban("decline", "review", *base, "--role", "boss", home=tmp_path, url=database_url)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    said = run("decline", "review", *base, "--role", "lead", "--now", "2022-09-09T10:00")
    assert "已调整分工：任务7／市司法局改为牵头" in said
    assert _rows(database_url, ASSIGNMENT, n=7, u="市司法局") == [(a_id, "lead", False)]
    assert [str(d) for (d,) in _rows(database_url, due, a=a_id)] == ["2022-09-30"]
    # Reassigning to a unit already on the task is refused: change its role instead.
    run(
        "decline",
        "--task",
        "7",
        "--unit",
        "市法院",
        "--reason",
        "另有分工",
        "--now",
        "2022-09-09T11:00",
    )
    taken = duban(
        "decline",
        "review",
        "--task",
        "7",
        "--unit",
        "市法院",
        "--reassign-to",
        "市教育局",
        "--now",
        "2022-09-09T12:00",
        home=tmp_path,
        url=database_url,
    )
    assert_one_clean_line(taken, 4, "市教育局已承担该任务")
