"""Getting in, over real HTTP on loopback: throttling without lock-outs, trusted proxies, login
CSRF, audited refusals, API tokens that expire and can be revoked.

Different computers are different loopback source addresses (127.0.0.2, 127.0.0.3 …: Linux
routes all of 127/8 to lo), so an attacker and the owner really arrive from different peers.
Time passing is a throttle's or a token's moments moved back in the database.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import date, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import col, func, select

from config import Settings
from models.audit import AuditEvent, verify_chain
from models.db import reading, unit_of_work
from models.lifecycle import SYSTEM_ACTOR
from models.user import LoginThrottle, WebSession
from tests.support.portal import PASSWORD, Portal, csrf_of, open_round, running, seed, sign_in

ATTACKER, OWNER, NEIGHBOUR = "127.0.0.2", "127.0.0.3", "127.0.0.4"

MakePortal = Callable[..., Portal]


@pytest.fixture
def make_portal(engine: Engine, database_url: str, tmp_path: Path) -> Iterator[MakePortal]:
    """A running portal on the seed, with these settings (at most one per test)."""
    seed(engine)
    open_round(engine, date.today() + timedelta(days=30))
    with ExitStack() as stack:

        def make(**overrides: object) -> Portal:
            settings = Settings(
                home=tmp_path, database_url=database_url, dev_mode=True, **overrides
            )
            return stack.enter_context(running(settings, engine))

        yield make


def wrong(client: httpx.Client, username: str = "office") -> httpx.Response:
    return sign_in(client, username, "wrong-password-123")


def events(engine: Engine, action: str) -> list[AuditEvent]:
    with reading(engine) as session:
        return list(
            session.exec(
                select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)
            )
        )


def let_waits_run_out(engine: Engine) -> None:
    """The clock moves past every running wait (the failures stay counted)."""
    with unit_of_work(engine) as session:
        for row in session.exec(
            select(LoginThrottle).where(col(LoginThrottle.blocked_until).is_not(None))
        ):
            row.blocked_until = row.blocked_until - timedelta(hours=1)
            session.add(row)


def throttle_rows(engine: Engine) -> list[LoginThrottle]:
    with reading(engine) as session:
        return list(session.exec(select(LoginThrottle).order_by(LoginThrottle.id)))


def test_an_attacker_hammering_the_office_never_locks_its_owner_out(
    make_portal: MakePortal,
) -> None:
    portal = make_portal(
        login_delay_base_s=60
    )  # a minute's wait after the 5th failure (the default count)
    with portal.client(ATTACKER) as attacker:
        assert [wrong(attacker).status_code for _ in range(5)] == [401] * 5
        assert 55 < int(sign_in(attacker, "office").headers["retry-after"]) <= 60
        for _ in range(
            20
        ):  # while the wait runs, nothing is checked: not even the right password gets in
            refused = sign_in(attacker, "office")
            assert (
                refused.status_code == 429 and 0 < int(refused.headers["retry-after"]) <= 60
            )  # counting down
            assert "登录失败次数过多" in refused.text and "duban_session" not in refused.cookies
    with portal.client(OWNER) as owner:
        assert sign_in(owner, "office").status_code == 303
        assert owner.get("/dashboard").status_code == 200
    with portal.client(
        ATTACKER
    ) as attacker:  # the attacker's wait was not shortened by the owner's login
        assert sign_in(attacker, "office").status_code == 429
        assert (
            sign_in(attacker, "staff").status_code == 303
        )  # a name the attacker did not try: no wait
    with portal.client(ATTACKER) as api:  # the API's door is the same door
        issued = api.post("/api/v1/auth/token", data={"username": "office", "password": PASSWORD})
        assert issued.status_code == 429 and 0 < int(issued.headers["retry-after"]) <= 60
    with portal.client(OWNER) as api:
        assert (
            api.post(
                "/api/v1/auth/token", data={"username": "office", "password": PASSWORD}
            ).status_code
            == 200
        )


def test_the_wait_doubles_with_each_failure_of_a_name_and_of_an_address(
    make_portal: MakePortal,
) -> None:
    # A pair waits after its 2nd failure: 10 s, then 20, 40, and 50 (the cap) — each failure after a
    # wait ran out.
    portal = make_portal(
        login_max_failures=2,
        login_address_max_failures=100,
        login_delay_base_s=10,
        login_delay_cap_s=50,
    )
    waits = []
    with portal.client(ATTACKER) as attacker:
        assert wrong(attacker, "edu").status_code == 401
        for _ in range(4):
            assert wrong(attacker, "edu").status_code == 401
            refused = sign_in(attacker, "edu")
            pair = next(r for r in throttle_rows(portal.engine) if r.scope == "pair")
            waits.append((pair.blocked_until - pair.last_failure_at).total_seconds())
            assert (
                refused.status_code == 429
            )  # Retry-After counts down from the wait (a loaded machine is slow)
            assert waits[-1] - 5 < int(refused.headers["retry-after"]) <= waits[-1]
            let_waits_run_out(portal.engine)
    assert waits == [10, 20, 40, 50]
    assert pair.failures == 5 and pair.username == "edu" and pair.ip == ATTACKER


def test_one_address_trying_many_names_waits_longer_each_time_and_others_do_not(
    make_portal: MakePortal,
) -> None:
    # The address waits after its 3rd failure, whatever the names: 10 s, then 20 s.
    portal = make_portal(login_max_failures=10, login_address_max_failures=3, login_delay_base_s=10)
    with portal.client(ATTACKER) as attacker:
        assert [wrong(attacker, name).status_code for name in ("edu", "police", "market")] == [
            401
        ] * 3
        refused = sign_in(
            attacker, "leader"
        )  # a fourth name, with its right password: the address waits
        assert refused.status_code == 429 and 5 < int(refused.headers["retry-after"]) <= 10
        let_waits_run_out(portal.engine)
        assert wrong(attacker, "auditor").status_code == 401
        refused = sign_in(attacker, "leader")
        assert refused.status_code == 429 and 15 < int(refused.headers["retry-after"]) <= 20
    address = next(r for r in throttle_rows(portal.engine) if r.scope == "address")
    assert address.failures == 4 and address.ip == ATTACKER and address.username == ""
    assert (address.blocked_until - address.last_failure_at).total_seconds() == 20
    with portal.client(NEIGHBOUR) as neighbour:
        assert sign_in(neighbour, "leader").status_code == 303


def test_throttled_logins_are_audited_once_per_wait(make_portal: MakePortal) -> None:
    portal = make_portal(login_delay_base_s=60)
    with portal.client(ATTACKER) as attacker:
        for _ in range(5):
            wrong(attacker)
        assert [sign_in(attacker, "office").status_code for _ in range(10)] == [429] * 10
        assert len(events(portal.engine, "login.throttled")) == 1  # ten refusals, one event
        let_waits_run_out(portal.engine)
        assert wrong(attacker).status_code == 401  # the 6th failure: a new, 2-minute wait
        assert [sign_in(attacker, "office").status_code for _ in range(5)] == [429] * 5
        assert (
            attacker.post(
                "/api/v1/auth/token", data={"username": "office", "password": "x"}
            ).status_code
            == 429
        )
    throttled = events(portal.engine, "login.throttled")
    assert [(e.actor, e.outcome) for e in throttled] == [("office", "refused")] * 2
    assert all(ATTACKER in e.reason for e in throttled)
    # In the auditor's words, the wait's end on the office's clock: Beijing, 8 hours past UTC.
    words = re.fullmatch(
        rf"网页登录过于频繁（按(用户名\+地址|地址)限制），来自 {re.escape(ATTACKER)}，须等待至 "
        r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)",
        throttled[0].reason,
    )
    assert words is not None, throttled[0].reason
    ends_utc = datetime.fromisoformat(words.group(2)) - timedelta(hours=8)
    assert timedelta(0) < ends_utc - throttled[0].at.replace(tzinfo=None) <= timedelta(minutes=5)
    failed = events(portal.engine, "login.failed")
    assert len(failed) == 6 and {e.reason for e in failed} == {f"网页登录，来自 {ATTACKER}"}
    with reading(portal.engine) as session:
        assert verify_chain(session).ok


def test_the_office_administrator_sees_and_clears_a_throttle_on_the_trail(
    make_portal: MakePortal,
) -> None:
    portal = make_portal(login_delay_base_s=60)
    with portal.client(ATTACKER) as attacker:
        for _ in range(5):
            wrong(attacker, "edu")
        assert sign_in(attacker, "edu").status_code == 429
    pair = next(r for r in throttle_rows(portal.engine) if r.scope == "pair")
    with portal.login("office") as office:
        page = office.get("/throttles")
        assert page.status_code == 200 and f'data-throttle="{pair.id}"' in page.text
        row = page.text.split(f'data-throttle="{pair.id}"')[1].split("</tr>")[0]
        assert "用户名+地址" in row and "edu" in row and ATTACKER in row
        assert '<td data-label="失败次数">5</td>' in row
        assert office.post(f"/throttles/{pair.id}/clear", data={}).status_code == 403  # CSRF
        assert (
            office.post(
                f"/throttles/{pair.id}/clear", data={"csrf": csrf_of(page.text)}
            ).status_code
            == 303
        )
        assert f'data-throttle="{pair.id}"' not in office.get("/throttles").text
        assert (
            office.post("/throttles/999999/clear", data={"csrf": csrf_of(page.text)}).status_code
            == 404
        )
    cleared = events(portal.engine, "login.throttle.clear")
    assert [(e.actor, e.object_id) for e in cleared] == [("office", str(pair.id))]
    with portal.client(ATTACKER) as attacker:
        assert sign_in(attacker, "edu").status_code == 303
    for username in ("staff", "edu", "auditor"):
        with portal.login(username) as other:
            assert other.get("/throttles").status_code == 403


def test_forgotten_failures_are_pruned(make_portal: MakePortal) -> None:
    portal = make_portal(login_window_minutes=15)
    with portal.client(ATTACKER) as attacker:
        for name in ("edu", "police"):
            wrong(attacker, name)
    assert len(throttle_rows(portal.engine)) == 3  # two pairs and the address
    with unit_of_work(portal.engine) as session:  # sixteen quiet minutes
        for row in session.exec(select(LoginThrottle)):
            row.last_failure_at -= timedelta(minutes=16)
            row.first_failure_at -= timedelta(minutes=16)
            session.add(row)
    with portal.client(NEIGHBOUR) as neighbour:
        wrong(neighbour, "market")
    assert sorted((r.scope, r.username, r.ip) for r in throttle_rows(portal.engine)) == [
        ("address", "", NEIGHBOUR),
        ("pair", "market", NEIGHBOUR),
    ]
    with portal.client(NEIGHBOUR) as neighbour:
        assert (
            sign_in(neighbour, "market").status_code == 303
        )  # the right password forgets its own pair
    assert [(r.scope, r.ip) for r in throttle_rows(portal.engine)] == [("address", NEIGHBOUR)]


def session_ips(engine: Engine) -> list[str | None]:
    with reading(engine) as session:
        return list(session.exec(select(WebSession.ip).order_by(WebSession.id)))


def test_x_forwarded_for_is_ignored_from_an_untrusted_peer(make_portal: MakePortal) -> None:
    portal = make_portal(login_delay_base_s=60)
    with portal.client() as client:
        client.headers["x-forwarded-for"] = "203.0.113.50"
        for _ in range(5):
            wrong(client)
        assert sign_in(client, "office").status_code == 429
        client.headers["x-forwarded-for"] = (
            "198.51.100.7"  # a new address of the client's choosing: still waits
        )
        assert sign_in(client, "office").status_code == 429
    assert {r.ip for r in throttle_rows(portal.engine)} == {"127.0.0.1"}
    with portal.client(OWNER) as owner:
        owner.headers["x-forwarded-for"] = "203.0.113.50"
        assert sign_in(owner, "office").status_code == 303
    assert session_ips(portal.engine) == [OWNER]
    assert events(portal.engine, "login")[-1].reason == f"网页登录，来自 {OWNER}"


def test_x_forwarded_for_is_honoured_from_a_trusted_proxy(make_portal: MakePortal) -> None:
    portal = make_portal(
        trusted_proxies="127.0.0.0/30", login_delay_base_s=60
    )  # 127.0.0.1 to .3, as DUBAN_TRUSTED_PROXIES is written
    with portal.client() as proxy:
        proxy.headers["x-forwarded-for"] = "203.0.113.50"  # the proxy says who its client is
        for _ in range(5):
            wrong(proxy)
        assert sign_in(proxy, "office").status_code == 429
        proxy.headers["x-forwarded-for"] = (
            "203.0.113.50, 198.51.100.7"  # the proxy appends the real peer
        )
        assert sign_in(proxy, "office").status_code == 303
    assert {r.ip for r in throttle_rows(portal.engine)} == {"203.0.113.50"}
    with portal.client(NEIGHBOUR) as outsider:  # 127.0.0.4 is not one of the proxies
        outsider.headers["x-forwarded-for"] = "192.0.2.1"
        assert sign_in(outsider, "staff").status_code == 303
    assert session_ips(portal.engine) == ["198.51.100.7", NEIGHBOUR]
    assert [e.reason for e in events(portal.engine, "login")] == [
        "网页登录，来自 198.51.100.7",
        f"网页登录，来自 {NEIGHBOUR}",
    ]


def test_a_login_without_its_csrf_token_is_refused(make_portal: MakePortal) -> None:
    portal = make_portal()
    with portal.client() as elsewhere:  # a page elsewhere posts the form: no cookie, no token
        refused = elsewhere.post("/login", data={"username": "edu", "password": PASSWORD})
        assert refused.status_code == 403 and "登录页已失效" in refused.text
        assert "duban_session" not in refused.cookies
    with portal.client() as client:
        token = csrf_of(client.get("/login").text)
        assert (
            client.post("/login", data={"username": "edu", "password": PASSWORD}).status_code == 403
        )
        assert (
            client.post(
                "/login", data={"username": "edu", "password": PASSWORD, "csrf": token[::-1]}
            ).status_code
            == 403
        )
    with (
        portal.client() as forger
    ):  # a pair the forger made up: the same in cookie and form, not signed here
        forger.cookies.set("duban_login", "made-up.0123abcd", domain="127.0.0.1")
        assert (
            forger.post(
                "/login", data={"username": "edu", "password": PASSWORD, "csrf": "made-up.0123abcd"}
            ).status_code
            == 403
        )
    assert events(portal.engine, "login") == []
    with portal.client() as browser:
        assert sign_in(browser, "edu").status_code == 303


def test_refusals_by_the_domain_are_on_the_trail(make_portal: MakePortal) -> None:
    portal = make_portal()
    own = portal.assignment(12, "市市场监管局")
    with portal.login("market") as market:
        token = csrf_of(market.get(f"/assignments/{own}").text)
        assert market.post(f"/assignments/{own}/act/sign", data={"csrf": token}).status_code == 303
        again = market.post(f"/assignments/{own}/act/sign", data={"csrf": token})  # signed already
        assert again.status_code == 409
    refused = events(portal.engine, "action.refused")
    assert len(refused) == 1
    assert refused[0].actor == "market" and refused[0].outcome == "refused"
    assert refused[0].reason.startswith(f"提交 /assignments/{own}/act/sign：")
    with reading(portal.engine) as session:
        assert verify_chain(session).ok


def test_api_tokens_are_out_of_a_liaison_s_menu_and_one_link_away_on_the_password_page(
    make_portal: MakePortal,
) -> None:
    """A liaison has no use for API tokens day to day: the menu holds only what they work with."""
    portal = make_portal()
    with portal.login("market") as market:
        inbox = market.get("/inbox").text
        password = market.get("/account/password").text
        assert market.get("/tokens").status_code == 200
    menu = re.search(r'<nav aria-label="主菜单">(.*?)</nav>', inbox, re.S).group(1)
    assert "访问令牌" not in menu and 'href="/account/password"' in menu
    assert '<a href="/tokens">查看或撤销我的访问令牌</a>' in password
    with portal.login("office") as office:  # the administrator revokes anyone's: in the menu
        admin_menu = re.search(
            r'<nav aria-label="主菜单">(.*?)</nav>', office.get("/dashboard").text, re.S
        )
    assert '<a href="/tokens">访问令牌</a>' in admin_menu.group(1)


def test_api_tokens_are_listed_revoked_by_their_user_or_the_office_and_expire(
    make_portal: MakePortal,
) -> None:
    portal = make_portal(api_token_hours=12)
    first, second, theirs = portal.token("market"), portal.token("market"), portal.token("police")
    with portal.client() as api:
        mine = api.get("/api/v1/auth/tokens", headers=first).json()
        assert [(t["username"], t["current"]) for t in mine] == [
            ("market", False),
            ("market", True),
        ]
        police_ids = [t["id"] for t in api.get("/api/v1/auth/tokens", headers=theirs).json()]
        assert (
            api.delete(f"/api/v1/auth/tokens/{police_ids[0]}", headers=first).status_code == 404
        )  # not mine
        assert api.get("/api/v1/assignments", headers=theirs).status_code == 200
        assert api.delete("/api/v1/auth/token", headers=first).status_code == 204  # revoke this one
        assert api.get("/api/v1/assignments", headers=first).status_code == 401
        assert api.get("/api/v1/assignments", headers=second).status_code == 200
    with portal.login(
        "office"
    ) as office:  # the office administrator sees everyone's and revokes one
        page = office.get("/tokens").text
        assert page.count("data-token=") == 2 and "police" in page and "market" in page
        assert (
            office.post(f"/tokens/{police_ids[0]}/revoke", data={"csrf": csrf_of(page)}).status_code
            == 303
        )
    with portal.client() as api:
        assert api.get("/api/v1/assignments", headers=theirs).status_code == 401
    revoked = events(portal.engine, "token.revoke")
    assert [e.actor for e in revoked] == ["market", "office"]
    with portal.login(
        "market"
    ) as market:  # a user's own page: their tokens only; logout leaves them alive
        page = market.get("/tokens").text
        assert page.count("data-token=") == 1 and "police" not in page
        market.post("/logout", data={"csrf": csrf_of(page)})
    with portal.client() as api:
        assert api.get("/api/v1/assignments", headers=second).status_code == 200
        with unit_of_work(portal.engine) as session:  # twelve hours and a minute later
            for row in session.exec(select(WebSession).where(WebSession.kind == "api")):
                row.created_at -= timedelta(hours=12, minutes=1)
                session.add(row)
        expired = api.get("/api/v1/assignments", headers=second)
        assert expired.status_code == 401 and expired.headers["www-authenticate"] == "Bearer"
        assert api.get("/api/v1/auth/tokens", headers=second).status_code == 401


def test_a_new_password_or_a_disabled_account_ends_the_api_tokens(make_portal: MakePortal) -> None:
    from models.clock import utc_now
    from models.users import disable_user, set_password

    portal = make_portal()
    market, edu = portal.token("market"), portal.token("edu")
    with unit_of_work(portal.engine) as session:
        set_password(
            session,
            username="market",
            password="a-new-password-42",
            actor=SYSTEM_ACTOR,
            now=utc_now(),
        )
        disable_user(session, username="edu", actor=SYSTEM_ACTOR, now=utc_now())
    with portal.client() as api:
        assert api.get("/api/v1/assignments", headers=market).status_code == 401
        assert api.get("/api/v1/assignments", headers=edu).status_code == 401
    with reading(portal.engine) as session:
        live = session.exec(
            select(func.count())
            .select_from(WebSession)
            .where(WebSession.kind == "api", col(WebSession.ended_at).is_(None))
        ).one()
    assert live == 0


def test_duban_serve_believes_x_forwarded_for_only_from_the_proxies_it_is_told(
    tmp_path: Path,
) -> None:
    """uvicorn on its own believes X-Forwarded-For from 127.0.0.1: `duban serve` must not."""
    import os
    import subprocess
    import time

    from models.db import make_engine
    from tests.support.cli import DUBAN, duban
    from tests.support.net import free_port

    assert duban("init", home=tmp_path).returncode == 0
    added = duban(
        "users", "add", "office", "--role", "office_admin", "--password", PASSWORD, home=tmp_path
    )
    assert added.returncode == 0, added.stderr
    env = {k: v for k, v in os.environ.items() if not k.startswith("DUBAN_")}
    env |= {"DUBAN_HOME": str(tmp_path), "DUBAN_SECRET_KEY": "x" * 40}
    for trusted, expected in (("", "127.0.0.1"), ("127.0.0.1", "203.0.113.50")):
        port = free_port()
        server = subprocess.Popen(
            [DUBAN, "serve", "--no-scheduler", "--workers", "1", "--port", str(port)],
            env=env | {"DUBAN_TRUSTED_PROXIES": trusted},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            deadline = time.monotonic() + 60
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
                while True:
                    try:
                        client.get("/login")
                        break
                    except httpx.TransportError:
                        assert server.poll() is None and time.monotonic() < deadline
                        time.sleep(0.2)
                client.headers["x-forwarded-for"] = "203.0.113.50"
                assert sign_in(client, "office").status_code == 303
        finally:
            server.terminate()
            server.wait(timeout=30)
        engine = make_engine(f"sqlite:///{tmp_path / 'duban.db'}")
        assert session_ips(engine)[-1] == expected, trusted
        engine.dispose()


def test_no_route_runs_on_the_event_loop() -> None:
    """Every route in web/routes/ is a plain `def`, which FastAPI runs in its thread pool: a
    coroutine route doing argon2 or a query would hold up every other request (bench/portal.py
    measures the login storm)."""
    import importlib
    import inspect
    import pkgutil

    from fastapi.routing import APIRoute

    import web.routes

    routes = [
        route
        for info in pkgutil.iter_modules(web.routes.__path__)
        for route in importlib.import_module(f"web.routes.{info.name}").router.routes
        if isinstance(route, APIRoute)
    ]
    assert len(routes) > 30
    assert [r.path for r in routes if inspect.iscoroutinefunction(r.endpoint)] == []


def test_trusted_proxies_are_read_from_the_environment_and_nonsense_is_refused(
    tmp_path: Path,
) -> None:
    from tests.support.cli import assert_one_clean_line, duban

    assert Settings(home=tmp_path, trusted_proxies=" 10.0.0.1, 10.1.0.0/16 ").trusted_proxies == [
        "10.0.0.1",
        "10.1.0.0/16",
    ]
    assert Settings(home=tmp_path).trusted_proxies == []
    assert_one_clean_line(
        duban("status", home=tmp_path, DUBAN_TRUSTED_PROXIES="10.0.0.1,nonsense"),
        2,
        "DUBAN_TRUSTED_PROXIES",
        "“nonsense”不是 IP 地址或网段",
    )


def test_hostile_login_names_are_wrong_logins_and_come_out_escaped_on_the_throttle_page(
    make_portal: MakePortal,
) -> None:
    from tests.support.hostile import HOSTILE, raw_markup_in

    portal = make_portal(
        login_max_failures=1, login_address_max_failures=100, login_delay_base_s=60
    )
    with portal.client(ATTACKER) as attacker:
        for name in HOSTILE:  # NUL, 4,000 characters, markup: each a wrong login, never a 500
            assert wrong(attacker, name).status_code == 401, name[:20]
            assert sign_in(attacker, name).status_code == 429, name[:20]
    with portal.login("office") as office:
        page = office.get("/throttles").text
    rows = page.split("<tbody>")[1].split("</tbody>")[0]
    ours = re.sub(
        r'<form method="post" action="/throttles/\d+/clear" class="inline">', "", rows
    )  # the page's own
    assert raw_markup_in(ours) == []
    assert all(f"HX{n}" in page for n in range(len(HOSTILE))), "every name is listed"
    assert len(events(portal.engine, "login.failed")) == len(HOSTILE)


def test_the_cli_lists_a_users_api_tokens_and_revokes_them(
    make_portal: MakePortal, database_url: str, tmp_path: Path
) -> None:
    import json

    from tests.support.cli import duban

    portal = make_portal()
    market, police = portal.token("market"), portal.token("police")
    listed = duban("users", "tokens", "market", "--json", home=tmp_path, url=database_url)
    assert listed.returncode == 0, listed.stderr
    assert [(t["username"], t["ip"]) for t in json.loads(listed.stdout)] == [
        ("market", "127.0.0.1")
    ]
    revoked = duban("users", "revoke-tokens", "market", home=tmp_path, url=database_url)
    assert revoked.returncode == 0 and "已撤销 market 的 1 个访问令牌" in revoked.stdout, (
        revoked.stderr
    )
    with portal.client() as api:
        assert api.get("/api/v1/assignments", headers=market).status_code == 401
        assert api.get("/api/v1/assignments", headers=police).status_code == 200
    everyone = duban("users", "tokens", "--json", home=tmp_path, url=database_url)
    assert [t["username"] for t in json.loads(everyone.stdout)] == ["police"]
    unknown = duban("users", "revoke-tokens", "nobody", home=tmp_path, url=database_url)
    assert (
        unknown.returncode == 3 and "nobody" in unknown.stderr and "Traceback" not in unknown.stderr
    )


def test_failed_logins_at_the_same_moment_are_each_counted_once(make_portal: MakePortal) -> None:
    """Several workers race for the same throttle rows: no 500, no lost count, no deadlock."""
    from concurrent.futures import ThreadPoolExecutor

    portal = make_portal(login_delay_base_s=60)

    def attempt(name: str) -> int:
        with portal.client(ATTACKER) as client:
            return wrong(client, name).status_code

    with ThreadPoolExecutor(12) as pool:
        statuses = list(pool.map(attempt, ["edu"] * 8 + ["police", "market", "leader", "auditor"]))
    assert set(statuses) <= {401, 429}, statuses
    rows = {(r.scope, r.username): r.failures for r in throttle_rows(portal.engine)}
    counted = statuses[:8].count(401)
    assert counted >= 5 and rows[("pair", "edu")] == counted  # each checked password counted once
    assert rows[("address", "")] == statuses.count(401)
