"""The dashboard's headline counts are cached by their owner (the portal's `Headlines`), not by the
process."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Engine
from sqlmodel import Session

from models.db import unit_of_work
from models.rounds import open_round
from tests.support import scenario
from tests.support.scenario import OFFICE
from web.dashboard import Headlines, headline


def test_each_owner_keeps_its_own_counts_for_its_own_time(engine: Engine) -> None:
    """Before the round, nothing is overdue; once a round due 30 September is open, all four
    check-ins are overdue on 3 October. The portal that counted before keeps its figure for its ttl;
    another owner, or the same one told to keep nothing, counts again."""
    scenario.build(engine, datetime(2022, 9, 1, 2))
    today = date(2022, 10, 3)
    kept, fresh = Headlines(ttl_s=3600), Headlines(ttl_s=0)
    with Session(engine) as session:
        assert kept.get(session, today)[1] == 0 and fresh.get(session, today)[1] == 0
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
        assert kept.get(session, today)[1] == 0  # its hour is not up
        assert fresh.get(session, today)[1] == 4
        assert Headlines().get(session, today)[1] == 4  # a second portal in the same process
        assert headline(session, today)[1] == 4
        assert kept.get(session, date(2022, 10, 4))[1] == 4  # another day is counted afresh
