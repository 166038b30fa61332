"""退办 in the portal and the API: the unit's form while it may decline (the round opened today,
so it is within its 签收 window of 3 working days), the office's list with reassign, change-role
and reject forms; refusals as 403 / 404 / 409 / 422; seen in Chromium at 1366 and 390 px."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from tests.support.browser import needs_chromium
from tests.support.hostile import STORABLE, injected_markup_in
from tests.support.pages import check_page, signed_in_pages
from tests.support.portal import Portal, csrf_of, form_fields, serve_seeded

REASON = "不属于本单位职责，建议由市司法局牵头"


@pytest.fixture
def portal(engine: Engine, database_url: str, tmp_path: Path) -> Iterator[Portal]:
    yield from serve_seeded(engine, database_url, tmp_path, upload_max_mb=5)


def _count(portal: Portal, sql: str) -> int:
    with portal.engine.connect() as connection:
        return int(connection.execute(text(sql)).scalar() or 0)


def test_a_unit_declines_on_its_page_and_the_office_reassigns_from_its_list(
    portal: Portal,
) -> None:
    assignment = portal.assignment(5, "市教育局")  # 市教育局 leads task 5
    hostile = STORABLE[0]
    with portal.login("edu") as unit:
        page = unit.get(f"/assignments/{assignment}").text
        assert "申请退办" in page and 'name="reason"' in page
        fields = form_fields(page, f"/assignments/{assignment}/decline")
        empty = unit.post(f"/assignments/{assignment}/decline", data=fields | {"reason": "  "})
        assert empty.status_code == 400 and "“退办”必须填写理由" in empty.text
        sent = unit.post(
            f"/assignments/{assignment}/decline", data=fields | {"reason": f"{REASON}{hostile}"}
        )
        assert sent.status_code == 303, sent.text
        after = unit.get(sent.headers["location"]).text
        assert "已申请退办，待办公室审核" in after and "退办待审核：等待办公室改派或答复" in after
        assert "待签收：请签收" not in after
        assert f"/assignments/{assignment}/decline" not in after  # no second 退办
        assert f"/assignments/{assignment}/act/sign" not in after  # nor signing while it waits
        assert injected_markup_in(after) == []
        again = unit.post(f"/assignments/{assignment}/decline", data=fields | {"reason": REASON})
        assert again.status_code == 409 and "提出过退办" in again.text
        # A unit may not decide, nor see the office's list.
        assert unit.get("/declines").status_code == 403
        token = csrf_of(after)
        refused = unit.post(
            f"/declines/{assignment}/reject", data={"csrf": token, "reason": "不行"}
        )
        assert refused.status_code == 403
    with portal.login("office") as office:
        listing = office.get("/declines").text
        assert REASON in listing and "待办公室审核" in listing
        assert injected_markup_in(listing) == []
        no_reason = office.post(
            f"/declines/{assignment}/reject",
            data=form_fields(listing, f"/declines/{assignment}/reject"),
        )
        assert no_reason.status_code == 400 and "必须填写理由" in no_reason.text
        reassign = form_fields(listing, f"/declines/{assignment}/reassign")
        # The declining unit's role is the default (form_fields reads inputs, not selects).
        assert '<option value="lead" selected>牵头</option>' in listing
        done = office.post(
            f"/declines/{assignment}/reassign", data=reassign | {"unit": "市司法局", "role": "lead"}
        )
        assert done.status_code == 303, done.text
        shown = office.get(done.headers["location"]).text
        assert "已改派，新单位已收到交办通知" in shown and "已改派（市司法局牵头）" in shown
        assert f"/declines/{assignment}/reassign" not in shown  # decided: no forms
        assert office.get(f"/assignments/{assignment}").status_code == 404  # withdrawn
        new = portal.assignment(5, "市司法局")
        given = office.get(f"/assignments/{new}").text
        assert "由办公室改派至本单位" in given
    assert _count(portal, "select count(*) from audit_event where action like 'decline.%'") == 2


def test_the_api_declines_and_decides_with_its_refusals(portal: Portal) -> None:
    market = portal.assignment(12, "市市场监管局")
    edu = portal.assignment(5, "市教育局")
    with portal.client() as client:
        unit, office = portal.token("market"), portal.token("office")
        leader = portal.token("leader")
        url = f"/api/v1/assignments/{market}/decline"
        assert client.post(url, json={"reason": ""}, headers=unit).status_code == 422
        assert client.post(url, json={"reason": "   "}, headers=unit).status_code == 422
        assert client.post(url, json={}, headers=unit).status_code == 422
        other = client.post(
            f"/api/v1/assignments/{edu}/decline", json={"reason": REASON}, headers=unit
        )
        assert other.status_code == 404  # another unit's: as if it did not exist
        assert client.post(url, json={"reason": REASON}, headers=leader).status_code == 403
        made = client.post(url, json={"reason": REASON}, headers=unit)
        assert made.status_code == 201, made.text
        assert made.json()["state"] == "pending" and made.json()["reason"] == REASON
        again = client.post(url, json={"reason": REASON}, headers=unit)
        assert again.status_code == 409 and "提出过退办" in again.text
        seen = client.get(f"/api/v1/assignments/{market}", headers=unit).json()
        assert "sign" not in seen["actions"]  # held while the office decides

        decision = f"{url}/decision"
        valid = {"reject": True, "reason": "x"}
        assert client.post(decision, json=valid, headers=unit).status_code == 403
        assert client.post(decision, json={}, headers=office).status_code == 422
        assert client.post(decision, json={"reject": True}, headers=office).status_code == 422
        both = {"reject": True, "reason": "x", "role": "lead"}
        assert client.post(decision, json=both, headers=office).status_code == 422
        nothing = client.post(
            f"/api/v1/assignments/{edu}/decline/decision",
            json={"reject": True, "reason": "x"},
            headers=office,
        )
        assert nothing.status_code == 404 and "待审核的退办申请" in nothing.text
        unknown = client.post(decision, json={"reassign_to": "市不存在局"}, headers=office)
        assert unknown.status_code == 404 and "未找到单位" in unknown.text
        same = client.post(decision, json={"role": "responsible"}, headers=office)
        assert same.status_code == 409 and "已是负责单位" in same.text
        rejected = client.post(
            decision, json={"reject": True, "reason": "食品安全属本单位职责"}, headers=office
        )
        assert rejected.status_code == 200, rejected.text
        assert rejected.json()["state"] == "rejected"
        assert rejected.json()["decision_reason"] == "食品安全属本单位职责"
        late = client.post(decision, json={"reject": True, "reason": "y"}, headers=office)
        assert late.status_code == 404  # nothing pending any more
        seen = client.get(f"/api/v1/assignments/{market}", headers=unit).json()
        assert "sign" in seen["actions"]  # the unit must now sign

        # Reassigned over the API: the lead of task 5 goes to 市司法局 as a responsible unit.
        edu_token = portal.token("edu")
        declined = client.post(
            f"/api/v1/assignments/{edu}/decline", json={"reason": REASON}, headers=edu_token
        )
        assert declined.status_code == 201, declined.text
        moved = client.post(
            f"/api/v1/assignments/{edu}/decline/decision",
            json={"reassign_to": "市司法局", "role": "responsible", "reason": "按职责调整"},
            headers=office,
        )
        assert moved.status_code == 200, moved.text
        assert (moved.json()["state"], moved.json()["new_role"]) == ("reassigned", "responsible")
        new = moved.json()["new_assignment_id"]
        assert client.get(f"/api/v1/assignments/{edu}", headers=office).status_code == 404
        given = client.get(f"/api/v1/assignments/{new}", headers=office).json()
        assert (given["unit"], given["role"], given["state"]) == (
            "市司法局",
            "responsible",
            "assigned",
        )


@needs_chromium
def test_the_decline_form_and_the_offices_list_in_chromium(
    portal: Portal, browser, backend: str
) -> None:
    if backend != "sqlite":
        pytest.skip("one browser run is enough: the HTTP tests cover both databases")
    assignment = portal.assignment(5, "市教育局")
    with signed_in_pages(browser, portal.url, "edu") as pages:
        for width, page in pages.items():
            page.goto(f"{portal.url}/assignments/{assignment}#decline")
            check_page(page, "assignment-decline-form")
            assert page.locator("#decline input[name=reason]").is_visible(), width
        page = pages[1366]
        page.fill("#decline input[name=reason]", REASON)
        with page.expect_navigation():
            page.click("#decline button[type=submit]")
        assert "已申请退办" in page.content()
        check_page(page, "assignment-decline-pending")
    with signed_in_pages(browser, portal.url, "office") as pages:
        for width, page in pages.items():
            page.goto(f"{portal.url}/declines")
            check_page(page, "declines")
            assert page.locator("form.decide button").first.is_visible(), width
