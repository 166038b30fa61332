"""A real `prefect server start` on loopback, for the deployment test and the flow benchmark."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from loopback.net import free_port

PREFECT = str(Path(sys.executable).parent / "prefect")


@contextmanager
def prefect_server(
    home: Path, database_url: str | None = None, timeout: float = 120
) -> Iterator[dict[str, str]]:
    """Start a Prefect server (its own SQLite under `home` unless `database_url`) and yield the
    environment a client needs: PREFECT_API_URL set, analytics off, nothing inherited from the
    caller's Prefect or duban."""
    home.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "DUBAN_"))} | {
        "PREFECT_HOME": str(home / "prefect"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_UI_ENABLED": "false",
        "DO_NOT_TRACK": "1",
    }
    if database_url:
        env["PREFECT_API_DATABASE_CONNECTION_URL"] = database_url
    port = free_port()
    log_path = home / "prefect-server.log"
    log = log_path.open("w")
    server = subprocess.Popen(
        [PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    api = f"http://127.0.0.1:{port}/api"
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                with urllib.request.urlopen(f"{api}/health", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"the Prefect server did not become healthy in {timeout:.0f} s:\n"
                        + log_path.read_text()
                    ) from None
                time.sleep(0.5)
        yield env | {"PREFECT_API_URL": api}
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
