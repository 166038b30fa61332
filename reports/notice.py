"""The printable 督办通知单: one level-2 or level-3 escalation as a Word document, office style.

The same house style as the 通报 (reports/document.py): a red masthead with the office's name and
the 督办单 number above a red rule, the title in 小标宋, the body in 仿宋_GB2312. Below it a form of
the facts (number, level, task and its content, the unit and its role, why it was escalated, what
is required and by when), and a 签收栏 the unit fills by hand and returns. The notice is dated the
day the escalation was raised, and answered by the day the yellow message names
(`models.escalations.respond_by`), so paper and e-mail agree.

Level 1 (蓝色提醒) is a reminder, not a 督办单 to sign for; the office's own backlog (an unreviewed
report) is never sent to the unit; both are refused with a message saying so. Printing reads only:
the escalation may be closed, and its plan archived.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Cm, Pt
from sqlmodel import Session, col, select

from escaping.xml import xml_text
from models.assignment import Assignment
from models.clock import local_day
from models.errors import DubanError
from models.escalation import Escalation, Level, has_notice
from models.escalation_desk import named_escalation
from models.escalations import LEVEL_LABELS, respond_by
from models.labels import ASSIGNMENT_ROLES
from models.plan import Plan, Task
from models.round import CheckIn, SupervisionRound
from models.unit import Unit
from reports.document import BODY_FONT, HEADING_FONT, RED, TITLE_FONT, _east_asian, _rule_below
from reports.page import cn_date

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
CONTENT_EXCERPT = (
    120  # characters of the task's 具体内容: the form names the task, the notice has it
)
SIGN_WIDTHS = (6.2, 4.2, 5.2)  # cm: 签收单位, 签收人, 签收时间
LEVEL_WORDS = {2: "二级督办", 3: "三级督办"}
# What the unit is asked to do first, by why it was escalated.
FIRST_STEP = {
    "overdue": "报送本轮进展情况",
    "unsigned": "登录督办系统签收任务并报送进展情况",
    "idle": "报送最新工作进展",
    "returned": "按照退回意见修改完善后重新报送",
}


class NoNoticeAtLevel(DubanError):
    zh = "督办单 {number} 为蓝色提醒（第一级），不印发督办通知单；二级、三级督办方可打印。"
    en = "{number} is a level-1 reminder: only levels 2 and 3 are printed as a notice"
    exit_code = 2


class NoNoticeForOffice(DubanError):
    zh = "督办单 {number} 是办公室自身的待审核事项，不向单位印发督办通知单。"
    en = "{number} is the office's own review backlog: no notice goes to the unit"
    exit_code = 2


@dataclass(frozen=True)
class Notice:
    """What a 督办通知单 says, in the words it prints."""

    office: str
    number: str
    level: int
    level_words: str  # 二级督办（黄色催办）
    task: str  # 任务12：开展质量守护行动。
    content: str
    plan_title: str
    unit: str
    role: str
    basis: str
    action: str
    deadline: date
    issued_on: date

    def fields(self) -> list[tuple[str, str]]:
        """The form's rows, label and text, in the order printed."""
        return [
            ("督办单编号", self.number),
            ("督办级别", self.level_words),
            ("督办事项", self.task),
            ("具体内容", self.content),
            ("责任单位", f"{self.unit}（{self.role}）"),
            ("督办依据", self.basis),
            ("办理要求", self.action),
            ("办结时限", f"{cn_date(self.deadline)}前"),
        ]


def notice_of(session: Session, reference: int | str, settings: Any) -> Notice:
    """The 督办通知单 of the escalation an id or 督办单 number names (levels 2 and 3 only)."""
    e = named_escalation(session, reference)
    number = e.number or f"#{e.id}"
    if e.level < Level.YELLOW:
        raise NoNoticeAtLevel(number=number)
    if not has_notice(e.level, e.stall):
        raise NoNoticeForOffice(number=number)
    assignment = session.get_one(Assignment, e.assignment_id)
    task = session.get_one(Task, assignment.task_id)
    plan = session.get_one(Plan, task.plan_id)
    unit = session.get_one(Unit, assignment.unit_id)
    zone, rules = settings.timezone, settings.cycle
    issued = local_day(e.opened_at, zone)
    deadline = respond_by(issued, rules)
    return Notice(
        office=settings.office_name,
        number=number,
        level=e.level,
        level_words=f"{LEVEL_WORDS[e.level]}（{LEVEL_LABELS[e.level]}）",
        task=f"任务{task.number}：{task.title}",
        content=_excerpt(task.content or task.title),
        plan_title=plan.title,
        unit=unit.name,
        role=ASSIGNMENT_ROLES.get(str(assignment.role), str(assignment.role)),
        basis=_basis(session, e, plan.title, zone),
        action=_action(e, deadline),
        deadline=deadline,
        issued_on=issued,
    )


def _excerpt(text: str) -> str:
    words = " ".join(text.split())
    return words if len(words) <= CONTENT_EXCERPT else words[:CONTENT_EXCERPT] + "……"


def _basis(session: Session, e: Escalation, plan_title: str, zone: str) -> str:
    """Why: the notice it rests on, the round and its due day, the stall, and the ladder so far."""
    parts = [f"根据《{plan_title}》和督办工作有关规定。"]
    if e.round_id is not None:
        round_ = session.get_one(SupervisionRound, e.round_id)
        checkin = session.exec(
            select(CheckIn).where(
                CheckIn.assignment_id == e.assignment_id, CheckIn.round_id == e.round_id
            )
        ).first()
        due = checkin.due_on if checkin else round_.report_by
        parts.append(f"“{round_.name}”要求于{cn_date(due)}前报送。")
    parts.append(f"截至{cn_date(local_day(e.opened_at, zone))}，{e.reason}。")
    # The ladder as it stood when this level was raised: a later level is not this notice's basis.
    ladder = session.exec(
        select(Escalation)
        .where(
            Escalation.assignment_id == e.assignment_id,
            col(Escalation.round_id).is_not_distinct_from(e.round_id),
            col(Escalation.directive_id).is_not_distinct_from(e.directive_id),  # its 批示's only
            col(Escalation.level) <= e.level,
        )
        .order_by(col(Escalation.level))
    ).all()
    steps = [
        f"{cn_date(local_day(s.opened_at, zone))}{LEVEL_LABELS[s.level]}（{s.number or '未编号'}）"
        for s in ladder
    ]
    parts.append(f"督办经过：{'；'.join(steps)}。")
    return "".join(parts)


def _action(e: Escalation, deadline: date) -> str:
    step = FIRST_STEP.get(e.stall, "报送进展情况")
    by = cn_date(deadline)
    if e.level == Level.RED:
        return (
            f"本事项已提请协调机制研究，列入下次会商会议议题。请贵单位于{by}前{step}，"
            "并将未按时报送的原因、存在的困难及下一步工作措施书面报送我办，按会商议定事项抓紧办理。"
        )
    return (
        f"请贵单位主要负责同志高度重视，督促相关责任处室于{by}前{step}，"
        "并书面说明未按时报送的原因及整改措施。逾期仍未办理的，我办将提请协调机制研究，"
        "并列入下次会商会议议题。"
    )


_UNSAFE = re.compile(r'[\\/:*?"<>|\s\x00-\x1f\x7f]+')


def notice_filename(notice: Notice) -> str:
    """督办通知单-督〔2022〕099号-市教育局.docx, with what no file system takes made a hyphen."""
    name = _UNSAFE.sub("-", f"督办通知单-{notice.number}-{notice.unit}").strip("-.")
    return f"{name[:150]}.docx"


def notice_docx(notice: Notice) -> bytes:
    """The 督办通知单 as a Word document."""
    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Cm(21), Cm(29.7)
    section.top_margin, section.bottom_margin = Cm(2.5), Cm(2.2)
    section.left_margin, section.right_margin = Cm(2.8), Cm(2.6)
    normal = doc.styles["Normal"]
    normal.font.size = Pt(14)
    _east_asian(normal.element.get_or_add_rPr(), BODY_FONT)
    # Word's document properties hold at most 255 characters (python-docx refuses more).
    doc.core_properties.title = xml_text(f"督办通知单 {notice.number}")[:255]
    doc.core_properties.author = xml_text(notice.office)[:255]

    _line(doc, notice.office, font=TITLE_FONT, size=24, red=True, centre=True)
    _rule_below(_line(doc, notice.number, size=14, centre=True))
    _line(doc, "督办通知单", font=TITLE_FONT, size=22, centre=True)
    _line(doc, f"{notice.unit}：")
    _form(doc, notice.fields(), widths=(2.8, 12.8))
    _line(doc, "签收栏", font=HEADING_FONT, size=14, before=10)
    sign = _table(doc, ["签收单位", "签收人", "签收时间"], widths=SIGN_WIDTHS)
    row = sign.add_row()
    for cell, width, text in zip(
        row.cells, SIGN_WIDTHS, (notice.unit, "", "　　年　　月　　日"), strict=True
    ):
        cell.width = Cm(width)
        _cell(cell, text)
    row.height = Cm(1.5)
    _line(doc, "请于收到本通知单后在签收栏签字，并将签收件交回办公室。", size=12)
    _line(doc, "")
    _line(doc, notice.office, right=True)
    _line(doc, cn_date(notice.issued_on), right=True)
    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()


def _line(
    doc,
    text: str,
    *,
    font: str | None = None,
    size: float | None = None,
    red: bool = False,
    centre: bool = False,
    right: bool = False,
    before: float = 0,
):
    paragraph = doc.add_paragraph()
    paragraph.paragraph_format.space_before = Pt(before)
    paragraph.paragraph_format.space_after = Pt(4)
    if centre or right:
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER if centre else WD_ALIGN_PARAGRAPH.RIGHT
    run = paragraph.add_run(xml_text(text))
    if font:
        _east_asian(run._element.get_or_add_rPr(), font)
    if size:
        run.font.size = Pt(size)
    if red:
        run.font.color.rgb = RED
    return paragraph


def _table(doc, headers: list[str], *, widths: tuple[float, ...]):
    table = _grid(doc, widths, rows=1)
    for cell, header, width in zip(table.rows[0].cells, headers, widths, strict=True):
        cell.width = Cm(width)
        _cell(cell, header, bold=True)
    return table


def _grid(doc, widths: tuple[float, ...], *, rows: int):
    """A bordered table whose columns keep their widths (Word and LibreOffice read the grid)."""
    table = doc.add_table(rows=rows, cols=len(widths))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    for column, width in zip(table.columns, widths, strict=True):
        column.width = Cm(width)
    return table


def _form(doc, rows: list[tuple[str, str]], *, widths: tuple[float, float]) -> None:
    """Label and text, one row each: the form a 督办单 is printed as."""
    table = _grid(doc, widths, rows=0)
    for label, text in rows:
        row = table.add_row()
        for cell, width in zip(row.cells, widths, strict=True):
            cell.width = Cm(width)
        _cell(row.cells[0], label, bold=True)
        _cell(row.cells[1], text)


def _cell(cell, text: str, *, bold: bool = False) -> None:
    run = cell.paragraphs[0].add_run(xml_text(text))
    run.font.size, run.font.bold = Pt(12), bold
