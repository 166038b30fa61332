"""A filing the portal cannot save because another writer holds the database (issue 18, defect 5).

The portal's busy timeout is set small; another process holds SQLite's write lock for longer. The
person gets a Chinese 请稍后重试 page (503), not a 500, with the form again and what they typed in
it; sent again once the writer is done, the filing is saved as typed.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from config import Settings
from models.db import reading
from models.round import CheckIn
from tests.support.locks import writer_holding_the_lock
from tests.support.portal import PDF, Portal, csrf_of, form_fields, open_round, running, seed

TYPED = "已完成校园食品安全抽检120批次\n合格率100%，问题食品已下架"


@pytest.fixture
def portal(engine: Engine, database_url: str, tmp_path: Path) -> Iterator[Portal]:
    seed(engine)
    open_round(engine, date.today() + timedelta(days=30))
    settings = Settings(
        home=tmp_path, database_url=database_url, dev_mode=True, sqlite_busy_timeout_ms=300
    )
    with running(settings, engine) as found:
        yield found


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_checkin_filed_while_the_database_is_locked_gets_a_retry_page_that_keeps_the_text(
    portal: Portal, database_url: str
) -> None:
    own = portal.assignment(12, "市市场监管局")
    action = f"/assignments/{own}/checkins"
    with portal.login("market") as market:
        token = csrf_of(market.get(f"/assignments/{own}").text)
        with writer_holding_the_lock(database_url):
            refused = market.post(
                action,
                data={"csrf": token, "text": TYPED, "percent": "60", "problems": "检测经费不足"},
                files={"evidence": ("抽检报告.pdf", PDF, "application/pdf")},
            )
        assert refused.status_code == 503, refused.text[:500]
        assert "请稍后重试" in refused.text and refused.headers["retry-after"] == "5"
        assert (
            "附件需重新选择" in refused.text
        )  # a file cannot be put back into a form: the page says so
        again = form_fields(refused.text, action)
        assert (
            again["text"] == TYPED
            and again["percent"] == "60"
            and again["problems"] == "检测经费不足"
        )
        with reading(portal.engine) as session:
            assert (
                session.exec(select(CheckIn.text).where(CheckIn.assignment_id == own)).one() is None
            )  # not saved
        saved = market.post(action, data=again)
        assert saved.status_code == 303, saved.text[:500]
    with reading(portal.engine) as session:
        checkin = session.exec(select(CheckIn).where(CheckIn.assignment_id == own)).one()
        assert (checkin.text, checkin.percent, checkin.problems) == (TYPED, 60, "检测经费不足")
