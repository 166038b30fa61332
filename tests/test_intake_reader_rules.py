"""The reader's general rules, each pinned with made-up text (none of it from the corpus).

Roles by what labels say, unit lists, the rules a notice prints about itself, deadlines, and
every text layout: one cell per line, rows per line with rowspans, space-separated rows,
several bracketed tasks in one paragraph, inline labels, and partial reading (待分工).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from intake.notice import ImportFailed, ParsedNotice
from intake.roles import first_is_lead_rule, label_kind
from intake.source import read_notice
from intake.unit_phrase import parse_unit_phrase, read_assignment
from intake.wording import chinese_number, deadline_in_text, parse_deadline
from tests.support.hostile import HOSTILE


def roles(phrase: str, **kwargs: bool) -> list[tuple[str, str]]:
    return [(u.name, u.role.value) for u in parse_unit_phrase(phrase, **kwargs)[0]]


def read(tmp_path: Path, text: str, partial: bool = True) -> ParsedNotice:
    path = tmp_path / "notice.txt"
    path.write_text(text, encoding="utf-8")
    return read_notice(path, partial=partial)


def units_of(notice: ParsedNotice) -> list[list[tuple[str, str]]]:
    return [[(u.name, u.role.value) for u in t.units] for t in notice.tasks]


# --- labels and columns --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("label", "kind"),
    [
        ("牵头责任单位", "lead"),
        ("主责部门", "lead"),
        ("协同配合单位", "cooperating"),
        ("协办单位", "cooperating"),
        ("参与部门", "cooperating"),
        ("责任处室", "units"),
        ("承办单位", "units"),
        ("责任科室", "units"),
        ("分 管 县领导", "person"),
        ("牵头市领导", "person"),
        ("项目责任人", "person"),
        ("评分部门", "scorer"),
        ("考核部门", "scorer"),
        ("完成时限", "deadline"),
        ("时限要求", "deadline"),
        ("时间节点", "deadline"),
        ("期限", "deadline"),
        ("重点任务", "text"),
        ("具体措施", "text"),
        ("考核内容", "text"),
        ("类别", "group"),
        ("序号", "number"),
        ("备注", "remarks"),
        ("部门分工", "units"),
        ("责任部门（排在首位的为牵头部门）", "units"),
        ("单位", None),
        ("任务来源", "text"),
        ("办公室", None),
        ("各科室", None),
    ],
)
def test_labels_are_classified_by_what_they_say(label: str, kind: str | None) -> None:
    assert label_kind(label) == kind


def test_the_printed_first_is_lead_rule_is_recognised_in_its_spellings() -> None:
    assert first_is_lead_rule("列第一位者为牵头单位")
    assert first_is_lead_rule("排在第一位的部门为牵头部门")
    assert not first_is_lead_rule("各单位按职责分工负责")


# --- unit phrases ---------------------------------------------------------------------------------


def test_labels_inside_a_bracket_switch_the_role_of_the_names_after_them() -> None:
    assert roles("牵头单位:甲市商务局;配合单位:甲市财政局、甲市税务局") == [
        ("甲市商务局", "lead"),
        ("甲市财政局", "cooperating"),
        ("甲市税务局", "cooperating"),
    ]


def test_a_people_label_keeps_the_person_off_the_units() -> None:
    said = read_assignment("牵头领导:张某某,责任单位:乙县水利局")
    assert [(u.name, u.role.value) for u in said.units] == [("乙县水利局", "responsible")]
    assert said.people == ["张某某"]


def test_a_scorer_label_names_no_assignee() -> None:
    assert roles("责任单位:乙县林业局,评分部门:乙市林业局") == [("乙县林业局", "responsible")]


def test_huitong_makes_the_first_lead_and_the_second_cooperating() -> None:
    assert roles("甲部会同乙部负责") == [("甲部", "lead"), ("乙部", "cooperating")]
    assert roles("甲部、丙部会同有关部门负责") == [
        ("甲部", "lead"),
        ("丙部", "lead"),
        ("有关部门", "cooperating"),
    ]
    assert roles("综合处会财务处") == [("综合处", "lead"), ("财务处", "cooperating")]
    assert roles("丙区管委会办公室") == [("丙区管委会办公室", "responsible")]  # 委会 is no 会同


def test_each_so_marked_leads_and_each_for_its_part_changes_no_role() -> None:
    assert roles("甲局、乙局分别牵头") == [("甲局", "lead"), ("乙局", "lead")]
    assert roles("甲局、乙局分别负责落实") == [("甲局", "responsible"), ("乙局", "responsible")]
    assert roles("甲处、乙处等按职责分工落实") == [("甲处", "responsible"), ("乙处", "responsible")]


def test_and_others_gives_the_names_plus_the_placeholder_or_group() -> None:
    assert roles("甲部等有关部门和单位负责") == [
        ("甲部", "responsible"),
        ("有关部门和单位", "responsible"),
    ]
    assert roles("甲部、乙部等和各省级人民政府负责") == [
        ("甲部", "responsible"),
        ("乙部", "responsible"),
        ("各省级人民政府", "responsible"),
    ]
    assert roles("市高等教育局") == [("市高等教育局", "responsible")]  # 等 inside a name
    units, _ = parse_unit_phrase("甲部等有关部门和单位负责")
    assert [u.placeholder for u in units] == [False, True]


def test_a_group_of_bare_kinds_after_ge_is_one_unit() -> None:
    assert roles("甲市民政局、各区、县级市") == [
        ("甲市民政局", "responsible"),
        ("各区、县级市", "responsible"),
    ]
    assert roles("各乡镇人民政府、街道办事处") == [("各乡镇人民政府、街道办事处", "responsible")]
    assert roles("各区文化局、市局直属单位") == [
        ("各区文化局", "responsible"),
        ("市局直属单位", "responsible"),
    ]


def test_names_split_at_ji_never_at_he_nor_inside_any_bracket() -> None:
    assert roles("甲局及乙局") == [("甲局", "responsible"), ("乙局", "responsible")]
    assert roles("示范区党工委和管委会") == [("示范区党工委和管委会", "responsible")]
    assert roles("【牵头单位:甲局、乙局】") == [("甲局", "lead"), ("乙局", "lead")]
    assert roles("〔责任单位:各镇(街道、园区)〕") == [("各镇(街道、园区)", "responsible")]


def test_the_first_is_lead_rule_makes_each_lists_first_unit_lead_and_is_not_a_unit() -> None:
    assert roles("丁部、戊部负责。列第一位者为牵头单位,下同") == [
        ("丁部", "lead"),
        ("戊部", "responsible"),
    ]
    assert roles("丁部、戊部负责", first_is_lead=True) == [
        ("丁部", "lead"),
        ("戊部", "responsible"),
    ]
    assert roles("各有关单位、戊部负责", first_is_lead=True)[0] == (
        "各有关单位",
        "lead",
    )  # a placeholder too


def test_a_rule_for_all_later_tasks_names_no_unit_of_its_own() -> None:
    assert roles("以下各项任务均需各区政府落实，不再单独列出") == []


def test_a_deadline_inside_the_unit_bracket_is_the_tasks_deadline() -> None:
    said = read_assignment("甲局负责,2023年9月底前完成")
    assert [u.name for u in said.units] == ["甲局"] and parse_deadline(said.deadline_text, 2023)[
        0
    ] == date(2023, 9, 30)


# --- deadlines ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("全年", date(2024, 12, 31)),
        ("年内持续推进", date(2024, 12, 31)),
        ("十一月底前", date(2024, 11, 30)),
        ("2024315", date(2024, 3, 15)),
        ("8月前", date(2024, 7, 31)),
        ("5月底前动工", date(2024, 5, 31)),
        ("长期坚持", None),
    ],
)
def test_deadline_wording(text: str, expected: date | None) -> None:
    assert parse_deadline(text, 2024)[0] == expected


def test_a_deadline_in_the_text_before_qian_or_counted_from_the_notice() -> None:
    assert deadline_in_text(
        "制定办法，2022年6月底前出台细则，年底前全面实施。", 2022, None
    ) == date(2022, 12, 31)
    assert deadline_in_text("自本方案印发之日起30日内报送方案。", 2022, date(2022, 3, 10)) == date(
        2022, 4, 9
    )
    assert deadline_in_text("到2025年建成示范区。", 2022, None) is None  # a target, not a deadline


def test_chinese_numbers() -> None:
    assert [chinese_number(t) for t in ("一", "十", "十五", "二十三", "三十")] == [
        1,
        10,
        15,
        23,
        30,
    ]
    assert chinese_number("甲") is None


# --- layouts
# ----------------------------------------------------------------------------------------


def test_one_cell_per_line_with_multi_unit_cells_and_a_row_under_a_merged_number(
    tmp_path: Path,
) -> None:
    notice = read(
        tmp_path,
        "某县2024年实事清单\n\n序号\n\n实事项目\n\n责任单位\n\n完成时限\n\n"
        "1\n\n新建一座公园。\n\n某县住建局\n\n某县园林处\n\n10月底前\n\n"
        "2\n\n改造老旧小区。\n\n某县住建局\n\n6月底前开工\n\n完成外墙改造。\n\n12月底前\n\n"
        "3\n\n建设图书馆。\n\n某县文化局\n\n年底前\n",
    )
    assert [t.title for t in notice.tasks] == [
        "新建一座公园",
        "改造老旧小区",
        "完成外墙改造",
        "建设图书馆",
    ]
    assert units_of(notice)[0] == [("某县住建局", "responsible"), ("某县园林处", "responsible")]
    assert units_of(notice)[2] == [("某县住建局", "responsible")]  # the merged unit cell above
    assert [t.deadline for t in notice.tasks] == [
        date(2024, 10, 31),
        date(2024, 6, 30),
        date(2024, 12, 31),
        date(2024, 12, 31),
    ]


def test_one_cell_per_line_between_bar_lines_with_a_group_cell_before_the_number(
    tmp_path: Path,
) -> None:
    notice = read(
        tmp_path,
        "工作任务\n|\n具体要求\n|\n责任科室\n|\n时限要求\n|\n"
        "做好公开\n|\n1\n|\n公开目录。再做一件事。\n|\n综合科\n|\n持续推进\n|\n"
        "2\n|\n公开年报。\n|\n各科室\n|\n持续推进\n|\n"
        "加强培训\n|\n3\n|\n参加培训。\n|\n综合科\n|\n持续推进\n|\n",
    )
    assert [(t.title, t.category) for t in notice.tasks] == [
        ("公开目录", "做好公开"),
        ("公开年报", "做好公开"),
        ("参加培训", "加强培训"),
    ]
    assert units_of(notice)[1] == [("各科室", "responsible")]


def test_rows_per_line_where_a_merged_cell_is_absent(tmp_path: Path) -> None:
    notice = read(
        tmp_path,
        "序号 | 工作任务 | 细化分工 | 责任处室 | 完成时限 | 备注 |\n"
        "1 | 做好发布 | 发布权威信息 | 甲处、乙处 | 长期推进 |\n|\n"
        "2 | 做好解读 | 丙处 | 2024年5月底前 |\n|\n",
    )
    assert [(t.title, t.category) for t in notice.tasks] == [
        ("发布权威信息", "做好发布"),
        ("做好解读", "做好发布"),
    ]
    assert units_of(notice)[1] == [("丙处", "responsible")]
    assert notice.tasks[1].deadline == date(2024, 5, 31)


def test_space_separated_rows_with_wrap_spaces_and_remarks_units(tmp_path: Path) -> None:
    notice = read(
        tmp_path,
        "(一)共同任务\n序号 类别 主要任务 牵头单位 参与单位\n"
        "1 保护水 源 守住红线 甲市水利局 甲市农业局、 甲市林业局\n"
        "2  守住 底线 甲市水利局 甲市环保局\n",
    )
    assert [(t.title, t.category) for t in notice.tasks] == [
        ("守住红线", "保护水源"),
        ("守住底线", "保护水源"),
    ]
    assert units_of(notice)[0] == [
        ("甲市水利局", "lead"),
        ("甲市农业局", "cooperating"),
        ("甲市林业局", "cooperating"),
    ]


def test_several_tasks_in_one_paragraph_each_closed_by_its_bracket(tmp_path: Path) -> None:
    notice = read(
        tmp_path,
        "某市工作要点\n一、做好公开\n(一)围绕中心工作做好公开。公开规划信息。(市规划局负责落实)"
        "公开交通建设情况。(市交通局、市城管局分别负责落实)\n",
    )
    assert [(t.title, t.category) for t in notice.tasks] == [
        ("公开规划信息", "(一)围绕中心工作做好公开"),
        ("公开交通建设情况", "(一)围绕中心工作做好公开"),
    ]
    assert units_of(notice)[1] == [("市交通局", "responsible"), ("市城管局", "responsible")]


def test_one_long_line_of_items_with_inline_labels(tmp_path: Path) -> None:
    notice = read(
        tmp_path,
        "现将进展公示如下。 1.新建停车场2个。 牵头领导:李某 责任单位:某市交通局 项目责任人:王某 "
        "实际完成情况:已完成。 2.新增公交线路。 责任单位:某市交通局 配合单位:某市公安局,各区政"
        "府 甲区 乙区 合计 3\n",
    )
    assert [t.title for t in notice.tasks] == ["新建停车场2个", "新增公交线路"]
    assert units_of(notice)[1] == [
        ("某市交通局", "responsible"),
        ("某市公安局", "cooperating"),
        ("各区政府", "cooperating"),
    ]
    assert notice.tasks[0].people == ["李某", "王某"]


def test_label_lines_read_by_role_and_the_numbered_paragraphs_of_a_long_heading(
    tmp_path: Path,
) -> None:
    notice = read(
        tmp_path,
        "一、对完成年度任务好、工作成效突出的县(市、区),给予适当倾斜支持,并优先安排试点项目。(甲部会同乙部负责)\n"
        "二、重点工作\n1. 稳住经济增长。\n牵头负责领导:赵某。\n牵头责任单位:某市发改委。\n协同"
        "责任单位:某市统计局等,各县、市、区政府。\n",
    )
    assert units_of(notice) == [
        [("甲部", "lead"), ("乙部", "cooperating")],
        [
            ("某市发改委", "lead"),
            ("某市统计局", "cooperating"),
            ("各县、市、区政府", "cooperating"),
        ],
    ]
    assert notice.tasks[1].people == ["赵某"]


def test_a_requirements_section_continuing_the_task_numbers_holds_tasks(tmp_path: Path) -> None:
    notice = read(
        tmp_path,
        "一、重点任务\n(一)做好甲事。内容。(甲部负责)\n(二)做好乙事。内容。(乙部负责)\n"
        "二、保障措施\n(三)加强领导。内容。(甲部、乙部负责)\n",
    )
    assert [(t.title, t.category) for t in notice.tasks][-1] == ("加强领导", "二、保障措施")


# --- partial reading ------------------------------------------------------------------------------


def test_a_task_without_units_is_kept_as_unassigned_with_its_problem(tmp_path: Path) -> None:
    text = "一、重点任务\n1. 做好甲事。(甲局负责)\n2. 做好乙事。\n"
    notice = read(tmp_path, text)
    assert [(t.title, t.unassigned) for t in notice.tasks] == [
        ("做好甲事", False),
        ("做好乙事", True),
    ]
    assert len(notice.problems) == 1 and "没有责任单位" in notice.problems[0].zh
    assert notice.as_json()["tasks"][1]["unassigned"] is True
    with pytest.raises(ImportFailed):
        read(tmp_path, text, partial=False)  # today's all-or-nothing reading


def test_a_notice_where_no_task_has_a_unit_is_refused_even_partially(tmp_path: Path) -> None:
    with pytest.raises(ImportFailed) as refused:
        read(tmp_path, "一、重点任务\n1. 做好甲事。\n2. 做好乙事。\n")
    assert "没有责任单位" in refused.value.message("zh")


def test_pdf_text_with_hard_line_breaks_and_page_footers(tmp_path: Path) -> None:
    notice = read(
        tmp_path,
        "某区落实街道工作意见的任务分解方案\n"
        "为落实上级关于街道工作的各项要求并结合本区实际情况\n"
        "制定如下任务分解方案请各单位认真抓好贯彻落实工作任务\n"
        "一、提高基层党建工作水平并加强党对基层治理的全面\n"
        "领导\n"
        "1.完善街道党工委领导体制机制并优化决策程序和议事规则\n"
        "— 2 —\n"
        "全面提升街道抓党建抓治理抓服务的领导能力和工作水平。\n"
        "牵头单位:区委组织部\n"
        "协办单位:区委编办、各街道党工委\n"
        "2.健全社区议事协商制度并推动社区治理重心下移到网格\n"
        "增强居民参与社区治理的积极性。\n"
        "牵头单位:区民政局\n",
    )
    assert [t.category for t in notice.tasks] == [
        "一、提高基层党建工作水平并加强党对基层治理的全面领导"
    ] * 2
    assert notice.tasks[0].title == (
        "完善街道党工委领导体制机制并优化决策程序和议事规则全面提升街道抓党建抓治理抓服务的"
        "领导能力和工作水平"
    )
    assert units_of(notice)[0] == [
        ("区委组织部", "lead"),
        ("区委编办", "cooperating"),
        ("各街道党工委", "cooperating"),
    ]


def test_a_plan_title_printed_over_two_lines_is_one_and_never_the_issuer_or_a_number() -> None:
    from intake.preface import read_preface

    preface = read_preface(
        [
            "【通知公告】某市人民政府关于做好当前",
            "重点工作的实施意见",
            "某政发〔2024〕3号",
            "某市人民政府",
            "2024年2月1日",
        ]
    )
    assert preface.title == "某市人民政府关于做好当前重点工作的实施意见"
    assert preface.issuer == "某市人民政府" and preface.issued_on == date(2024, 2, 1)
    assert (
        read_preface(["某政〔2024〕8号", "附件:1.某县2024年重点任务清单"]).title
        == "某县2024年重点任务清单"
    )


def test_numbered_measures_under_a_task_stay_its_measures(tmp_path: Path) -> None:
    notice = read(
        tmp_path,
        "一、重点任务\n1.推进某某改革。\n(1)完善甲制度。\n(2)健全乙机制。\n"
        "牵头单位:某市改革办\n配合单位:某市司法局\n2.做好丙工作。(某市丙局负责)\n",
    )
    assert [t.title for t in notice.tasks] == ["推进某某改革", "做好丙工作"]
    assert notice.tasks[0].measures == ["(1)完善甲制度", "(2)健全乙机制"]
    assert units_of(notice)[0] == [("某市改革办", "lead"), ("某市司法局", "cooperating")]


def test_a_row_repeating_the_number_and_units_above_is_a_second_row_not_a_duplicate(
    tmp_path: Path,
) -> None:
    path = tmp_path / "tasks.csv"
    path.write_text(
        "序号,实事项目,责任单位,完成时限\n1,新建公园。,某县住建局,6月底前\n1,改造广场。,某县住建局,9月底前\n"
        "2,建设书屋。,某县文化局,年底前\n",
        encoding="utf-8",
    )
    notice = read_notice(path)
    assert [(t.number, t.title) for t in notice.tasks] == [
        (1, "新建公园"),
        (2, "改造广场"),
        (3, "建设书屋"),
    ]
    path.write_text(
        "序号,实事项目,责任单位\n1,新建公园。,某县住建局\n1,改造广场。,某县水务局\n",
        encoding="utf-8",
    )
    with pytest.raises(ImportFailed) as refused:
        read_notice(path)
    assert "序号 1 重复" in refused.value.message("zh")


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_text_in_every_layout_is_read_or_refused_in_chinese(
    value: str, tmp_path: Path
) -> None:
    layouts = [
        f"一、重点任务\n1. {value}。({value}负责)\n2. 做好甲事。(牵头单位:{value};配合单位"
        f":{value})\n",
        f"序号\n\n重点任务\n\n责任单位\n\n1\n\n{value}\n\n{value}\n\n2\n\n{value}。\n\n某局\n",
        f"序号 | 任务 | 责任单位 |\n1 | {value} | {value} |\n",
        f"序号 工作任务 责任部门\n1 {value} {value}局\n",
        f"现将进展公示如下。 1.{value}。 牵头领导:{value} 责任单位:{value} 配合单位:{value}\n",
    ]
    for text in layouts:
        try:
            notice = read(tmp_path, text)
        except ImportFailed as refused:
            assert "无法导入" in refused.message("zh")
        else:
            assert notice.tasks
    parse_unit_phrase(value)
    parse_deadline(value, 2024)


def test_a_long_one_cell_per_line_table_keeps_every_row(tmp_path: Path) -> None:
    lines = ["序号", "实事项目", "责任单位", "完成时限"]
    for number in range(1, 1206):
        lines += [str(number), f"新建第{number}座公园。", "某县住建局", "10月底前"]
    notice = read(tmp_path, "某县2024年实事清单\n" + "\n\n".join(lines) + "\n")
    assert len(notice.tasks) == 1205 and notice.tasks[-1].title == "新建第1205座公园"
