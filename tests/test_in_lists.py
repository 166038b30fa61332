"""Bounded IN lists (models.db.chunks, chunked_in): every value read, in order, a chunk a time."""

from __future__ import annotations

from sqlalchemy import Column, Engine, Integer, MetaData, Table, insert, select

from models.db import IN_LIST_MAX, chunked_in, chunks


def test_chunks_keep_the_order_and_cut_the_last_one_short() -> None:
    assert [list(c) for c in chunks([1, 2, 3, 4, 5, 6, 7], 3)] == [[1, 2, 3], [4, 5, 6], [7]]
    assert [list(c) for c in chunks([1, 2, 3, 4, 5, 6], 3)] == [[1, 2, 3], [4, 5, 6]]
    assert list(chunks([], 3)) == []


def test_a_province_of_ids_is_read_in_three_in_lists(engine: Engine) -> None:
    numbers = Table("numbers", MetaData(), Column("n", Integer, primary_key=True))
    numbers.create(engine)
    with engine.begin() as connection:
        connection.execute(insert(numbers), [{"n": n} for n in range(20_000)])
        wanted = list(range(0, 24_002, 2))  # 12,001 even numbers, the last 2,001 beyond 19,999
        conditions = list(chunked_in(numbers.c.n, wanted))
        found = [
            n
            for among in conditions
            for (n,) in connection.execute(select(numbers.c.n).where(among))
        ]
    assert IN_LIST_MAX == 5000 and len(conditions) == 3  # 5,000 + 5,000 + 2,001
    assert sorted(found) == list(range(0, 20_000, 2))  # 10,000: the evens below 20,000
