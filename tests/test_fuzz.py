"""The fuzzer, on a real portal over HTTP (SQLite and PostgreSQL): malformed values into every
input.

Three attacks, each checked by tests.support.fuzz.problems (no 500; the security headers on every
answer; a Chinese page with a way home for a person, Chinese JSON for a script):

- a sweep: every path parameter, query parameter and form field of every route in app.routes gets
  each malformed value (tests/support/hostile.py), the other inputs kept valid, as a signed-in
  office user (a CSRF-checked browser session) and as a unit user;
- Hypothesis: random routes, inputs and text;
- schemathesis against /openapi.json, valid and invalid data by the schema, with a bearer token.

The quick run is part of `make test`; `-m fuzz` runs the long one (every value, more examples).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from sqlmodel import select

from models.db import reading
from models.round import CheckIn
from models.unit import Unit
from models.user import User
from tests.support.fuzz import BROWSER, Target, problems, seeded_portal, targets
from tests.support.hostile import HOSTILE, MALFORMED
from tests.support.portal import Portal, csrf_of, sign_in

QUICK_VALUES = (
    "99999999999999999999",
    "abc",
    "-1",
    "",
    "\x00",
    "0001-01-01T00:00:00+08:00",
    "9" * 400,
    "令牌",
    HOSTILE[0],
    HOSTILE[11],
)
NEVER = {("POST", "/logout")}  # would end the fuzzer's own session
SKIPPED = {
    ("POST", "/reports")
}  # a valid round compiles a whole 通报: swept with malformed values only
RUNS = {
    "quick": {"values": QUICK_VALUES, "users": ("office",), "random": 200, "schema": 6},
    "long": {
        "values": MALFORMED + HOSTILE,
        "users": ("office", "edu"),
        "random": 1500,
        "schema": 60,
    },
}


@pytest.fixture(scope="module", params=("sqlite", "postgresql"))
def portal(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Portal]:
    # Failed logins are part of the attack; throttling them is tested elsewhere.
    yield from seeded_portal(
        request, tmp_path_factory.mktemp(f"fuzz-{request.param}"), login_max_failures=10**6
    )


def valid_values(portal: Portal) -> dict[str, str]:
    """A real object for every path parameter, so the malformed one is the only thing wrong."""
    own = portal.assignment(5, "市教育局")
    with reading(portal.engine) as session:
        checkin = session.exec(select(CheckIn.id).where(CheckIn.assignment_id == own)).first()
        # The leader's account: not one the attacker signs in as, so a change to it ends no session
        # of the sweep's own.
        leader = session.exec(select(User.id).where(User.username == "leader")).one()
        edu = session.exec(select(Unit.id).where(Unit.name == "市教育局")).one()
    return {
        "assignment_id": str(own),
        "checkin_id": str(checkin),
        "round_id": "1",
        "request_id": "1",
        "report_id": "1",
        "action": "sign",
        "decision": "accept",
        "sha256": "0" * 64,
        "name": "x.pdf",
        "user_id": str(leader),
        "change": "role",  # needs a form field, so a malformed one changes nothing
        "unit_id": str(edu),
        "task_id": "1",
        "throttle_id": "1",
        "token_id": "1",
        "key": "2022",  # a plan's key: /api/v1/plans/{key}/cadence and /scores
        "escalation_id": "1",
        "directive_id": "1",  # a 批示 may not exist yet: a malformed id is still refused
        "what": "note",  # needs a form field, as "change" does
    }


def routes(portal: Portal) -> list[Target]:
    from web.app import create_app

    return [t for t in targets(create_app(portal.settings)) if (t.method, t.path) not in NEVER]


class Attacker:
    """Sends malformed requests as one user and keeps every problem found."""

    def __init__(self, portal: Portal, username: str | None) -> None:
        self.portal, self.valid, self.found, self.sent = portal, valid_values(portal), [], 0
        self.client = portal.client()
        self.api = portal.token(username) if username else {}
        if username:
            assert sign_in(self.client, username).status_code == 303
        self.csrf = csrf_of(self.client.get("/reports").text) if username else ""

    def send(self, target: Target, where: str, name: str, value: str) -> None:
        values = dict(self.valid) | ({name: value} if where == "path" else {})
        path = target.path.format(**{p: quote(values[p], safe="") for p in target.path_params})
        headers = {"accept": "application/json", **self.api} if target.is_api else dict(BROWSER)
        data = ({"csrf": self.csrf} if target.method == "POST" and not target.is_api else {}) | (
            {name: value} if where == "form" else {}
        )
        params = {name: value} if where == "query" else None
        try:
            response = self.client.request(
                target.method, path, params=params, data=data or None, headers=headers
            )
        except httpx.TransportError as error:  # the server dropped the connection: as bad as a 500
            self.found.append(f"{target.method} {path}: connection dropped ({error})")
            self.client = self.portal.client()
            return
        self.sent += 1
        self.found += problems(
            target.method,
            f"{path} [{where} {name}={value[:40]!r}]",
            accept=headers["accept"],
            status=response.status_code,
            headers=response.headers,
            text=response.text,
        )

    def inputs(self, target: Target) -> list[tuple[str, str]]:
        return (
            [("path", p) for p in target.path_params]
            + [("query", q) for q in target.query]
            + [("form", f) for f in target.form if target.method == "POST"]
        )


def sweep(portal: Portal, run: dict[str, Any]) -> tuple[int, list[str]]:
    sent, found = 0, []
    for username in run["users"]:
        attacker = Attacker(portal, username)
        for target in routes(portal):
            if target.path == "/login" and target.method == "POST":
                continue  # swept anonymously below, so the attacker's own session stays
            for where, name in attacker.inputs(target):
                for value in run["values"]:
                    attacker.send(target, where, name, value)
        sent, found = sent + attacker.sent, found + attacker.found
    anonymous = Attacker(portal, None)
    login = next(t for t in routes(portal) if (t.method, t.path) == ("POST", "/login"))
    for _, name in anonymous.inputs(login):
        for value in run["values"]:
            anonymous.send(login, "form", name, value)
    return sent + anonymous.sent, found + anonymous.found


def random_attack(portal: Portal, examples: int) -> tuple[int, list[str]]:
    attacker = Attacker(portal, "office")
    fuzzable = [
        t
        for t in routes(portal)
        if attacker.inputs(t)
        and (t.method, t.path) not in SKIPPED
        and (t.method, t.path) != ("POST", "/login")
    ]
    text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=300)
    values = st.one_of(st.sampled_from(MALFORMED + HOSTILE), text, st.integers().map(str))

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(target=st.sampled_from(fuzzable), value=values, data=st.data())
    def attack(target: Target, value: str, data: st.DataObject) -> None:
        where, name = data.draw(st.sampled_from(attacker.inputs(target)))
        attacker.send(target, where, name, value)

    attack()
    return attacker.sent, attacker.found


def schema_attack(portal: Portal, examples: int) -> tuple[int, list[str]]:
    """schemathesis: the API and every page route as /openapi.json describes them, with a bearer
    token."""
    raw = httpx.get(f"{portal.url}/openapi.json", timeout=30).json()
    schema = schemathesis.openapi.from_dict(raw)
    token = portal.token("office")
    sent, found = 0, []
    for result in schema.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) in SKIPPED:
            continue
        for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE):
            calls: list[tuple[str, int]] = []

            @settings(
                max_examples=examples,
                deadline=None,
                database=None,
                phases=[Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy(generation_mode=mode))
            def call(case: schemathesis.Case) -> None:
                response = case.call(base_url=portal.url, headers=token, timeout=30)
                headers = {k.lower(): ", ".join(v) for k, v in response.headers.items()}
                calls.append((case.path, response.status_code))
                found.extend(
                    problems(
                        case.method.upper(),
                        f"{case.formatted_path} [{mode.value}]",
                        accept=response.request.headers.get("accept", "*/*"),
                        status=response.status_code,
                        headers=headers,
                        # an export or a preview answers in bytes (xlsx, PNG): read, not decoded
                        text=response.content.decode("utf-8", errors="replace"),
                    )
                )

            try:
                call()
            except Unsatisfiable:  # nothing to make invalid: the operation takes no input
                assert mode == schemathesis.GenerationMode.NEGATIVE
            sent += len(calls)
    return sent, found


def check(kind: str, sent: int, found: list[str]) -> None:
    distinct = list(dict.fromkeys(found))
    print(f"{kind}: {sent} requests, {len(distinct)} problems")  # shown with -s
    assert not distinct, f"{kind}: {len(distinct)} problems in {sent} requests:\n" + "\n".join(
        distinct[:25]
    )


@pytest.mark.parametrize("attack", ["sweep", "random", "schema"])
def test_malformed_values_into_every_input_never_get_a_500_and_errors_are_answered_in_chinese(
    portal: Portal, attack: str
) -> None:
    run = RUNS["quick"]
    if attack == "sweep":
        sent, found = sweep(portal, run)
        assert sent > 500  # every route was reached with every value
    elif attack == "random":
        sent, found = random_attack(portal, run["random"])
    else:
        sent, found = schema_attack(portal, run["schema"])
        assert sent > 100
    check(attack, sent, found)


@pytest.mark.fuzz
@pytest.mark.parametrize("attack", ["sweep", "random", "schema"])
def test_the_long_fuzz_finds_no_500_either(portal: Portal, attack: str) -> None:
    run = RUNS["long"]
    if attack == "sweep":
        sent, found = sweep(portal, run)
    elif attack == "random":
        sent, found = random_attack(portal, run["random"])
    else:
        sent, found = schema_attack(portal, run["schema"])
    check(attack, sent, found)


# The office's long lists and their exports (web/routes/office_lists.py, web/routes/messages.py,
# the escalation desk): each filter a person types into, with what the sweep must find it reading.
LISTS = {
    "/dashboard": {"task", "unit", "state", "role", "light", "page_no"},
    "/dashboard/export": {"task", "unit", "state", "role", "light"},
    "/review": {"unit", "task", "round", "kind", "since", "until", "page_no"},
    "/review/export": {"unit", "task", "round", "kind", "since", "until"},
    "/rounds": {"opened", "plan", "state", "since", "until", "page_no"},
    "/rounds/export": {"plan", "state", "since", "until"},
    "/extensions": {"state", "unit", "task", "since", "until", "page_no"},
    "/extensions/export": {"state", "unit", "task", "since", "until"},
    "/escalations": {"level", "unit", "task", "page_no"},
    "/escalations/export": {"level", "unit", "task"},
    "/notifications": {"status", "unit", "kind", "page_no"},
    "/notifications/export": {"status", "unit", "kind"},
}


def test_every_list_filter_takes_the_whole_hostile_corpus(portal: Portal) -> None:
    """The quick sweep sends ten values; a list's filters, echoed into its page, its page links
    and its export, get every malformed and hostile value, even in the quick run."""
    by_path = {t.path: t for t in routes(portal) if t.method == "GET"}
    for path, filters in LISTS.items():
        assert set(by_path[path].query) == filters, path  # the sweep reaches each one
    attacker = Attacker(portal, "office")
    for path in LISTS:
        for name in sorted(LISTS[path]):
            for value in MALFORMED + HOSTILE:
                attacker.send(by_path[path], "query", name, value)
    assert attacker.sent == len(MALFORMED + HOSTILE) * sum(len(f) for f in LISTS.values())
    check("lists", attacker.sent, attacker.found)
