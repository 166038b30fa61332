"""The dispatcher under a slow, hung or hanging-up relay (issue 18, defects 1-3), on a real SMTP
server."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from models.clock import utc_now
from models.db import reading
from models.notification import Notification
from notifications.channels import channel_for
from notifications.dispatch import DispatchReport, dispatch
from tests.support.outbox import clock, fill, reminders, smtp_settings, statuses
from tests.support.smtp import MailServer, SilentServer

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # aiosmtpd on Python 3.11


@pytest.fixture
def mail_server() -> MailServer:
    server = MailServer().start()
    yield server
    server.stop()


def test_a_second_dispatcher_never_resends_what_a_slow_first_one_is_still_sending(
    engine: Engine, tmp_path: Path, mail_server: MailServer
) -> None:
    # 20 messages at 0.25 s each take the first dispatcher 5 s; its one batch is claimed for 1 s.
    settings = smtp_settings(
        tmp_path,
        mail_server,
        dispatch_batch=20,
        dispatch_lease_s=1,
        dispatch_in_working_hours=False,
    )
    fill(engine, reminders(20), utc_now() - timedelta(minutes=1))
    mail_server.data_delay_s = 0.25
    reports: dict[str, DispatchReport] = {}

    def run(worker: str) -> None:
        reports[worker] = dispatch(
            engine, channel_for(settings), settings, now=utc_now, worker=worker
        )

    first = threading.Thread(target=run, args=("first",))
    first.start()
    time.sleep(
        1.6
    )  # without renewal, the claims on the rows the first has not reached yet would have run out
    run("second")
    first.join()
    ids = mail_server.message_ids()
    assert len(ids) == len(set(ids)) == 20  # every message once, none twice
    assert (reports["second"].sent, reports["first"].sent) == (
        0,
        20,
    )  # the live dispatcher kept its batch
    assert (
        reports["first"].taken_over == reports["first"].overran == 0
    )  # all it sent is reported sent
    assert statuses(engine) == Counter({"sent": 20})


def test_a_relay_that_never_answers_ends_the_run_after_three_timeouts(
    engine: Engine, now: datetime, tmp_path: Path
) -> None:
    silent = SilentServer()
    try:
        settings = smtp_settings(tmp_path, silent, smtp_timeout_s=1.0, dispatch_batch=50)
        fill(engine, reminders(30), now)
        started = time.monotonic()
        report = dispatch(engine, channel_for(settings), settings, now=clock(now))
        elapsed = time.monotonic() - started
    finally:
        silent.stop()
    assert 2.5 < elapsed < 8  # three 1 s timeouts, not thirty
    assert (report.sent, report.retried, report.deferred) == (0, 3, 27)
    assert f"3 consecutive failures to 127.0.0.1:{silent.port}" in report.breaker
    with reading(engine) as session:
        rows = session.exec(select(Notification)).all()
    assert Counter(r.status for r in rows) == Counter({"pending": 30})
    assert Counter(r.attempts for r in rows) == Counter({1: 3, 0: 27})
    assert all(
        r.next_attempt_at >= now + timedelta(seconds=30) for r in rows
    )  # all wait for the backoff


def test_a_relay_that_stalls_after_its_greeting_ends_the_run_after_three_timeouts(
    engine: Engine, now: datetime, tmp_path: Path, mail_server: MailServer
) -> None:
    settings = smtp_settings(tmp_path, mail_server, smtp_timeout_s=1.0, dispatch_batch=50)
    fill(engine, reminders(30), now)
    mail_server.stall_rcpt_s = 4.0
    started = time.monotonic()
    report = dispatch(engine, channel_for(settings), settings, now=clock(now))
    assert 2.5 < time.monotonic() - started < 8
    assert (report.sent, report.retried, report.deferred) == (0, 3, 27)
    mail_server.stall_rcpt_s = 0
    time.sleep(4.0)  # let the stalled sessions end, so none can accept anything late
    later = dispatch(engine, channel_for(settings), settings, now=clock(now + timedelta(hours=1)))
    assert later.sent == 30 and later.breaker is None
    assert len(set(mail_server.message_ids())) == len(mail_server.message_ids()) == 30


def test_a_few_failures_between_successes_do_not_open_the_breaker(
    engine: Engine, now: datetime, tmp_path: Path, mail_server: MailServer
) -> None:
    settings = smtp_settings(tmp_path, mail_server)
    busy = {0, 1, 3, 4, 6, 7}  # never three in a row
    fill(
        engine,
        reminders(
            9, email_of=lambda i: f"busy{i}@example.org" if i in busy else f"unit{i}@example.org"
        ),
        now,
    )
    for i in busy:
        mail_server.refuse[f"busy{i}@example.org"] = "451 4.3.0 try again later"
    report = dispatch(engine, channel_for(settings), settings, now=clock(now))
    assert (report.sent, report.retried, report.deferred, report.breaker) == (3, 6, 0, None)


def test_a_reply_lost_after_data_is_counted_maybe_sent_and_resent_only_after_the_backoff(
    engine: Engine, database_url: str, now: datetime, tmp_path: Path, mail_server: MailServer
) -> None:
    settings = smtp_settings(tmp_path, mail_server)
    fill(engine, reminders(3), now)
    mail_server.drop_after_data_for.add("unit1@example.org")
    report = dispatch(engine, channel_for(settings), settings, now=clock(now))
    assert (report.sent, report.maybe_sent, report.retried) == (2, 1, 1)
    assert (
        len(mail_server.messages) == 3
    )  # the server has the dropped one too, but it was not sent again at once
    with reading(engine) as session:
        row = session.exec(
            select(Notification).where(Notification.recipient_email == "unit1@example.org")
        ).one()
    assert row.status == "pending" and row.maybe_sent == 1 and row.attempts == 1
    assert (
        row.next_attempt_at >= now + timedelta(seconds=30)
        and "may have been delivered" in row.last_error
    )
    assert (
        dispatch(
            engine, channel_for(settings), settings, now=clock(now + timedelta(seconds=5))
        ).sent
        == 0
    )
    mail_server.drop_after_data_for.clear()
    later = dispatch(engine, channel_for(settings), settings, now=clock(now + timedelta(minutes=2)))
    assert (later.sent, later.maybe_sent) == (1, 0)
    copies = [
        m for m in mail_server.messages if m["To"].addresses[0].addr_spec == "unit1@example.org"
    ]
    assert (
        len(copies) == 2 and copies[0]["Message-ID"] == copies[1]["Message-ID"]
    )  # the receiver can drop one
    assert len(mail_server.messages) == 4 and statuses(engine) == Counter({"sent": 3})

    from tests.support.cli import duban

    status = duban("status", "--json", home=tmp_path, url=database_url)
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["notifications"] == {
        "pending": 0,
        "claimed": 0,
        "sent": 3,
        "dead": 0,
        "merged": 0,
        "maybe_sent": 1,
    }
    listed = duban("notifications", "list", home=tmp_path, url=database_url)
    assert listed.stdout.count("可能已送达1次") == 1


def test_a_server_that_times_out_after_data_is_maybe_sent_not_resent(
    engine: Engine, now: datetime, tmp_path: Path, mail_server: MailServer
) -> None:
    settings = smtp_settings(tmp_path, mail_server, smtp_timeout_s=0.5)
    fill(engine, reminders(1), now)
    mail_server.data_delay_s = 2.0  # the whole message is in; the 250 comes after our timeout
    report = dispatch(engine, channel_for(settings), settings, now=clock(now))
    assert (report.sent, report.maybe_sent, report.retried) == (0, 1, 1)
    with reading(engine) as session:
        row = session.exec(select(Notification)).one()
    assert row.maybe_sent == 1 and row.next_attempt_at >= now + timedelta(seconds=30)
    assert (
        dispatch(
            engine, channel_for(settings), settings, now=clock(now + timedelta(seconds=5))
        ).sent
        == 0
    )
    time.sleep(2.0)
    assert len(mail_server.messages) <= 1  # one DATA went out, not a second at once


class _Overtaken:
    """A channel during whose first send another dispatcher, its clock past our lease, claims every
    row.

    As if this send had outlasted the lease: the row in flight is taken too.
    """

    name = destination = "overtaken"

    def __init__(self, engine: Engine, at: datetime) -> None:
        self.engine, self.at = engine, at
        self.delivered: list[str] = []

    def open(self) -> None:
        pass

    def send(self, message) -> None:
        from notifications.dispatch import claim

        if not self.delivered:
            taken = claim(
                self.engine, token="other", now=self.at, limit=50, lease=timedelta(seconds=300)
            )
            assert len(taken) == 5
        self.delivered.append(message["X-Duban-Key"])

    def close(self) -> None:
        pass


def test_rows_whose_claim_passed_to_another_dispatcher_are_skipped_not_sent(
    engine: Engine, now: datetime, tmp_path: Path
) -> None:
    from config import Settings

    settings = Settings(home=tmp_path, dispatch_lease_s=300)
    fill(engine, reminders(5), now)
    channel = _Overtaken(engine, now + timedelta(seconds=301))
    report = dispatch(engine, channel, settings, now=clock(now))
    # The one in flight went out and is reported as outlasting its claim; the other four are left
    # alone.
    assert (report.sent, report.overran, report.taken_over) == (1, 1, 4)
    assert len(channel.delivered) == 1 and "may arrive twice" in report.errors[0]
    with reading(engine) as session:
        held = Counter(
            n.claimed_by for n in session.exec(select(Notification)) if n.status == "claimed"
        )
    assert held == Counter({"other": 5})
