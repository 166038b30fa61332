"""Workbooks as offices lay them out: merged cells over the rows they cover, several and hidden
sheets."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from openpyxl import Workbook

from intake.sheet_notice import read_xlsx
from intake.source import read_notice

HEADER = ["序号", "重点任务", "具体措施", "牵头单位", "配合单位", "完成时限"]


def units_of(task) -> list[tuple[str, str]]:
    return [(u.name, u.role.value) for u in task.units if not u.placeholder]


def merged_workbook(path: Path, *, merged_number: bool = False) -> Path:
    """牵头单位 and 完成时限 merged over tasks 1–3, category rows merged across, as a 任务清单 is
    often laid out."""
    book = Workbook()
    sheet = book.active
    sheet.title = "任务清单"
    sheet.append(["某市2023年重点工作任务清单"])
    sheet.merge_cells("A1:F1")
    sheet.append(HEADER)
    sheet.append(["一、社会政策友好"])
    sheet.merge_cells("A3:F3")
    sheet.append(
        [
            1,
            "完善儿童福利保障制度",
            "提高孤儿基本生活保障标准。",
            "市民政局",
            "市财政局",
            "2023年12月31日",
        ]
    )
    sheet.append(
        [2, "推进儿童友好社区建设", "新建儿童友好社区10个。", None, "市住房和城乡建设局", None]
    )
    sheet.append([3, "加强困境儿童关爱", "建立困境儿童档案。", None, "市教育局", None])
    sheet.merge_cells("D4:D6")
    sheet.merge_cells("F4:F6")
    sheet.append(["二、公共服务友好"])
    sheet.merge_cells("A7:F7")
    sheet.append(
        [4, "加强儿童健康服务", "开展儿童健康体检。", "市卫健委", "市医保局", "2023年6月30日"]
    )
    if merged_number:
        sheet.append([5, "建设儿童公园", "新建儿童公园2个。", "市住建局", None, "2023年10月31日"])
        sheet.append([None, "改造儿童游乐设施", "改造游乐设施10处。", None, None, None])
        sheet.merge_cells("A9:A10")
        sheet.merge_cells("D9:D10")
        sheet.merge_cells("F9:F10")
    book.save(path)
    return path


def test_merged_lead_and_deadline_cells_reach_every_task_they_cover(tmp_path: Path) -> None:
    notice = read_notice(merged_workbook(tmp_path / "merged.xlsx"))
    tasks = {t.number: t for t in notice.tasks}
    assert sorted(tasks) == [1, 2, 3, 4]
    for number, cooperating in ((1, "市财政局"), (2, "市住房和城乡建设局"), (3, "市教育局")):
        assert units_of(tasks[number]) == [("市民政局", "lead"), (cooperating, "cooperating")], (
            number
        )
        assert tasks[number].deadline == date(2023, 12, 31), number
        assert tasks[number].category == "一、社会政策友好", number
    assert units_of(tasks[4]) == [("市卫健委", "lead"), ("市医保局", "cooperating")]
    assert tasks[4].deadline == date(2023, 6, 30) and tasks[4].category == "二、公共服务友好"
    assert (
        notice.title == "某市2023年重点工作任务清单"
    )  # the merged title row is one cell, not six copies


def test_rows_under_one_merged_number_are_n_1_and_n_2(tmp_path: Path) -> None:
    table = read_xlsx(
        merged_workbook(tmp_path / "numbers.xlsx", merged_number=True).read_bytes(), "numbers.xlsx"
    )
    items = {item.number_text: item for item in table.items}
    assert list(items) == ["1", "2", "3", "4", "5.1", "5.2"]
    assert items["5.2"].title == "改造儿童游乐设施"
    assert (
        items["5.2"].units["lead"] == "市住建局" and items["5.2"].deadline_text == "2023年10月31日"
    )
    assert items["5.2"].where.index == 10 and items["5.2"].where.sheet == "任务清单"


def test_a_merged_task_column_gives_every_row_its_text(tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(["序号", "工作任务", "具体措施", "责任单位", "完成时限"])
    sheet.append([1, "推进政务公开", "公开年度报告。", "办公室", "2021年3月31日"])
    sheet.append([2, None, "更新公开目录。", "信息科", "2021年6月30日"])
    sheet.merge_cells("B2:B3")
    path = tmp_path / "group.xlsx"
    book.save(path)
    second = read_xlsx(path.read_bytes(), path.name).items[1]
    assert "推进政务公开" in (second.title, second.category)
    assert second.content == "更新公开目录。" and second.units == {"units": "信息科"}


def _table_sheet(sheet, task: str, unit: str) -> None:
    sheet.append(["序号", "重点任务", "责任单位", "完成时限"])
    sheet.append([1, task, unit, "2023年12月31日"])


def test_a_hidden_sheet_is_not_read_when_a_visible_one_holds_the_tasks(tmp_path: Path) -> None:
    book = Workbook()
    old = book.active
    old.title = "旧版清单"
    _table_sheet(old, "去年的任务", "市旧局")
    old.sheet_state = "hidden"
    _table_sheet(book.create_sheet("任务清单"), "今年的任务", "市民政局")
    path = tmp_path / "hidden.xlsx"
    book.save(path)
    notice = read_notice(path)
    assert [t.title for t in notice.tasks] == ["今年的任务"]
    assert units_of(notice.tasks[0]) == [("市民政局", "responsible")]
    assert notice.tasks[0].where.sheet == "任务清单"
    assert notice.warnings[0].startswith(
        "工作簿共有 2 个工作表，读取的是“任务清单”，未读取 “旧版清单”（隐藏）"
    )


def test_a_workbook_of_several_sheets_says_which_one_it_read(tmp_path: Path) -> None:
    book = Workbook()
    book.active.title = "填表说明"
    book.active.append(["请各单位于每月5日前报送进展。"])
    _table_sheet(book.create_sheet("任务分解"), "推进儿童友好社区建设", "市民政局")
    book.create_sheet("统计")
    path = tmp_path / "several.xlsx"
    book.save(path)
    notice = read_notice(path)
    assert [t.title for t in notice.tasks] == ["推进儿童友好社区建设"]
    assert notice.warnings[0].startswith(
        "工作簿共有 3 个工作表，读取的是“任务分解”，未读取 “填表说明”、“统计”"
    )


def test_a_task_table_only_on_a_hidden_sheet_is_read_and_said_to_be_hidden(tmp_path: Path) -> None:
    book = Workbook()
    book.active.title = "封面"
    book.active.append(["某市2023年重点工作任务清单"])
    hidden = book.create_sheet("清单")
    _table_sheet(hidden, "推进儿童友好社区建设", "市民政局")
    hidden.sheet_state = "hidden"
    path = tmp_path / "only-hidden.xlsx"
    book.save(path)
    notice = read_notice(path)
    assert [t.title for t in notice.tasks] == ["推进儿童友好社区建设"]
    assert notice.warnings[0].startswith("读取的是隐藏的工作表“清单”")


def test_a_single_sheet_workbook_gives_no_sheet_warning(tmp_path: Path) -> None:
    notice = read_notice(merged_workbook(tmp_path / "one.xlsx"))
    assert not any("工作表" in w for w in notice.warnings)
