"""The portal over real HTTP on loopback: roles, the IDOR matrix, CSRF, sessions, throttling,
uploads, the API.

The seed is the data (16 tasks, 49 units); one user per role (tests/support/portal.py).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import func, select

from config import Settings
from models.audit import AuditEvent, verify_chain
from models.db import reading, unit_of_work
from models.errors import ConfigError
from models.user import WebSession
from tests.support.portal import PDF, Portal, csrf_of, form_fields, serve_seeded, sign_in

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def portal(engine: Engine, database_url: str, tmp_path: Path) -> Iterator[Portal]:
    yield from serve_seeded(engine, database_url, tmp_path, upload_max_mb=0.05)


def refusals(engine: Engine) -> int:
    with reading(engine) as session:
        return session.exec(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "access.refused")
        ).one()


def test_each_role_sees_its_pages_and_is_refused_the_others(portal: Portal) -> None:
    own = portal.assignment(5, "市教育局")
    expected = {  # path -> the roles that get 200; everyone else 403 (unit-scoped objects: 404)
        "/dashboard": {"office", "staff", "leader"},
        "/review": {"office", "staff"},
        "/rounds": {"office", "staff"},
        "/plans": {"office", "staff"},
        "/extensions": {"office", "staff"},
        "/escalations": {"office", "staff"},
        "/leader/agenda": {"office", "staff", "leader"},
        "/reports": {"office", "staff", "edu", "leader"},
        "/audit": {"office", "auditor"},
        "/inbox": {"edu"},
        f"/assignments/{own}": {"office", "staff", "edu"},
    }
    for username in ("office", "staff", "edu", "leader", "auditor"):
        with portal.login(username) as client:
            for path, allowed in expected.items():
                status = client.get(path).status_code
                assert status == (200 if username in allowed else 403), (username, path, status)
    with portal.client() as anonymous:
        for path in expected:
            response = anonymous.get(path)
            assert response.status_code == 303 and response.headers["location"].startswith(
                "/login?next="
            )


def test_a_unit_can_never_reach_another_units_objects(portal: Portal) -> None:
    """The IDOR matrix: 市公安局 tries 市教育局's assignment, check-in and evidence by every
    route."""
    theirs = portal.assignment(5, "市教育局")
    with portal.login("edu") as edu:
        page = edu.get(f"/assignments/{theirs}")
        filed = edu.post(
            f"/assignments/{theirs}/checkins",
            data={"csrf": csrf_of(page.text), "text": "已部署"},
            files={"evidence": ("方案.pdf", PDF, "application/pdf")},
        )
        assert filed.status_code == 303
        page = edu.get(f"/assignments/{theirs}").text
    checkin_id, sha = page.split("/evidence/")[1].split('"')[0].split("/")
    before = refusals(portal.engine)
    with portal.login("police") as police:
        token = csrf_of(police.get("/inbox").text)
        attempts = [
            police.get(f"/assignments/{theirs}"),
            police.post(f"/assignments/{theirs}/act/sign", data={"csrf": token}),
            police.post(
                f"/assignments/{theirs}/checkins", data={"csrf": token, "text": "冒名报送"}
            ),
            police.post(
                f"/assignments/{theirs}/extension",
                data={"csrf": token, "until": "2030-01-01", "reason": "x"},
            ),
            police.get(f"/evidence/{checkin_id}/{sha}"),
        ]
        assert [r.status_code for r in attempts] == [404] * 5
        assert "已部署" not in "".join(r.text for r in attempts)
        office_only = [
            police.post(f"/review/{checkin_id}/accept", data={"csrf": token}),
            police.post(
                "/rounds",
                data={"csrf": token, "plan": "2022", "name": "x", "report_by": "2030-01-01"},
            ),
        ]
        assert [r.status_code for r in office_only] == [403, 403]
    api = portal.token("police")
    with portal.client() as client:
        assert client.get(f"/api/v1/assignments/{theirs}", headers=api).status_code == 404
        assert (
            client.post(
                f"/api/v1/assignments/{theirs}/checkins", headers=api, json={"text": "x"}
            ).status_code
            == 404
        )
        listed = client.get("/api/v1/assignments", headers=api, params={"limit": 1000}).json()
        assert listed and {a["unit"] for a in listed} == {"市公安局"}
    assert refusals(portal.engine) - before == 9  # every refusal is on the trail
    with reading(portal.engine) as session:
        assert verify_chain(session).ok


def test_csrf_is_required_on_every_form(portal: Portal) -> None:
    own = portal.assignment(12, "市市场监管局")
    with portal.login("market") as market:
        token = csrf_of(market.get(f"/assignments/{own}").text)
        assert market.post(f"/assignments/{own}/act/sign", data={}).status_code == 403
        assert (
            market.post(f"/assignments/{own}/act/sign", data={"csrf": token[::-1]}).status_code
            == 403
        )
        assert market.post(f"/assignments/{own}/act/sign", data={"csrf": token}).status_code == 303
        assert "办理中" in market.get(f"/assignments/{own}").text
        assert market.post("/logout", data={}).status_code == 403


def test_login_rotates_the_session_and_logout_and_timeouts_end_it(portal: Portal) -> None:
    with portal.client() as client:
        client.cookies.set("duban_session", "planted-by-an-attacker", domain="127.0.0.1")
        sign_in(client, "office")
        first = client.cookies["duban_session"]
        assert first != "planted-by-an-attacker"
        response = client.get("/dashboard")
        assert response.status_code == 200
        cookie = sign_in(portal.client(), "office").headers["set-cookie"]
        assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
        client.post("/logout", data={"csrf": csrf_of(response.text)})
        client.cookies.set("duban_session", first, domain="127.0.0.1")
        assert (
            client.get("/dashboard").status_code == 303
        )  # the server ended it; the old cookie is worthless

    for column, age in (
        ("last_seen_at", timedelta(minutes=31)),
        ("created_at", timedelta(hours=13)),
    ):
        with portal.login("office") as client:
            assert client.get("/dashboard").status_code == 200
            with unit_of_work(
                portal.engine
            ) as session:  # the clock moves on: the session's times move back
                for row in session.exec(select(WebSession)):
                    setattr(row, column, getattr(row, column) - age)
                    session.add(row)
            assert client.get("/dashboard").status_code == 303, column


def test_uploads_are_limited_checked_by_content_and_served_as_attachments(portal: Portal) -> None:
    own = portal.assignment(12, "市市场监管局")
    with portal.login("market") as market:
        token = csrf_of(market.get(f"/assignments/{own}").text)
        big = market.post(
            f"/assignments/{own}/checkins",
            data={"csrf": token, "text": "x"},
            files={"evidence": ("大文件.pdf", PDF + b"0" * 60_000, "application/pdf")},
        )
        assert big.status_code == 413
        disguised = market.post(
            f"/assignments/{own}/checkins",
            data={"csrf": token, "text": "x"},
            files={"evidence": ("报告.pdf", PNG, "application/pdf")},
        )
        assert disguised.status_code == 415 and "报告.pdf" in disguised.text
        script = market.post(
            f"/assignments/{own}/checkins",
            data={"csrf": token, "text": "x"},
            files={"evidence": ("a.html", b"<script>alert(1)</script>", "text/html")},
        )
        assert script.status_code == 415
        good = market.post(
            f"/assignments/{own}/checkins",
            data={"csrf": token, "text": "抽检120批次", "percent": "60"},
            files={"evidence": ("抽检报告.pdf", PDF, "application/pdf")},
        )
        assert good.status_code == 303
        page = market.get(f"/assignments/{own}").text
        link = "/evidence/" + page.split("/evidence/")[1].split('"')[0]
        download = market.get(link)
        assert download.status_code == 200 and download.content == PDF
        assert download.headers["content-disposition"].startswith("attachment")
        assert download.headers["x-content-type-options"] == "nosniff"
    stored = list((portal.settings.home / "evidence").rglob("*"))
    assert any(p.is_file() and p.read_bytes() == PDF for p in stored)
    assert not any(p.suffix == ".pdf" for p in stored)  # stored by hash, never under its own name


def test_a_deep_link_still_requires_login_then_lands_on_the_page(portal: Portal) -> None:
    own = portal.assignment(5, "市教育局")
    with portal.client() as client:
        first = client.get(f"/assignments/{own}")
        assert (
            first.status_code == 303
            and first.headers["location"] == f"/login?next=/assignments/{own}"
        )
        landed = sign_in(client, "edu", next=f"/assignments/{own}")
        assert landed.headers["location"] == f"/assignments/{own}"
        outside = sign_in(client, "edu", next="https://evil.example")
        assert outside.headers["location"] == "/"


def test_portal_actions_write_the_same_audit_events_as_the_cli(portal: Portal) -> None:
    own = portal.assignment(12, "市市场监管局")
    with portal.login("market") as market:
        market.post(
            f"/assignments/{own}/act/sign",
            data={"csrf": csrf_of(market.get(f"/assignments/{own}").text)},
        )
        market.post(
            f"/assignments/{own}/checkins",
            data={
                "csrf": csrf_of(market.get(f"/assignments/{own}").text),
                "text": "已完成",
                "completed": "on",
            },
        )
    with portal.login("office") as office:
        page = office.get("/review").text
        checkin = page.split('data-checkin="')[1].split('"')[0]
        office.post(
            f"/review/{checkin}/return",
            data={"csrf": csrf_of(page), "revision": "1", "reason": "缺少台账"},
        )
    with reading(portal.engine) as session:
        actions = [
            (e.actor, e.action)
            for e in session.exec(
                select(AuditEvent)
                .where(
                    AuditEvent.action.in_(
                        [
                            "assignment.sign",
                            "assignment.report",
                            "checkin.submit",
                            "checkin.return",
                            "assignment.return",
                        ]
                    )
                )
                .order_by(AuditEvent.seq)
            )
        ]
    assert actions == [
        ("market", "assignment.sign"),
        ("market", "assignment.report"),
        ("market", "checkin.submit"),
        ("office", "assignment.return"),
        ("office", "checkin.return"),
    ]


def test_the_api_issues_tokens_and_files_check_ins(portal: Portal) -> None:
    own = portal.assignment(12, "市市场监管局")
    with portal.client() as client:
        assert client.get("/api/v1/assignments").status_code == 401
        assert (
            client.post(
                "/api/v1/auth/token", data={"username": "market", "password": "nope"}
            ).status_code
            == 401
        )
        headers = portal.token("market")
        listed = {a["id"]: a for a in client.get("/api/v1/assignments", headers=headers).json()}
        assert {a["unit"] for a in listed.values()} == {"市市场监管局"} and len(listed) > 1
        assert listed[own]["actions"] == ["sign", "progress"] and listed[own]["task_number"] == 12
        filed = client.post(
            f"/api/v1/assignments/{own}/checkins",
            headers=headers,
            json={"text": "抽检120批次", "percent": 50},
        )
        assert filed.status_code == 201 and filed.json()["state"] == "submitted"
        assert (
            client.get(f"/api/v1/assignments/{own}", headers=headers).json()["state"]
            == "in_progress"
        )
        bad = client.post(
            f"/api/v1/assignments/{own}/checkins",
            headers=headers,
            json={"text": "", "percent": 120},
        )
        assert bad.status_code == 422
        schema = client.get("/openapi.json").json()
        assert {
            "/api/v1/auth/token",
            "/api/v1/assignments",
            "/api/v1/assignments/{assignment_id}",
            "/api/v1/assignments/{assignment_id}/checkins",
        } <= set(schema["paths"])
        leader = portal.token("leader")
        assert (
            client.post(
                f"/api/v1/assignments/{own}/checkins", headers=leader, json={"text": "x"}
            ).status_code
            == 403
        )


def test_the_leader_reads_and_cannot_act(portal: Portal) -> None:
    with portal.login("leader") as leader:
        page = leader.get("/dashboard").text
        assert (
            "开展质量守护行动" in page and "/assignments/" not in page and 'name="csrf"' in page
        )  # logout only
        token = csrf_of(page)
        assert (
            leader.post(
                "/rounds",
                data={"csrf": token, "plan": "2022", "name": "x", "report_by": "2030-01-01"},
            ).status_code
            == 403
        )


def test_the_portal_refuses_the_default_secret_outside_dev_mode(
    tmp_path: Path, database_url: str, engine: Engine
) -> None:
    from web.app import create_app

    with pytest.raises(ConfigError, match="DUBAN_SECRET_KEY"):
        create_app(Settings(home=tmp_path, database_url=database_url))
    assert (
        create_app(Settings(home=tmp_path, database_url=database_url, secret_key="s" * 40))
        is not None
    )


def test_duban_serve_starts_the_portal_and_refuses_a_default_secret(tmp_path: Path) -> None:
    import subprocess
    import time

    import httpx

    from tests.support.cli import DUBAN, assert_one_clean_line, duban
    from tests.support.net import free_port

    assert duban("init", home=tmp_path).returncode == 0
    assert_one_clean_line(duban("serve", "--no-scheduler", home=tmp_path), 2, "DUBAN_SECRET_KEY")
    port = free_port()
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith("DUBAN_")}
    env |= {"DUBAN_HOME": str(tmp_path), "DUBAN_SECRET_KEY": "x" * 40}
    server = subprocess.Popen(
        [DUBAN, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/login", timeout=2)
                break
            except httpx.TransportError:
                assert server.poll() is None and time.monotonic() < deadline, (
                    server.stderr.read() if server.poll() else ""
                )
                time.sleep(0.2)
        assert response.status_code == 200 and "登录" in response.text
        assert (
            response.headers["x-frame-options"] == "DENY"
            and "frame-ancestors 'none'" in response.headers["content-security-policy"]
        )
    finally:
        server.terminate()
        printed, _ = server.communicate(timeout=30)
    # No DUBAN_PORTAL_URL was given: the links in messages go where the portal is served, not to
    # the default port 8000 it is not on.
    assert f"消息中的链接指向 http://127.0.0.1:{port}（可用 DUBAN_PORTAL_URL 设置）" in printed, (
        printed
    )


def test_the_office_sees_dead_letters_and_sends_them_again(portal: Portal) -> None:
    from models.notification import Notification, NotificationStatus

    with unit_of_work(portal.engine) as session:  # what a permanent SMTP failure leaves behind
        dead = session.exec(select(Notification).order_by(Notification.id)).first()
        dead.status, dead.attempts, dead.last_error = (
            NotificationStatus.DEAD,
            1,
            "550 mailbox unavailable",
        )
        session.add(dead)
        dead_id = dead.id
    with portal.login("office") as office:
        page = office.get("/notifications").text
        assert f'data-notification="{dead_id}"' in page and "550 mailbox unavailable" in page
        assert (
            office.post(
                "/notifications/retry", data={"csrf": csrf_of(page), "id": str(dead_id)}
            ).status_code
            == 303
        )
    with reading(portal.engine) as session:
        again = session.get(Notification, dead_id)
        retried = session.exec(
            select(AuditEvent).where(AuditEvent.action == "notification.retry")
        ).one()
    assert (
        again.status == NotificationStatus.PENDING
        and again.attempts == 0
        and retried.actor == "office"
    )
    with portal.login("edu") as edu:
        assert edu.get("/notifications").status_code == 403


def test_the_office_previews_an_uploaded_notice_then_applies_it(portal: Portal) -> None:
    from models.plan import Task

    notice = (Path(__file__).parent / "fixtures" / "seed-notice.txt").read_bytes()
    changed = notice.replace("开展质量守护行动".encode(), "深入开展质量守护行动".encode())
    uploads = portal.settings.home / "uploads"
    uploads.mkdir(parents=True, exist_ok=True)
    abandoned = uploads / f"{'0' * 64}.txt"  # a preview from two days ago that nobody applied
    abandoned.write_bytes(notice)
    os.utime(abandoned, (time.time() - 2 * 86400, time.time() - 2 * 86400))
    with portal.login("office") as office:
        token = csrf_of(office.get("/import").text)
        preview = office.post(
            "/import",
            data={"csrf": token, "plan_key": "2022"},
            files={"notice": ("2022年通知.txt", changed, "text/plain")},
        )
        assert preview.status_code == 200 and "深入开展质量守护行动" in preview.text
        assert preview.text.count("<li>") >= 1 and "确认导入" in preview.text
        assert not abandoned.exists() and len(list(uploads.iterdir())) == 1
        with reading(portal.engine) as session:
            assert (
                session.exec(select(Task.title).where(Task.number == 12)).one()
                == "开展质量守护行动"
            )
        applied = office.post("/import/apply", data=form_fields(preview.text, "/import/revise"))
        assert applied.status_code == 303
        assert list(uploads.iterdir()) == []  # applied: the kept copy is gone
        assert (
            office.post(
                "/import/apply",
                data={"csrf": token, "sha": "../../etc/passwd", "ext": "txt", "plan_key": "2022"},
            ).status_code
            == 400
        )
        assert (
            office.post(
                "/import",
                data={"csrf": token, "plan_key": "2022"},
                files={"notice": ("x.exe", b"MZ", "application/octet-stream")},
            ).status_code
            == 415
        )
        assert "市市场监管局" in office.get("/units").text
    with reading(portal.engine) as session:
        assert (
            session.exec(select(Task.title).where(Task.number == 12)).one()
            == "深入开展质量守护行动"
        )
    with portal.login("edu") as edu:
        assert edu.get("/import").status_code == 403 and edu.get("/units").status_code == 403
