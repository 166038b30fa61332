"""The audit trail's edges that its mutants showed untested: a head changed on its own, an anchor
past the chain or malformed, an empty batch, values JSON cannot hold, the export's decoded fields,
the filters' time bounds and the report's words."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine, text
from sqlmodel import select

from models.audit import (
    GENESIS,
    AuditEvent,
    AuditFilter,
    AuditHead,
    event_hash,
    events,
    export,
    record,
    record_many,
    verify_chain,
)
from models.db import reading, unit_of_work
from models.errors import ConfigError

START = datetime(2022, 9, 19, 2, 0, tzinfo=UTC)  # 10:00 in Beijing


def three_events(engine: Engine) -> list[str]:
    """Three events an hour apart (seq 1, 2, 3); their hashes in order."""
    with unit_of_work(engine) as session:
        rows = [
            record(
                session,
                at=START + timedelta(hours=hour),
                actor="clerk",
                action="checkin.submit",
                object_type="checkin",
                object_id=hour,
                task_id=5,
                unit_id=3,
                before={"state": "pending", "due": date(2022, 9, 30)},
                after={"state": "submitted", "text": "推进中"},
            )
            for hour in range(3)
        ]
        return [row.hash for row in rows]


def verify(engine: Engine, anchor: str | None = None):
    with reading(engine) as session:
        return verify_chain(session, anchor=anchor)


def test_an_intact_chain_reports_its_count_and_head_in_chinese_and_in_english(
    engine: Engine,
) -> None:
    hashes = three_events(engine)
    report = verify(engine)
    assert report.message() == f"审计链完整：共 3 条记录，链头 3:{hashes[2]}"
    assert report.message("en") == f"audit chain intact: 3 events, head 3:{hashes[2]}"


def test_a_broken_chain_names_its_record_in_chinese_by_default_and_in_english_on_request(
    engine: Engine,
) -> None:
    three_events(engine)
    with engine.begin() as connection:
        connection.execute(text("UPDATE audit_event SET actor = 'intruder' WHERE seq = 2"))
    report = verify(engine)
    assert report.message() == "审计链在第 2 条记录处被破坏：内容与哈希不符（已被修改）"
    assert report.message("en") == (
        "audit chain broken at record 2: content does not match its hash (altered)"
    )


def test_a_head_whose_hash_alone_was_changed_is_named_although_the_count_still_agrees(
    engine: Engine,
) -> None:
    three_events(engine)
    with engine.begin() as connection:
        connection.execute(text("UPDATE audit_head SET hash = :h WHERE id = 1"), {"h": "f" * 64})
    report = verify(engine)
    # The three records fit each other; the head does not fit the third: "record 4" is where the
    # missing tail would begin.
    assert not report.ok and report.first_bad_seq == 4
    assert report.problem_zh == "链在第 3 条结束，但链头记载为第 3 条（被截断）"


def test_a_head_counting_more_records_than_the_chain_holds_is_named_as_truncated(
    engine: Engine,
) -> None:
    hashes = three_events(engine)
    with engine.begin() as connection:
        connection.execute(text("UPDATE audit_head SET seq = 5 WHERE id = 1"))
    report = verify(engine)
    assert not report.ok and report.first_bad_seq == 4
    assert report.problem == "the chain ends at record 3 but its head says 5 (truncated)"
    assert (report.events, report.head_seq, report.head_hash) == (3, 5, hashes[2])


def test_an_anchor_beyond_the_last_record_is_named_as_missing(engine: Engine) -> None:
    three_events(engine)
    report = verify(engine, anchor="9:" + "a" * 64)
    assert not report.ok and report.first_bad_seq == 9
    assert report.problem_zh == "锚点所指记录不存在"


def test_an_anchor_in_capitals_matches_the_same_hash_in_small_letters(engine: Engine) -> None:
    hashes = three_events(engine)
    assert verify(engine, anchor=f"2:{hashes[1].upper()}").ok


@pytest.mark.parametrize(
    "anchor",
    ["two:" + "a" * 64, "2:" + "a" * 63, "2:" + "a" * 65, "2" + "a" * 64, "-2:" + "a" * 64],
)
def test_a_malformed_anchor_is_refused_with_its_text_quoted(engine: Engine, anchor: str) -> None:
    three_events(engine)
    with pytest.raises(ConfigError) as refused:
        verify(engine, anchor=anchor)
    assert repr(anchor) in refused.value.message()
    assert "SEQ:SHA256" in refused.value.message()


def test_an_empty_batch_writes_nothing_and_leaves_the_head_at_the_start(engine: Engine) -> None:
    with unit_of_work(engine) as session:
        assert record_many(session, []) == 0
    with reading(engine) as session:
        head = session.get(AuditHead, 1)
        assert (head.seq, head.hash) == (0, GENESIS)
        assert session.exec(select(AuditEvent)).all() == []


def test_a_batch_continues_the_chain_after_a_single_event(engine: Engine) -> None:
    with unit_of_work(engine) as session:
        first = record(session, at=START, actor="clerk", action="a", object_type="t", object_id=1)
    event = {"at": START, "actor": "clerk", "action": "b", "object_type": "t", "object_id": 2}
    with unit_of_work(engine) as session:
        assert record_many(session, [event, event | {"action": "c"}]) == 2
    with reading(engine) as session:
        rows = session.exec(select(AuditEvent).order_by(AuditEvent.seq)).all()
        head = session.get(AuditHead, 1)
    assert [(r.seq, r.action) for r in rows] == [(1, "a"), (2, "b"), (3, "c")]
    assert rows[1].prev_hash == first.hash and rows[2].prev_hash == rows[1].hash
    assert (head.seq, head.hash) == (3, rows[2].hash)
    assert verify(engine).ok


def test_dates_in_before_and_after_are_stored_as_iso_text(engine: Engine) -> None:
    three_events(engine)
    with reading(engine) as session:
        first = session.exec(select(AuditEvent).where(AuditEvent.seq == 1)).one()
    assert first.before == '{"due":"2022-09-30","state":"pending"}'


@pytest.mark.parametrize("value", [{1, 2}, b"bytes", object()])
def test_a_value_json_cannot_hold_is_refused_and_nothing_is_written(
    engine: Engine, value: object
) -> None:
    with pytest.raises(TypeError), unit_of_work(engine) as session:
        record(
            session,
            at=START,
            actor="clerk",
            action="a",
            object_type="t",
            object_id=1,
            after={"x": value},
        )
    with reading(engine) as session:
        assert session.get(AuditHead, 1).seq == 0


def test_the_jsonl_export_decodes_before_and_after_and_gives_the_moment_in_utc(
    engine: Engine,
) -> None:
    hashes = three_events(engine)
    stream = io.StringIO()
    with reading(engine) as session:
        assert export(session, AuditFilter(), "jsonl", stream) == 3
    rows = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert rows[1]["at"] == "2022-09-19T03:00:00.000000+00:00"
    assert rows[1]["before"] == {"state": "pending", "due": "2022-09-30"}
    assert rows[1]["after"] == {"state": "submitted", "text": "推进中"}
    assert [r["hash"] for r in rows] == hashes
    assert rows[0]["prev_hash"] == GENESIS and rows[2]["prev_hash"] == hashes[1]


def test_the_csv_export_keeps_before_and_after_as_the_hashed_text_and_leaves_none_empty(
    engine: Engine,
) -> None:
    three_events(engine)
    with unit_of_work(engine) as session:
        record(session, at=START, actor="clerk", action="a", object_type="t", object_id=9)
    stream = io.StringIO()
    with reading(engine) as session:
        assert export(session, AuditFilter(), "csv", stream) == 4
    rows = list(csv.DictReader(io.StringIO(stream.getvalue())))
    assert rows[0]["before"] == '{"due":"2022-09-30","state":"pending"}'
    assert rows[0]["after"] == '{"state":"submitted","text":"推进中"}'
    assert rows[0]["at"] == "2022-09-19T02:00:00.000000+00:00"
    assert (rows[3]["before"], rows[3]["after"], rows[3]["reason"]) == ("", "", "")


def test_the_time_filter_takes_its_start_and_leaves_its_end(engine: Engine) -> None:
    three_events(engine)  # at 02:00, 03:00 and 04:00 UTC

    def seqs(**criteria) -> list[int]:
        with reading(engine) as session:
            return [e.seq for e in events(session, AuditFilter(**criteria))]

    assert seqs(since=START + timedelta(hours=1)) == [2, 3]
    assert seqs(until=START + timedelta(hours=1)) == [1]
    assert seqs(since=START, until=START + timedelta(hours=2)) == [1, 2]
    assert seqs(task_id=5, unit_id=4) == []
    assert seqs(actor="clerk", action="checkin.") == [1, 2, 3]
    assert seqs(action="checkin.") == [1, 2, 3] and seqs(action="checkin") == []


def test_a_record_rehashed_after_a_change_is_named_at_the_record_that_follows_it(
    engine: Engine,
) -> None:
    three_events(engine)
    with unit_of_work(engine) as session:
        second = session.exec(select(AuditEvent).where(AuditEvent.seq == 2)).one()
        second.actor = "intruder"
        second.hash = event_hash(second)  # consistent by itself; the third still names the old one
    report = verify(engine)
    assert not report.ok and report.first_bad_seq == 3
    assert report.problem_zh == "与前一条记录不衔接（前序哈希不符）"


def test_a_well_formed_record_appended_past_the_head_is_named_as_inserted(engine: Engine) -> None:
    hashes = three_events(engine)
    with unit_of_work(engine) as session:
        forged = AuditEvent(
            seq=4,
            at=START,
            actor="intruder",
            action="assignment.close",
            object_type="assignment",
            object_id="1",
            prev_hash=hashes[2],
            hash="",
        )
        forged.hash = event_hash(forged)
        session.add(forged)
    report = verify(engine)
    assert not report.ok and report.first_bad_seq == 4
    assert report.problem_zh == "位于链头第 3 条之后（被插入）"


def test_a_record_numbered_below_the_first_is_named_as_out_of_order(engine: Engine) -> None:
    three_events(engine)
    with engine.begin() as connection:
        connection.execute(text("UPDATE audit_event SET seq = 0 WHERE seq = 1"))
    report = verify(engine)
    assert not report.ok and report.first_bad_seq == 0
    assert report.problem_zh == "序号顺序错误"
