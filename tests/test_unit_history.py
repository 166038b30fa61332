"""A unit's assignment history shows what happened to its item, in words: no other unit's probes,
names or ids."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.support.portal import Portal, csrf_of, serve_seeded


@pytest.fixture
def portal(engine: Engine, database_url: str, tmp_path: Path) -> Iterator[Portal]:
    yield from serve_seeded(engine, database_url, tmp_path, upload_max_mb=0.5)


def history_of(html: str) -> str:
    return re.search(r'<ol class="history">(.*?)</ol>', html, re.S).group(1)


def test_another_units_refused_probes_stay_out_of_a_units_history(portal: Portal) -> None:
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
                "text": "已全部完成",
                "completed": "on",
            },
        )
    with portal.login("police") as police:  # probes 市市场监管局's item: 404, and audited
        assert police.get(f"/assignments/{own}").status_code == 404
        assert (
            police.post(
                f"/assignments/{own}/act/sign", data={"csrf": csrf_of(police.get("/inbox").text)}
            ).status_code
            == 404
        )
    with portal.login("office") as office:
        review = office.get("/review").text
        checkin = review.split('data-checkin="')[1].split('"')[0]
        office.post(
            f"/review/{checkin}/return",
            data={"csrf": csrf_of(review), "revision": "1", "reason": "缺少台账"},
        )
        seen_by_office = history_of(office.get(f"/assignments/{own}").text)
    with portal.login("market") as market:
        seen_by_unit = history_of(market.get(f"/assignments/{own}").text)

    lines = [
        re.sub(r"<.*?>", "", li).split(" · ", 1)[1]
        for li in re.findall(r"<li>.*?</li>", seen_by_unit)
    ]
    assert lines == [
        "办公室 · 交办",
        "本单位 · 签收",
        "本单位 · 报送办结",  # and its check-in, in the same step: one line
        "办公室 · 退回办结报告 · 缺少台账",
    ]
    for leak in (
        "police",
        "market",
        "access.refused",
        "越权",
        "belongs to unit",
        "访问者属于",
        "GET /",
        "POST /",
        "查看 /",
        "提交 /",
    ):
        assert leak not in seen_by_unit
    # The office's own view keeps the whole trail, refusals and user names included.
    assert seen_by_office.count("越权访问被拒绝") == 2 and "police" in seen_by_office
    # The auditor reads each refusal in words: which page, whose item, and whose caller.
    with portal.login("office") as office:
        trail = office.get("/audit", params={"action": "access.refused"}).text
    assert f"查看 /assignments/{own}：属于市市场监管局，访问者属于市公安局" in trail
    assert f"提交 /assignments/{own}/act/sign：属于市市场监管局，访问者属于市公安局" in trail


def test_a_units_extension_requests_and_the_offices_answers_are_in_its_history(
    portal: Portal,
) -> None:
    own = portal.assignment(12, "市市场监管局")
    with portal.login("market") as market:
        page = market.get(f"/assignments/{own}").text
        market.post(f"/assignments/{own}/act/sign", data={"csrf": csrf_of(page)})
        due = date.fromisoformat(re.search(r'<b id="due">([0-9-]{10})</b>', page).group(1))
        later, sooner = due + timedelta(days=5), due + timedelta(days=3)
        asked = market.post(
            f"/assignments/{own}/extension",
            data={"csrf": csrf_of(page), "until": later.isoformat(), "reason": "需等待省级文件"},
        )
        assert asked.status_code in (200, 303), asked.text[-300:]
    with portal.login("office") as office:
        listed = office.get("/extensions").text
        first = re.search(r'data-extension="(\d+)"', listed).group(1)
        office.post(
            f"/extensions/{first}/reject", data={"csrf": csrf_of(listed), "reason": "理由不充分"}
        )
    with portal.login("market") as market:
        page = market.get(f"/assignments/{own}").text
        market.post(
            f"/assignments/{own}/extension",
            data={"csrf": csrf_of(page), "until": sooner.isoformat(), "reason": "文件已下发"},
        )
    with portal.login("office") as office:
        listed = office.get("/extensions").text
        second = re.search(r'data-extension="(\d+)"', listed).group(1)
        assert second != first
        office.post(f"/extensions/{second}/approve", data={"csrf": csrf_of(listed)})
    with portal.login("market") as market:
        seen = history_of(market.get(f"/assignments/{own}").text)
    lines = [
        re.sub(r"<.*?>", "", li).split(" · ", 1)[1] for li in re.findall(r"<li>.*?</li>", seen)
    ]
    assert lines == [
        "办公室 · 交办",
        "本单位 · 签收",
        f"本单位 · 申请延期至 {later} · 需等待省级文件",
        "办公室 · 不予延期 · 理由不充分",
        f"本单位 · 申请延期至 {sooner} · 文件已下发",
        f"办公室 · 批准延期，截止日期改为 {sooner}",
    ]
