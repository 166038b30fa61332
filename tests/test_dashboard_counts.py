"""The dashboard's figures are cached by their owner (the portal's `Figures`), not by the process,
and kept exactly as long as the data stays: the audit trail's newest event and the day are in the
key."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date, datetime

from sqlalchemy import Engine, text
from sqlmodel import Session

from models.db import reading, unit_of_work
from models.rounds import open_round
from tests.support import scenario
from tests.support.scenario import OFFICE
from web.dashboard import Figures, headline


def overdue(figures: Figures, session: Session, today: date) -> int:
    return figures.get(session, ("headline", today), lambda: headline(session, today))[1]


def test_a_kept_count_lasts_until_the_next_change_or_day(engine: Engine) -> None:
    """Before the round, nothing is overdue; once a round due 30 September is open, all four
    check-ins are overdue on 3 October. Opening the round writes an audit event, so the portal that
    counted before counts again; a row changed behind the trail's back (no event) is not seen
    until the next change or the next day, which shows the figure is kept, not recounted."""
    scenario.build(engine, datetime(2022, 9, 1, 2))
    today = date(2022, 10, 3)
    kept = Figures()
    with Session(engine) as session:
        assert overdue(kept, session, today) == 0
    with unit_of_work(engine) as session:
        open_round(
            session,
            plan_key="2022",
            name="三季度",
            report_by=date(2022, 9, 30),
            actor=OFFICE,
            now=datetime(2022, 9, 19, 2),
            cooperating_lead_days=2,
        )
    with Session(engine) as session:
        assert overdue(kept, session, today) == 4  # the trail moved: counted again
        assert headline(session, today)[1] == 4
    with unit_of_work(engine) as session:  # one check-in filed without an event: not a real change
        session.connection().execute(
            text(
                "UPDATE check_in SET state = 'submitted' WHERE id = "
                "(SELECT min(id) FROM check_in WHERE state = 'pending')"
            )
        )
    with Session(engine) as session:
        assert overdue(kept, session, today) == 4  # kept: the trail has not moved
        assert overdue(Figures(), session, today) == 3  # a second portal in the same process
        assert overdue(kept, session, date(2022, 10, 4)) == 3  # another day is counted afresh


def test_the_oldest_figure_goes_first(engine: Engine) -> None:
    """With room for two, a third key pushes out the one used longest ago."""
    kept = Figures(size=2)
    computed: list[str] = []

    def figure(session: Session, name: str) -> str:
        def compute() -> str:
            computed.append(name)
            return name

        return kept.get(session, (name,), compute)

    with Session(engine) as session:
        for name in ("a", "b", "a", "c", "a", "b"):
            assert figure(session, name) == name
    assert computed == ["a", "b", "c", "b"]  # "b" was the oldest when "c" came


def test_a_figure_missed_at_once_is_computed_once_and_others_are_served_meanwhile(
    engine: Engine,
) -> None:
    """While one request computes the slow figure, a second request for it waits for that result
    instead of computing it again, and a request for a figure already kept is answered at once."""
    scenario.build(engine, datetime(2022, 9, 1, 2))
    kept = Figures()
    computed: list[str] = []
    entered, release = threading.Event(), threading.Event()

    def slow() -> str:
        computed.append("slow")
        entered.set()
        assert release.wait(10)
        return "slow"

    def ask(key: str, compute: Callable[[], str], into: list[str]) -> None:
        with reading(engine) as session:  # as the portal reads: no request waits for another's
            into.append(kept.get(session, (key,), compute))

    with Session(engine) as session:
        assert kept.get(session, ("quick",), lambda: "quick") == "quick"
    first: list[str] = []
    second: list[str] = []
    threads = [threading.Thread(target=ask, args=("slow", slow, first))]
    threads[0].start()
    assert entered.wait(10)
    threads.append(threading.Thread(target=ask, args=("slow", slow, second)))
    threads[1].start()
    meanwhile: list[str] = []
    asked = threading.Thread(target=ask, args=("quick", lambda: "recomputed", meanwhile))
    asked.start()
    asked.join(5)
    assert meanwhile == ["quick"]  # served while "slow" was still being computed
    assert first == [] and second == []
    release.set()
    for thread in threads:
        thread.join(10)
    assert first == ["slow"] and second == ["slow"]
    assert computed == ["slow"]
