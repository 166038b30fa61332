"""Another process holding SQLite's write lock: for the tests of readers and of the portal's busy
page."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import make_url

_HOLD = """
import sqlite3, sys
connection = sqlite3.connect(sys.argv[1], isolation_level=None)
connection.execute("BEGIN IMMEDIATE")
connection.execute("UPDATE audit_head SET seq = seq WHERE id = 1")
print("held", flush=True)
sys.stdin.read()  # until the test closes the pipe
connection.execute("ROLLBACK")
"""


@contextmanager
def writer_holding_the_lock(database_url: str) -> Iterator[None]:
    """Another process in the middle of a write transaction, until the block ends."""
    path = make_url(database_url).database
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD, path],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        yield
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
