"""Reading a 责任单位 phrase at the edges of its rules, every expected list read off the phrase by
hand."""

from __future__ import annotations

import pytest

from intake.unit_phrase import (
    is_unit_cell,
    is_unit_name,
    parse_unit_phrase,
    read_assignment,
    split_names,
)


def roles(phrase: str, **kwargs: bool) -> list[tuple[str, str]]:
    return [(u.name, u.role.value) for u in parse_unit_phrase(phrase, **kwargs)[0]]


def test_a_bare_deng_after_the_last_name_is_dropped_with_a_warning() -> None:
    units, warnings = parse_unit_phrase("市教育局、市公安局等")
    assert [(u.name, u.role.value) for u in units] == [
        ("市教育局", "responsible"),
        ("市公安局", "responsible"),
    ]
    assert warnings == [
        "“市公安局等”含“等”，只导入列出的单位 / "
        "“市公安局等” says “and others”: only the listed units are imported"
    ]
    assert roles("市教育局、市公安局等配合") == [
        ("市教育局", "cooperating"),
        ("市公安局", "cooperating"),
    ]
    assert roles("市民政局等单位负责") == [("市民政局", "responsible")]


def test_a_role_in_brackets_belongs_to_its_own_name_and_not_to_the_names_before_it() -> None:
    # (the bracketed name is placed when read, the open list when it closes: the order is not the
    # point here)
    assert dict(roles("市公安局、市教育局(牵头)")) == {
        "市公安局": "responsible",
        "市教育局": "lead",
    }
    assert roles("市教育局(牵头)、市公安局") == [("市教育局", "lead"), ("市公安局", "responsible")]
    assert dict(roles("市教育局、市公安局(配合单位)、市民政局")) == {
        "市教育局": "responsible",
        "市公安局": "cooperating",
        "市民政局": "responsible",
    }
    assert dict(roles("市教育局、市公安局(配合单位)、市民政局牵头")) == {
        "市教育局": "lead",
        "市公安局": "cooperating",
        "市民政局": "lead",
    }
    assert roles("市卫健委(责任单位)、市妇联(配合)") == [
        ("市卫健委", "responsible"),
        ("市妇联", "cooperating"),
    ]
    assert roles("市妇联(负责)、市公安局(配合单位)") == [
        ("市妇联", "responsible"),
        ("市公安局", "cooperating"),
    ]


def test_a_role_word_closes_the_names_before_it_and_only_those() -> None:
    assert roles("市教育局牵头,市政法委、市公安局配合") == [
        ("市教育局", "lead"),
        ("市政法委", "cooperating"),
        ("市公安局", "cooperating"),
    ]
    assert roles("市发展改革委、市妇儿委牵头") == [("市发展改革委", "lead"), ("市妇儿委", "lead")]
    assert roles("市妇联、市法院按照职责分工负责") == [
        ("市妇联", "responsible"),
        ("市法院", "responsible"),
    ]
    assert roles("市民政局、市教育局协助") == [
        ("市民政局", "cooperating"),
        ("市教育局", "cooperating"),
    ]
    assert roles("由市民政局牵头") == [("市民政局", "lead")]
    assert roles("市民政局牵头负责,市财政局参与") == [
        ("市民政局", "lead"),
        ("市财政局", "cooperating"),
    ]


def test_a_unit_named_twice_keeps_its_strongest_role_in_its_first_place() -> None:
    assert roles("市公安局配合,市教育局、市公安局牵头") == [
        ("市公安局", "lead"),
        ("市教育局", "lead"),
    ]
    assert roles("市公安局负责,市公安局配合") == [("市公安局", "responsible")]
    assert roles("市公安局负责,市公安局牵头") == [("市公安局", "lead")]
    assert roles("市公安局配合,市公安局负责") == [("市公安局", "responsible")]


def test_placeholders_are_kept_and_flagged_and_groups_are_groups() -> None:
    units, _ = parse_unit_phrase("市教育局、相关单位、各镇(区、街道)")
    assert [(u.name, u.placeholder, u.group) for u in units] == [
        ("市教育局", False, False),
        ("相关单位", True, False),
        ("各镇(区、街道)", False, True),
    ]
    assert [u.placeholder for u in parse_unit_phrase("各责任单位")[0]] == [True]


def test_names_split_at_every_separator_outside_brackets_only() -> None:
    assert split_names("甲局、乙局,丙局;丁局/戊局\n己局。庚局") == [
        "甲局",
        "乙局",
        "丙局",
        "丁局",
        "戊局",
        "己局",
        "庚局",
    ]
    assert split_names("各镇(区、街道)、甲局") == ["各镇(区、街道)", "甲局"]
    assert split_names("甲局(乙、丙))、丁局") == [
        "甲局(乙、丙))",
        "丁局",
    ]  # a stray closer never goes below zero
    assert split_names("甲)局、乙局") == ["甲)局", "乙局"]
    assert split_names("甲局(乙(丙)、丁)、戊局") == [
        "甲局(乙(丙)、丁)",
        "戊局",
    ]  # one level closes at a time


@pytest.mark.parametrize(
    ("name", "is_unit"),
    [
        ("区信访局(牵头)", True),
        ("各村(社区)", True),
        ("相关部门", True),
        ("县某局等", True),
        ("某某中心", True),
        ("加强家庭保护", False),
        ("", False),
        ("甲局：负责", False),
        ("长" * 29 + "局", True),
        ("长" * 30 + "局", False),
    ],
)
def test_what_names_a_body(name: str, is_unit: bool) -> None:
    assert is_unit_name(name) is is_unit


def test_a_cell_is_a_list_of_bodies_only_when_every_name_is_one_and_it_is_no_sentence() -> None:
    assert is_unit_cell("市教育局、市公安局")
    assert not is_unit_cell("市教育局、加强家庭保护")
    assert not is_unit_cell("由市教育局负责。")
    assert not is_unit_cell("")


def test_people_and_a_deadline_beside_the_units_are_kept_apart() -> None:
    found = read_assignment(
        "牵头单位:市教育局;配合单位:市公安局;责任人:张三;完成时限:2022年12月底前"
    )
    assert [(u.name, u.role.value) for u in found.units] == [
        ("市教育局", "lead"),
        ("市公安局", "cooperating"),
    ]
    assert found.people == ["张三"] and found.deadline_text == "2022年12月底前"
    assert read_assignment("配合单位:无").units == []


def test_the_first_is_lead_rule_never_overrides_a_printed_lead() -> None:
    assert roles("丁部、戊部牵头", first_is_lead=True) == [("丁部", "lead"), ("戊部", "lead")]
    assert roles("丁部配合,戊部负责", first_is_lead=True) == [
        ("丁部", "lead"),
        ("戊部", "responsible"),
    ]
    assert roles("丁部、戊部配合,己部牵头", first_is_lead=True) == [
        ("丁部", "cooperating"),
        ("戊部", "cooperating"),
        ("己部", "lead"),
    ]


def test_a_group_after_a_label_stays_one_group() -> None:
    # 各区、县级市 after "配合单位:" is one group of bodies, as it is without the label.
    assert roles("牵头单位:市教育局;配合单位:各区、县级市") == [
        ("市教育局", "lead"),
        ("各区、县级市", "cooperating"),
    ]


def test_names_that_each_lead_are_each_lead_units() -> None:
    assert roles("市民政局、市教育局分别牵头") == [("市民政局", "lead"), ("市教育局", "lead")]


def test_a_name_with_its_role_glued_on_is_still_a_body() -> None:
    assert is_unit_name("市民政局牵头") and is_unit_name("市民政局（牵头）")
    assert not is_unit_name("加强校园安全管理")
