"""A time a clerk types without a zone is the office's time (DUBAN_TIMEZONE), on the CLI and in the
portal; a date alone is the start of that day there; an explicit offset is honoured."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine

from config import Settings
from models.audit import record_many
from models.clock import parse_moment
from models.db import unit_of_work
from tests.support.cli import duban
from tests.support.portal import running, seed

BEIJING = "Asia/Shanghai"


def test_a_time_without_a_zone_is_read_on_the_offices_clock() -> None:
    # 10:00 in Beijing (UTC+8, no summer time) is 02:00 UTC.
    assert parse_moment("2022-09-27T10:00", timezone=BEIJING) == datetime(
        2022, 9, 27, 2, tzinfo=UTC
    )


def test_a_date_alone_is_the_start_of_that_day_in_the_offices_zone() -> None:
    # Midnight of 27 September in Beijing is 16:00 UTC on the 26th.
    assert parse_moment("2022-09-27", timezone=BEIJING) == datetime(2022, 9, 26, 16, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2022-09-27T10:00:00+08:00", datetime(2022, 9, 27, 2, tzinfo=UTC)),
        ("2022-09-27T10:00Z", datetime(2022, 9, 27, 10, tzinfo=UTC)),
        ("2022-09-27T10:00:00-05:00", datetime(2022, 9, 27, 15, tzinfo=UTC)),
    ],
)
def test_an_explicit_offset_is_honoured_whatever_the_office_zone(
    text: str, expected: datetime
) -> None:
    assert parse_moment(text, timezone=BEIJING) == expected
    assert parse_moment(text, timezone="Europe/Berlin") == expected


def test_a_clerk_reminding_at_ten_without_a_zone_is_inside_working_hours(tmp_path: Path) -> None:
    assert duban("init", home=tmp_path).returncode == 0
    ten = duban("remind", "--now", "2022-09-27T10:00", home=tmp_path)
    assert ten.returncode == 0, ten.stderr
    # Read as UTC it would be 18:00 in Beijing, outside working hours, and nothing would be sent.
    assert "未发送提醒" not in ten.stdout, ten.stdout
    assert "提醒：0 个单位到达提醒节点" in ten.stdout
    midnight = duban("remind", "--now", "2022-09-27", home=tmp_path)
    assert "未发送提醒" in midnight.stdout, midnight.stdout
    # 02:00Z is 10:00 in Beijing: honoured as written.
    utc_ten = duban("remind", "--now", "2022-09-27T02:00Z", home=tmp_path)
    assert "提醒：0 个单位到达提醒节点" in utc_ten.stdout, utc_ten.stdout


def test_the_audit_pages_time_filter_reads_a_bare_time_on_the_offices_clock(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    seed(engine)
    with unit_of_work(engine) as session:
        record_many(
            session,
            [
                {
                    "at": at,
                    "actor": "clerk",
                    "outcome": "ok",
                    "action": action,
                    "object_type": "plan",
                    "object_id": "1",
                }
                for at, action in [
                    (datetime(2022, 9, 27, 1, 30, tzinfo=UTC), "plan.before_ten"),  # 09:30 Beijing
                    (datetime(2022, 9, 27, 3, 0, tzinfo=UTC), "plan.after_ten"),  # 11:00 Beijing
                ]
            ],
        )
    settings = Settings(home=tmp_path, database_url=database_url, dev_mode=True)
    with running(settings, engine) as portal, portal.login("auditor") as auditor:
        bare = auditor.get("/audit", params={"since": "2022-09-27T10:00", "until": "2022-09-28"})
        assert "plan.after_ten" in bare.text and "plan.before_ten" not in bare.text
        day = auditor.get("/audit", params={"since": "2022-09-27", "until": "2022-09-28"}).text
        assert "plan.after_ten" in day and "plan.before_ten" in day
        offset = auditor.get("/audit", params={"since": "2022-09-27T01:00Z"}).text
        assert "plan.after_ten" in offset and "plan.before_ten" in offset
