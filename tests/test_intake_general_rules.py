"""The reader's rules made general (issue #14): each pinned with made-up text, none of it taken
from the corpus or from the held-out notices.

Header words read by meaning, unknown columns tolerated, unit cells recognised by what each
name is, "none" in a unit column, unit sentences without brackets, 一是…二是… parts, 会 inside
a name, placeholders that refer to other tasks' units, Traditional characters, plan titles.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from intake.notice import ParsedNotice
from intake.preface import read_preface
from intake.roles import label_kind, simplified
from intake.source import read_notice
from intake.unit_phrase import is_unit_cell, is_unit_name, parse_unit_phrase


def read(tmp_path: Path, text: str) -> ParsedNotice:
    path = tmp_path / "notice.txt"
    path.write_text(text, encoding="utf-8")
    return read_notice(path, partial=True)


def units_of(notice: ParsedNotice) -> list[list[tuple[str, str]]]:
    return [[(u.name, u.role.value) for u in t.units] for t in notice.tasks]


# --- header words by meaning ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("label", "kind"),
    [
        ("存在问题", "text"),
        ("提案题目", "text"),
        ("群众诉求", "text"),
        ("意见建议", "text"),
        ("事项名称", "text"),
        ("联名代表", "person"),
        ("领衔委员", "person"),
        ("主办单位", "lead"),
        ("會辦單位", "cooperating"),
        ("類別", "group"),
        ("備註", "remarks"),
        ("辦結時限", "deadline"),
    ],
)
def test_header_words_are_read_by_their_meaning(label: str, kind: str) -> None:
    assert label_kind(label) == kind


def test_traditional_characters_become_simplified_one_for_one() -> None:
    assert simplified("類別與備註") == "类别与备注"
    assert len(simplified("甲縣農業農村局")) == len("甲縣農業農村局")


def test_a_space_separated_table_with_a_people_column_a_proposal_column_and_none_cells(
    tmp_path: Path,
) -> None:
    notice = read(
        tmp_path,
        "甲县政协提案交办表\n序号 提案题目 提案委员 主办单位 会办单位 办结时限 备注\n"
        "1 关于修缮乡村古桥的提案 张某 甲县文旅局 甲县财政局、甲县交通局 2026年9月30日前\n"
        "2 关于增设社区食堂的提案 李某 甲县民政局 无 2026年8月31日前 甲县商务局\n",
    )
    assert [t.title for t in notice.tasks] == ["关于修缮乡村古桥的提案", "关于增设社区食堂的提案"]
    assert units_of(notice) == [
        [("甲县文旅局", "lead"), ("甲县财政局", "cooperating"), ("甲县交通局", "cooperating")],
        [("甲县民政局", "lead"), ("甲县商务局", "responsible")],
    ]
    assert [t.people for t in notice.tasks] == [["张某"], ["李某"]]
    assert [t.deadline for t in notice.tasks] == [date(2026, 9, 30), date(2026, 8, 31)]


def test_in_a_rectification_table_the_problem_is_the_title(tmp_path: Path) -> None:
    notice = read(
        tmp_path,
        "| 序号 | 存在问题 | 整改目标 | 整改措施 | 责任领导 | 责任单位 | 整改时限 |\n"
        "| --- | --- | --- | --- | --- | --- | --- |\n"
        "| 1 | 河道垃圾清理不及时 | 河面无漂浮物 | 每日巡河。 | 王某 | 乙区水务局 | 2026年6月"
        "底前 |\n",
    )
    assert [t.title for t in notice.tasks] == ["河道垃圾清理不及时"]
    assert units_of(notice) == [[("乙区水务局", "responsible")]]


def test_an_unknown_column_keeps_a_space_separated_table(tmp_path: Path) -> None:
    notice = read(
        tmp_path,
        "子县2026年民生项目表\n序号 项目名称 资金渠道 牵头单位 完成时限\n"
        "1 新建村级卫生室 财政专项 子县卫健局 2026年10月底前\n"
        "2 改造乡镇敬老院 福彩公益金 子县民政局 2026年11月底前\n",
    )
    assert [t.title for t in notice.tasks] == ["新建村级卫生室", "改造乡镇敬老院"]
    assert units_of(notice) == [[("子县卫健局", "lead")], [("子县民政局", "lead")]]
    assert [t.deadline for t in notice.tasks] == [date(2026, 10, 31), date(2026, 11, 30)]


def test_an_unknown_column_between_known_ones_keeps_a_one_cell_per_line_table(
    tmp_path: Path,
) -> None:
    notice = read(
        tmp_path,
        "丑县2026年民生项目表\n\n序号\n\n项目名称\n\n资金来源及筹措方式\n\n责任单位\n\n完成时限\n\n"
        "1\n\n新建村级卫生室\n\n财政专项\n\n丑县卫健局\n\n10月底前\n\n"
        "2\n\n改造乡镇敬老院\n\n福彩公益金\n\n丑县民政局\n\n11月底前\n",
    )
    assert [t.title for t in notice.tasks] == ["新建村级卫生室", "改造乡镇敬老院"]
    assert units_of(notice) == [[("丑县卫健局", "responsible")], [("丑县民政局", "responsible")]]


# --- unit cells by what they are ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "units"),
    [
        ("丙区文明办(牵头)、丙区教育局", True),
        ("丙区直各部门", True),
        ("各有关部门", True),
        ("丙区卫健局、相关部门", True),
        ("各村(社区)、丙镇派出所", True),
        ("丙区住建局等", True),
        ("加快推进道路建设", False),
        ("丙区教育局负责。", False),
        ("6月底前", False),
    ],
)
def test_a_unit_cell_is_recognised_by_what_each_name_is(cell: str, units: bool) -> None:
    assert is_unit_cell(cell) is units


def test_one_cell_per_line_with_role_brackets_and_placeholder_names(tmp_path: Path) -> None:
    notice = read(
        tmp_path,
        "丁区2026年便民服务任务清单\n\n序号\n\n工作任务\n\n责任单位\n\n完成时限\n\n"
        "1\n\n开通夜间办事窗口\n\n丁区行政审批局(牵头)、丁区人社局\n\n5月底前\n\n"
        "2\n\n推行帮办代办服务\n\n丁区直各部门、相关部门\n\n全年\n",
    )
    assert [t.title for t in notice.tasks] == ["开通夜间办事窗口", "推行帮办代办服务"]
    assert units_of(notice)[0] == [("丁区行政审批局", "lead"), ("丁区人社局", "responsible")]
    assert ("丁区直各部门", "responsible") in units_of(notice)[1]


# --- prose: unit sentences and 一是…二是…
# -------------------------------------------------------------


def test_a_sentence_that_assigns_units_closes_each_yishi_part(tmp_path: Path) -> None:
    notice = read(
        tmp_path,
        "戊乡2026年春耕工作方案\n二、工作任务\n"
        "(一)保障农资供应。一是摸清种子化肥需求,3月底前汇总上报。由戊乡农业站牵头,戊乡供销社、"
        "各村配合。二是开展农资打假。戊乡市场监管所会同戊乡派出所负责。\n"
        "(二)抓好技术指导。一是组织专家下田指导。由戊乡农技站负责。\n",
    )
    assert [(t.title, t.category) for t in notice.tasks] == [
        ("摸清种子化肥需求,3月底前汇总上报", "(一)保障农资供应"),
        ("开展农资打假", "(一)保障农资供应"),
        ("组织专家下田指导", "(二)抓好技术指导"),
    ]
    assert units_of(notice) == [
        [("戊乡农业站", "lead"), ("戊乡供销社", "cooperating"), ("各村", "cooperating")],
        [("戊乡市场监管所", "lead"), ("戊乡派出所", "cooperating")],
        [("戊乡农技站", "responsible")],
    ]
    assert notice.tasks[0].deadline == date(2026, 3, 31)


def test_a_numbered_item_closed_by_a_unit_sentence_is_a_task(tmp_path: Path) -> None:
    notice = read(
        tmp_path,
        "己县2026年重点工作\n二、重点任务\n1.建成县城污水处理厂。己县住建局牵头,己县财政局配合。\n",
    )
    assert [t.title for t in notice.tasks] == ["建成县城污水处理厂"]
    assert units_of(notice) == [[("己县住建局", "lead"), ("己县财政局", "cooperating")]]


def test_a_unit_sentence_with_deng_and_a_deadline_still_assigns(tmp_path: Path) -> None:
    notice = read(
        tmp_path,
        "寅县2026年重点工作\n二、重点任务\n"
        "1.新建垃圾转运站3座。由寅县城管局牵头,寅县财政局等部门配合,9月底前完成。\n",
    )
    assert [t.title for t in notice.tasks] == ["新建垃圾转运站3座"]
    assert units_of(notice) == [[("寅县城管局", "lead"), ("寅县财政局", "cooperating")]]
    assert notice.tasks[0].deadline == date(2026, 9, 30)


def test_what_follows_a_unit_sentence_still_belongs_to_the_task(tmp_path: Path) -> None:
    notice = read(
        tmp_path,
        "辰县2026年重点工作\n二、重点任务\n1.建成第二水厂。由辰县水务局负责。确保11月底前通水。\n",
    )
    assert [t.title for t in notice.tasks] == ["建成第二水厂"]
    assert units_of(notice) == [[("辰县水务局", "responsible")]]
    assert notice.tasks[0].deadline == date(2026, 11, 30)


def test_yishi_parts_each_closed_by_a_bracket_are_several_tasks(tmp_path: Path) -> None:
    notice = read(
        tmp_path,
        "庚市2026年工作要点\n二、重点任务\n"
        "(一)提升医疗服务。一是建设胸痛中心(牵头单位:庚市卫健委;配合单位:庚市医保局)。"
        "二是推广家庭医生签约(牵头单位:庚市卫健委)。\n",
    )
    assert [(t.title, t.category) for t in notice.tasks] == [
        ("建设胸痛中心", "(一)提升医疗服务"),
        ("推广家庭医生签约", "(一)提升医疗服务"),
    ]
    assert units_of(notice)[0] == [("庚市卫健委", "lead"), ("庚市医保局", "cooperating")]


def test_a_sentence_that_says_more_than_who_is_no_unit_sentence(tmp_path: Path) -> None:
    notice = read(
        tmp_path,
        "辛县2026年重点工作\n二、重点任务\n"
        "1.完善应急预案。各单位要加强协调配合。(辛县应急局负责)\n",
    )
    assert [t.title for t in notice.tasks] == ["完善应急预案"]
    assert units_of(notice) == [[("辛县应急局", "responsible")]]


# --- names ----------------------------------------------------------------------------------------


def test_hui_inside_a_name_is_not_huitong() -> None:
    assert [(u.name, u.role.value) for u in parse_unit_phrase("壬市贸促局会展中心")[0]] == [
        ("壬市贸促局会展中心", "responsible")
    ]
    assert [(u.name, u.role.value) for u in parse_unit_phrase("壬市财政局会壬市审计局")[0]] == [
        ("壬市财政局", "lead"),
        ("壬市审计局", "cooperating"),
    ]


def test_units_named_by_role_elsewhere_are_placeholders() -> None:
    named = parse_unit_phrase("各配合单位")[0]
    assert [u.placeholder for u in named] == [True]
    assert is_unit_name("各责任单位") and is_unit_name("癸县教育局(牵头)")


# --- plan title -----------------------------------------------------------------------------------


def test_a_bracketed_rule_line_is_never_the_title_and_a_table_name_is_one() -> None:
    preface = read_preface(["癸区2026年重点项目任务清单", "(各项任务中,列第一位的为牵头单位)"])
    assert preface.title == "癸区2026年重点项目任务清单"
    preface = read_preface(
        [
            "癸区人民政府办公室关于印发《癸区议案办理交办表》的通知",
            "癸区人民政府办公室",
            "2026年3月1日",
            "癸区议案办理交办表",
        ]
    )
    assert preface.title == "癸区议案办理交办表"


def test_a_traditional_section_heading_is_judged_like_a_simplified_one(tmp_path: Path) -> None:
    notice = read(
        tmp_path,
        "卯市2026年工作要點\n一、工作目標\n1.全年新增就業一萬人。(卯市人社局負責)\n"
        "二、重點任務\n1.建設人才公寓。(卯市住建局負責)\n",
    )
    assert [(t.title, t.category) for t in notice.tasks] == [("建設人才公寓", None)]


def test_a_label_line_saying_none_names_no_unit(tmp_path: Path) -> None:
    notice = read(
        tmp_path,
        "巳市2026年重点任务\n二、重点任务\n(一)整治农贸市场环境。\n"
        "主办单位:巳市商务局\n协办单位:无\n完成时限:2026年6月底前\n",
    )
    assert units_of(notice) == [[("巳市商务局", "lead")]]
    assert [(u.name, u.role.value) for u in parse_unit_phrase("巳市民政局牵头、暂无")[0]] == [
        ("巳市民政局", "lead")
    ]
