"""Moved to loopback/prefect_server.py (shared with bench/); kept so the tests' imports stay as they
were."""

from loopback.prefect_server import PREFECT, prefect_server

__all__ = ["PREFECT", "prefect_server"]
