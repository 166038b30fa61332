"""Damaged database files and a full disk: every command answers in one line with a documented exit
code, never a traceback, and a full disk loses nothing and leaves nothing half-written.

Damage: 20 ways a SQLite file goes wrong (truncated, zeroed, overwritten, replaced by another file,
a directory, garbage beside it, another program's database...). The quick run sends each damaged
file one command, in turn through the list; the full run (make reliability) sends every command to
each.

Full disk: a 4 MB tmpfs mounted as DUBAN_HOME when running as root (skipped otherwise), filled until
a report, an evidence upload and then a database write no longer fit.
"""

from __future__ import annotations

import os
import random
import shutil
import sqlite3
import subprocess
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from models.db import make_engine, unit_of_work
from models.rounds import open_round
from tests.reliability import table
from tests.support import scenario
from tests.support.cli import duban

# Every exit code the README documents; 1 (an unexpected error) is what this suite must never see.
DOCUMENTED = {0, 2, 3, 4, 5, 6, 7, 8, 9}
NOW = datetime(2022, 9, 5, 1, 30, tzinfo=UTC)
COMMANDS = [
    ("audit", "verify"),
    ("status",),
    ("round", "list"),
    ("sign", "--task", "12", "--unit", "市市场监管局", "--now", "2022-09-20T09:00:00+08:00"),
    ("report", "--round", "三季度", "--format", "md", "--now", "2022-09-21T09:00:00+08:00"),
]


def build(home: Path) -> Path:
    """A small real database under `home`: the scenario's plan and an open round."""
    home.mkdir(parents=True, exist_ok=True)
    path = home / "duban.db"
    engine = make_engine(f"sqlite:///{path}")
    from models.schema import upgrade

    upgrade(engine)
    scenario.build(engine, NOW)
    with unit_of_work(engine) as session:
        open_round(
            session,
            plan_key="2022",
            name="三季度",
            report_by=date(2022, 9, 30),
            actor=scenario.OFFICE,
            now=NOW,
            cooperating_lead_days=2,
        )
    engine.dispose()  # folds the WAL into the file: the damage below hits the whole database
    return path


@pytest.fixture(scope="module")
def good_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory.mktemp("good"))


def _rewrite(path: Path, change) -> None:
    data = bytearray(path.read_bytes())
    path.write_bytes(bytes(change(data)))


def _overwrite(data: bytearray, start: int, end: int, seed: int) -> bytearray:
    data[start:end] = random.Random(seed).randbytes(len(data[start:end]))
    return data


def _flip_bits(data: bytearray) -> bytearray:
    for i in range(512, len(data), 997):
        data[i] ^= 0x5A
    return data


def _foreign(path: Path) -> None:
    path.unlink()
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE 工资表 (姓名 TEXT, 金额 INTEGER)")
    connection.commit()
    connection.close()


def _newer_schema(path: Path) -> None:
    connection = sqlite3.connect(path)
    connection.execute("UPDATE alembic_version SET version_num = '9999'")
    connection.commit()
    connection.close()


def _directory(path: Path) -> None:
    path.unlink()
    path.mkdir()


def _dangling(path: Path) -> None:
    path.unlink()
    path.symlink_to(path.parent / "moved-away.db")


PAGE = 4096
DAMAGE = {
    "empty file": lambda p: p.write_bytes(b""),
    "truncated to half": lambda p: _rewrite(p, lambda d: d[: len(d) // 2]),
    "truncated to its first page": lambda p: _rewrite(p, lambda d: d[:PAGE]),
    "truncated inside the header": lambda p: _rewrite(p, lambda d: d[:60]),
    "zeroed header": lambda p: _rewrite(p, lambda d: bytearray(100) + d[100:]),
    "wrong magic string": lambda p: _rewrite(p, lambda d: bytearray(b"Not an SQLite 3\0") + d[16:]),
    "page size field corrupted": lambda p: _rewrite(
        p, lambda d: d[:16] + bytearray(b"\x00\x03") + d[18:]
    ),
    "schema page overwritten": lambda p: _rewrite(p, lambda d: _overwrite(d, 100, PAGE, 1)),
    "random pages in the middle": lambda p: _rewrite(
        p, lambda d: _overwrite(d, 2 * PAGE, len(d) // 2, 2)
    ),
    "zeroed second half": lambda p: _rewrite(
        p, lambda d: d[: len(d) // 2] + bytearray(len(d) - len(d) // 2)
    ),
    "random bytes of the same size": lambda p: _rewrite(p, lambda d: _overwrite(d, 0, len(d), 3)),
    "scattered bit flips": lambda p: _rewrite(p, _flip_bits),
    "a PNG image in its place": lambda p: p.write_bytes(
        b"\x89PNG\r\n\x1a\n" + random.Random(4).randbytes(20_000)
    ),
    "a text notice in its place": lambda p: p.write_text(
        "各镇（区、街道）：\n现将《2022年工作要点》印发给你们。\n" * 200, encoding="utf-8"
    ),
    "a directory in its place": _directory,
    "a dangling symbolic link": _dangling,
    "garbage WAL beside it": lambda p: p.with_name(p.name + "-wal").write_bytes(
        random.Random(5).randbytes(64 * 1024)
    ),
    "garbage shared memory beside it": lambda p: p.with_name(p.name + "-shm").write_bytes(
        random.Random(6).randbytes(32 * 1024)
    ),
    "another program's SQLite database": _foreign,
    "a schema newer than this duban": _newer_schema,
}


def _outcome(home: Path, args: tuple[str, ...]) -> tuple[int, bool, str]:
    """(exit code, clean, what it said): clean is one line at most, no traceback, no crash log."""
    result = duban(*args, home=home)
    said = result.stderr.strip()
    crashed = (home / "logs").exists() and any((home / "logs").glob("*.log"))
    clean = (
        result.returncode in DOCUMENTED
        and "Traceback" not in said
        and len(said.splitlines()) <= 1
        and not crashed
    )
    return result.returncode, clean, said


@pytest.mark.parametrize("case", list(DAMAGE))
def test_a_damaged_database_file_gets_one_line_from_every_command(
    case: str, good_database: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    path = home / "duban.db"
    shutil.copyfile(good_database, path)
    DAMAGE[case](path)
    index = list(DAMAGE).index(case)
    commands = COMMANDS if table.full() else [COMMANDS[index % len(COMMANDS)]]
    with ThreadPoolExecutor(max_workers=2) as pool:  # two cores; each command is its own process
        outcomes = list(pool.map(lambda args: _outcome(home, args), commands))
    unclean = [
        (args, said) for args, (_, clean, said) in zip(commands, outcomes, strict=True) if not clean
    ]
    codes = ", ".join(
        f"{' '.join(args[:2])}={code}"
        for args, (code, _, _) in zip(commands, outcomes, strict=True)
    )
    table.record(f"damaged database: {case}", tracebacks=len(unclean), note=codes)
    assert not unclean, unclean
    if case in (
        "empty file",
        "another program's SQLite database",
        "a schema newer than this duban",
        "a dangling symbolic link",
    ):
        # Not damaged, only not duban's (yet): every command asks for duban init, exit 2.
        assert {code for code, _, _ in outcomes} == {2}, outcomes
        assert all("duban init" in said for _, _, said in outcomes)


# --- a full disk
# ------------------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path):
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    mount = tmp_path / "disk"
    mount.mkdir()
    made = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], capture_output=True
    )
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {made.stderr.decode(errors='replace').strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def _fill(folder: Path, leave: int) -> Path:
    """Fill the disk, then free `leave` bytes again: the next large write fails, small ones still
    fit."""
    filler = folder / "filler.bin"
    # Unbuffered: a buffered file keeps what the last write could not place and raises ENOSPC again
    # when it is closed.
    with filler.open("wb", buffering=0) as stream:
        try:
            while True:
                stream.write(b"\xff" * 65536)
        except OSError:
            pass
    size = filler.stat().st_size
    os.truncate(filler, max(size - leave, 0))
    return filler


def _count(path: Path, sql: str) -> int:
    engine = make_engine(f"sqlite:///{path}")
    with engine.connect() as connection:
        value = connection.execute(text(sql)).scalar()
    engine.dispose()
    return int(value)


def test_a_full_disk_during_report_upload_and_writes_loses_nothing_and_leaves_nothing(
    small_disk: Path, tmp_path: Path
) -> None:
    home = small_disk / "home"
    database = build(home)
    evidence = tmp_path / "现场照片.bin"
    evidence.write_bytes(random.Random(7).randbytes(1_500_000))
    at = "2022-09-20T09:00:00+08:00"
    assert (
        duban("sign", "--task", "12", "--unit", "市市场监管局", "--now", at, home=home).returncode
        == 0
    )
    events = _count(database, "SELECT count(*) FROM audit_event")
    filler = _fill(small_disk, leave=64 * 1024)  # the report's page alone is several times this

    report = duban("report", "--round", "三季度", "--now", "2022-09-21T09:00:00+08:00", home=home)
    leftovers = (
        [p.name for p in (home / "reports").iterdir()] if (home / "reports").exists() else []
    )
    recorded = _count(database, "SELECT count(*) FROM results_report")
    report_clean = (
        report.returncode == 8
        and "磁盘空间不足" in report.stderr
        and len(report.stderr.strip().splitlines()) == 1
        and "Traceback" not in report.stderr
    )
    table.record(
        "full disk: report",
        tracebacks=0 if report_clean else 1,
        corrupted=len(leftovers) + recorded,
        note=f"exit {report.returncode}",
    )

    upload = duban(
        "checkin",
        "submit",
        "--task",
        "12",
        "--unit",
        "市市场监管局",
        "--text",
        "现场检查",
        "--evidence",
        str(evidence),
        "--now",
        "2022-09-21T10:00:00+08:00",
        home=home,
    )
    stored = (
        [p for p in (home / "evidence").rglob("*") if p.is_file()]
        if (home / "evidence").exists()
        else []
    )
    submitted = _count(database, "SELECT count(*) FROM check_in WHERE state = 'submitted'")
    upload_clean = (
        upload.returncode == 8
        and "磁盘" in upload.stderr  # the evidence's write or the database's
        and len(upload.stderr.strip().splitlines()) == 1
        and "Traceback" not in upload.stderr
    )
    table.record(
        "full disk: evidence upload",
        tracebacks=0 if upload_clean else 1,
        corrupted=len(stored) + submitted,
        note=f"exit {upload.returncode}",
    )

    _fill(small_disk / "home", leave=0)
    write = duban(
        "round",
        "open",
        "--name",
        "四季度",
        "--due",
        "2022-12-30",
        "--now",
        "2022-10-10T09:00:00+08:00",
        home=home,
    )
    write_clean = (
        write.returncode == 8
        and len(write.stderr.strip().splitlines()) == 1
        and "Traceback" not in write.stderr
    )

    filler.unlink()
    for extra in small_disk.glob("home/filler.bin"):
        extra.unlink()
    verified = duban("audit", "verify", home=home)
    rounds = _count(database, "SELECT count(*) FROM supervision_round")
    after = _count(database, "SELECT count(*) FROM audit_event")
    table.record(
        "full disk: database write",
        tracebacks=0 if write_clean else 1,
        corrupted=int(verified.returncode != 0) + int(rounds != 1),
        lost=int(after < events),
        note=f"exit {write.returncode}",
    )

    assert report_clean, report.stderr
    assert (
        leftovers == [] and recorded == 0
    )  # no .compiling-* folder, no half a report, no record of one
    assert upload_clean, upload.stderr
    assert stored == [] and submitted == 0  # no .partial, no evidence without its filing
    assert write_clean, write.stderr
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert rounds == 1 and after == events  # the refused writes wrote nothing; nothing was lost


def test_a_read_only_home_gets_one_line_from_init_and_every_command(small_disk: Path) -> None:
    home = small_disk / "home"
    build(home)
    made = subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], capture_output=True)
    if made.returncode != 0:
        pytest.skip("cannot remount the tmpfs read-only")
    outcomes = [duban(*args, home=home) for args in (("init",), ("status",), COMMANDS[3])]
    fresh = duban("init", home=small_disk / "new-home")
    unclean = [
        r
        for r in [*outcomes, fresh]
        if r.returncode != 8 or "Traceback" in r.stderr or len(r.stderr.strip().splitlines()) != 1
    ]
    table.record(
        "read-only home",
        tracebacks=len(unclean),
        note=", ".join(str(r.returncode) for r in outcomes),
    )
    assert not unclean, [r.stderr for r in unclean]
    assert all("只读或无权限" in r.stderr for r in [*outcomes, fresh])
