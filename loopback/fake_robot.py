"""What the fake WeCom and DingTalk robot services share: a loopback HTTP server in a thread, a
clock the test sets (the dispatcher's own), the requests it took, and what broke the rules.

`violations` lists every request a real service would have refused for a reason the sender
controls (over a limit, a bad signature, too fast): a correct sender leaves it empty.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


class Clock:
    """The simulated time both the dispatcher and the fake service read."""

    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment

    def advance(self, **delta: float) -> datetime:
        self.moment += timedelta(**delta)
        return self.moment


class FakeRobotService:
    path = "/"

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self.clock = clock
        self.received: list[dict[str, Any]] = []  # accepted messages: {"robot", "body", "at"}
        self.answers: list[dict[str, Any]] = []  # every answer given, in order
        self.violations: list[str] = []
        self.down_until: datetime | None = None  # answers 503 before then
        self.forced: list[dict[str, Any]] = []  # answers to give next, whatever the request
        self.lock = threading.Lock()
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                parts = urlsplit(self.path)
                with service.lock:
                    status, answer = service.answer(parts.path, parse_qs(parts.query), raw)
                    service.answers.append(answer)
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> FakeRobotService:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def answer(self, path: str, query: dict[str, list[str]], raw: bytes) -> tuple[int, dict]:
        if self.down_until is not None and self.clock() < self.down_until:
            return 503, {"errcode": -1, "errmsg": "service unavailable"}
        if self.forced:
            return 200, self.forced.pop(0)
        if path != self.path:
            return 404, {"errcode": 404, "errmsg": f"no such path {path}"}
        try:
            body = json.loads(raw.decode("utf-8"))
        except ValueError:
            return 200, {"errcode": 40058, "errmsg": "invalid json"}
        return self.check(query, body)

    def check(self, query: dict[str, list[str]], body: dict[str, Any]) -> tuple[int, dict]:
        raise NotImplementedError

    def recent(self, robot: str, window: timedelta = timedelta(minutes=1)) -> int:
        """Requests this robot took within the last minute (the services count them all)."""
        since = self.clock() - window
        return sum(1 for r in self.requests if r[0] == robot and r[1] > since)

    requests: list[tuple[str, datetime]]

    def count(self, robot: str) -> None:
        self.requests.append((robot, self.clock()))
