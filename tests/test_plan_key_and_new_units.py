"""A plan key in Chinese, as the office names its plans (`2022年未成年人保护`), through the CLI
import, the portal's import page and the round-open form; and a unit an import created from a name
the directory lacked, flagged as lacking contacts after the import, on the units page and in
`duban status` until the office fills them in.

Expected values are worked out by hand from the three-row notice below: 市新设儿童工作专班 is the
only name that is not in config/units/rugao.yaml, whose every unit has a liaison and a head.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from intake.plan_key import BadPlanKey, checked
from models.db import reading
from models.plan import Plan
from models.unit import Unit
from tests.support.cli import assert_one_clean_line, duban
from tests.support.hostile import HOSTILE, injected_markup_in, marker_of
from tests.support.imports import DIRECTORY, HEADER, snapshot
from tests.support.portal import Portal, csrf_of, form_fields, serve_seeded

KEY = "2022年未成年人保护"
NEW_UNIT = "市新设儿童工作专班"
ROWS = (
    "1,完善儿童福利保障制度,提高孤儿基本生活保障标准。,市民政局,市财政局,2023年6月30日\n"
    f"2,推进儿童友好社区建设,新建儿童友好社区10个。,{NEW_UNIT},,2023年12月31日\n"
)


def notice(tmp_path: Path) -> Path:
    path = tmp_path / "清单.csv"
    path.write_text(HEADER + ROWS, encoding="utf-8")
    return path


def test_a_chinese_plan_key_imports_and_the_new_unit_is_named_as_lacking_contacts(
    tmp_path: Path, database_url: str
) -> None:
    home = tmp_path / "home"
    assert duban("units", "import", str(DIRECTORY), home=home, url=database_url).returncode == 0
    before = duban("status", home=home, url=database_url)
    assert before.returncode == 0, before.stderr
    assert "缺少联系人" not in before.stdout

    first = duban("import", str(notice(tmp_path)), "--plan-key", KEY, home=home, url=database_url)
    assert first.returncode == 0, first.stderr
    assert f"已导入计划“{KEY}”" in first.stdout
    assert f"新建单位 1 个，尚无联系人：{NEW_UNIT}。" in first.stdout

    status = duban("status", home=home, url=database_url)
    assert f"缺少联系人的单位：1 个：{NEW_UNIT}" in status.stdout

    again = duban("import", str(notice(tmp_path)), "--plan-key", KEY, home=home, url=database_url)
    assert again.returncode == 0, again.stderr
    assert "新建单位" not in again.stdout  # the rerun creates nothing and says nothing of it


@pytest.mark.parametrize(
    "key, why",
    [
        ("", "不能为空"),
        (" 2022", "首尾不能有空格"),
        ("2022年\n未成年人保护", "不可见字符"),
        ("计" * 101, "超过 100 个字符"),
    ],
)
def test_a_plan_key_the_office_cannot_read_back_is_refused_with_its_reason(
    key: str, why: str
) -> None:
    with pytest.raises(BadPlanKey) as refused:
        checked(key)
    assert why in refused.value.message("zh") and refused.value.exit_code == 2


def test_a_cli_plan_key_with_a_terminal_escape_is_refused_and_nothing_is_written(
    tmp_path: Path, database_url: str, engine: Engine
) -> None:
    home = tmp_path / "home"
    assert duban("units", "import", str(DIRECTORY), home=home, url=database_url).returncode == 0
    before = snapshot(engine)
    result = duban(
        "import", str(notice(tmp_path)), "--plan-key", "\x1b[31mHX8", home=home, url=database_url
    )
    assert_one_clean_line(result, 2, "计划代号", "不可见字符")
    assert "\x1b" not in result.stderr
    assert snapshot(engine) == before


@pytest.fixture
def portal(engine: Engine, database_url: str, tmp_path: Path) -> Iterator[Portal]:
    yield from serve_seeded(engine, database_url, tmp_path, upload_max_mb=0.05)


def upload(client, key: str):
    token = csrf_of(client.get("/import").text)
    return client.post(
        "/import",
        data={"csrf": token, "plan_key": key},
        files={"notice": ("清单.csv", (HEADER + ROWS).encode(), "text/plain")},
    )


def test_the_portal_imports_under_a_chinese_key_and_the_units_page_flags_the_new_unit(
    portal: Portal,
) -> None:
    with portal.login("office") as office:
        preview = upload(office, KEY)
        assert preview.status_code == 200, preview.text
        assert f"计划 <b>{KEY}</b>" in preview.text
        applied = office.post("/import/apply", data=form_fields(preview.text, "/import/revise"))
        assert applied.status_code == 303, applied.text
        after = office.get(applied.headers["location"])
        assert f"新建单位 1 个，尚无联系人：{NEW_UNIT}。" in after.text
        with reading(portal.engine) as session:
            unit_id = session.exec(select(Unit.id).where(Unit.name == NEW_UNIT)).one()
            assert session.exec(select(Plan.id).where(Plan.key == KEY)).one()
        units = office.get("/units", params={"q": NEW_UNIT})
        assert units.status_code == 200
        flagged = re.findall(
            r'data-lacking>缺少联系人：<a href="([^"]+)">补充联系人</a>', units.text
        )
        assert flagged == [f"/units/{unit_id}"]
        assert office.get(flagged[0]).status_code == 200
        seeded = office.get("/units", params={"q": "市民政局"})
        assert "缺少联系人" not in seeded.text

        # The round-open form names the plan by its key, Chinese included.
        opened = office.post(
            "/rounds",
            data={
                "csrf": csrf_of(office.get("/rounds").text),
                "plan": KEY,
                "name": "2023年第一季度",
                "report_by": (date.today() + timedelta(days=20)).isoformat(),
            },
        )
        assert opened.status_code == 303, opened.text
        assert "2023年第一季度" in office.get(opened.headers["location"]).text


@pytest.mark.parametrize("value", HOSTILE, ids=marker_of)
def test_a_hostile_plan_key_is_refused_or_shown_escaped(portal: Portal, value: str) -> None:
    with portal.login("office") as office:
        preview = upload(office, value)
        assert preview.status_code in (200, 400, 422), preview.text  # 422: a NUL, refused early
        assert not injected_markup_in(preview.text)
        if preview.status_code != 200:
            assert "计划代号" in preview.text
