"""Put on PYTHONPATH by the benchmarks: at exit, append this process's peak RSS (kB) to
$BENCH_PEAK_FILE.

The peak is VmHWM of /proc/self/status, which starts afresh at exec. getrusage's ru_maxrss does not:
a child's figure includes its parent's peak at the fork, so a 60 MB benchmark made every 10 MB
command look like 60 MB.
"""

import atexit
import os


def _record() -> None:
    with open("/proc/self/status") as status:
        peak = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
    with open(os.environ["BENCH_PEAK_FILE"], "a") as out:
        out.write(f"{peak}\n")


if os.environ.get("BENCH_PEAK_FILE"):
    atexit.register(_record)
