"""The group robots' pace: the dispatcher sends to each robot at its limit and no faster.

Target (issue 19): WeCom and DingTalk take 20 messages a minute per robot (DingTalk bans a robot
for ten minutes on the 21st). A backlog of `count` messages spread over `robots` robots is drained
through the fake services of loopback/ (which check the key or signature and count every request
per robot on the dispatcher's own clock) while that clock moves 5 s between dispatch runs. "No
faster": no robot ever took more than 20 requests in a minute, and the service saw no violation.
"At its limit": each robot's backlog of n messages was done ceil(n / 20) - 1 minutes after its
first send, as a perfect sender would; `pace` is the minutes it took over those minutes (1.0 is the
limit itself; the 5 s step allows up to 1.1).

The wall-clock figure (median_s) is the same drain beside its baseline: the same request bodies
POSTed one by one to the same fake service over plain urllib, with no database, claims or limits.

    python -m bench.channels [--messages N] [--robots N] [--runs N] [--postgres] [--json]
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import tempfile
import time
import urllib.request
import warnings
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bench.common import COLUMNS, backends, fresh_database, in_child, postgres, report
from config import Settings
from models.db import make_engine, unit_of_work
from models.notification import Notification, NotificationStatus
from models.outbox import enqueue_many
from models.schema import upgrade
from models.unit import Unit
from notifications.channels import channel_for
from notifications.dispatch import dispatch
from notifications.samples import SAMPLES

warnings.filterwarnings("ignore", category=DeprecationWarning)
START = datetime(2022, 9, 29, 1, 0, tzinfo=UTC)
STEP_S = 5  # the dispatcher's clock between two runs, as a 5-minute schedule would be, shorter
LIMIT = 20  # both services: messages a minute per robot


def _service(kind: str, clock: Any, robots: int) -> Any:
    from loopback.fake_dingtalk import FakeDingtalk
    from loopback.fake_wecom import FakeWecom

    if kind == "wecom":
        return FakeWecom(clock, keys={_key(r) for r in range(robots)}).start()
    return FakeDingtalk(clock, {_key(r): _secret(r) for r in range(robots)}).start()


def _key(robot: int) -> str:
    return f"{robot:08d}-0000-4000-8000-000000000000"


def _secret(robot: int) -> str:
    return "SEC" + f"{robot:064d}"


def _fill(url: str, kind: str, count: int, robots: int) -> None:
    """A unit per robot, and `count` reminders to the units in turn, each by that channel."""
    engine = make_engine(url)
    upgrade(engine)
    item = SAMPLES["reminder"]["items"][0]
    with unit_of_work(engine) as session:
        units = []
        for r in range(robots):
            unit = Unit(name=f"单位{r}", created_at=START)
            if kind == "wecom":
                unit.wecom_key = _key(r)
            else:
                unit.dingtalk_token, unit.dingtalk_secret = _key(r), _secret(r)
            session.add(unit)
            units.append(unit)
        session.flush()
        messages = [
            {
                "kind": "reminder",
                "dedup_key": f"bench:{kind}:{i}",
                "recipient_email": f"liaison{i}@example.org",
                "recipient_name": f"单位{i % robots}联络员",
                "unit_id": units[i % robots].id,
                "channel": kind,
                "payload": SAMPLES["reminder"]
                | {"unit": f"单位{i % robots}", "items": [item | {"checkin_id": i}]},
            }
            for i in range(count)
        ]
        enqueue_many(session, messages, now=START)
    engine.dispose()


def run_once(url: str, kind: str, count: int, robots: int) -> dict[str, Any]:
    """Drain the backlog against the fake service; its figures, and the baseline's seconds."""
    from loopback.fake_robot import Clock

    _fill(url, kind, count, robots)
    clock = Clock(START)
    service = _service(kind, clock, robots)
    engine = make_engine(url)
    try:
        with tempfile.TemporaryDirectory(prefix="duban-bench-") as folder:
            settings = Settings(
                home=Path(folder),
                mail_channel="outbox",
                portal_url="http://portal.example.org",
                dispatch_in_working_hours=False,
                dispatch_batch=100,
                **{f"{kind}_base": service.base},
            )
            started = time.perf_counter()
            runs = _drain(engine, settings, clock, count)
            elapsed = time.perf_counter() - started
        figures = _pace(service.requests)
        figures |= {"runs": runs, "violations": list(service.violations)}
        figures |= {"received": len(service.received), "elapsed": elapsed}
        figures["baseline"] = _baseline(service, kind)
    finally:
        service.stop()
        engine.dispose()
    return figures


def _drain(engine: Any, settings: Settings, clock: Any, count: int) -> int:
    for run in range(1, 10_000):
        dispatch(engine, channel_for(settings), settings, now=clock)
        with unit_of_work(engine) as session:
            sent = session.execute(
                select(Notification.id).where(Notification.status == NotificationStatus.SENT)
            ).all()
        if len(sent) == count:
            return run
        clock.advance(seconds=STEP_S)
    raise RuntimeError("the backlog was not drained")


def _pace(requests: list[tuple[str, datetime]]) -> dict[str, Any]:
    """The most requests any robot took in a minute, and the pace (see the module's text)."""
    by_robot: dict[str, list[datetime]] = defaultdict(list)
    for robot, at in requests:
        by_robot[robot].append(at)
    busiest, paces = 0, []
    for times in by_robot.values():
        times.sort()
        window = timedelta(minutes=1)
        for i, first in enumerate(times):
            busiest = max(busiest, sum(1 for t in times[i:] if t - first < window))
        ideal = math.ceil(len(times) / LIMIT) - 1
        if ideal:
            paces.append((times[-1] - times[0]).total_seconds() / 60 / ideal)
    return {"busiest_minute": busiest, "pace": round(max(paces), 3) if paces else 1.0}


def _baseline(service: Any, kind: str) -> float:
    """The accepted bodies POSTed again one by one, to a robot the limit does not count."""
    bodies = [json.dumps(r["body"]).encode() for r in service.received]
    service.requests.clear()
    path = "/cgi-bin/webhook/send?key=" if kind == "wecom" else "/robot/send?access_token="
    service.clock.advance(hours=1)
    started = time.perf_counter()
    for i, body in enumerate(bodies):
        if i % (LIMIT - 1) == 0:
            service.clock.advance(minutes=1)  # keep the fake's own limit out of the baseline
        query = _key(0) + (_signed(service) if kind == "dingtalk" else "")
        request = urllib.request.Request(
            service.base + path + query, data=body, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            assert json.loads(answer.read())["errcode"] == 0
    return time.perf_counter() - started


def _signed(service: Any) -> str:
    from notifications.channels.dingtalk import sign

    stamp = int(service.clock().timestamp() * 1000)
    return f"&timestamp={stamp}&sign={sign(_secret(0), stamp)}"


def measure(
    count: int, robots: int, runs: int, postgres_url: str | None
) -> list[dict[str, object]]:
    results = []
    with tempfile.TemporaryDirectory(prefix="duban-bench-") as folder:
        for kind in ("wecom", "dingtalk"):
            for backend, admin in backends(postgres_url):
                outcomes, peaks = [], []
                for run in range(runs):
                    url = (
                        f"sqlite:///{folder}/{kind}-{run}.db"
                        if backend == "sqlite"
                        else fresh_database(admin, f"bench_{kind}_{run}")
                    )
                    _, outcome, peak = in_child("bench.channels:run_once", url, kind, count, robots)
                    outcomes.append(outcome)
                    peaks.append(peak)
                results.append(_row(kind, backend, count, robots, outcomes, max(peaks)))
    return results


def _row(
    kind: str, backend: str, count: int, robots: int, outcomes: list[Any], peak: float
) -> dict[str, object]:
    for outcome in outcomes:
        assert outcome["received"] == count, outcome  # every message exactly once
        assert not outcome["violations"], outcome["violations"][:3]
        assert outcome["busiest_minute"] <= LIMIT, outcome
        assert outcome["pace"] <= 1 + 2 * STEP_S / 60, outcome  # within a step or two a minute
    median = statistics.median(o["elapsed"] for o in outcomes)
    base = statistics.median(o["baseline"] for o in outcomes)
    return {
        "name": f"{kind} robots: {count} messages to {robots} robots",
        "backend": backend,
        "scale": count,
        "median_s": round(median, 3),
        "baseline_s": round(base, 3),
        "baseline_is": "the same POSTs, urllib, no limit",
        "ratio": round(median / base, 1),
        "peak_mb": peak,
        "target_s": None,
        "busiest_minute": max(o["busiest_minute"] for o in outcomes),
        "pace": max(o["pace"] for o in outcomes),
    }


EXTRA = [("most a minute per robot (≤ 20)", "busiest_minute"), ("pace (1.0 = the limit)", "pace")]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--robots", type=int, default=2)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--json", action="store_true")
    options = parser.parse_args()
    with postgres(options.postgres) as admin:
        results = measure(options.messages, options.robots, options.runs, admin)
    report(results, options.json, [*COLUMNS, *EXTRA])


if __name__ == "__main__":
    main()
