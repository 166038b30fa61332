"""The 通报 as a Word document in the style of an official document (GB/T 9704 in spirit).

A red masthead with the issuer (a published one with its 期号 and 文号 under it, centred, above the
red rule), the title in 小标宋 二号, the body in 仿宋_GB2312
三号 with two-character indents, section headings in 黑体, tables, the charts,
and the issuer and date at the foot. The machine opening it substitutes fonts
it lacks; the names are those an office's Word has.

A 通报 does not list 100,000 items: the overdue table shows the most overdue
200 and points to the workbook for the rest. Long tables are built by copying
one template row's XML, which is fifty times faster than python-docx's
`add_row` and cell lookups.
"""

from __future__ import annotations

import copy
import io
from pathlib import Path

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor

from escaping.xml import xml_text
from models.report_state import Issue
from reports.charts import Chart
from reports.page import cn_date, percent
from reports.results import LIGHT_LABELS, Results

BODY_FONT, TITLE_FONT, HEADING_FONT = "仿宋_GB2312", "方正小标宋简体", "黑体"
RED = RGBColor(0xC0, 0x00, 0x00)
DOC_OVERDUE = 200


def write_document(
    results: Results, charts: list[Chart], path: Path, issue: Issue | None = None
) -> None:
    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Cm(21), Cm(29.7)
    section.top_margin, section.bottom_margin = Cm(3.7), Cm(3.5)
    section.left_margin, section.right_margin = Cm(2.8), Cm(2.6)
    normal = doc.styles["Normal"]
    normal.font.size = Pt(16)
    _east_asian(normal.element.get_or_add_rPr(), BODY_FONT)
    doc.core_properties.title = results.title
    doc.core_properties.author = results.issuer

    r = results
    _masthead(doc, r.issuer, issue)
    _paragraph(doc, r.title, font=TITLE_FONT, size=22, align=WD_ALIGN_PARAGRAPH.CENTER)
    _paragraph(doc, "各成员单位：", indent=False)
    scope = f"“{r.round_name}”（报送截止日期{cn_date(r.report_by)}）" if r.round_name else ""
    _paragraph(doc, f"现将《{r.plan_title}》{scope}截至{cn_date(r.as_of_day)}的落实情况通报如下。")

    h = r.headline
    _heading(doc, "一、总体情况")
    _paragraph(
        doc,
        (
            f"本次通报涉及重点任务{h['tasks']}项、任务分工{h['assignments']}项，应报送{h['checkins']}项次。"
            f"其中，按时报送{h['on_time']}项次，逾期报送{h['late']}项次，未报送{h['missing']}项次，"
            f"尚未到期{h['pending']}项次；经审核确认{h['verified']}项，退回修改{h['returned']}项次；"
            f"完成率{percent(h['completion_rate'])}，按时报送率{percent(h['on_time_rate'])}。"
            f"督办事项按所升至的最高级别计：蓝色提醒{h['escalations']['1']}项、黄色催办"
            f"{h['escalations']['2']}项、提请领导小组协调{h['escalations']['3']}项。"
            f"办公室待审核{h['office_review']['items']}项，最长已等"
            f"{h['office_review']['longest_days']}个工作日。"
            f"暂停中{h.get('suspended', 0)}项（经办公室暂停，暂不计时）。"
        ),
    )
    for chart in charts:
        doc.add_picture(io.BytesIO(chart.png), width=Cm(15.5))
        doc.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER
        _paragraph(doc, chart.title, size=10.5, align=WD_ALIGN_PARAGRAPH.CENTER, indent=False)

    _heading(doc, "二、各项任务推进情况")
    _table(
        doc,
        ["序号", "任务", "灯", "牵头单位", "完成率"],
        [
            [
                str(t.number),
                t.title,
                LIGHT_LABELS[t.light],
                "、".join(t.lead_units),
                percent(t.completion_rate),
            ]
            for t in r.tasks
        ],
        widths=[1.2, 7.5, 1.0, 4.2, 1.8],
    )
    problems = [(t.number, unit, text) for t in r.tasks for unit, text in t.problems]
    if problems:
        _paragraph(doc, "各单位提出需协调解决的问题：")
        for number, unit, text in problems:
            _paragraph(doc, f"任务{number}　{unit}：{text}")

    _heading(doc, "三、各单位报送情况")
    _table(
        doc,
        ["排名", "单位", "按时", "逾期", "未报", "按时报送率", "退回", "督办", "收到消息"],
        [
            [
                str(u.rank),
                u.name,
                str(u.on_time),
                str(u.late),
                str(u.missing),
                percent(u.on_time_rate),
                str(u.returns),
                str(u.escalations),
                str(u.messages),
            ]
            for u in r.units
        ],
        widths=[1.2, 4.4, 1.2, 1.2, 1.2, 2.2, 1.2, 1.2, 1.6],
    )

    _heading(doc, "四、提请会商事项")
    if r.agenda:
        _table(
            doc,
            ["督办单号", "任务", "单位", "原因", "需协调解决的问题"],
            [
                [
                    e.number,
                    f"{e.task_number}. {e.task_title}",
                    e.unit,
                    e.reason_zh,
                    "；".join(e.problems),
                ]
                for e in r.agenda
            ],
            widths=[2.8, 4.5, 2.8, 2.8, 2.8],
        )
    else:
        _paragraph(doc, "无。")

    _heading(doc, "五、逾期未报事项")
    if r.overdue:
        shown = r.overdue[:DOC_OVERDUE]
        _table(
            doc,
            ["任务", "单位", "截止日期", "逾期工作日"],
            [
                [
                    f"{i.task_number}. {i.task_title}",
                    i.unit,
                    i.due_in_force.isoformat(),
                    str(i.overdue_days),
                ]
                for i in shown
            ],
            widths=[7.5, 4.0, 2.5, 1.7],
        )
        if len(r.overdue) > len(shown):
            _paragraph(
                doc,
                f"以上为逾期时间最长的{len(shown)}项，其余{len(r.overdue) - len(shown)}项详见"
                "附表（Excel）“逾期”工作表。",
            )
    else:
        _paragraph(doc, "无。")

    _scores(doc, r)
    _directives(doc, r)

    _heading(doc, "七、有关要求")
    _paragraph(
        doc,
        "请各成员单位对照通报查找不足、狠抓落实。逾期报送的单位要认真分析原因，确保今后按时报送；"
        "未报送的单位要抓紧补报；报告被退回的单位要按照退回意见修改完善后重新报送。",
    )
    _paragraph(doc, "")
    _paragraph(doc, r.issuer, align=WD_ALIGN_PARAGRAPH.RIGHT, indent=False)
    _paragraph(doc, cn_date(r.as_of_day), align=WD_ALIGN_PARAGRAPH.RIGHT, indent=False)
    doc.save(str(path))


def _masthead(doc, issuer: str, issue: Issue | None) -> None:
    """The issuer in red; a published 通报's 期号 under it and its 文号 on the line above the red
    rule, both centred (a draft has neither: the rule follows the issuer)."""
    last = _paragraph(
        doc, issuer, font=TITLE_FONT, size=26, colour=RED, align=WD_ALIGN_PARAGRAPH.CENTER
    )
    if issue is not None:
        _paragraph(doc, issue.label, align=WD_ALIGN_PARAGRAPH.CENTER)
        last = _paragraph(doc, issue.doc_no, align=WD_ALIGN_PARAGRAPH.CENTER)
    _rule_below(last)


def _scores(doc, r: Results) -> None:
    """六、考核得分: every unit's score and rank, the rules in words, then the 红黑榜."""
    board = r.scores
    _heading(doc, "六、考核得分")
    _paragraph(doc, board.basis)
    _table(
        doc,
        ["排名", "单位", "得分", "计分事项"],
        [[str(u.rank), u.unit, f"{u.score:g}", u.reasons] for u in board.units],
        widths=[1.2, 4.4, 1.6, 8.5],
    )
    for title, listed, words in (
        ("红榜", board.red, "reasons"),
        ("黑榜", board.black, "deductions"),
    ):
        names = "；".join(f"{u.unit}（{u.score:g}分，{getattr(u, words)}）" for u in listed)
        _paragraph(doc, f"{title}：{names or '无'}。")


def _east_asian(rpr, font: str) -> None:
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for attribute in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(attribute), font)


def _paragraph(
    doc,
    text: str,
    *,
    font: str | None = None,
    size: float | None = None,
    colour: RGBColor | None = None,
    align=None,
    indent: bool = True,
):
    paragraph = doc.add_paragraph()
    if align is not None:
        paragraph.alignment = align
    elif indent:
        paragraph.paragraph_format.first_line_indent = Pt(32)  # two characters of 三号
    run = paragraph.add_run(xml_text(text))
    if font:
        _east_asian(run._element.get_or_add_rPr(), font)
    if size:
        run.font.size = Pt(size)
    if colour is not None:
        run.font.color.rgb = colour
    return paragraph


def _heading(doc, text: str) -> None:
    _paragraph(doc, text, font=HEADING_FONT)


def _rule_below(paragraph) -> None:
    """The red line under an official document's masthead."""
    borders = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for key, value in (
        ("w:val", "single"),
        ("w:sz", "18"),
        ("w:space", "4"),
        ("w:color", "C00000"),
    ):
        bottom.set(qn(key), value)
    borders.append(bottom)
    paragraph._p.get_or_add_pPr().append(borders)


def _table(doc, headers: list[str], rows: list[list[str]], *, widths: list[float]) -> None:
    table = doc.add_table(rows=2, cols=len(headers))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for n, (cell, width) in enumerate(zip(table.rows[0].cells, widths, strict=True)):
        cell.width = Cm(width)
        cell.text = ""
        run = cell.paragraphs[0].add_run(headers[n])
        run.font.size, run.font.bold = Pt(10.5), True
        table.rows[1].cells[n].width = Cm(width)
        body = (
            table.rows[1].cells[n].paragraphs[0].add_run("·")
        )  # a w:t to copy; every row overwrites it
        body.font.size = Pt(10.5)
    header = table.rows[0]._tr
    properties = OxmlElement("w:trPr")
    repeat = OxmlElement("w:tblHeader")  # the header row repeats on every page
    properties.append(repeat)
    header.insert(0, properties)
    template = table.rows[1]._tr
    parent = template.getparent()
    parent.remove(template)
    for values in rows:
        row = copy.deepcopy(template)
        for text_element, value in zip(row.iter(qn("w:t")), values, strict=True):
            text_element.text = value = xml_text(value)
            if value != value.strip():
                text_element.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
        parent.append(row)


def _directives(doc, r: Results) -> None:
    """领导批示落实情况: each unit's part of each 批示 in scope as it stood (when there are any)."""
    if not r.directives:
        return
    unresolved = sum(1 for d in r.directives if d.unresolved)
    _heading(doc, "附：领导批示落实情况")
    _paragraph(
        doc,
        f"涉及批示{len({d.directive_id for d in r.directives})}件，"
        f"逾期未回复{unresolved}个单位次。",
    )
    _table(
        doc,
        ["任务", "批示", "单位", "期限", "落实情况"],
        [
            [
                f"{d.task_number}. {d.task_title}",
                f"{d.leader}：{d.text}",
                d.unit,
                d.deadline.isoformat() if d.deadline else "未定",
                d.state_zh + (f"（{d.reply}）" if d.reply else ""),
            ]
            for d in r.directives
        ],
        widths=[3.5, 5.0, 2.5, 1.8, 2.9],
    )
