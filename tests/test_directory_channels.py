"""The directory carries each person's channels and mobile and each unit's group robots (issue 19
item 4): imported, exported in the shape import reads, and every bad value refused with its row
and field."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from sqlalchemy import Engine

from intake import channel_fields
from intake.directory import export_directory, read_directory, sync_directory
from intake.notice import ImportFailed
from models.db import reading, unit_of_work
from tests.support.cli import duban
from tests.support.hostile import HOSTILE
from tests.support.scenario import OFFICE

NOW = datetime(2022, 9, 5, tzinfo=UTC)
KEY = "0a1b2c3d-4e5f-6789-abcd-ef0123456789"
UNITS = [
    {
        "name": "市教育局",
        "wecom_key": KEY,
        "liaison": {
            "name": "王老师",
            "email": "jyj@example.org",
            "mobile": "138 0013 8000",
            "channels": ["wecom", "email"],
        },
        "head": {"name": "李局长", "email": "li@example.org"},
    },
    {
        "name": "市民政局",
        "dingtalk_token": "env:MZJ_DINGTALK_TOKEN",
        "dingtalk_secret": "env:MZJ_DINGTALK_SECRET",
        "liaison": {
            "name": "赵科长",
            "email": "mzj@example.org",
            "mobile": "+8613900139000",
            "channels": ["dingtalk", "sms", "email"],
        },
    },
]


def write(tmp_path: Path, units: list[dict], name: str = "units.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump({"units": units}, allow_unicode=True), encoding="utf-8")
    return path


def load(engine: Engine, path: Path) -> None:
    with unit_of_work(engine) as session:
        sync_directory(session, read_directory(path), actor=OFFICE, now=NOW)


def test_channels_mobiles_and_robots_are_imported_and_exported_as_import_reads_them(
    engine: Engine, tmp_path: Path
) -> None:
    load(engine, write(tmp_path, UNITS))
    with reading(engine) as session:
        exported = yaml.safe_load(export_directory(session, "yaml"))["units"]
        as_csv = export_directory(session, "csv")
    education, civil = exported
    assert education["wecom_key"] == KEY
    assert education["liaison"]["mobile"] == "13800138000"  # spaces dropped
    assert education["liaison"]["channels"] == ["wecom", "email"]
    assert civil["dingtalk_secret"] == "env:MZJ_DINGTALK_SECRET"  # the reference, not a secret
    assert civil["liaison"]["mobile"] == "13900139000"  # +86 dropped
    assert civil["liaison"]["channels"] == ["dingtalk", "sms", "email"]
    # The CSV export reads back to the same directory.
    csv_file = tmp_path / "units.csv"
    csv_file.write_text(as_csv, encoding="utf-8")
    load(engine, csv_file)
    with reading(engine) as session:
        assert yaml.safe_load(export_directory(session, "yaml"))["units"] == exported


def test_a_message_goes_by_the_persons_first_channel_with_the_rest_as_fallback(
    engine: Engine, tmp_path: Path
) -> None:
    from models.recipients import message, unit_contacts
    from models.unit import ContactRole

    load(engine, write(tmp_path, UNITS))
    with reading(engine) as session:
        liaisons = unit_contacts(session, [1, 2], ContactRole.LIAISON)
        heads = unit_contacts(session, [1, 2], ContactRole.HEAD)
    first = message("reminder", "k1", liaisons[1], {})
    assert (first["channel"], first["address"]) == ("wecom", "13800138000")
    assert first["fallback"] == [["email", "jyj@example.org"]]
    second = message("reminder", "k2", liaisons[2], {})
    assert (second["channel"], second["fallback"]) == (
        "dingtalk",
        [["sms", "13900139000"], ["email", "mzj@example.org"]],
    )
    head = message("reminder", "k3", heads[1], {})  # no channels listed: e-mail, as before
    assert (head["channel"], head["address"], head["fallback"]) == ("email", "li@example.org", [])


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("mobile", "1380013800", "手机号“1380013800”无效"),
        ("channels", ["wecom", "fax"], "渠道“fax”未知"),
        ("wecom_key", "has spaces in it!", "企业微信机器人 key“has spaces in it!”格式无效"),
        ("wecom_key", "https://qyapi.weixin.qq.com/cgi-bin/webhook/send", "地址"),
        ("dingtalk_secret", "not-a-secret", "钉钉机器人加签密钥"),
    ],
)
def test_a_bad_channel_field_is_refused_with_its_row_and_field_and_nothing_written(
    engine: Engine, tmp_path: Path, field: str, value: object, says: str
) -> None:
    units = yaml.safe_load(yaml.safe_dump(UNITS))
    target = units[1]["liaison"] if field in ("mobile", "channels") else units[1]
    target[field] = value
    if field == "dingtalk_secret":
        units[1]["dingtalk_token"] = "a" * 64
    with pytest.raises(ImportFailed) as refused:
        read_directory(write(tmp_path, units))
    problems = refused.value.problems
    assert len(problems) == 1
    assert problems[0].where is not None and problems[0].where.index == 2  # the second unit
    assert says in problems[0].zh and "市民政局" in problems[0].zh
    with reading(engine) as session:
        assert yaml.safe_load(export_directory(session, "yaml"))["units"] == []


def test_a_channel_the_unit_cannot_serve_is_refused_on_import(tmp_path: Path) -> None:
    units = yaml.safe_load(yaml.safe_dump(UNITS))
    del units[0]["wecom_key"]
    with pytest.raises(ImportFailed) as refused:
        read_directory(write(tmp_path, units))
    assert "列出了企业微信，但单位未配置企业微信机器人（wecom_key）" in refused.value.problems[0].zh


def test_every_hostile_value_in_a_channel_field_is_refused_or_kept_harmless() -> None:
    for value in HOSTILE:
        for check in (
            channel_fields.mobile,
            channel_fields.channels,
            channel_fields.wecom_key,
            channel_fields.dingtalk_token,
            channel_fields.dingtalk_secret,
        ):
            with pytest.raises(channel_fields.FieldInvalid) as refused:
                check(value)
            assert "\x1b" not in refused.value.zh and "\x00" not in refused.value.zh
            assert len(refused.value.zh) < 200  # the long value is shortened in the message


def test_duban_units_import_refuses_a_bad_mobile_naming_the_row(
    tmp_path: Path, database_url: str
) -> None:
    units = yaml.safe_load(yaml.safe_dump(UNITS))
    units[0]["liaison"]["mobile"] = "12345"
    path = write(tmp_path, units)
    home = tmp_path / "home"
    assert duban("init", home=home, url=database_url).returncode == 0
    result = duban("units", "import", str(path), home=home, url=database_url)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "第 1 行：市教育局 的联络员（liaison.mobile）：手机号“12345”无效" in result.stderr
    assert "未写入任何数据" in result.stderr


def test_a_channel_may_be_written_by_its_chinese_name_as_the_portal_shows_it() -> None:
    assert channel_fields.channels("企业微信、邮件，短信 钉钉") == [
        "wecom",
        "email",
        "sms",
        "dingtalk",
    ]
    assert channel_fields.channels("微信, EMAIL、邮件") == ["wecom", "email"]  # once each
    with pytest.raises(channel_fields.FieldInvalid) as refused:
        channel_fields.channels("企业微信、传真")
    assert (
        refused.value.zh
        == "渠道“传真”未知，可选：邮件（email）、企业微信（wecom）、钉钉（dingtalk）、短信（sms）"
    )
