"""A real portal on loopback for the tests: uvicorn in a thread, the seed as data, one user per
role."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import httpx
import uvicorn
from sqlalchemy import Engine
from sqlmodel import col, select

from config import Settings
from intake.directory import read_directory, sync_directory
from intake.plan_import import reconcile, resolve
from intake.source import read_notice
from loopback import portal_client
from loopback.portal_client import csrf_of as csrf_of  # the tests import it from here
from models.assignment import Assignment
from models.clock import utc_now
from models.db import reading, unit_of_work
from models.plan import Task
from models.unit import Unit
from models.users import add_user
from tests.support.net import free_port
from tests.support.scenario import OFFICE

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct-horse-battery"
USERS = {  # username -> (role, unit)
    "office": ("office_admin", None),
    "staff": ("office_staff", None),
    "edu": ("unit", "市教育局"),
    "police": ("unit", "市公安局"),
    "market": ("unit", "市市场监管局"),
    "leader": ("leader", None),
    "auditor": ("auditor", None),
}

# The smallest file a PDF reader accepts: evidence in the portal tests.
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@dataclass
class Portal:
    url: str
    engine: Engine
    settings: Settings

    def client(self, source: str | None = None) -> httpx.Client:
        """A browser-like client; `source` a loopback address of its own (127.0.0.2 …): another
        computer."""
        transport = httpx.HTTPTransport(local_address=source) if source else None
        return httpx.Client(
            base_url=self.url, follow_redirects=False, timeout=30, transport=transport
        )

    @contextmanager
    def login(self, username: str, password: str = PASSWORD) -> Iterator[httpx.Client]:
        with self.client() as client:
            response = sign_in(client, username, password)
            assert response.status_code == 303, response.text
            yield client

    def token(self, username: str) -> dict[str, str]:
        with self.client() as client:
            issued = client.post(
                "/api/v1/auth/token", data={"username": username, "password": PASSWORD}
            )
        assert issued.status_code == 200, issued.text
        return {"authorization": f"Bearer {issued.json()['access_token']}"}

    def assignment(self, task: int, unit: str) -> int:
        with reading(self.engine) as session:
            return session.exec(
                select(Assignment.id)
                .join(Task, col(Task.id) == col(Assignment.task_id))
                .join(Unit, col(Unit.id) == col(Assignment.unit_id))
                .where(Task.number == task, Unit.name == unit)
            ).one()


def sign_in(
    client: httpx.Client, username: str, password: str = PASSWORD, **fields: str
) -> httpx.Response:
    """loopback's sign-in (the login page's CSRF field, then the form), the tests' password by
    default."""
    return portal_client.sign_in(client, username, password, **fields)


def seed(engine: Engine) -> None:
    now = utc_now()
    with unit_of_work(engine) as session:
        sync_directory(
            session, read_directory(ROOT / "config/units/rugao.yaml"), actor=OFFICE, now=now
        )
        reconcile(
            session,
            "2022",
            resolve(session, read_notice(ROOT / "tests/fixtures/seed-notice.txt")),
            actor=OFFICE,
            now=now,
            write=True,
        )
        for username, (role, unit) in USERS.items():
            add_user(
                session,
                username=username,
                role=role,
                password=PASSWORD,
                unit_name=unit,
                actor=OFFICE,
                now=now,
            )


def open_round(engine: Engine, report_by: date, name: str = "第一轮") -> None:
    from models.rounds import open_round as open_it

    with unit_of_work(engine) as session:
        open_it(
            session,
            plan_key="2022",
            name=name,
            report_by=report_by,
            actor=OFFICE,
            now=utc_now(),
            cooperating_lead_days=2,
        )


@contextmanager
def running(settings: Settings, engine: Engine) -> Iterator[Portal]:
    from web.app import create_app

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            proxy_headers=False,
        )
    )  # as `duban serve` runs it
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the portal did not start")
        time.sleep(0.02)
    try:
        yield Portal(f"http://127.0.0.1:{port}", engine, settings)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def form_fields(html: str, action: str) -> dict[str, str]:
    """The fields a browser would submit from the form posting to `action` (inputs and textareas as
    filled)."""
    from html.parser import HTMLParser

    class Fields(HTMLParser):
        def __init__(self) -> None:
            super().__init__(convert_charrefs=True)
            self.inside, self.fields, self.textarea = False, {}, None

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            found = dict(attrs)
            if tag == "form":
                self.inside = found.get("action") == action
            elif (
                self.inside and tag == "input" and found.get("name") and found.get("type") != "file"
            ):
                self.fields[found["name"]] = found.get("value") or ""
            elif self.inside and tag == "textarea":
                self.textarea = found["name"]
                self.fields[self.textarea] = ""

        def handle_data(self, data: str) -> None:
            if self.textarea:
                self.fields[self.textarea] += data

        def handle_endtag(self, tag: str) -> None:
            if tag == "textarea":
                self.textarea = None
            elif tag == "form":
                self.inside = False

    parser = Fields()
    parser.feed(html)
    assert parser.fields, f"no form posting to {action} on the page"
    return parser.fields


def serve_seeded(
    engine: Engine, database_url: str, home: Path, *, upload_max_mb: float
) -> Iterator[Portal]:
    """The seed plan with a round due in 30 days, served over HTTP: the body of each module's
    `portal` fixture."""
    seed(engine)
    open_round(engine, date.today() + timedelta(days=30))
    settings = Settings(
        home=home, database_url=database_url, dev_mode=True, upload_max_mb=upload_max_mb
    )
    with running(settings, engine) as found:
        yield found
