"""What the benchmarks share: a throwaway PostgreSQL server, fresh databases on it, the output."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text

from models.db import make_engine


@contextmanager
def postgres(enabled: bool) -> Iterator[str | None]:
    """The admin URL of a throwaway server on loopback, or None when not asked for."""
    if not enabled:
        yield None
        return
    from tests.support.postgres import ThrowawayPostgres, find_bindir

    server = ThrowawayPostgres(find_bindir())
    try:
        yield server.start()
    finally:
        server.stop()


def fresh_database(admin_url: str, name: str) -> str:
    """An empty database `name` on the server (dropped first if it exists); its URL."""
    engine = make_engine(admin_url)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        connection.execute(text(f"CREATE DATABASE {name}"))
    engine.dispose()
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


def report(results: list[dict[str, object]], as_json: bool, columns: list[tuple[str, str]]) -> None:
    """A Markdown table (header, key) or the JSON list."""
    if as_json:
        print(json.dumps(results, indent=2, ensure_ascii=False))
        return
    print("| " + " | ".join(h for h, _ in columns) + " |")
    print("|" + " --- |" * len(columns))
    for r in results:
        cells = []
        for _, key in columns:
            value = r.get(key)
            cells.append("—" if value is None else f"{value:.3f}" if isinstance(value, float) and key.endswith("_s") else str(value))
        print("| " + " | ".join(cells) + " |")


def _child(target: str, args: tuple, queue) -> None:  # noqa: ANN001 — runs in the spawned process
    import importlib
    import resource
    import time

    import traceback

    try:
        module, _, name = target.partition(":")
        function = getattr(importlib.import_module(module), name)
        started = time.perf_counter()
        result = function(*args)
        elapsed = time.perf_counter() - started
    except BaseException:  # the parent would otherwise wait for a result that never comes
        queue.put(("failed", traceback.format_exc(), 0.0))
        raise
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB
    queue.put((elapsed, result, round(peak_mb, 1)))


def in_child(target: str, *args: object) -> tuple[float, object, float]:
    """Run `module:function(*args)` in a fresh process: (seconds, its result, the process's peak RSS in MB).

    A process of its own per measure, so that each peak is that measure's own (it includes the
    interpreter and duban's imports, about 100 MB).
    """
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_child, args=(target, args, queue))
    process.start()
    try:
        outcome = queue.get(timeout=3600)
    finally:
        process.join(timeout=60)
    if outcome[0] == "failed":
        raise RuntimeError(f"{target} failed in its process:\n{outcome[1]}")
    return outcome
