"""Notices in every layout the importer reads, written by the tests themselves.

The same small task list (three tasks from a children-friendly-city plan)
is laid out as prose, Markdown, Word, spreadsheet and CSV files.
"""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

PROSE = """\
关于印发《某市儿童友好城市建设2023年工作要点》的通知

各镇(区、街道)、市各有关单位：
现将《某市儿童友好城市建设2023年工作要点》印发给你们，请认真贯彻落实。

某市妇女儿童工作委员会办公室
2023年3月15日

某市儿童友好城市建设2023年工作要点
一、总体要求
1. 坚持儿童优先发展原则。(市妇儿委负责)
二、重点任务
(一)社会政策友好。
1. 完善儿童福利保障制度。提高孤儿基本生活保障标准。实现应保尽保100%。(市民政局牵头，市财政局配合，2023年6月底前完成)
2. 推进儿童友好社区建设。新建儿童友好社区10个。
牵头单位：市民政局
配合单位：各镇(区、街道)、市住房和城乡建设局
完成时限：2023年12月31日
(二)公共服务友好。
3. 加强儿童健康服务。开展儿童健康体检不少于2次。实现新生儿疾病筛查全覆盖。(市卫健委牵头，市教育局、相关单位配合，长期坚持)
三、保障措施
1. 加强组织领导。(各成员单位负责)
"""

HEADER = ["序号", "重点任务", "具体措施", "牵头单位", "配合单位", "完成时限"]
ROWS = [
    ["一、社会政策友好"],
    [
        "1",
        "完善儿童福利保障制度",
        "提高孤儿基本生活保障标准。\n实现应保尽保100%。",
        "市民政局",
        "市财政局",
        "2023年6月底前",
    ],
    [
        "2",
        "推进儿童友好社区建设",
        "新建儿童友好社区10个。",
        "市民政局",
        "各镇(区、街道)\n市住房和城乡建设局",
        date(2023, 12, 31),
    ],
    ["二、公共服务友好"],
    [
        "3",
        "加强儿童健康服务",
        "开展儿童健康体检不少于2次。实现新生儿疾病筛查全覆盖。",
        "市卫健委",
        "市教育局、相关单位",
        "长期坚持",
    ],
]
TITLE = "某市儿童友好城市建设2023年工作要点"


def _cell(value: object) -> str:
    return f"{value.year}年{value.month}月{value.day}日" if isinstance(value, date) else str(value)


def write_prose(path: Path, encoding: str = "utf-8") -> Path:
    path.write_bytes(PROSE.encode(encoding))
    return path


def write_markdown(path: Path) -> Path:
    lines = [f"# {TITLE}", "", "| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    for row in ROWS:
        cells = [_cell(c).replace("\n", "<br>") for c in row] + [""] * (len(HEADER) - len(row))
        lines.append("| " + " | ".join(cells) + " |")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_xlsx(path: Path) -> Path:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment

    book = Workbook()
    sheet = book.active
    sheet.title = "任务清单"
    sheet.append([TITLE])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(HEADER))
    sheet.append(["某市妇女儿童工作委员会办公室"])
    sheet.append(["2023年3月15日"])
    sheet.append(HEADER)
    for row in ROWS:
        sheet.append([int(c) if isinstance(c, str) and c.isdigit() else c for c in row])
        if len(row) == 1:  # a category heading merged across the row
            sheet.merge_cells(
                start_row=sheet.max_row,
                start_column=1,
                end_row=sheet.max_row,
                end_column=len(HEADER),
            )
    for cells in sheet.iter_rows():
        for cell in cells:
            cell.alignment = Alignment(wrap_text=True)
    book.save(path)
    return path


def write_csv(path: Path, encoding: str = "utf-8-sig") -> Path:
    with path.open("w", encoding=encoding, newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow([TITLE])
        writer.writerow(HEADER)
        for row in ROWS:
            writer.writerow([_cell(c) for c in row])
    return path


def write_docx_table(path: Path) -> Path:
    from docx import Document

    document = Document()
    document.add_paragraph("关于印发《某市儿童友好城市建设2023年工作要点》的通知")
    document.add_paragraph("某市妇女儿童工作委员会办公室")
    document.add_paragraph("2023年3月15日")
    document.add_paragraph("附件")
    document.add_paragraph(TITLE)
    table = document.add_table(rows=1, cols=len(HEADER))
    for cell, text in zip(table.rows[0].cells, HEADER, strict=False):
        cell.text = text
    for row in ROWS:
        cells = table.add_row().cells
        if len(row) == 1:
            merged = cells[0].merge(cells[-1])
            merged.text = row[0]
            continue
        for cell, value in zip(cells, row, strict=False):
            text = _cell(value)
            lines = text.split("\n")
            paragraph = cell.paragraphs[0]
            run = paragraph.add_run(lines[0])
            for line in lines[1:]:  # a line break inside the cell, as offices type them
                run.add_break()
                run = paragraph.add_run(line)
    document.save(path)
    return path


def write_docx_prose(path: Path) -> Path:
    from docx import Document

    document = Document()
    for line in PROSE.splitlines():
        document.add_paragraph(line)
    document.save(path)
    return path
