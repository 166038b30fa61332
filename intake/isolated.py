"""Reading an uploaded notice in a worker process with a memory cap and a time limit.

The portal must not parse an untrusted file in its own process: a hostile
file that slips past the size checks could take the server's memory, and a
large one would hold a thread. `read_notice_isolated` hands the file to a
fresh `python -m intake.isolated` process, which caps its own address space
and CPU time (resource.setrlimit) before it imports any reader, and answers
with the parsed notice or the problems found. The caller runs it in a thread (the
portal: `run_in_threadpool`), so the event loop keeps serving other pages.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import threading
from pathlib import Path

from intake import limits
from intake.notice import ImportFailed, ParsedNotice

ROOT = Path(__file__).resolve().parent.parent


_spare: subprocess.Popen[bytes] | None = None
_spare_lock = threading.Lock()


def _start_worker() -> subprocess.Popen[bytes]:
    environment = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, (str(ROOT), os.environ.get("PYTHONPATH")))),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "intake.isolated"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=environment,
        cwd=ROOT,
        start_new_session=True,
    )


def _take_worker() -> subprocess.Popen[bytes]:
    """A worker that has already imported the readers (started for the previous file), and a new
    spare for the next.

    Each file gets a fresh process, so a file that takes a worker's memory or time harms only that
    worker; starting one ahead saves the next upload Python's and the readers' start-up (about a
    second).
    """
    global _spare
    with _spare_lock:
        worker = _spare if _spare is not None and _spare.poll() is None else _start_worker()
        _spare = _start_worker()
    return worker


def read_notice_isolated(path: Path) -> ParsedNotice:
    """read_notice(path) in a capped child process; ImportFailed for every way it can go wrong."""
    source = path.name
    process = _take_worker()
    try:
        output, errors = process.communicate(
            str(path.resolve()).encode() + b"\n",
            timeout=limits.WORKER_TIMEOUT_S + limits.CONVERT_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise limits.refuse(
            source,
            f"读取文件超过 {limits.WORKER_TIMEOUT_S} 秒未完成，已停止——请只保留任务清单部分后"
            "再导入",
            f"reading the file took longer than {limits.WORKER_TIMEOUT_S} s and was stopped",
        ) from None
    if process.returncode != 0 or not output:
        if process.returncode in (-9, -24):  # SIGKILL or SIGXCPU: the CPU limit
            raise limits.refuse(
                source,
                f"读取文件超出时间上限（{limits.WORKER_TIMEOUT_S} 秒），已停止——"
                "请只保留任务清单部分后再导入",
                "reading the file went over the time limit and was stopped",
            )
        raise limits.refuse(
            source,
            "读取文件时超出内存上限或出错，已停止——请只保留任务清单部分，或用办公软件另存后再导入",
            f"the reader stopped (exit {process.returncode}):"
            f" {errors.decode(errors='replace')[-300:]}",
        )
    outcome, payload = pickle.loads(output)  # our own child's answer, over its own pipe
    if outcome == "failed":
        problems, failed_source = payload
        raise ImportFailed(problems, failed_source)
    parsed: ParsedNotice = payload  # unpickled: typed by what our own child sends
    return parsed


def _cap_this_process() -> None:
    import resource

    # The hard limit stays above the soft one so that LibreOffice, started from here, can get its
    # own cap.
    resource.setrlimit(
        resource.RLIMIT_AS, (limits.WORKER_MEMORY_BYTES, limits.CONVERT_MEMORY_BYTES)
    )
    resource.setrlimit(resource.RLIMIT_CPU, (limits.WORKER_TIMEOUT_S, limits.WORKER_TIMEOUT_S + 5))


def main() -> None:
    """Cap this process, import the readers, then wait for the one file to read (a line on
    stdin)."""
    _cap_this_process()
    from intake.source import read_notice

    line = sys.stdin.buffer.readline()
    if not line.strip():
        return  # the portal stopped before it needed this spare
    path = Path(line.decode().rstrip("\n"))
    try:
        answer: tuple[str, object] = ("ok", read_notice(path))
    except ImportFailed as failed:
        answer = ("failed", (failed.problems, failed.source))
    except MemoryError:
        answer = (
            "failed",
            (
                limits.refuse(
                    path.name,
                    "文件内容过大，读取时超出内存上限——请只保留任务清单部分后再导入",
                    "the file needs more memory than allowed",
                ).problems,
                path.name,
            ),
        )
    sys.stdout.buffer.write(pickle.dumps(answer))
    sys.stdout.flush()
    os._exit(0)  # the answer is out: skip the interpreter's tear-down of every module it loaded


if __name__ == "__main__":
    main()
