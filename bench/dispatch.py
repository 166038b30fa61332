"""Dispatch throughput to an SMTP server on loopback, beside smtplib on one connection.

Target (issue 19): >= 150 messages/s (the notifications issue asked 100). The baseline
sends the same composed messages with smtplib over a single connection: the mail limit
of this machine, without rendering, claiming or marking.

    python -m bench.dispatch [--messages N] [--runs N] [--postgres] [--json]
"""

from __future__ import annotations

import argparse
import smtplib
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import text

from bench.common import COLUMNS, backends, fresh_database, in_child, postgres, report
from config import Settings
from models.db import make_engine, unit_of_work
from models.outbox import enqueue_many
from models.schema import upgrade
from notifications.channels import channel_for
from notifications.dispatch import claim, dispatch, prepare
from notifications.samples import SAMPLES

warnings.filterwarnings("ignore", category=DeprecationWarning)
NOW = datetime(2022, 9, 29, 1, 0, tzinfo=UTC)


def _messages(count: int) -> list[dict]:
    item = SAMPLES["reminder"]["items"][0]
    return [
        {
            "kind": "reminder",
            "dedup_key": f"bench:{i}",
            "recipient_email": f"unit{i}@example.org",
            "recipient_name": f"单位{i}联络员",
            "payload": SAMPLES["reminder"]
            | {"unit": f"单位{i}", "items": [item | {"checkin_id": i}]},
        }
        for i in range(count)
    ]


def _fresh(url: str, messages: list[dict]) -> None:
    engine = make_engine(url)
    upgrade(engine)
    with unit_of_work(engine) as session:
        enqueue_many(session, messages, now=NOW)
    engine.dispose()


def run_once(url: str, settings: Settings, messages: list[dict]) -> tuple[float, float]:
    """(dispatch seconds, smtplib-on-one-connection seconds) for the same messages."""
    _fresh(url, messages)
    engine = make_engine(url)
    started = time.perf_counter()
    report = dispatch(engine, channel_for(settings), settings, now=lambda: NOW)
    elapsed = time.perf_counter() - started
    assert report.sent == len(messages), report
    # Baseline: compose the same rows once (untimed), then time only the sending.
    with engine.begin() as connection:
        connection.execute(text("UPDATE notification SET status = 'pending', attempts = 0"))
    rows = claim(engine, token="baseline", now=NOW, limit=len(messages), lease=timedelta(hours=1))
    composed = [prepare(row, settings) for row in rows]
    started = time.perf_counter()
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port) as connection:
        for message in composed:
            connection.send_message(message)
    baseline = time.perf_counter() - started
    engine.dispose()
    return elapsed, baseline


def _sink(port: int) -> subprocess.Popen:
    """aiosmtpd in its own process, discarding mail: the server must not share our GIL."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-W",
            "ignore",
            "-m",
            "aiosmtpd",
            "-n",
            "-c",
            "aiosmtpd.handlers.Sink",
            "-l",
            f"127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("the SMTP sink did not start")


def measure(count: int, runs: int, postgres_url: str | None) -> list[dict[str, object]]:
    from loopback.net import free_port

    messages = _messages(count)
    port = free_port()
    sink = _sink(port)
    results = []
    try:
        with tempfile.TemporaryDirectory(prefix="duban-bench-") as folder:
            settings = Settings(
                home=Path(folder),
                mail_channel="smtp",
                smtp_port=port,
                mail_from="duban@office.example.org",
                dispatch_batch=100,
            )
            for backend, admin in backends(postgres_url):
                times, baselines, peaks = [], [], []
                for run in range(runs):
                    url = (
                        f"sqlite:///{folder}/dispatch-{run}.db"
                        if backend == "sqlite"
                        else fresh_database(admin, f"bench_dispatch_{run}")
                    )
                    _, (elapsed, baseline), peak = in_child(
                        "bench.dispatch:run_once", url, settings, messages
                    )
                    times.append(elapsed)
                    baselines.append(baseline)
                    peaks.append(peak)
                median, base = statistics.median(times), statistics.median(baselines)
                results.append(
                    {
                        "name": f"dispatch {count} messages (SMTP, loopback)",
                        "backend": backend,
                        "scale": count,
                        "median_s": round(median, 3),
                        "baseline_s": round(base, 3),
                        "baseline_is": "smtplib, one connection",
                        "ratio": round(median / base, 1),
                        "peak_mb": max(peaks),
                        "target_s": round(count / 150, 3),
                        "messages_per_s": round(count / median),
                    }
                )
    finally:
        sink.terminate()
        sink.wait()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--json", action="store_true")
    options = parser.parse_args()
    with postgres(options.postgres) as admin:
        results = measure(options.messages, options.runs, admin)
    report(results, options.json, [*COLUMNS, ("messages/s", "messages_per_s")])


if __name__ == "__main__":
    main()
