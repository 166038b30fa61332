"""Reading notices in every format and layout, without a database."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from intake.source import read_notice
from tests.support import notices, office

SEED = Path(__file__).parent / "fixtures" / "seed-notice.txt"


def units_of(task) -> list[tuple[str, str]]:
    return [(u.name, u.role.value) for u in task.units if not u.placeholder]


def test_the_seed_is_read_exactly() -> None:
    notice = read_notice(SEED)
    assert notice.title == "中国足彩网市未成年人保护工作领导小组2022年重点工作任务清单"
    assert notice.issuer == "中国足彩网市未成年人保护工作领导小组办公室"
    assert notice.issued_on == date(2022, 8, 25)
    assert [t.number for t in notice.tasks] == list(range(1, 17))
    by_number = {t.number: t for t in notice.tasks}

    first = by_number[1]
    assert first.title == "建立健全未成年人保护工作协调机制"
    assert len(first.measures) == 8 and first.measures[6] == "新建1个示范性未成年人保护工作站"
    assert first.targets == ["新建1个"]
    assert first.deadline is None and first.deadline_text is None
    assert units_of(first) == [("市民政局", "responsible"), ("如城街道", "responsible")]

    assert units_of(by_number[2]) == [
        ("各镇(区、街道)", "responsible"),
        ("市民政局", "responsible"),
    ]
    assert next(u for u in by_number[2].units if u.group).name == "各镇(区、街道)"

    three = units_of(by_number[3])
    assert len(three) == 9 and {role for _, role in three} == {"responsible"}
    assert three[0] == ("市民政局", "responsible") and three[-1] == ("市慈善总会", "responsible")

    five = units_of(by_number[5])
    assert five[0] == ("市教育局", "lead")
    assert [name for name, role in five if role == "cooperating"] == [
        "市政法委",
        "市公安局",
        "市检察院",
        "市科技局",
        "市人力资源和社会保障局",
        "市卫生健康委",
        "市应急管理局",
    ]
    assert "100%" in by_number[5].targets

    ten = by_number[10]
    assert [name for name, role in units_of(ten) if role == "lead"] == [
        "市委宣传部",
        "市委网信办",
        "市公安局",
        "市文化广电和旅游局",
        "市通信管理办",
    ]
    assert len(units_of(ten)) == 5
    assert any("任务 10" in w and "相关单位" in w for w in notice.warnings)
    assert "4部" not in " ".join(ten.targets)  # "4部委" names ministries, not a target

    assert units_of(by_number[12]) == [("市市场监管局", "responsible")]
    assert "18795767769" not in " ".join(by_number[6].targets)  # a hotline is not a target
    assert by_number[15].targets == [
        "100%"
    ]  # "参与损害修复100%,教育帮扶100%" is one sentence, one target


def test_the_seed_reads_the_same_in_gbk(tmp_path: Path) -> None:
    gbk = tmp_path / "seed-gbk.txt"
    gbk.write_bytes(SEED.read_text(encoding="utf-8").encode("gb18030"))
    bom = tmp_path / "seed-bom.txt"
    bom.write_bytes(b"\xef\xbb\xbf" + SEED.read_bytes())
    expected = read_notice(SEED).as_json()["tasks"]
    assert read_notice(gbk).as_json()["tasks"] == expected
    assert read_notice(bom).as_json()["tasks"] == expected


LAYOUTS: dict[str, tuple[str, Callable[[Path], Path]]] = {
    "prose-txt": ("notice.txt", notices.write_prose),
    "prose-gbk": ("notice-gbk.txt", lambda p: notices.write_prose(p, "gbk")),
    "prose-docx": ("notice-prose.docx", notices.write_docx_prose),
    "markdown": ("notice.md", notices.write_markdown),
    "docx-table": ("notice.docx", notices.write_docx_table),
    "xlsx": ("notice.xlsx", notices.write_xlsx),
    "csv-utf8": ("notice.csv", notices.write_csv),
    "csv-gbk": ("notice-gbk.csv", lambda p: notices.write_csv(p, "gbk")),
}


def _ruled_docx(path: Path) -> Path:
    """The Word table with every cell ruled, as offices print a 任务清单 (a PDF table is found by
    its rules)."""
    from docx import Document

    document = Document(notices.write_docx_table(path))
    document.tables[0].style = "Table Grid"
    document.save(path)
    return path


# Formats LibreOffice writes from the files above (skipped without soffice). A .wps is what WPS
# saves in Word 97 format and an .et in Excel 97 format, so they are made as such.
CONVERTED: dict[str, tuple[str, Callable[[Path], Path]]] = {
    "xls": ("notice.xls", lambda p: office.convert(notices.write_xlsx(p.with_suffix(".xlsx")), p)),
    "et": (
        "notice.et",
        lambda p: office.convert(
            notices.write_xlsx(p.with_suffix(".xlsx")), p.with_suffix(".xls")
        ).rename(p),
    ),
    "doc": (
        "notice.doc",
        lambda p: office.via_odt(notices.write_docx_table(p.with_suffix(".docx")), p),
    ),
    "wps": (
        "notice.wps",
        lambda p: office.via_odt(
            notices.write_docx_table(p.with_suffix(".docx")), p.with_suffix(".doc")
        ).rename(p),
    ),
    "rtf": (
        "notice.rtf",
        lambda p: office.convert(notices.write_docx_table(p.with_suffix(".docx")), p),
    ),
    "pdf-table": ("notice.pdf", lambda p: office.convert(_ruled_docx(p.with_suffix(".docx")), p)),
    "prose-pdf": (
        "notice-prose.pdf",
        lambda p: office.convert(notices.write_docx_prose(p.with_suffix(".docx")), p),
    ),
}
LAYOUTS.update(CONVERTED)


@pytest.fixture(scope="module")
def layout_file(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """The notice in a layout, written once per module (a LibreOffice conversion takes seconds)."""
    made: dict[str, Path] = {}

    def make(layout: str) -> Path:
        if layout not in made:
            name, write = LAYOUTS[layout]
            made[layout] = write(tmp_path_factory.mktemp(layout) / name)
        return made[layout]

    return make


@pytest.mark.parametrize(
    "layout",
    [
        pytest.param(name, marks=office.needs_soffice) if name in CONVERTED else name
        for name in LAYOUTS
    ],
)
def test_every_layout_gives_the_same_three_tasks(
    layout: str, layout_file: Callable[[str], Path]
) -> None:
    notice = read_notice(layout_file(layout))
    assert notice.title == notices.TITLE
    tasks = {t.number: t for t in notice.tasks}
    assert sorted(tasks) == [1, 2, 3]  # 总体要求 and 保障措施 hold no tasks

    welfare, community, health = tasks[1], tasks[2], tasks[3]
    assert welfare.title == "完善儿童福利保障制度"
    assert welfare.measures == ["提高孤儿基本生活保障标准", "实现应保尽保100%"]
    assert welfare.targets == ["100%"]
    assert welfare.deadline == date(2023, 6, 30)
    assert units_of(welfare) == [("市民政局", "lead"), ("市财政局", "cooperating")]

    assert community.measures == ["新建儿童友好社区10个"] and community.targets == ["10个"]
    assert community.deadline == date(2023, 12, 31)
    assert units_of(community) == [
        ("市民政局", "lead"),
        ("各镇(区、街道)", "cooperating"),
        ("市住房和城乡建设局", "cooperating"),
    ]

    assert health.measures == ["开展儿童健康体检不少于2次", "实现新生儿疾病筛查全覆盖"]
    assert health.targets == ["不少于2次", "全覆盖"]
    assert health.deadline is None and health.deadline_text == "长期坚持"
    assert units_of(health) == [("市卫健委", "lead"), ("市教育局", "cooperating")]
    assert any("相关单位" in w for w in notice.warnings)

    category = "(一)社会政策友好" if layout.startswith("prose") else "一、社会政策友好"
    assert welfare.category == community.category == category
    assert health.category.endswith("公共服务友好")


@pytest.mark.parametrize(
    "layout",
    [
        "prose-txt",
        "prose-docx",
        "docx-table",
        "xlsx",
        *(pytest.param(name, marks=office.needs_soffice) for name in CONVERTED),
    ],
)
def test_issuer_and_date_are_read_where_the_notice_has_them(
    layout: str, layout_file: Callable[[str], Path]
) -> None:
    notice = read_notice(layout_file(layout))
    assert notice.issuer == "某市妇女儿童工作委员会办公室"
    assert notice.issued_on == date(2023, 3, 15)


def test_a_wrapped_seed_style_table_with_a_category_row(tmp_path: Path) -> None:
    text = (
        "序号 | 任务 |\n责任单位 |\n完成时限 |\n"
        "一、社会政策友好 |\n"
        "1 |\n完善儿童福利\n保障制度。 |\n市民政局牵头，\n市财政局配合 |\n9月底前 |\n"
        "2 |\n推进社区建设。 |\n各镇（区、街道） |\n长期坚持 |\n"
    )
    path = tmp_path / "wrapped.txt"
    path.write_text("某市2023年重点任务清单\n" + text, encoding="utf-8")
    notice = read_notice(path)
    one, two = notice.tasks
    assert one.title == "完善儿童福利保障制度" and one.category == "一、社会政策友好"
    assert units_of(one) == [("市民政局", "lead"), ("市财政局", "cooperating")]
    assert one.deadline == date(2023, 9, 30)  # "9月底前" in the plan's year
    assert units_of(two) == [("各镇(区、街道)", "responsible")]


def _three_tasks(notice) -> list[tuple[str, list[tuple[str, str]]]]:
    return [(t.title, units_of(t)) for t in notice.tasks]


EXPECTED_UNITS = [
    ("完善儿童福利保障制度", [("市民政局", "lead"), ("市财政局", "cooperating")]),
    (
        "推进儿童友好社区建设",
        [
            ("市民政局", "lead"),
            ("各镇(区、街道)", "cooperating"),
            ("市住房和城乡建设局", "cooperating"),
        ],
    ),
    ("加强儿童健康服务", [("市卫健委", "lead"), ("市教育局", "cooperating")]),
]


def test_a_docx_named_doc_is_read_as_the_docx_it_is(tmp_path: Path) -> None:
    docx = notices.write_docx_table(tmp_path / "notice.docx")
    misnamed = tmp_path / "notice.doc"
    misnamed.write_bytes(docx.read_bytes())
    assert _three_tasks(read_notice(misnamed)) == EXPECTED_UNITS


@office.needs_soffice
def test_an_xls_named_xlsx_is_read_as_the_xls_it_is(
    layout_file: Callable[[str], Path], tmp_path: Path
) -> None:
    misnamed = tmp_path / "notice.xlsx"
    misnamed.write_bytes(layout_file("xls").read_bytes())
    assert _three_tasks(read_notice(misnamed)) == EXPECTED_UNITS


@office.needs_soffice
def test_a_web_table_saved_as_xls_is_read(tmp_path: Path) -> None:
    """Systems that "export to Excel" often write an HTML table named .xls."""

    def cells(row: list[object]) -> str:
        if len(row) == 1:
            return f'<tr><td colspan="{len(notices.HEADER)}">{row[0]}</td></tr>'
        texts = [f"{c.year}年{c.month}月{c.day}日" if isinstance(c, date) else str(c) for c in row]
        return "<tr>" + "".join(f"<td>{t.replace(chr(10), '<br>')}</td>" for t in texts) + "</tr>"

    table = "".join(cells(r) for r in [notices.HEADER, *notices.ROWS])
    path = tmp_path / "export.xls"
    path.write_text(
        '<html><head><meta charset="utf-8"></head><body><table><tr><td '
        f'colspan="6">{notices.TITLE}</td></tr>'
        f"{table}</table></body></html>",
        encoding="utf-8",
    )
    notice = read_notice(path)
    assert notice.title == notices.TITLE
    assert _three_tasks(notice) == EXPECTED_UNITS
    assert (
        notice.tasks[0].deadline == date(2023, 6, 30)
        and notice.tasks[0].category == "一、社会政策友好"
    )


@office.needs_soffice
def test_a_pdf_over_several_pages_loses_its_footers_and_keeps_every_task(tmp_path: Path) -> None:
    from docx import Document

    document = Document()
    document.sections[0].footer.paragraphs[0].text = "— 1 —"
    document.add_paragraph("某市2023年重点工作任务清单")
    for number in range(1, 41):  # three pages or so: items run over the page breaks
        document.add_paragraph(
            f"{number}. 推进第{number}项重点工作。完善工作机制，加强督促检查，"
            f"确保按期完成各项目标任务，形成可复制可推广的经验做法。(市民政局牵头，市财政局配合，"
            f"2023年12月底前完成)"
        )
    pdf = office.convert(
        document.save(tmp_path / "long.docx") or tmp_path / "long.docx", tmp_path / "long.pdf"
    )
    notice = read_notice(pdf)
    assert [t.number for t in notice.tasks] == list(range(1, 41))
    for task in notice.tasks:
        assert task.title == f"推进第{task.number}项重点工作"
        assert units_of(task) == [("市民政局", "lead"), ("市财政局", "cooperating")], task.number
        assert task.deadline == date(2023, 12, 31), task.number
        assert not any("—" in m for m in task.measures), task.measures
