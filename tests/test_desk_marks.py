"""The row that stands for each escalated item on the office's desk (`Escalation.item_since`, kept
by `mark_items`), and the desk paged by it: highest level first, then the office's day the item was
first escalated, then its number, whatever page is asked for.

Seven of the seed's assignments get ladders by hand (no round: as a 领导批示's). The moments, in
Beijing time: M1 22 Sep 10:30, M2 22 Sep 16:00 (the same day, a later run), M3 23 Sep 01:00 (still
22 Sep in UTC), M4 26 Sep 10:30.

    item  levels (number, moment)                    desk row: level, day, number
    a1    1 (010, M1), 2 (050, M4)                   2, 22 Sep, 050
    a2    1 (005, M2)                                1, 22 Sep, 005
    a3    1 (001, M3)                                1, 23 Sep, 001
    a4    1 (020, M1)                                1, 22 Sep, 020
    a5    1 (003, M1) resolved, 2 (060, M4)          2, 26 Sep, 060  (its first open level: M4)
    a6    1 (007, M1), unreviewed                    the office's own backlog, not the desk
    a7    1 (011, M1), 1 (012, M4): a tie            1, 22 Sep, 011  (the lower id)

So the desk lists 050, 060, then 22 Sep's 005, 011, 020 (by number, though 005 came in the later
run), then 23 Sep's 001.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlmodel import col, select

from models.assignment import Assignment
from models.db import reading, unit_of_work
from models.escalation import Escalation
from models.escalation_desk import close_item, desk_count, desk_items, office_backlog
from models.escalations import mark_items, resolve
from tests.support.scenario import OFFICE
from tests.support.seed_round import seed

CST = ZoneInfo("Asia/Shanghai")
M1, M2 = datetime(2022, 9, 22, 10, 30, tzinfo=CST), datetime(2022, 9, 22, 16, tzinfo=CST)
M3, M4 = datetime(2022, 9, 23, 1, tzinfo=CST), datetime(2022, 9, 26, 10, 30, tzinfo=CST)
LADDERS = {  # item: (level, number, moment, stall, resolved)
    1: [(1, 10, M1, "overdue", False), (2, 50, M4, "overdue", False)],
    2: [(1, 5, M2, "overdue", False)],
    3: [(1, 1, M3, "overdue", False)],
    4: [(1, 20, M1, "overdue", False)],
    5: [(1, 3, M1, "overdue", True), (2, 60, M4, "overdue", False)],
    6: [(1, 7, M1, "unreviewed", False)],
    7: [(1, 11, M1, "directive", False), (1, 12, M4, "directive", False)],
}
DESK = ["050", "060", "005", "011", "020", "001"]


def _number(n: int) -> str:
    return f"督〔2022〕{n:03d}号"


def _ladders(engine: Engine) -> list[int]:
    """The seven items' escalations, marked; their assignments' ids, a1 first."""
    seed(engine)
    with unit_of_work(engine) as session:
        assignments = list(
            session.exec(select(Assignment.id).order_by(col(Assignment.id)).limit(7))
        )
        for item, ladder in LADDERS.items():
            for rung, (level, number, moment, stall, resolved) in enumerate(ladder):
                session.add(
                    Escalation(
                        stage_key=f"test:a{item}:{rung}",
                        assignment_id=assignments[item - 1],
                        round_id=None,
                        level=level,
                        stall=stall,
                        reason="逾期未报",
                        number=_number(number),
                        opened_at=moment,
                        resolved_at=M4 if resolved else None,
                    )
                )
        mark_items(session, assignments)
    return [a for a in assignments if a is not None]


def _desk(engine: Engine, **paging: int) -> list[str]:
    with reading(engine) as session:
        return [i["number"] for i in desk_items(session, "Asia/Shanghai", {}, **paging)]


def test_the_desk_pages_by_level_day_and_number_from_any_offset(engine: Engine) -> None:
    _ladders(engine)
    everything = [_number(int(n)) for n in DESK]
    assert _desk(engine) == everything
    for offset in range(8):
        for limit in range(1, 8):
            assert _desk(engine, offset=offset, limit=limit) == everything[offset : offset + limit]
    with reading(engine) as session:
        assert desk_count(session, {}) == 6
        assert desk_count(session, {"level": 1}) == 4
        ones = desk_items(session, "Asia/Shanghai", {"level": 1}, offset=1, limit=2)
        assert [i["number"] for i in ones] == [_number(11), _number(20)]
        assert [(i["level"], i["since"]) for i in desk_items(session, "Asia/Shanghai", {})] == [
            (2, "2022-09-22"),
            (2, "2022-09-26"),
            (1, "2022-09-22"),
            (1, "2022-09-22"),
            (1, "2022-09-22"),
            (1, "2022-09-23"),
        ]
        assert [i["number"] for i in office_backlog(session, "Asia/Shanghai", limit=10)] == [
            _number(7)
        ]


def test_closing_or_resolving_a_level_moves_the_item_s_mark(engine: Engine) -> None:
    assignments = _ladders(engine)
    with unit_of_work(engine) as session:
        # a1 closed: both its levels resolved, it leaves the desk.
        close_item(session, reference=_number(50), reason="已办结", actor=OFFICE, now=M4)
        # a7's directive levels resolved by the reply: it leaves the desk too.
        resolve(
            session,
            assignment_id=assignments[6],
            stalls=frozenset({"directive"}),
            resolution="已回复",
            actor=OFFICE,
            now=M4,
        )
    assert _desk(engine) == [_number(n) for n in (60, 5, 20, 1)]
    with reading(engine) as session:
        marked = session.exec(
            select(Escalation.number).where(col(Escalation.item_since).is_not(None))
        ).all()
    assert sorted(marked) == sorted(_number(n) for n in (60, 5, 20, 1, 7))
