"""Throwaway servers on loopback, for the tests and the benchmarks alike: a free port, a PostgreSQL
server in a temporary directory, a Prefect server, fake WeCom and DingTalk robot services that check
what the real ones check. Not part of duban itself (not installed); bench/ uses them without
importing the test suite."""
