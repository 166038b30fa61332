"""WeCom and DingTalk group robots (issue 19): a whole seed round through fake services on
loopback that check what the real ones check, their limits kept, failures retried, a wrong key
falling back to e-mail."""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from loopback.fake_dingtalk import FakeDingtalk
from loopback.fake_robot import Clock
from loopback.fake_wecom import FakeWecom
from notifications.channels import Item, Outgoing, fit
from tests.support.chat_office import (
    DINGTALK_SECRET,
    DINGTALK_TOKEN,
    OPENED,
    WECOM_KEY,
    chat_settings,
    directory,
    drain,
    rows,
    seed_round,
)


@pytest.fixture
def clock() -> Clock:
    return Clock(OPENED + timedelta(minutes=1))


@pytest.fixture
def wecom(clock: Clock):
    service = FakeWecom(clock, keys={WECOM_KEY}).start()
    yield service
    service.stop()


@pytest.fixture
def dingtalk(clock: Clock):
    service = FakeDingtalk(clock, {DINGTALK_TOKEN: DINGTALK_SECRET}, keyword="督办").start()
    yield service
    service.stop()


def mentioned(service: FakeWecom) -> Counter:
    return Counter(
        tuple(r["body"]["text"]["mentioned_mobile_list"])
        for r in service.received
        if r["body"]["msgtype"] == "text"
    )


def test_a_whole_round_reaches_one_wecom_robot_once_each_never_over_20_a_minute(
    engine: Engine, tmp_path: Path, clock: Clock, wecom: FakeWecom
) -> None:
    # Every unit shares one robot (a town office's group): far more than 20 messages for it.
    count = seed_round(engine, directory(tmp_path, {"wecom_key": WECOM_KEY}, ["wecom", "email"]))
    assert count > 40
    drain(engine, chat_settings(tmp_path, wecom_base=wecom.base), clock)
    sent = rows(engine)
    assert wecom.violations == []
    assert len(wecom.received) == count  # nothing lost, nothing twice
    assert set(mentioned(wecom).values()) == {1}  # each liaison @ed once
    assert {(n.status, n.channel) for n in sent} == {("sent", "wecom")}
    assert {json.dumps(n.path) for n in sent} == {'[{"channel": "wecom", "outcome": "sent"}]'}
    # 20 a minute: the last message went at least (count // 20) minutes after the first.
    first, last = wecom.received[0]["at"], wecom.received[-1]["at"]
    assert last - first >= timedelta(minutes=count // 20)
    assert not list((tmp_path / "outbox").glob("*.eml"))  # no e-mail: the robot carried them


def test_two_dispatchers_at_once_share_the_robots_limit_and_send_each_message_once(
    engine: Engine, tmp_path: Path, clock: Clock, wecom: FakeWecom
) -> None:
    import threading

    from notifications.channels import channel_for
    from notifications.dispatch import dispatch

    count = seed_round(engine, directory(tmp_path, {"wecom_key": WECOM_KEY}, ["wecom", "email"]))
    settings = chat_settings(tmp_path, wecom_base=wecom.base, dispatch_batch=5)
    for _ in range(8):  # two dispatchers at a time, then the clock moves on half a minute
        runs = [
            threading.Thread(
                target=dispatch,
                args=(engine, channel_for(settings), settings),
                kwargs={"now": clock, "worker": name},
            )
            for name in ("first", "second")
        ]
        for run in runs:
            run.start()
        for run in runs:
            run.join()
        clock.advance(seconds=30)
    assert wecom.violations == []
    assert len(wecom.received) == count
    assert set(mentioned(wecom).values()) == {1}


def test_a_wecom_robot_answering_45009_loses_nothing_and_repeats_nothing(
    engine: Engine, tmp_path: Path, clock: Clock, wecom: FakeWecom
) -> None:
    count = seed_round(engine, directory(tmp_path, {"wecom_key": WECOM_KEY}, ["wecom", "email"]))
    wecom.forced = [{"errcode": 45009, "errmsg": "api freq out of limit"}] * 5
    drain(engine, chat_settings(tmp_path, wecom_base=wecom.base), clock)
    assert [a["errcode"] for a in wecom.answers[:5]] == [45009] * 5
    assert len(wecom.received) == count
    assert set(mentioned(wecom).values()) == {1}
    assert {n.status for n in rows(engine)} == {"sent"}


def test_a_wecom_service_down_for_five_minutes_loses_nothing(
    engine: Engine, tmp_path: Path, clock: Clock, wecom: FakeWecom
) -> None:
    count = seed_round(engine, directory(tmp_path, {"wecom_key": WECOM_KEY}, ["wecom", "email"]))
    wecom.down_until = clock() + timedelta(minutes=5)
    reports = drain(engine, chat_settings(tmp_path, wecom_base=wecom.base), clock)
    assert reports[0].sent == 0 and reports[0].breaker  # three failures stop the first run
    assert len(wecom.received) == count
    assert set(mentioned(wecom).values()) == {1}
    assert {n.status for n in rows(engine)} == {"sent"}
    assert not list((tmp_path / "outbox").glob("*.eml"))  # an outage is no reason to fall back


def test_a_unit_whose_robot_key_is_wrong_gets_its_messages_by_email_once(
    engine: Engine, tmp_path: Path, clock: Clock, wecom: FakeWecom
) -> None:
    wrong = {"wecom_key": "ffffffff-0000-0000-0000-000000000000"}
    count = seed_round(
        engine,
        directory(tmp_path, {"wecom_key": WECOM_KEY}, ["wecom", "email"], 市教育局=wrong),
    )
    drain(engine, chat_settings(tmp_path, wecom_base=wecom.base), clock)
    sent = rows(engine)
    by_email = [n for n in sent if n.channel == "email"]
    assert by_email and {n.unit_id for n in by_email} == {by_email[0].unit_id}
    assert {n.recipient_email for n in by_email} == {"jyj.liaison@rugao.example.org"}
    emails = list((tmp_path / "outbox").rglob("*.eml"))
    assert len(emails) == len(by_email)  # once each
    assert len(wecom.received) == count - len(by_email)
    assert {n.status for n in sent} == {"sent"}
    from models.notification import path_text

    assert {path_text(n.path, n.channel, n.status) for n in by_email} == {
        "企业微信（失败：key无效（errcode 93000））→ 邮件（已发送）"
    }


def test_a_whole_round_reaches_a_signed_dingtalk_robot_without_a_ban_or_a_signature_error(
    engine: Engine, tmp_path: Path, clock: Clock, dingtalk: FakeDingtalk
) -> None:
    robot = {"dingtalk_token": DINGTALK_TOKEN, "dingtalk_secret": DINGTALK_SECRET}
    count = seed_round(engine, directory(tmp_path, robot, ["dingtalk", "email"]))
    settings = chat_settings(tmp_path, dingtalk_base=dingtalk.base, dingtalk_keyword="督办")
    drain(engine, settings, clock)
    assert dingtalk.violations == [] and dingtalk.bans == 0
    assert len(dingtalk.received) == count
    mobiles = Counter(m for r in dingtalk.received for m in r["body"]["at"]["atMobiles"])
    assert len(mobiles) == count and set(mobiles.values()) == {1}
    assert {n.status for n in rows(engine)} == {"sent"}


def test_a_dingtalk_ban_is_waited_out_not_hammered(
    engine: Engine, tmp_path: Path, clock: Clock, dingtalk: FakeDingtalk
) -> None:
    robot = {"dingtalk_token": DINGTALK_TOKEN, "dingtalk_secret": DINGTALK_SECRET}
    count = seed_round(engine, directory(tmp_path, robot, ["dingtalk", "email"]))
    dingtalk.banned_until[DINGTALK_TOKEN] = clock() + timedelta(minutes=10)
    settings = chat_settings(tmp_path, dingtalk_base=dingtalk.base, dingtalk_keyword="督办")
    drain(engine, settings, clock)
    refused = [a for a in dingtalk.answers if a["errcode"] == 410100]
    assert len(refused) == 1  # the first answer says "banned"; nothing more is sent until it ends
    assert len(dingtalk.received) == count
    assert dingtalk.received[0]["at"] >= OPENED + timedelta(minutes=11)


def item(text: str) -> Item:
    return Item(text=text, markdown=text, url=None)


def test_a_long_digest_is_cut_at_an_item_boundary_with_how_many_more() -> None:
    # A 47-byte head and 100 lines of 99 bytes: each kept line costs 100 bytes with its newline,
    # "另有81项，请登录查看：http://p/" 41 bytes; 47 + 100k + 1 + 41 <= 2048 keeps k = 19.
    out = Outgoing(
        notification_id=1,
        dedup_key="k",
        kind="round_opened",
        unit_id=None,
        address="",
        title="t",
        text="",
        lead="",
        items=[item(f"{i:02d}" + "x" * 97) for i in range(100)],
        link="http://p/",
    )
    content = fit(out, head="H" * 47, limit=2048, markdown=False)
    lines = content.split("\n")
    assert len(content.encode("utf-8")) == 47 + 1900 + 1 + 41
    assert lines[1:20] == [f"{i:02d}" + "x" * 97 for i in range(19)]
    assert lines[-1] == "另有81项，请登录查看：http://p/"


def test_a_signature_encoded_twice_or_stale_is_refused_as_dingtalk_refuses_it() -> None:
    from datetime import UTC, datetime
    from urllib.parse import parse_qs, quote_plus

    from notifications.channels.dingtalk import sign

    now = datetime(2022, 9, 19, 1, 0, tzinfo=UTC)
    stamp = int(now.timestamp() * 1000)
    once = parse_qs(f"timestamp={stamp}&sign={sign(DINGTALK_SECRET, stamp)}")
    twice = parse_qs(f"timestamp={stamp}&sign={quote_plus(sign(DINGTALK_SECRET, stamp))}")
    assert FakeDingtalk.signature(once, DINGTALK_SECRET, now) is None
    assert FakeDingtalk.signature(twice, DINGTALK_SECRET, now) == "sign not match"
    later = now + timedelta(hours=1, seconds=1)
    assert (
        FakeDingtalk.signature(once, DINGTALK_SECRET, later) == "timestamp out of the hour's window"
    )


def test_no_hostile_task_title_can_act_as_markdown_a_link_or_a_terminal_escape() -> None:
    from notifications.outgoing import item_lines
    from tests.support.hostile import HOSTILE

    payload = {
        "items": [
            {"task_number": i, "task_title": value, "role": "lead", "assignment_id": i + 1}
            for i, value in enumerate(HOSTILE)
        ]
    }
    for line in item_lines(payload, "http://portal.example.org"):
        title_part = line.markdown.split("](", 1)[0].split(". [", 1)[1]
        assert not set("[]()<>*_#`") & set(title_part), line.markdown
        assert "\x1b" not in line.markdown and "\x00" not in line.text
        assert line.markdown.count("](http://portal.example.org/assignments/") == 1
