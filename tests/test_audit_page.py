"""The /audit page over real HTTP: newest first, a hundred a page, the filters kept from page to
page."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from sqlalchemy import Engine
from sqlmodel import func, select

from config import Settings
from models.audit import AuditEvent, record_many
from models.clock import utc_now
from models.db import reading, unit_of_work
from tests.support.portal import running, seed


def rows(html: str) -> list[tuple[int, str]]:
    """(seq, action) of each row of the trail's table."""
    return [
        (int(seq), action)
        for seq, action in re.findall(
            r'<tr><td>(\d+)</td><td>[^<]*</td><td>[^<]*</td><td data-action="([^"]*)">', html
        )
    ]


def link(html: str, rel: str) -> str | None:
    found = re.search(rf'<a href="([^"]+)" rel="{rel}">', html)
    return found.group(1).replace("&amp;", "&") if found else None


def test_the_audit_page_shows_the_newest_first_and_pages_through_all_of_them_with_the_filters(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    seed(engine)
    with unit_of_work(engine) as session:  # a trail longer than the old page's 500 rows
        record_many(
            session,
            [
                {
                    "at": utc_now(),
                    "actor": f"visitor-{i}",
                    "outcome": "refused",
                    "action": "login.failed" if i % 2 else "access.refused",
                    "object_type": "user",
                    "object_id": str(i),
                }
                for i in range(650)
            ],
        )
    with reading(engine) as session:
        total = session.exec(select(func.count()).select_from(AuditEvent)).one()
        created = session.exec(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "login.failed")
        ).one()
    assert total > 800 and created == 325
    settings = Settings(home=tmp_path, database_url=database_url, dev_mode=True)
    with running(settings, engine) as portal, portal.login("auditor") as auditor:
        total += 1  # the auditor's own login
        first = auditor.get("/audit").text
        assert [seq for seq, _ in rows(first)] == list(range(total, total - 100, -1))
        assert (
            f"第 1 / {-(-total // 100)} 页，共 {total} 条" in first and link(first, "prev") is None
        )
        seen, target = [], "/audit?action=login.failed"
        while target:
            page = auditor.get(target).text
            seen += rows(page)
            following = link(page, "next")
            if following:
                assert parse_qs(urlparse(following).query)["action"] == ["login.failed"]
            target = following
        assert len(seen) == created and {action for _, action in seen} == {"login.failed"}
        assert [seq for seq, _ in seen] == sorted((seq for seq, _ in seen), reverse=True)
        last = auditor.get(
            "/audit", params={"action": "login.failed", "page_no": -(-created // 100)}
        ).text
        assert link(last, "next") is None and "action=login.failed" in link(last, "prev")
