"""The 通报 as an XLSX workbook: 汇总 / 任务 / 单位 / 逾期 / 督办.

Numbers and dates are real cells (a clerk sorts and sums them), each sheet's
header row is frozen and filtered. XlsxWriter writes row by row in constant
memory: 100,000 rows take a couple of seconds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import xlsxwriter

from reports.results import CHECKIN_LABELS, LIGHT_LABELS, STATUS_LABELS, Results


def write_workbook(results: Results, path: Path) -> None:
    book = xlsxwriter.Workbook(str(path), {"constant_memory": True, "default_date_format": "yyyy-mm-dd",
                                           "strings_to_numbers": False, "strings_to_formulas": False,
                                           "strings_to_urls": False})
    styles = {
        "header": book.add_format({"bold": True, "bg_color": "#F2F2F2", "border": 1, "text_wrap": True}),
        "date": book.add_format({"num_format": "yyyy-mm-dd"}),
        "percent": book.add_format({"num_format": "0.0%"}),
        "title": book.add_format({"bold": True, "font_size": 14}),
    }
    try:
        _summary(book, styles, results)
        _sheet(book, styles, "任务", [
            ("序号", 6, None), ("任务", 40, None), ("任务灯", 7, None), ("牵头单位", 20, None), ("单位", 20, None),
            ("职责", 7, None), ("状态", 9, None), ("报送情况", 10, None), ("报送日期", 11, "date"),
            ("进度%", 7, None), ("最新进展", 50, None), ("需协调解决的问题", 40, None), ("任务完成率", 10, "percent"),
        ], ([t.number, t.title, LIGHT_LABELS[t.light], "、".join(t.lead_units), line.unit, line.role_zh, line.state_zh,
             STATUS_LABELS[line.latest.status] if line.latest else None, line.latest.filed_on if line.latest else None,
             line.latest.percent if line.latest else None, line.latest.text if line.latest else None,
             line.latest.problems if line.latest else None, t.completion_rate]
            for t in results.tasks for line in t.lines))
        _sheet(book, styles, "单位", [
            ("排名", 6, None), ("单位", 24, None), ("任务分工", 9, None), ("按时报送", 9, None), ("逾期报送", 9, None),
            ("未报送", 8, None), ("未到期", 8, None), ("按时报送率", 11, "percent"), ("退回", 7, None),
            ("督办", 7, None), ("完成率", 9, "percent"),
        ], ([u.rank, u.name, u.assignments, u.on_time, u.late, u.missing, u.pending, u.on_time_rate, u.returns,
             u.escalations, u.completion_rate] for u in results.units))
        _sheet(book, styles, "逾期", [
            ("序号", 6, None), ("任务", 40, None), ("单位", 20, None), ("职责", 7, None), ("轮次", 18, None),
            ("原定截止日期", 12, "date"), ("现截止日期", 12, "date"), ("逾期工作日", 10, None), ("报送状态", 10, None),
        ], ([i.task_number, i.task_title, i.unit, i.role_zh, i.round_name, i.due_on, i.due_in_force, i.overdue_days,
             CHECKIN_LABELS[i.checkin_state]] for i in results.overdue))
        _sheet(book, styles, "督办", [
            ("督办单号", 16, None), ("级别", 6, None), ("级别名称", 12, None), ("原因", 24, None), ("序号", 6, None),
            ("任务", 40, None), ("单位", 20, None), ("轮次", 18, None), ("督办日期", 11, "date"),
            ("办结日期", 11, "date"), ("状态", 8, None),
        ], ([e.number, e.level, e.level_zh, e.reason_zh, e.task_number, e.task_title, e.unit, e.round_name,
             e.opened_on, e.resolved_on, "已办结" if e.resolved_on else "未办结"] for e in results.escalations))
    finally:
        book.close()


def _summary(book: Any, styles: dict[str, Any], r: Results) -> None:
    sheet = book.add_worksheet("汇总")
    sheet.set_column(0, 0, 22)
    sheet.set_column(1, 1, 48)
    sheet.write(0, 0, r.title, styles["title"])
    h = r.headline
    rows: list[tuple[str, Any, str | None]] = [
        ("计划 / plan", r.plan_title, None), ("轮次 / round", r.round_name or "全部轮次", None),
        ("报送截止日期 / report by", r.report_by, "date"), ("数据截至 / as of", r.as_of_day, "date"),
        ("发文单位 / issuer", r.issuer, None),
        ("任务 / tasks", h["tasks"], None), ("任务分工 / assignments", h["assignments"], None),
        ("应报送 / check-ins", h["checkins"], None), ("按时报送 / on time", h["on_time"], None),
        ("逾期报送 / late", h["late"], None), ("未报送 / missing", h["missing"], None),
        ("未到期 / not yet due", h["pending"], None), ("审核确认 / verified", h["verified"], None),
        ("退回修改 / returned", h["returned"], None), ("逾期未报 / overdue", h["overdue"], None),
        ("完成率 / completion rate", h["completion_rate"], "percent"),
        ("按时报送率 / on-time rate", h["on_time_rate"], "percent"),
        ("蓝色提醒 / level 1", h["escalations"]["1"], None), ("黄色催办 / level 2", h["escalations"]["2"], None),
        ("红色提请协调 / level 3", h["escalations"]["3"], None),
        ("红灯任务 / red tasks", h["task_lights"]["red"], None), ("黄灯任务 / yellow tasks", h["task_lights"]["yellow"], None),
        ("绿灯任务 / green tasks", h["task_lights"]["green"], None),
    ]
    sheet.write_row(2, 0, ["项目 / item", "数值 / value"], styles["header"])
    for n, (label, value, style) in enumerate(rows, start=3):
        sheet.write(n, 0, label)
        _write(sheet, n, 1, value, styles.get(style) if style else None)
    sheet.freeze_panes(3, 0)
    sheet.autofilter(2, 0, 2 + len(rows), 1)


def _sheet(book: Any, styles: dict[str, Any], name: str, columns: list[tuple[str, int, str | None]], rows) -> None:  # noqa: ANN001
    sheet = book.add_worksheet(name)
    for n, (_, width, style) in enumerate(columns):
        sheet.set_column(n, n, width, styles[style] if style else None)
    sheet.write_row(0, 0, [title for title, _, _ in columns], styles["header"])
    sheet.freeze_panes(1, 0)
    formats = [styles[style] if style else None for _, _, style in columns]
    count = 0
    for count, row in enumerate(rows, start=1):
        for n, value in enumerate(row):
            _write(sheet, count, n, value, formats[n])
    sheet.autofilter(0, 0, max(count, 1), len(columns) - 1)


def _write(sheet: Any, row: int, column: int, value: Any, style: Any) -> None:
    if value is None:
        return
    if style is not None:
        sheet.write(row, column, value, style)
    else:
        sheet.write(row, column, value)
