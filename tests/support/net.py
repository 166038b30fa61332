"""Moved to loopback/net.py (shared with bench/); kept so the tests' imports stay as they were."""

from loopback.net import free_port

__all__ = ["free_port"]
