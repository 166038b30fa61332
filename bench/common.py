"""What the benchmarks share: a throwaway PostgreSQL server, fresh databases on it, the output."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import text

from models.db import make_engine


@contextmanager
def postgres(enabled: bool) -> Iterator[str | None]:
    """The admin URL of a throwaway server on loopback, or None when not asked for."""
    if not enabled:
        yield None
        return
    from loopback.postgres import ThrowawayPostgres, find_bindir

    server = ThrowawayPostgres(find_bindir())
    try:
        yield server.start()
    finally:
        server.stop()


def backends(postgres_url: str | None) -> list[tuple[str, str | None]]:
    """(backend, admin URL) to measure on: SQLite always, PostgreSQL when a server was started."""
    return [("sqlite", None)] + ([("postgresql", postgres_url)] if postgres_url else [])


def scratch_databases(postgres_url: str | None, name: str) -> Iterator[tuple[str, str, Path]]:
    """(backend, a fresh database's URL, a scratch folder) on SQLite and, when a server is given,
    PostgreSQL; each folder is removed after its turn."""
    for backend, server_url in backends(postgres_url):
        with tempfile.TemporaryDirectory(prefix="duban-bench-") as folder:
            url = (
                f"sqlite:///{folder}/{name}.db"
                if backend == "sqlite"
                else fresh_database(server_url, f"bench_{name}")
            )
            yield backend, url, Path(folder)


def fresh_database(admin_url: str, name: str) -> str:
    """An empty database `name` on the server (dropped first if it exists); its URL."""
    engine = make_engine(admin_url)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        connection.execute(text(f"CREATE DATABASE {name}"))
    engine.dispose()
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


# The columns every measure has, in the combined table (`python -m bench`) and in its JSON.
COLUMNS = [
    ("measure", "name"),
    ("backend", "backend"),
    ("scale", "scale"),
    ("median s", "median_s"),
    ("baseline s", "baseline_s"),
    ("baseline", "baseline_is"),
    ("ratio", "ratio"),
    ("peak MB", "peak_mb"),
    ("target s", "target_s"),
]


PEAK_SITE = str(Path(__file__).resolve().parent / "peak")


def with_peak_probe(env: dict[str, str], peak_file: Path) -> dict[str, str]:
    """`env` for a Python command whose processes each append their peak RSS to `peak_file` at
    exit."""
    path = os.pathsep.join(p for p in (PEAK_SITE, env.get("PYTHONPATH")) if p)
    return env | {"PYTHONPATH": path, "BENCH_PEAK_FILE": str(peak_file)}


def peak_of(peak_file: Path) -> float | None:
    """The largest peak RSS in MB recorded in `peak_file` (one process per line, kB); None if none
    exited."""
    peaks = [int(line) for line in peak_file.read_text().split()] if peak_file.exists() else []
    return round(max(peaks) / 1024, 1) if peaks else None


def tree_peak_mb(pid: int) -> float:
    """The largest peak RSS in MB among a running process and its descendants (VmHWM from /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            # The command may hold spaces and parentheses: the fields after the last ')' are fixed.
            try:
                parents[int(entry.name)] = int(
                    (entry / "stat").read_text().rpartition(")")[2].split()[1]
                )
            except (OSError, IndexError, ValueError):
                continue  # gone meanwhile
    tree, peaks = {pid}, []
    for _ in range(8):  # a few generations: server, workers, their helpers
        tree |= {child for child, parent in parents.items() if parent in tree}
    for member in tree:
        try:
            peaks.append(_vmhwm_kb(member))
        except (OSError, StopIteration):  # gone meanwhile, or a zombie without memory
            continue
    return round(max(peaks) / 1024, 1)


def _vmhwm_kb(pid: int | str) -> int:
    """Peak RSS in kB since the process's exec (VmHWM; getrusage would include the parent's peak at
    the fork)."""
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))


def timed_process(command: list[str], env: dict[str, str]) -> tuple[float, float | None]:
    """Run a Python command to its end: (seconds, peak RSS in MB of its largest process)."""
    with tempfile.TemporaryDirectory(prefix="duban-peak-") as folder:
        peak_file = Path(folder) / "peak"
        started = time.perf_counter()
        finished = subprocess.run(command, env=with_peak_probe(env, peak_file), capture_output=True)
        elapsed = time.perf_counter() - started
        if finished.returncode != 0:
            raise RuntimeError(
                f"{' '.join(command)} exited {finished.returncode}:\n"
                + finished.stderr.decode(errors="replace")
            )
        return elapsed, peak_of(peak_file)


def markdown(results: list[dict[str, object]], columns: list[tuple[str, str]]) -> str:
    """A Markdown table of `columns` (header, key); seconds to the millisecond, a dash for
    nothing."""
    lines = ["| " + " | ".join(h for h, _ in columns) + " |", "|" + " --- |" * len(columns)]
    for r in results:
        cells = []
        for _, key in columns:
            value = r.get(key)
            cells.append(
                "—"
                if value is None
                else f"{value:.3f}"
                if isinstance(value, float) and key.endswith("_s")
                else str(value)
            )
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def report(results: list[dict[str, object]], as_json: bool, columns: list[tuple[str, str]]) -> None:
    """Print the Markdown table, or the JSON list."""
    print(
        json.dumps(results, indent=2, ensure_ascii=False)
        if as_json
        else markdown(results, columns),
        end="\n",
    )


def _child(target: str, args: tuple, queue) -> None:
    import importlib
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
    queue.put((elapsed, result, round(_vmhwm_kb("self") / 1024, 1)))


def in_child(target: str, *args: object) -> tuple[float, object, float]:
    """Run `module:function(*args)` in a fresh process: (seconds, its result, the process's peak RSS
    in MB).

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
