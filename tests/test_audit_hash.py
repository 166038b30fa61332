"""The audit hash is pinned to its canonical form: a fixed event, its canonical JSON written out by
hand, and SHA-256 over those bytes. A change of JSON library, key order, spacing, escaping or time
format that would make yesterday's chain unverifiable fails here first."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import Engine

from models.audit import GENESIS, AuditEvent, event_hash, record
from models.db import unit_of_work

# Keys sorted, no spaces, Chinese as UTF-8 (not \u escapes), `before`/`after` as the canonical JSON
# strings they are stored as, the moment in UTC with microseconds, None as null.
CANONICAL = (
    '{"action":"checkin.submit","actor":"clerk",'
    '"after":"{\\"percent\\":40,\\"text\\":\\"推进中\\"}",'
    '"at":"2022-09-19T02:00:00.000000+00:00",'
    '"before":"{\\"revision\\":0,\\"state\\":\\"pending\\"}",'
    '"object_id":"7","object_type":"checkin","outcome":"ok",'
    '"prev_hash":"0000000000000000000000000000000000000000000000000000000000000000",'
    '"reason":null,"seq":1,"task_id":5,"unit_id":3}'
)
EXPECTED = hashlib.sha256(CANONICAL.encode("utf-8")).hexdigest()


def test_a_fixed_event_hashes_to_sha256_of_its_canonical_form() -> None:
    event = AuditEvent(
        seq=1,
        at=datetime(2022, 9, 19, 2, 0, tzinfo=UTC),
        actor="clerk",
        action="checkin.submit",
        object_type="checkin",
        object_id="7",
        task_id=5,
        unit_id=3,
        before='{"revision":0,"state":"pending"}',
        after='{"percent":40,"text":"推进中"}',
        reason=None,
        outcome="ok",
        prev_hash=GENESIS,
        hash="",
    )
    assert event_hash(event) == EXPECTED


def test_recording_that_event_on_a_fresh_chain_stores_that_hash(engine: Engine) -> None:
    """Through `record`: dicts in any key order, the moment in Beijing time, the same bytes and
    hash."""
    with unit_of_work(engine) as session:
        row = record(
            session,
            at=datetime(2022, 9, 19, 10, 0, tzinfo=timezone(timedelta(hours=8))),
            actor="clerk",
            action="checkin.submit",
            object_type="checkin",
            object_id=7,
            task_id=5,
            unit_id=3,
            before={"state": "pending", "revision": 0},
            after={"text": "推进中", "percent": 40},
        )
        assert (row.seq, row.prev_hash, row.hash) == (1, GENESIS, EXPECTED)
