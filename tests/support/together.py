"""Run several `duban` commands as real processes that start their work at the same instant.

Each process imports the command tree first (the slow part of start-up), says it is ready, and
waits at a barrier (a file the parent creates once every process is ready); only then does it run
the command. So two runs of one command really overlap, instead of one finishing before the other
has loaded Python.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent

_AT_THE_BARRIER = """
import sys, time
from pathlib import Path
import cli.main
ready, go = Path(sys.argv[1]), Path(sys.argv[2])
ready.touch()
while not go.exists():
    time.sleep(0.001)
sys.argv = ["duban", *sys.argv[3:]]
cli.main.run()
"""


@dataclass(frozen=True)
class Finished:
    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def traceback(self) -> bool:
        return "Traceback" in self.stderr


def environment(home: Path, url: str | None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DUBAN_")}
    env.update(DUBAN_HOME=str(home), DUBAN_LANG="zh", PYTHONPATH=str(ROOT), **extra)
    if url:
        env["DUBAN_DATABASE_URL"] = url
    return env


class AtTheBarrier:
    """Commands started and loaded, each waiting for `release()`; `finish()` waits for them to
    end."""

    def __init__(
        self, commands: list[list[str]], *, home: Path, url: str | None, **env: str
    ) -> None:
        self._folder = tempfile.TemporaryDirectory(prefix="duban-barrier-")
        folder = Path(self._folder.name)
        self.commands, self._go = commands, folder / "go"
        ready = [folder / f"ready-{n}" for n in range(len(commands))]
        self._processes = [
            subprocess.Popen(
                [sys.executable, "-c", _AT_THE_BARRIER, str(flag), str(self._go), *args],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                cwd=ROOT,
                env=environment(home, url, **env),
            )
            for flag, args in zip(ready, commands, strict=True)
        ]
        deadline = time.monotonic() + 60
        while not all(flag.exists() for flag in ready):
            if time.monotonic() > deadline or any(p.poll() is not None for p in self._processes):
                for p in self._processes:
                    p.kill()
                raise RuntimeError(
                    "a process died before the barrier: "
                    + " | ".join(p.communicate()[1][-500:] for p in self._processes)
                )
            time.sleep(0.01)

    def release(self) -> None:
        self._go.touch()

    def finish(self, timeout: float = 180) -> list[Finished]:
        self.release()
        finished = []
        for args, process in zip(self.commands, self._processes, strict=True):
            out, err = process.communicate(timeout=timeout)
            finished.append(Finished(tuple(args), process.returncode, out, err))
        self._folder.cleanup()
        return finished


def run_together(
    commands: list[list[str]], *, home: Path, url: str | None, timeout: float = 180, **env: str
) -> list[Finished]:
    """Start every command, release them together once all are loaded, and wait for each to end."""
    return AtTheBarrier(commands, home=home, url=url, **env).finish(timeout)
