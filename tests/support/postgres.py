"""Moved to loopback/postgres.py (shared with bench/); kept so the tests' imports stay as they
were."""

from loopback.postgres import ThrowawayPostgres, find_bindir

__all__ = ["ThrowawayPostgres", "find_bindir"]
