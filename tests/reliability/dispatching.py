"""The harness of the dispatch scenarios: real `duban dispatch` processes, a real SMTP sink, the
outbox.

A run enqueues a fresh set of messages, starts dispatchers (subprocesses of the installed `duban`,
on the wall clock), kills some of them with SIGKILL at random points, and then dispatches until
the outbox is empty (a killed dispatcher's claims run out after the lease). It then counts, at the
sink against the outbox, by each message's X-Duban-Key:

- lost: a message of the outbox that never reached the sink;
- duplicated: every delivery of a message beyond its first;
- corrupted: a delivery that is not what its row says (unknown key, another Message-ID, another
  text), a row not `sent` at the end, an audit chain that no longer verifies;
- tracebacks: dispatcher runs whose stderr holds "Traceback", and runs that exited non-zero.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import select

from config import Settings
from models.audit import verify_chain
from models.clock import utc_now
from models.db import reading, unit_of_work
from models.notification import Notification
from models.outbox import enqueue_many
from notifications.channels import channel_for
from notifications.dispatch import dispatch
from tests.support.cli import DUBAN
from tests.support.outbox import reminders
from tests.support.smtp import MailServer


@dataclass
class Outcome:
    lost: int = 0
    duplicated: int = 0
    corrupted: int = 0
    tracebacks: int = 0
    kills: int = 0
    dropped: int = 0  # replies the sink hung up on after taking the whole message (maybe sent)
    problems: list[str] = field(default_factory=list)


@dataclass
class Fleet:
    """The dispatcher processes of one run, and what their ends said."""

    env: dict[str, str]
    outcome: Outcome
    running: list[subprocess.Popen] = field(default_factory=list)

    def start(self) -> subprocess.Popen:
        process = subprocess.Popen(
            [DUBAN, "dispatch"],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.running.append(process)
        return process

    def kill(self, process: subprocess.Popen) -> None:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            self.outcome.kills += 1
        self.finish(process, killed=True)

    def finish(
        self, process: subprocess.Popen, *, killed: bool = False, timeout: float = 120
    ) -> None:
        _, stderr = process.communicate(timeout=timeout)
        self.running.remove(process)
        if "Traceback" in stderr:
            self.outcome.tracebacks += 1
            self.outcome.problems.append(stderr[-2000:])
        elif not killed and process.returncode != 0:
            self.outcome.tracebacks += 1
            self.outcome.problems.append(f"exit {process.returncode}: {stderr[-500:]}")

    def finish_all(self) -> None:
        for process in list(self.running):
            self.finish(process)


def settings_for(
    home: Path, url: str, sink: MailServer, *, lease_s: int, batch: int
) -> dict[str, object]:
    """One set of dispatcher settings, for the subprocesses' environment and the in-process drain
    alike."""
    return {
        "home": home,
        "database_url": url,
        "lang": "zh",
        "mail_channel": "smtp",
        "smtp_host": "127.0.0.1",
        "smtp_port": sink.port,
        "mail_from": "duban@office.example.org",
        "dispatch_in_working_hours": False,
        "dispatch_lease_s": lease_s,
        "dispatch_batch": batch,
        "retry_base_s": 1,
        "retry_cap_s": 2,
        "smtp_timeout_s": 5,
    }


def environment(values: dict[str, object]) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("DUBAN_")}
    return base | {
        f"DUBAN_{key.upper()}": str(value).lower() if isinstance(value, bool) else str(value)
        for key, value in values.items()
    }


def enqueue(engine: Engine, *, count: int, start: int) -> set[str]:
    """Fresh messages for one run (keys not used by earlier runs on the same database)."""
    messages = reminders(count, start=start)
    with unit_of_work(engine) as session:
        enqueue_many(session, messages, now=utc_now() - timedelta(minutes=1))
    return {m["dedup_key"] for m in messages}


def wait_for_deliveries(
    sink: MailServer, at_least: int, *, processes: list[subprocess.Popen], timeout: float = 30
) -> None:
    """Until the sink holds `at_least` messages, or every process has ended."""
    deadline = time.monotonic() + timeout
    while len(sink.messages) < at_least and time.monotonic() < deadline:
        if all(p.poll() is not None for p in processes):
            return
        time.sleep(0.01)


def kill_after_some(
    fleet: Fleet, sink: MailServer, process: subprocess.Popen, rng: random.Random, *, most: int = 8
) -> None:
    """Kill `process` once between 1 and `most` more messages have reached the sink."""
    wait_for_deliveries(sink, len(sink.messages) + rng.randint(1, most), processes=[process])
    fleet.kill(process)


def drain(
    fleet: Fleet, engine: Engine, keys: set[str], values: dict[str, object], *, timeout: float = 60
) -> None:
    """Dispatch in this process until every message of the run is sent.

    A killed run's claims expire after the lease; a maybe-sent message waits for its backoff.
    """
    settings = Settings(**values)
    if fleet.outcome.kills:
        time.sleep(settings.dispatch_lease_s + 0.2)
    deadline = time.monotonic() + timeout
    while _unsent(engine, keys) and time.monotonic() < deadline:
        if not dispatch(engine, channel_for(settings), settings, now=utc_now, worker="drain").sent:
            time.sleep(0.3)


def _unsent(engine: Engine, keys: set[str]) -> int:
    with reading(engine) as session:
        rows = session.exec(select(Notification.dedup_key, Notification.status)).all()
    return sum(1 for key, status in rows if key in keys and status != "sent")


def count(engine: Engine, sink: MailServer, keys: set[str], outcome: Outcome) -> Outcome:
    """Lost, duplicated and corrupted, at the sink against the outbox rows of this run."""
    with reading(engine) as session:
        rows = {n.dedup_key: n for n in session.exec(select(Notification)) if n.dedup_key in keys}
        chain = verify_chain(session)
    delivered = sink.messages  # the sink is emptied at the start of each run
    seen = Counter(m["X-Duban-Key"] for m in delivered)
    outcome.lost += sum(1 for key in keys if seen[key] == 0)
    outcome.duplicated += sum(n - 1 for n in seen.values() if n > 1)
    for message in delivered:
        row = rows.get(message["X-Duban-Key"])
        if (
            row is None
            or message["Message-ID"] != row.message_id
            or message.get_body(("plain",)).get_content() != row.body_text
        ):
            outcome.corrupted += 1
            outcome.problems.append(f"delivery {message['X-Duban-Key']} does not match its row")
    unsent = [key for key, row in rows.items() if row.status != "sent"]
    outcome.corrupted += len(unsent)
    if unsent:
        outcome.problems.append(f"not sent at the end: {sorted(unsent)[:5]}")
    if not chain.ok:
        outcome.corrupted += 1
        outcome.problems.append(f"audit chain: {chain}")
    return outcome
