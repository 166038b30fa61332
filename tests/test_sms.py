"""SMS through an HTTP gateway: the segment rule, one short text per kind, the number format and
the per-number cap, against a strict gateway on loopback (tests/support/fake_sms.py).

The round is the small office's (tests/support/small_office.py): opened Monday 5 September 2022,
due Friday 9th, cooperating units Wednesday 7th; every liaison lists SMS first, then e-mail.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from config import Settings
from models.db import unit_of_work
from models.lifecycle import SYSTEM_ACTOR
from models.notification import Notification
from models.reminders import send_reminders
from models.unit import Contact, ContactRole
from notifications.channels import Channels, DeliveryError, Outgoing
from notifications.channels.sms import SmsChannel, mobile_of, segments, sms_text
from notifications.dispatch import dispatch
from tests.support.channel import ListChannel
from tests.support.fake_sms import FIELDS, Gateway, running
from tests.support.hostile import HOSTILE
from tests.support.small_office import at, open_september, with_contacts


def test_a_chinese_text_is_one_part_up_to_70_characters_then_parts_of_67() -> None:
    assert [segments("督" * n) for n in (1, 70, 71, 134, 135, 201, 202)] == [1, 1, 2, 2, 3, 3, 4]
    # An emoji outside the basic plane is two UTF-16 units, as the operator counts it.
    assert segments("督" * 69 + "😀") == 2


def test_each_kind_has_its_short_text_and_the_brief_example_reads_as_written() -> None:
    due = {"stage": "due", "days_left": 0, "items": [{"due_on": "2022-09-07"}]}
    assert (
        sms_text("reminder", due, "督办")[0]
        == "【督办】您单位有1项任务今日到期，请登录督办系统办理。"
    )
    three = {"stage": "due", "days_left": 0, "items": [{}, {}, {}]}
    assert sms_text("reminder", three, "督办")[0] == (
        "【督办】您单位有3项任务待报送，今日有任务到期，请登录督办系统办理。"
    )
    late = {"items": [{"days_overdue": 2}, {"days_overdue": 4}]}
    assert sms_text("overdue", late, "督办") == (
        "【督办】您单位有2项任务已逾期4个工作日，请登录督办系统办理。",
        {"count": 2, "days_overdue": 4},
    )
    yellow = {"items": [{}], "respond_by": "2022-09-15"}
    assert sms_text("escalation_yellow", yellow, "督办")[0] == (
        "【督办】有1项任务列入督办（黄色催办），请于9月15日前办理，请登录督办系统办理。"
    )
    for kind in ("round_opened", "report_returned", "combined", "escalation_red", "unknown"):
        payload = {"parts": [{"payload": {"items": [{}]}}]} if kind == "combined" else {}
        text, _ = sms_text(kind, payload, "督办")
        assert text.startswith("【督办】") and segments(text) == 1, kind


def test_a_mobile_is_eleven_digits_starting_1_3_to_9_with_or_without_86() -> None:
    assert mobile_of("138 0013 8000") == "13800138000"
    assert mobile_of("+8613800138000") == "13800138000"
    assert mobile_of("8613800138000") == "13800138000"
    for wrong in ("12800138000", "1380013800", "138001380001", "", "０１３８", *HOSTILE):
        assert mobile_of(wrong) is None, wrong


def settings_for(tmp_path: Path, gateway: Gateway, database_url: str, **extra: Any) -> Settings:
    return Settings(
        home=tmp_path,
        database_url=database_url,
        sms_url=gateway.url,
        sms_auth_header=gateway.auth_header,
        sms_auth=gateway.auth_value,
        sms_template=gateway.template,
        sms_fields=FIELDS,
        **extra,
    )


def sms_rows(engine: Engine, day: str) -> list[Notification]:
    with Session(engine) as session:
        rows = session.exec(select(Notification).order_by(Notification.id)).all()
    return [r for r in rows if r.channel == "sms" and r.created_at.date().isoformat() == day]


@pytest.fixture
def office(engine: Engine) -> dict[str, int]:
    """The small office; each liaison's route is SMS, then e-mail; mobiles 1380000NNNN."""
    plan = with_contacts(engine)
    with unit_of_work(engine) as session:
        for contact in session.exec(select(Contact).where(Contact.role == ContactRole.LIAISON)):
            contact.mobile = f"1380000{contact.unit_id:04d}"
            contact.channels = ["sms", "email"]
            session.add(contact)
    return plan.units


def test_a_rounds_messages_reach_the_gateway_as_short_texts_with_their_cost(
    engine: Engine, database_url: str, tmp_path: Path, office: dict[str, int]
) -> None:
    with running() as gateway:
        settings = settings_for(tmp_path, gateway, database_url)
        assert isinstance(Channels(settings)["sms"], SmsChannel)
        open_september(engine)
        days = ("2022-09-05", "2022-09-06", "2022-09-07")
        for day in days:
            gateway.today = date.fromisoformat(day)
            if day != "2022-09-05":
                with unit_of_work(engine) as session:
                    send_reminders(session, now=at(day), settings=settings, actor=SYSTEM_ACTOR)
            report = dispatch(
                engine, ListChannel(settings), settings, now=lambda day=day: at(day, 11)
            )
            assert report.sent == len(sms_rows(engine, day)), report
        receipts = [r.message_id for d in days for r in sms_rows(engine, d)]
        assert len(receipts) == 11 and all(m and m.endswith("（1条计费）") for m in receipts)
        mobile = {name: f"1380000{unit_id:04d}" for name, unit_id in office.items()}
        got = {(r["day"].isoformat(), r["mobile"]): r["text"] for r in gateway.received}
        opened = "【督办】新一轮督导已启动，您单位有{}项任务须于9月9日前报送，请登录督办系统办理。"
        soon = "【督办】您单位有2项任务待报送，下一个工作日有任务到期，请登录督办系统办理。"
        # Worked out from the plan: Monday the round notices; Tuesday T-1 for the 7th's items and
        # T-3 for 市市场监管局's 9th; Wednesday the 7th's items are due.
        assert got == {
            ("2022-09-05", mobile["市教育局"]): opened.format(2),
            ("2022-09-05", mobile["市公安局"]): opened.format(1),
            ("2022-09-05", mobile["市检察院"]): opened.format(1),
            ("2022-09-05", mobile["市市场监管局"]): opened.format(1),
            ("2022-09-06", mobile["市教育局"]): soon,
            (
                "2022-09-06",
                mobile["市公安局"],
            ): "【督办】您单位有1项任务将于下一个工作日到期，请登录督办系统办理。",
            (
                "2022-09-06",
                mobile["市检察院"],
            ): "【督办】您单位有1项任务将于下一个工作日到期，请登录督办系统办理。",
            (
                "2022-09-06",
                mobile["市市场监管局"],
            ): "【督办】您单位有1项任务将于3个工作日后到期，请登录督办系统办理。",
            (
                "2022-09-07",
                mobile["市教育局"],
            ): "【督办】您单位有2项任务待报送，今日有任务到期，请登录督办系统办理。",
            (
                "2022-09-07",
                mobile["市公安局"],
            ): "【督办】您单位有1项任务今日到期，请登录督办系统办理。",
            (
                "2022-09-07",
                mobile["市检察院"],
            ): "【督办】您单位有1项任务今日到期，请登录督办系统办理。",
        }
        assert gateway.refused == []
        assert all(r["parts"] == 1 for r in gateway.received)


def test_the_per_number_cap_is_kept_by_us_and_by_the_gateway_and_bad_settings_are_refused(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    row = {"items": [{}], "stage": "due", "days_left": 0}
    message = Outgoing(1, "k", "reminder", None, "13800138000", "", "", "", payload=row)
    with running(Gateway(cap=2)) as gateway:
        # Our cap of 3 is above the gateway's 2: the gateway's code 1009 refuses the third.
        ours = SmsChannel(settings_for(tmp_path, gateway, database_url, sms_daily_cap_per_number=3))
        ours.deliver(message)
        ours.deliver(message)
        with pytest.raises(DeliveryError, match="网关上限") as refused:
            ours.deliver(message)
        assert refused.value.permanent and gateway.refused[-1][0] == "1009"
        # Our cap of 1 refuses the second before the gateway is asked (a new day for it).
        gateway.today = date(2022, 9, 6)
        strict = SmsChannel(
            settings_for(tmp_path, gateway, database_url, sms_daily_cap_per_number=1)
        )
        strict.deliver(message)
        with pytest.raises(DeliveryError, match="今日短信已达上限1条"):
            strict.deliver(message)
        assert len(gateway.received) == 3
        # A malformed number never reaches the gateway.
        for wrong in ("12800138000", "<script>", *HOSTILE[:5]):
            with pytest.raises(DeliveryError, match="手机号码格式不正确") as bad:
                strict.deliver(Outgoing(1, "k", "reminder", None, wrong, "", "", "", payload=row))
            assert bad.value.permanent
        before = len(gateway.refused)
        wrong_key = settings_for(tmp_path, gateway, database_url).model_copy(
            update={"sms_auth": None}
        )
        with pytest.raises(DeliveryError, match="HTTP 401") as unauthorised:
            SmsChannel(wrong_key).deliver(message)
        assert unauthorised.value.permanent
        wrong_template = settings_for(tmp_path, gateway, database_url).model_copy(
            update={"sms_template": "SMS_9999"}
        )
        with pytest.raises(DeliveryError, match="1001"):
            SmsChannel(wrong_template).deliver(message)
        assert [code for code, _ in gateway.refused[before:]] == ["401", "1001"]
    # The gateway gone: a transient failure, retried after the backoff.
    with pytest.raises(DeliveryError, match="无法连接") as gone:
        SmsChannel(settings_for(tmp_path, gateway, database_url)).deliver(message)
    assert not gone.value.permanent
