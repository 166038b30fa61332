"""The outbox and its dispatcher against a real SMTP server on loopback and the .eml outbox."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import threading
import time
from collections import Counter
from datetime import date, datetime, timedelta
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest
from icalendar import Calendar
from sqlalchemy import Engine, func
from sqlmodel import select

from config import Settings
from models.audit import AuditEvent, verify_chain
from models.db import reading, unit_of_work
from models.notification import Notification
from models.outbox import enqueue, enqueue_many
from notifications.channels import channel_for
from notifications.dispatch import RetryPolicy, dispatch
from notifications.samples import SAMPLES
from tests.support.cli import DUBAN
from tests.support.outbox import clock, fill, reminders, smtp_settings, statuses
from tests.support.smtp import MailServer

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # aiosmtpd on Python 3.11


@pytest.fixture
def mail_server() -> MailServer:
    server = MailServer().start()
    yield server
    server.stop()


def test_the_same_message_is_never_enqueued_twice(engine: Engine, now: datetime) -> None:
    with unit_of_work(engine) as session:
        assert enqueue_many(session, reminders(3), now=now) == 3
    with unit_of_work(engine) as session:
        assert enqueue_many(session, reminders(4), now=now) == 1  # three known, one new
        assert enqueue(session, now=now, **reminders(1)[0]) is False
    assert statuses(engine) == Counter({"pending": 4})


def test_chinese_mail_arrives_intact_with_its_calendar_and_link(
    engine: Engine, now: datetime, tmp_path: Path, mail_server: MailServer
) -> None:
    fill(engine, reminders(2), now)
    report = dispatch(
        engine,
        channel_for(smtp_settings(tmp_path, mail_server)),
        smtp_settings(tmp_path, mail_server),
        now=clock(now),
    )
    assert (report.sent, report.retried, report.dead) == (2, 0, 0)
    first = next(
        m for m in mail_server.messages if m["To"].addresses[0].addr_spec == "unit0@example.org"
    )
    assert first["Subject"] == _subject("reminder")
    assert first["To"].addresses[0].display_name == "单位0联络员"
    assert first["From"].addresses[0].display_name == "市未保办"
    text = first.get_body(("plain",)).get_content()
    html = first.get_body(("html",)).get_content()
    assert (
        "单位0联络员" in text
        and "持续推进校园安全和疫情防控工作" in text
        and "市未成年人保护工作领导小组办公室" in text
    )
    assert (
        "http://portal.example.org/assignments/2000" in text
        and "http://portal.example.org/assignments/2000" in html
    )
    calendar = next(p for p in first.iter_attachments() if p.get_content_type() == "text/calendar")
    event = Calendar.from_ical(
        calendar.get_content()
        if isinstance(calendar.get_content(), bytes)
        else calendar.get_content().encode()
    ).walk("VEVENT")[0]
    assert event.decoded("dtstart") == date(2022, 9, 30)
    assert str(event.get("url")) == "http://portal.example.org/assignments/2000"
    assert len(set(mail_server.message_ids())) == 2
    with reading(engine) as session:
        row = session.exec(
            select(Notification).where(Notification.recipient_email == "unit0@example.org")
        ).one()
        assert (
            row.status == "sent"
            and row.message_id == first["Message-ID"]
            and row.subject == first["Subject"]
        )


def _subject(kind: str) -> str:
    from notifications.render import render

    return render(
        kind,
        "zh",
        SAMPLES[kind],
        office="x",
        portal_url="http://x",
        recipient_name="x",
        created_at=datetime(2022, 9, 1),
    ).subject


def test_the_outbox_channel_writes_one_eml_per_message(
    engine: Engine, now: datetime, tmp_path: Path
) -> None:
    settings = Settings(
        home=tmp_path, mail_channel="outbox", portal_url="http://portal.example.org"
    )
    fill(engine, reminders(3), now)
    assert dispatch(engine, channel_for(settings), settings, now=clock(now)).sent == 3
    files = sorted((tmp_path / "outbox").glob("*.eml"))
    assert len(files) == 3 and not list((tmp_path / "outbox").glob("*.partial"))
    message = BytesParser(policy=policy.default).parsebytes(files[0].read_bytes())
    assert "/assignments/200" in message.get_body(("plain",)).get_content()
    # queued Monday 01:30 UTC: a clerk's mail client and the raw file both read 09:30 Beijing time
    assert message["Date"] == "Mon, 05 Sep 2022 09:30:00 +0800"
    assert (
        dispatch(engine, channel_for(settings), settings, now=clock(now)).sent == 0
    )  # nothing due twice


def test_a_server_down_for_a_while_then_back_gets_everything_once(
    engine: Engine, now: datetime, tmp_path: Path, mail_server: MailServer
) -> None:
    settings = smtp_settings(
        tmp_path, mail_server
    )  # batches of 10, the breaker at its default of 3
    fill(engine, reminders(12), now)
    mail_server.stop()
    report = dispatch(engine, channel_for(settings), settings, now=clock(now), rng=random.Random(1))
    # Three refused connections open the breaker: the other 7 of the batch wait untried, 2 were
    # never claimed.
    assert (report.sent, report.retried, report.deferred) == (0, 3, 7)
    assert report.breaker.startswith(f"3 consecutive failures to 127.0.0.1:{mail_server.port}")
    with reading(engine) as session:
        rows = session.exec(select(Notification)).all()
    assert Counter(r.attempts for r in rows) == Counter(
        {1: 3, 0: 9}
    )  # a deferred row keeps its attempt
    waits = [r.next_attempt_at - now for r in rows if r.next_attempt_at > now]
    assert len(waits) == 10
    assert all(
        timedelta(seconds=30) <= w <= timedelta(seconds=60) for w in waits
    )  # first step: 60 s, half jittered
    assert all(
        "circuit open" in r.last_error for r in rows if r.attempts == 0 and r.next_attempt_at > now
    )
    early = dispatch(
        engine, channel_for(settings), settings, now=clock(now + timedelta(seconds=10))
    )
    assert (early.sent, early.retried, early.breaker) == (
        0,
        2,
        None,
    )  # only the two never claimed were due
    mail_server.start()
    report = dispatch(
        engine, channel_for(settings), settings, now=clock(now + timedelta(minutes=2))
    )
    assert report.sent == 12
    assert len(mail_server.message_ids()) == len(set(mail_server.message_ids())) == 12
    assert statuses(engine) == Counter({"sent": 12})


def test_421_is_retried_550_and_a_malformed_address_are_dead_lettered(
    engine: Engine, now: datetime, tmp_path: Path, mail_server: MailServer
) -> None:
    settings = smtp_settings(tmp_path, mail_server)
    addresses = {0: "busy@example.org", 1: "gone@example.org", 2: "not an address"}
    fill(engine, reminders(6, email_of=lambda i: addresses.get(i, f"unit{i}@example.org")), now)
    mail_server.refuse["busy@example.org"] = "421 4.3.2 try again later"
    mail_server.refuse["gone@example.org"] = "550 5.1.1 no such mailbox"
    report = dispatch(engine, channel_for(settings), settings, now=clock(now))
    assert (report.sent, report.retried, report.dead) == (3, 1, 2)
    with reading(engine) as session:
        rows = {r.recipient_email: r for r in session.exec(select(Notification))}
        assert (
            rows["busy@example.org"].status == "pending"
            and "421" in rows["busy@example.org"].last_error
        )
        assert (
            rows["gone@example.org"].status == "dead"
            and "550" in rows["gone@example.org"].last_error
        )
        assert rows["not an address"].status == "dead"
        dead_events = session.exec(
            select(AuditEvent).where(AuditEvent.action == "notification.dead")
        ).all()
        assert len(dead_events) == 2 and verify_chain(session).ok
    del mail_server.refuse["busy@example.org"]
    report = dispatch(engine, channel_for(settings), settings, now=clock(now + timedelta(hours=1)))
    assert report.sent == 1 and statuses(engine) == Counter({"sent": 4, "dead": 2})


def test_a_stalling_server_times_out_and_the_row_is_retried_later(
    engine: Engine, now: datetime, tmp_path: Path, mail_server: MailServer
) -> None:
    settings = smtp_settings(tmp_path, mail_server, smtp_timeout_s=0.5)
    fill(engine, reminders(1), now)
    mail_server.stall_rcpt_s = (
        5.0  # far beyond the 0.5 s timeout, so a loaded machine cannot blur the two
    )
    started = time.monotonic()
    report = dispatch(engine, channel_for(settings), settings, now=clock(now))
    assert report.retried == 1 and time.monotonic() - started < 5.0
    with reading(engine) as session:
        assert "did not answer in time" in session.exec(select(Notification.last_error)).one()
    mail_server.stall_rcpt_s = 0
    # the stalled session has ended, so it cannot accept anything late
    mail_server.wait_stalls_answered()
    assert (
        dispatch(engine, channel_for(settings), settings, now=clock(now + timedelta(hours=1))).sent
        == 1
    )
    assert len(mail_server.messages) == 1


def test_out_of_attempts_is_dead_with_the_last_reason(
    engine: Engine, now: datetime, tmp_path: Path
) -> None:
    server = MailServer()  # never started: connection refused every time
    settings = smtp_settings(tmp_path, server, retry_max_attempts=3)
    fill(engine, reminders(1), now)
    for hour in range(3):
        dispatch(engine, channel_for(settings), settings, now=clock(now + timedelta(hours=hour)))
    with reading(engine) as session:
        row = session.exec(select(Notification)).one()
    assert (
        row.status == "dead"
        and row.attempts == 3
        and row.last_error.startswith("gave up after 3 attempts")
    )


def test_backoff_doubles_with_jitter_up_to_the_cap() -> None:
    policy = RetryPolicy(base_s=60, cap_s=600, max_attempts=10)
    rng = random.Random(7)
    for attempts, step in [(1, 60), (2, 120), (3, 240), (4, 480), (5, 600), (9, 600)]:
        delays = [policy.delay(attempts, rng).total_seconds() for _ in range(50)]
        assert all(step / 2 <= d <= step for d in delays)
        assert max(delays) - min(delays) > step / 10  # jittered, not fixed


def test_two_dispatchers_in_parallel_never_send_a_row_twice(
    engine: Engine, now: datetime, tmp_path: Path, mail_server: MailServer
) -> None:
    settings = smtp_settings(tmp_path, mail_server)
    fill(engine, reminders(60), now)
    reports = []

    def run(worker: str) -> None:
        reports.append(
            dispatch(engine, channel_for(settings), settings, now=clock(now), worker=worker)
        )

    threads = [threading.Thread(target=run, args=(f"w{i}",)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(r.sent for r in reports) == 60 and all(r.sent > 0 for r in reports)
    ids = mail_server.message_ids()
    assert len(ids) == len(set(ids)) == 60


def test_a_dispatcher_killed_mid_batch_loses_nothing_and_repeats_at_most_one(
    engine: Engine, database_url: str, now: datetime, tmp_path: Path, mail_server: MailServer
) -> None:
    fill(engine, reminders(40), now)
    mail_server.data_delay_s = 0.05
    env = {k: v for k, v in os.environ.items() if not k.startswith("DUBAN_")} | {
        "DUBAN_HOME": str(tmp_path),
        "DUBAN_DATABASE_URL": database_url,
        "DUBAN_MAIL_CHANNEL": "smtp",
        "DUBAN_SMTP_PORT": str(mail_server.port),
        "DUBAN_MAIL_FROM": "duban@office.example.org",
        "DUBAN_DISPATCH_BATCH": "10",
        "DUBAN_DISPATCH_LEASE_S": "300",
    }
    moment = now.isoformat()
    process = subprocess.Popen(
        [DUBAN, "dispatch", "--now", moment],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while len(mail_server.messages) < 5 and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    sent_before = len(mail_server.messages)
    assert 5 <= sent_before < 40
    assert statuses(engine)["claimed"] > 0  # the killed run's claims are still held
    mail_server.data_delay_s = 0
    early = subprocess.run(
        [DUBAN, "dispatch", "--now", (now + timedelta(seconds=10)).isoformat()],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert early.returncode == 0, early.stderr
    later = subprocess.run(
        [DUBAN, "dispatch", "--now", (now + timedelta(minutes=10)).isoformat()],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert later.returncode == 0, later.stderr
    counts = Counter(m["X-Duban-Key"] for m in mail_server.messages)
    assert len(counts) == 40  # nothing lost
    assert sum(n - 1 for n in counts.values()) <= 1  # at most the in-flight one twice
    assert statuses(engine) == Counter({"sent": 40})


def test_the_office_sees_dead_letters_and_retries_them(
    database_url: str, engine: Engine, now: datetime, tmp_path: Path
) -> None:
    from tests.support.cli import duban

    fill(
        engine,
        reminders(2, email_of=lambda i: "broken address" if i == 0 else f"unit{i}@example.org"),
        now,
    )
    env = {"DUBAN_MAIL_CHANNEL": "outbox"}
    sent = duban("dispatch", "--now", now.isoformat(), home=tmp_path, url=database_url, **env)
    assert sent.returncode == 0 and "已发送 1 条" in sent.stdout and "失败 1 条" in sent.stdout
    listed = duban("notifications", "list", "--status", "dead", home=tmp_path, url=database_url)
    assert "broken address" in listed.stdout and "cannot compose" in listed.stdout
    dead_id = listed.stdout.split()[0].lstrip("#")
    shown = duban("notifications", "show", dead_id, home=tmp_path, url=database_url)
    assert shown.returncode == 0 and "单位0联络员" in shown.stdout
    retried = duban("notifications", "retry", dead_id, home=tmp_path, url=database_url)
    assert "已重新排队 1 条" in retried.stdout
    assert statuses(engine) == Counter({"sent": 1, "pending": 1})
    with reading(engine) as session:
        assert (
            session.exec(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == "notification.retry")
            ).one()
            == 1
        )


def test_another_channel_is_one_small_class_named_in_the_settings(
    engine: Engine, now: datetime, tmp_path: Path
) -> None:
    from tests.support import channel

    settings = Settings(home=tmp_path, mail_channel="tests.support.channel:ListChannel")
    channel.ListChannel.fail_for = {"unit1@example.org"}
    channel.DELIVERED.clear()
    fill(engine, reminders(3), now)
    report = dispatch(engine, channel_for(settings), settings, now=clock(now))
    assert (report.sent, report.dead) == (2, 1)
    assert sorted(m["To"].addresses[0].addr_spec for m in channel.DELIVERED) == [
        "unit0@example.org",
        "unit2@example.org",
    ]


def test_an_unknown_channel_is_a_configuration_error(tmp_path: Path) -> None:
    from models.errors import ConfigError

    with pytest.raises(ConfigError, match="wecom"):
        channel_for(Settings(home=tmp_path, mail_channel="wecom"))
    with pytest.raises(ConfigError, match="无法加载"):
        channel_for(Settings(home=tmp_path, mail_channel="nowhere.module:Channel"))


def test_messages_wait_for_working_hours(engine: Engine, now: datetime, tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, mail_channel="outbox")
    fill(engine, reminders(2), now)
    saturday_night = datetime.fromisoformat("2022-09-03T22:00:00+08:00")
    held = dispatch(engine, channel_for(settings), settings, now=clock(saturday_night))
    assert held.sent == 0 and "not a working day" in held.held
    evening = datetime.fromisoformat("2022-09-05T19:00:00+08:00")
    assert (
        "outside working hours"
        in dispatch(engine, channel_for(settings), settings, now=clock(evening)).held
    )
    assert (
        dispatch(engine, channel_for(settings), settings, now=clock(now)).sent == 2
    )  # Monday 09:30
    anytime = Settings(home=tmp_path, mail_channel="outbox", dispatch_in_working_hours=False)
    fill(engine, reminders(1, start=5), now)
    assert dispatch(engine, channel_for(anytime), anytime, now=clock(evening)).sent == 1
