"""The office's notifications page in a real headless Chromium shows the way a message went when
its first channel failed: "企业微信（失败：…）→ 邮件（已发送）". Screenshots at a desktop and a
phone width go to build/artifacts/."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, update
from sqlmodel import select

from config import Settings
from models.clock import utc_now
from models.db import unit_of_work
from models.notification import Notification
from notifications.channels import channel_for
from notifications.dispatch import dispatch
from tests.support.browser import ARTIFACTS, needs_chromium
from tests.support.portal import PASSWORD, open_round, running, seed

pytestmark = needs_chromium


def test_the_office_sees_a_message_that_fell_back_from_wecom_to_email(
    engine: Engine, database_url: str, tmp_path: Path, browser, backend: str
) -> None:
    if backend != "sqlite":
        pytest.skip("one browser run is enough: the dispatcher is tested on both databases")
    seed(engine)
    open_round(engine, date.today() + timedelta(days=30))
    settings = Settings(
        home=tmp_path, database_url=database_url, dev_mode=True, dispatch_in_working_hours=False
    )
    with unit_of_work(engine) as session:
        first = session.exec(select(Notification).order_by(Notification.id)).first()
        # Listed for the unit's robot, which the unit does not have (any more): e-mail next.
        session.execute(
            update(Notification)
            .where(Notification.id == first.id)
            .values(channel="wecom", address="", fallback=[["email", first.recipient_email]])
        )
        chosen = first.id
    report = dispatch(engine, channel_for(settings), settings, now=utc_now)
    assert report.fell_back == 1 and report.dead == 0
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with running(settings, engine) as portal:
        context = browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 900})
        page = context.new_page()
        page.goto(f"{portal.url}/login")
        page.fill("input[name=username]", "office")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.goto(f"{portal.url}/notifications")
        row = page.locator(f'li[data-notification="{chosen}"]').inner_text()
        assert "企业微信（失败：单位未配置企业微信机器人（wecom_key））→ 邮件（已发送）" in row
        assert "已改投送达" in row
        page.screenshot(path=str(ARTIFACTS / "notifications-fallback-1366.png"), full_page=True)
        page.set_viewport_size({"width": 390, "height": 844})
        page.screenshot(path=str(ARTIFACTS / "notifications-fallback-390.png"), full_page=True)
        wide = page.evaluate("document.documentElement.scrollWidth")
        context.close()
    assert wide <= 390
