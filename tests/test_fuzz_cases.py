"""Malformed input that once got a 500, one test per case, over HTTP on a real portal (SQLite,
PostgreSQL).

Each case is a request a careless or hostile client can send; each must get a 4xx with a Chinese
answer (a page for a person, JSON for a script), the security headers, and leave nothing written.
Also here: the error pages themselves, the length limits, and SQL parameters kept out of logs.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlmodel import select

from config import Settings
from models.assignment import Assignment
from models.audit import AuditEvent
from models.db import reading
from models.round import CheckIn
from tests.support.fuzz import BROWSER, HAN, SECURITY_HEADERS, seeded_portal
from tests.support.hostile import HOSTILE
from tests.support.portal import PASSWORD, Portal, csrf_of, running, seed, sign_in

HUGE = "99999999999999999999"  # 20 digits: beyond SQLite's and PostgreSQL's 64-bit integers


@pytest.fixture(scope="module", params=("sqlite", "postgresql"))
def portal(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Portal]:
    """One seeded portal per backend for the whole module: the cases refuse, so they change
    nothing."""
    yield from seeded_portal(request, tmp_path_factory.mktemp(f"fuzz-cases-{request.param}"))


@dataclass(frozen=True)
class Case:
    """One malformed request: who sends it, and what it must get."""

    who: (
        str | None
    )  # a portal user (browser session), "api:<user>" (bearer token) or None (anonymous)
    method: str
    path: str  # {own} is 市教育局's assignment for task 5
    status: int
    data: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    headers: dict[str, bytes | str] = field(default_factory=dict)
    csrf: bool = True  # add the session's CSRF token to a form
    says: str = ""  # Chinese words the answer must contain


CASES = {
    "huge_id_in_a_page_path": Case("office", "GET", f"/assignments/{HUGE}", 422, says="编号"),
    "huge_id_in_an_api_path": Case(
        "api:office", "GET", f"/api/v1/assignments/{HUGE}", 422, says="编号"
    ),
    "huge_id_in_a_review_path": Case("office", "POST", f"/review/{HUGE}/accept", 422),
    "huge_id_in_an_evidence_path": Case("office", "GET", f"/evidence/{HUGE}/{'0' * 64}", 422),
    "huge_task_number_in_the_dashboard_query": Case(
        "office", "GET", "/dashboard", 422, params={"task": HUGE}, says="任务"
    ),
    "huge_offset_in_the_api_query": Case(
        "api:office", "GET", "/api/v1/assignments", 422, params={"offset": HUGE}
    ),
    "huge_version_in_a_form": Case(
        "edu", "POST", "/assignments/{own}/act/sign", 422, data={"version": HUGE}, says="版本"
    ),
    "version_abc_in_a_form": Case(
        "edu", "POST", "/assignments/{own}/act/sign", 422, data={"version": "abc"}, says="版本"
    ),
    "percent_abc_in_a_check_in": Case(
        "edu",
        "POST",
        "/assignments/{own}/checkins",
        422,
        data={"text": "进展", "percent": "abc"},
        says="完成百分比",
    ),
    "round_id_abc_when_compiling": Case(
        "office", "POST", "/reports", 422, data={"round_id": "abc"}, says="轮次"
    ),
    "huge_round_id_when_compiling": Case(
        "office", "POST", "/reports", 422, data={"round_id": HUGE}
    ),
    "huge_id_when_retrying_messages": Case(
        "office", "POST", "/notifications/retry", 422, data={"id": HUGE}
    ),
    "audit_since_before_year_one_in_utc": Case(
        "auditor",
        "GET",
        "/audit",
        422,
        params={"since": "0001-01-01T00:00:00+08:00"},
        says="起始时间",
    ),
    "audit_until_after_year_9999_in_utc": Case(
        "auditor",
        "GET",
        "/audit/export",
        422,
        params={"until": "9999-12-31T23:59:59-12:00"},
        says="截止时间",
    ),
    "non_ascii_session_cookie": Case(
        None, "GET", "/dashboard", 303, headers={"cookie": "duban_session=令牌".encode()}
    ),
    "non_ascii_session_cookie_at_login": Case(
        None,
        "POST",
        "/login",
        303,
        data={"username": "office", "password": PASSWORD},
        headers={"cookie": "duban_session=令牌".encode()},
    ),
    "non_ascii_bearer_token": Case(
        None, "GET", "/api/v1/assignments", 401, headers={"authorization": "Bearer 令牌".encode()}
    ),
    # A NUL in a login name is a wrong login like any other: throttled and audited, never a 500.
    "nul_in_a_login_name": Case(
        None,
        "POST",
        "/login",
        401,
        data={"username": "office\x00", "password": "x"},
        says="用户名或密码错误",
    ),
    "nul_in_an_audit_filter": Case(
        "auditor", "GET", "/audit", 422, params={"actor": "office\x00"}, says="操作人"
    ),
    "long_x_forwarded_for_at_login": Case(
        None,
        "POST",
        "/login",
        401,
        data={"username": "office", "password": "x"},
        headers={"x-forwarded-for": "a" * 100},
    ),
    "role_refusal_on_a_path_over_60_characters": Case(
        "leader", "GET", f"/evidence/1/{'0' * 64}", 403
    ),
}


def send(portal: Portal, case: Case) -> httpx.Response:
    path = case.path.replace("{own}", str(portal.assignment(5, "市教育局")))
    headers = {**BROWSER, **case.headers}
    with portal.client() as client:
        if case.who and case.who.startswith("api:"):
            headers |= portal.token(case.who[4:])
            headers["accept"] = "application/json"
        elif case.who:
            response = sign_in(client, case.who)
            assert response.status_code == 303, response.text
        data = dict(case.data)
        if (case.method, case.path) == (
            "POST",
            "/login",
        ):  # what a browser sends: the login form's token and cookie
            data["csrf"] = csrf_of(client.get("/login").text)
            if "cookie" in headers:
                headers["cookie"] = (
                    headers["cookie"] + f"; duban_login={client.cookies['duban_login']}".encode()
                )
        if case.who and not case.who.startswith("api:") and case.method == "POST" and case.csrf:
            data["csrf"] = csrf_of(client.get("/reports" if case.who != "edu" else "/inbox").text)
        return client.request(
            case.method, path, data=data or None, params=case.params or None, headers=headers
        )


@pytest.mark.parametrize("name", CASES)
def test_malformed_input_gets_a_4xx_with_headers_and_a_chinese_answer(
    portal: Portal, name: str
) -> None:
    case = CASES[name]
    response = send(portal, case)
    assert response.status_code == case.status, (name, response.status_code, response.text[:300])
    for header in SECURITY_HEADERS:
        assert header in response.headers, (name, header)
    if case.status >= 400:
        if case.path.startswith("/api/"):
            assert response.headers["content-type"].startswith("application/json")
            assert HAN.search(response.json()["detail"]), response.text
        else:
            assert response.headers["content-type"].startswith("text/html")
            assert HAN.search(response.text) and 'href="/"' in response.text
        assert case.says in response.text
    with reading(
        portal.engine
    ) as session:  # refused means nothing written: the unit's assignment is untouched
        assert session.get(Assignment, portal.assignment(5, "市教育局")).state == "assigned"


def test_a_role_refusal_on_a_long_path_keeps_the_whole_path_on_the_trail(portal: Portal) -> None:
    long_path = f"/evidence/1/{'ab' * 40}"
    with portal.login("leader") as leader:
        assert leader.get(long_path).status_code == 403
    with reading(portal.engine) as session:
        last = session.exec(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
    assert (last.action, last.actor, last.outcome) == ("access.refused", "leader", "refused")
    assert long_path in last.reason and len(last.object_id) <= 60


def test_a_person_in_a_browser_gets_chinese_pages_for_404_405_and_422(portal: Portal) -> None:
    with portal.client() as client:
        missing = client.get("/no-such-page", headers=BROWSER)
        wrong_method = client.put("/login", headers=BROWSER)
    for response, words in ((missing, "未找到"), (wrong_method, "不支持")):
        assert response.headers["content-type"].startswith("text/html"), response.text
        assert words in response.text and 'href="/"' in response.text
        assert "content-security-policy" in response.headers
    assert (missing.status_code, wrong_method.status_code) == (404, 405)
    with portal.login("office") as office:
        bad = office.get("/dashboard", params={"page_no": "abc"}, headers=BROWSER)
    assert bad.status_code == 422 and bad.headers["content-type"].startswith("text/html")
    assert "页码" in bad.text and "应为整数" in bad.text


def test_a_script_gets_json_for_the_same_errors(portal: Portal) -> None:
    with portal.client() as client:
        missing = client.get("/api/v1/nothing-here")
        page_missing = client.get("/no-such-page", headers={"accept": "application/json"})
        bad = client.post("/api/v1/auth/token", data={"username": "x"})
    assert missing.status_code == page_missing.status_code == 404
    assert missing.json()["detail"].startswith("未找到") and page_missing.json()[
        "detail"
    ].startswith("未找到")
    assert bad.status_code == 422 and "密码" in bad.json()["detail"]
    assert bad.json()["errors"][0]["loc"] == ["body", "password"]


@pytest.mark.parametrize(
    ("field_name", "limit", "label"),
    [
        ("milestone", 500, "进度节点"),
        ("problems", 5000, "需协调解决的问题"),
        ("text", 10_000, "进展情况"),
    ],
)
def test_the_api_caps_each_free_text_field_and_names_it(
    portal: Portal, field_name: str, limit: int, label: str
) -> None:
    own = portal.assignment(5, "市教育局")
    headers = portal.token("edu")
    body = {"text": "进展", field_name: "长" * (limit + 1)}
    with portal.client() as client:
        refused = client.post(f"/api/v1/assignments/{own}/checkins", headers=headers, json=body)
        assert refused.status_code == 422
        assert (
            refused.json()["detail"]
            == f"“{label}”不能超过 {limit} 个字符 / {field_name}: at most {limit} characters"
        )
        assert (
            client.get(f"/api/v1/assignments/{own}", headers=headers).json()["state"] == "assigned"
        )


def test_the_check_in_form_caps_problems_with_a_chinese_message(portal: Portal) -> None:
    own = portal.assignment(5, "市教育局")
    with portal.login("edu") as edu:
        token = csrf_of(edu.get(f"/assignments/{own}").text)
        refused = edu.post(
            f"/assignments/{own}/checkins",
            headers=BROWSER,
            data={"csrf": token, "text": "进展", "problems": "长" * 5001},
        )
        assert refused.status_code == 422
        assert "“需协调解决的问题”不能超过 5000 个字符" in refused.text
    with reading(portal.engine) as session:  # nothing was filed
        assert session.get(Assignment, own).state == "assigned"
        assert {
            c.state for c in session.exec(select(CheckIn).where(CheckIn.assignment_id == own))
        } == {"pending"}


def test_nul_in_api_text_is_refused_by_name_on_every_backend(portal: Portal) -> None:
    own = portal.assignment(5, "市教育局")
    nul = next(v for v in HOSTILE if "\x00" in v)
    with portal.client() as client:
        refused = client.post(
            f"/api/v1/assignments/{own}/checkins", headers=portal.token("edu"), json={"text": nul}
        )
    assert refused.status_code == 422 and "“进展情况”含有空字符" in refused.json()["detail"]


def test_an_unforeseen_failure_gets_a_chinese_page_and_a_log_without_sql_parameters(
    engine: Any, database_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The last resort: the session table is gone, so looking up the cookie fails in the
    database."""
    seed(engine)
    with running(
        Settings(home=tmp_path, database_url=database_url, dev_mode=True), engine
    ) as portal:
        with portal.login("office") as office:
            cookie = office.cookies["duban_session"]
            with engine.begin() as connection:
                connection.execute(text("ALTER TABLE web_session RENAME TO web_session_gone"))
            served = logging.getLogger("uvicorn.error")
            served.addHandler(caplog.handler)
            try:
                with caplog.at_level(logging.INFO):
                    page = office.get("/dashboard", headers=BROWSER)
                    with (
                        portal.client() as script
                    ):  # a new connection: uvicorn closes the failed one
                        api = script.get(
                            "/api/v1/assignments", headers={"authorization": f"Bearer {cookie}"}
                        )
            finally:
                served.removeHandler(caplog.handler)
    assert page.status_code == api.status_code == 500
    assert page.headers["content-type"].startswith("text/html") and "服务器内部错误" in page.text
    assert 'href="/"' in page.text and "Traceback" not in page.text
    assert api.json()["detail"].startswith("服务器内部错误")
    for response in (page, api):
        for header in SECURITY_HEADERS:
            assert header in response.headers, header
    from web.auth import digest

    logged = caplog.text
    assert "web_session" in logged  # the failure itself is logged ...
    assert (
        digest(cookie) not in logged and cookie not in logged
    )  # ... without the token or its hash


def test_database_errors_never_carry_their_parameters(engine: Any) -> None:
    secret = "csrf-token-that-must-not-be-logged"
    with pytest.raises(Exception) as raised:
        with engine.connect() as connection:
            connection.execute(
                text("SELECT * FROM no_such_table WHERE x = :secret"), {"secret": secret}
            )
    assert "no_such_table" in str(raised.value) and secret not in str(raised.value)


def test_an_upload_over_the_limit_gets_a_chinese_page_or_json_before_the_body_is_read(
    engine: Any, database_url: str, tmp_path: Path
) -> None:
    seed(engine)
    settings = Settings(home=tmp_path, database_url=database_url, dev_mode=True, upload_max_mb=0.01)
    with running(settings, engine) as portal, portal.login("edu") as edu:
        page = edu.post("/assignments/1/checkins", headers=BROWSER, content=b"x" * 20_000)
        with portal.client() as script:
            api = script.post("/api/v1/assignments/1/checkins", content=b"x" * 20_000)
    assert page.status_code == api.status_code == 413
    assert page.headers["content-type"].startswith("text/html")
    assert "上传内容超过 0.01 MB 上限" in page.text and 'href="/"' in page.text
    assert api.json()["detail"].startswith("上传内容超过 0.01 MB 上限")
    for response in (page, api):
        assert all(header in response.headers for header in SECURITY_HEADERS)
