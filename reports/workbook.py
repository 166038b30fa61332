"""The 通报 as an XLSX workbook: 汇总 / 任务 / 单位 / 逾期 / 督办.

Numbers and dates are real cells (a clerk sorts and sums them), each sheet's
header row is frozen and filtered; the summary opens with the title (a published
one's with its 期号, then 期号 and 文号). `tables` turns the results into plain
lists; `write_tables` writes them and needs nothing but XlsxWriter, so that a
large workbook can be written in a process of its own while the other formats
are rendered (at 100,000 assignments the workbook has about 3 million cells,
and XlsxWriter spends 4 µs on each).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

Column = tuple[str, int, str | None]  # title, width, style
Table = tuple[str, list[Column], list[list[Any]]]


def write_workbook(results: Any, path: Path, issue: Any = None) -> None:
    """`results` a reports.results.Results, `issue` a published one's models.report_state.Issue."""
    write_tables(tables(results, issue), path)


def tables(results: Any, issue: Any = None) -> list[Table]:
    """Every sheet as (name, columns, rows); the first is the summary."""
    from reports.results import CHECKIN_LABELS, LIGHT_LABELS, STATUS_LABELS

    r, h = results, results.headline
    title: list[list[Any]] = (
        [["通报", f"{r.title}（{issue.label}）"], ["期号", issue.label], ["文号", issue.doc_no]]
        if issue is not None
        else [["通报", r.title]]
    )
    summary: list[list[Any]] = [
        *title,
        ["计划", r.plan_title],
        ["轮次", r.round_name or "全部轮次"],
        ["报送截止日期", r.report_by],
        ["数据截至", r.as_of_day],
        ["发文单位", r.issuer],
        ["任务", h["tasks"]],
        ["任务分工", h["assignments"]],
        ["应报送", h["checkins"]],
        ["按时报送", h["on_time"]],
        ["逾期报送", h["late"]],
        ["未报送", h["missing"]],
        ["未到期", h["pending"]],
        ["审核确认", h["verified"]],
        ["退回修改", h["returned"]],
        ["逾期未报", h["overdue"]],
        ["完成率", h["completion_rate"]],
        ["按时报送率", h["on_time_rate"]],
        ["蓝色提醒", h["escalations"]["1"]],
        ["黄色催办", h["escalations"]["2"]],
        ["红色提请协调", h["escalations"]["3"]],
        ["办公室待审核", h["office_review"]["items"]],
        ["办公室待审核最长等待（工作日）", h["office_review"]["longest_days"]],
        ["暂停中", h.get("suspended", 0)],
        ["红灯任务", h["task_lights"]["red"]],
        ["黄灯任务", h["task_lights"]["yellow"]],
        ["绿灯任务", h["task_lights"]["green"]],
    ]
    task_rows = []
    for t in r.tasks:
        leads, light = "、".join(t.lead_units), LIGHT_LABELS[t.light]
        for line in t.lines:
            i = line.latest
            task_rows.append(
                [
                    t.number,
                    t.title,
                    light,
                    leads,
                    line.unit,
                    line.role_zh,
                    line.state_zh,
                    STATUS_LABELS[i.status] if i else None,
                    i.filed_on if i else None,
                    i.percent if i else None,
                    i.text if i else None,
                    i.problems if i else None,
                    t.completion_rate,
                ]
            )
    return [
        ("汇总", [("项目", 26, None), ("数值", 48, "value")], summary),
        (
            "任务",
            [
                ("序号", 6, None),
                ("任务", 40, None),
                ("任务灯", 7, None),
                ("牵头单位", 20, None),
                ("单位", 20, None),
                ("职责", 7, None),
                ("状态", 9, None),
                ("报送情况", 10, None),
                ("报送日期", 11, "date"),
                ("进度%", 7, None),
                ("最新进展", 50, None),
                ("需协调解决的问题", 40, None),
                ("任务完成率", 10, "percent"),
            ],
            task_rows,
        ),
        (
            "单位",
            [
                ("排名", 6, None),
                ("单位", 24, None),
                ("任务分工", 9, None),
                ("按时报送", 9, None),
                ("逾期报送", 9, None),
                ("未报送", 8, None),
                ("未到期", 8, None),
                ("按时报送率", 11, "percent"),
                ("退回", 7, None),
                ("督办", 7, None),
                ("完成率", 9, "percent"),
                ("收到消息", 9, None),
            ],
            [
                [
                    u.rank,
                    u.name,
                    u.assignments,
                    u.on_time,
                    u.late,
                    u.missing,
                    u.pending,
                    u.on_time_rate,
                    u.returns,
                    u.escalations,
                    u.completion_rate,
                    u.messages,
                ]
                for u in r.units
            ],
        ),
        (
            "逾期",
            [
                ("序号", 6, None),
                ("任务", 40, None),
                ("单位", 20, None),
                ("职责", 7, None),
                ("轮次", 18, None),
                ("原定截止日期", 12, "date"),
                ("现截止日期", 12, "date"),
                ("逾期工作日", 10, None),
                ("报送状态", 10, None),
            ],
            [
                [
                    i.task_number,
                    i.task_title,
                    i.unit,
                    i.role_zh,
                    i.round_name,
                    i.due_on,
                    i.due_in_force,
                    i.overdue_days,
                    CHECKIN_LABELS[i.checkin_state],
                ]
                for i in r.overdue
            ],
        ),
        (
            "督办",
            [
                ("督办单号", 16, None),
                ("级别", 6, None),
                ("级别名称", 12, None),
                ("原因", 24, None),
                ("序号", 6, None),
                ("任务", 40, None),
                ("单位", 20, None),
                ("轮次", 18, None),
                ("督办日期", 11, "date"),
                ("办结日期", 11, "date"),
                ("状态", 8, None),
                ("督办经过", 48, None),
                ("计入单位", 8, None),
            ],
            [
                [
                    e.number,
                    e.level,
                    e.level_zh,
                    e.reason_zh,
                    e.task_number,
                    e.task_title,
                    e.unit,
                    e.round_name,
                    e.opened_on,
                    e.resolved_on,
                    "已办结" if e.resolved_on else "未办结",
                    "；".join(e.history),
                    "是" if e.against_unit else "否（办公室待审核）",
                ]
                for e in r.escalations
            ],
        ),
        _scores_table(r),
    ]


def _scores_table(r: Any) -> Table:
    """考核: each unit's score, rank, counts and the 红黑榜 it is on; the rules on the last row."""
    from models.scoring import KINDS

    board = r.scores
    red, black = {u.unit for u in board.red}, {u.unit for u in board.black}
    rows: list[list[Any]] = [
        [
            u.rank,
            u.unit,
            u.score,
            *[u.counts.get(kind, 0) for kind in KINDS],
            "红榜" if u.unit in red else "黑榜" if u.unit in black else None,
            u.reasons,
        ]
        for u in board.units
    ]
    return (
        "考核",
        [
            ("排名", 6, None),
            ("单位", 24, None),
            ("得分", 8, "score"),
            *[(words, 9, None) for words, _ in KINDS.values()],
            ("红黑榜", 8, None),
            ("计分事项", 48, None),
        ],
        [*rows, [None, "计分规则", None, *([None] * len(KINDS)), None, board.basis]],
    )


def write_tables(sheets: list[Table], path: Path) -> None:
    import xlsxwriter

    # Cells stay in memory until close: the constant-memory mode is 1.5x slower per cell.
    book = xlsxwriter.Workbook(
        str(path),
        {
            "default_date_format": "yyyy-mm-dd",
            "strings_to_numbers": False,
            "strings_to_formulas": False,
            "strings_to_urls": False,
        },
    )
    styles = {
        "header": book.add_format(
            {"bold": True, "bg_color": "#F2F2F2", "border": 1, "text_wrap": True}
        ),
        "date": book.add_format({"num_format": "yyyy-mm-dd"}),
        "percent": book.add_format({"num_format": "0.0%"}),
        "score": book.add_format({"num_format": "0.0#"}),
        "value": book.add_format({"align": "left"}),  # the summary's mixed column
    }
    try:
        for name, columns, rows in sheets:
            _sheet(book, styles, name, columns, rows)
    finally:
        book.close()


def _sheet(
    book: Any, styles: dict[str, Any], name: str, columns: list[Column], rows: list[list[Any]]
) -> None:
    """One table: a frozen, filtered header row, then the rows, each cell written by its type
    (the typed calls skip XlsxWriter's per-cell type dispatch)."""
    sheet = book.add_worksheet(name)
    for n, (_, width, style) in enumerate(columns):
        sheet.set_column(n, n, width, styles[style] if style else None)
    sheet.write_row(0, 0, [title for title, _, _ in columns], styles["header"])
    sheet.freeze_panes(1, 0)
    date_format, percent_format = styles["date"], styles["percent"]
    # Every float in a 通报 is a rate, except in a column that says otherwise (a score).
    float_formats = [
        styles[style] if style == "score" else percent_format for _, _, style in columns
    ]
    write_string, write_number, write_datetime = (
        sheet.write_string,
        sheet.write_number,
        sheet.write_datetime,
    )
    from escaping.cells import neutral

    for count, row in enumerate(rows, start=1):
        for n, value in enumerate(row):
            if value is None:
                continue
            kind = value.__class__
            if (
                kind is str
            ):  # text from units and notices: never a formula, even once edited in Excel
                write_string(count, n, neutral(value))
            elif kind is date:
                write_datetime(count, n, value, date_format)
            elif kind is float:
                write_number(count, n, value, float_formats[n])
            else:
                write_number(count, n, value)
    sheet.autofilter(0, 0, max(len(rows), 1), len(columns) - 1)


def main() -> None:
    """`python -m reports.workbook TABLES.pickle OUT.xlsx`: the child process of a large compile."""
    import pickle
    import sys

    source, target = sys.argv[1:3]
    write_tables(pickle.loads(Path(source).read_bytes()), Path(target))


if __name__ == "__main__":
    main()
