"""The seed office with group robots: the Rugao directory, each liaison given a mobile and a
channel list, imported through `read_directory`, then the seed notice and a September round.

Every liaison's mobile is 1390000NNNN, NNNN its unit's place in the directory, so a test can
count which person a robot message @s.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import Engine
from sqlmodel import Session, select

from config import Settings
from intake.directory import read_directory, sync_directory
from intake.plan_import import reconcile, resolve
from intake.source import read_notice
from loopback.fake_robot import Clock
from models.db import reading, unit_of_work
from models.notification import Notification
from models.rounds import open_round
from notifications.channels import channel_for
from notifications.dispatch import dispatch
from tests.support.scenario import OFFICE
from tests.support.seed_round import ROOT, at

OPENED = at("2022-09-19", 9)
WECOM_KEY = "0a1b2c3d-4e5f-6789-abcd-ef0123456789"
DINGTALK_TOKEN = "d" * 64
DINGTALK_SECRET = "SEC" + "5" * 64


def mobile_of(place: int) -> str:
    return f"1390000{place:04d}"


def directory(tmp_path: Path, robot: dict[str, Any], channels: list[str], **by_unit: Any) -> Path:
    """The Rugao directory with `robot` fields on every unit (or `by_unit[name]` instead) and
    `channels` for every liaison."""
    document = yaml.safe_load((ROOT / "config/units/rugao.yaml").read_text(encoding="utf-8"))
    for place, unit in enumerate(document["units"]):
        unit.update(by_unit.get(unit["name"], robot))
        if "liaison" in unit:
            unit["liaison"] |= {"mobile": mobile_of(place), "channels": channels}
    path = tmp_path / "directory.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    return path


def seed_round(engine: Engine, directory_file: Path) -> int:
    """Directory, notice and a round opened on Monday 19 September 2022; the round's messages."""
    with unit_of_work(engine) as session:
        sync_directory(session, read_directory(directory_file), actor=OFFICE, now=OPENED)
        resolved = resolve(session, read_notice(ROOT / "tests/fixtures/seed-notice.txt"))
        reconcile(session, "2022", resolved, actor=OFFICE, now=OPENED, write=True)
    with unit_of_work(engine) as session:
        open_round(
            session,
            plan_key="2022",
            name="九月督导",
            report_by=date(2022, 9, 30),
            actor=OFFICE,
            now=OPENED,
            cooperating_lead_days=2,
        )
    return len(rows(engine))


def chat_settings(tmp_path: Path, **extra: Any) -> Settings:
    return Settings(
        home=tmp_path,
        mail_channel="outbox",
        mail_from="duban@office.example.org",
        office_name="市未成年人保护工作领导小组办公室",
        portal_url="http://portal.example.org",
        dispatch_in_working_hours=False,
        **extra,
    )


def rows(engine: Engine) -> list[Notification]:
    with reading(engine) as session:
        return list(session.exec(select(Notification).order_by(Notification.id)))


def drain(engine: Engine, settings: Settings, clock: Clock, *, step_s: float = 30, runs: int = 60):
    """Dispatch, then let the clock run on, until nothing waits; the reports."""
    reports = []
    for _ in range(runs):
        reports.append(dispatch(engine, channel_for(settings), settings, now=clock))
        with Session(engine) as session:
            waiting = session.exec(
                select(Notification).where(Notification.status.in_(("pending", "claimed")))  # type: ignore[attr-defined]
            ).all()
        if not waiting:
            return reports
        clock.advance(seconds=step_s)
    raise AssertionError(f"still waiting after {runs} runs: {len(waiting)}")
