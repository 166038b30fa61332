"""Unit phrases, deadlines and targets: the notice's own language, no files, no database."""

from __future__ import annotations

from datetime import date

import pytest

from intake.unit_phrase import parse_unit_phrase, split_names
from intake.wording import parse_deadline, sentences, targets


def roles(phrase: str) -> list[tuple[str, str]]:
    units, _ = parse_unit_phrase(phrase)
    return [(u.name, u.role.value) for u in units if not u.placeholder]


@pytest.mark.parametrize(
    ("phrase", "expected"),
    [
        ("X局牵头,Y局、Z局配合", [("X局", "lead"), ("Y局", "cooperating"), ("Z局", "cooperating")]),
        (
            "X局牵头，Y局、Z局配合",
            [("X局", "lead"), ("Y局", "cooperating"), ("Z局", "cooperating")],
        ),
        ("X局、Y局牵头", [("X局", "lead"), ("Y局", "lead")]),
        ("X局、Y局按照职责分工负责", [("X局", "responsible"), ("Y局", "responsible")]),
        ("X局负责", [("X局", "responsible")]),
        ("X局、Y局", [("X局", "responsible"), ("Y局", "responsible")]),
        (
            "X局;Y局；Z局/W局",
            [
                ("X局", "responsible"),
                ("Y局", "responsible"),
                ("Z局", "responsible"),
                ("W局", "responsible"),
            ],
        ),
        ("X局\nY局", [("X局", "responsible"), ("Y局", "responsible")]),
        ("X局(牵头)、Y局", [("X局", "lead"), ("Y局", "responsible")]),
        ("由X局牵头，Y局配合", [("X局", "lead"), ("Y局", "cooperating")]),
        (
            "X局牵头，X局、Y局配合",
            [("X局", "lead"), ("Y局", "cooperating")],
        ),  # the stronger role wins
    ],
)
def test_roles_are_read_from_the_phrase(phrase: str, expected: list[tuple[str, str]]) -> None:
    assert roles(phrase) == expected


@pytest.mark.parametrize(
    "phrase",
    ["各镇(区、街道)、市民政局", "各镇（区、街道）、市民政局", "各县(市、区)人民政府、市民政局"],
)
def test_names_are_never_split_inside_brackets(phrase: str) -> None:
    units, _ = parse_unit_phrase(phrase)
    assert len(units) == 2 and units[0].group and not units[1].group
    assert split_names("各镇（区、街道）、市民政局")[0] == "各镇（区、街道）"


@pytest.mark.parametrize(
    "placeholder",
    ["相关单位", "有关单位", "各有关单位", "县各有关单位", "其他相关部门", "市有关部门"],
)
def test_placeholders_are_flagged_not_assigned(placeholder: str) -> None:
    units, _ = parse_unit_phrase(f"市民政局牵头，{placeholder}配合")
    assert [(u.name, u.placeholder) for u in units] == [("市民政局", False), (placeholder, True)]


def test_and_others_is_a_warning() -> None:
    units, warnings = parse_unit_phrase("市民政局、市教育局等单位")
    assert [u.name for u in units] == ["市民政局", "市教育局"] and "等" in warnings[0]


@pytest.mark.parametrize(
    ("text", "year", "expected"),
    [
        ("2023年6月底前", 2022, date(2023, 6, 30)),
        ("2023年12月31日", 2022, date(2023, 12, 31)),
        ("9月底前", 2022, date(2022, 9, 30)),
        ("2月底前", 2024, date(2024, 2, 29)),
        ("2023年上半年", 2022, date(2023, 6, 30)),
        ("年底前", 2023, date(2023, 12, 31)),
        ("2022年9月启动，12月底前完成", 2021, date(2022, 12, 31)),
        ("２０２３年６月底前", 2022, date(2023, 6, 30)),
        ("长期坚持", 2022, None),
        ("持续推进", 2022, None),
        ("常态化开展", 2022, None),
    ],
)
def test_deadlines_become_dates_or_none_for_ongoing_work(
    text: str, year: int, expected: date | None
) -> None:
    assert parse_deadline(text, year) == (expected, None)


@pytest.mark.parametrize("text", ["下一步", "2023年13月"])
def test_an_unreadable_deadline_is_a_warning_not_a_guess(text: str) -> None:
    found, warning = parse_deadline(text, 2023)
    assert found is None and warning and text in warning


@pytest.mark.parametrize(
    ("measure", "expected"),
    [
        ("新建1个示范性未成年人保护工作站", ["新建1个"]),
        ("实现未成年社区矫正对象参与损害修复100%", ["100%"]),
        ("实现产前筛查和新生儿疾病愿筛尽筛全覆盖", ["全覆盖"]),
        ("每学期开展安全教育不少于2次", ["不少于2次"]),
        ("征集200个儿童友好项目", ["200个"]),
        ("办好心理求助服务热线18795767769", []),
        ("中央文明办等4部委联合印发", []),
        ("开展“5+2”课后服务", []),
    ],
)
def test_quantitative_targets_are_recognised(measure: str, expected: list[str]) -> None:
    assert targets(measure) == expected


def test_one_measure_per_sentence_as_written() -> None:
    assert sentences("完善制度，做好保障。开展排查！\n推进机制") == [
        "完善制度，做好保障",
        "开展排查",
        "推进机制",
    ]
