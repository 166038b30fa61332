"""Which plan, which round: one domain rule (models.rounds.resolve_plan / resolve_round) for the CLI
and the flows, tried with two plans in the database (the seed notice imported as "2022" and again as
"2023")."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine

from intake.plan_import import reconcile, resolve
from intake.source import read_notice
from models.db import reading, unit_of_work
from models.errors import NotFound
from models.rounds import open_round, resolve_plan, resolve_round
from tests.support.cli import duban
from tests.support.scenario import OFFICE
from tests.support.seed_round import ROOT, at, seed


@pytest.fixture
def two_plans(seeded: Engine) -> Engine:
    """Plan 2022 with round 第三季度; plan 2023 with rounds 第三季度 and 专项督查 (only there)."""
    now = at("2022-09-01")
    with unit_of_work(seeded) as session:
        reconcile(
            session,
            "2023",
            resolve(session, read_notice(ROOT / "tests/fixtures/seed-notice.txt")),
            actor=OFFICE,
            now=now,
            write=True,
        )
    for plan_key, name in (("2022", "第三季度"), ("2023", "第三季度"), ("2023", "专项督查")):
        with unit_of_work(seeded) as session:
            open_round(
                session,
                plan_key=plan_key,
                name=name,
                report_by=date(2022, 9, 30),
                actor=OFFICE,
                now=at("2022-09-19"),
                cooperating_lead_days=2,
            )
    return seeded


def test_a_round_named_in_one_plan_only_is_found_without_naming_the_plan(two_plans: Engine) -> None:
    with reading(two_plans) as session:
        plan, round_ = resolve_round(session, plan_key=None, name="专项督查")
        assert (plan.key, round_.name, round_.plan_id) == ("2023", "专项督查", plan.id)
        plan, round_ = resolve_round(session, plan_key="2022", name="第三季度")
        assert (plan.key, round_.plan_id) == ("2022", plan.id)
        plan, latest = resolve_round(
            session, plan_key="2023", name=None
        )  # the latest open round of 2023
        assert latest.name == "专项督查"


def test_a_name_two_plans_share_or_no_plan_named_asks_for_the_plan(two_plans: Engine) -> None:
    with reading(two_plans) as session:
        with pytest.raises(NotFound) as shared:
            resolve_round(session, plan_key=None, name="第三季度")
        assert (
            shared.value.message("zh") == "未找到督导轮次（请用 --plan 指定）：第三季度：2022、2023"
        )
        with pytest.raises(NotFound) as unnamed:
            resolve_plan(session, None)
        assert unnamed.value.message("zh") == "未找到计划（请用 --plan 指定）：2022、2023"
        with pytest.raises(NotFound) as missing:
            resolve_round(session, plan_key=None, name="第四季度")
        assert missing.value.message("zh") == "未找到督导轮次：第四季度"


def test_the_report_command_and_the_compile_flow_find_a_round_among_two_plans(
    two_plans: Engine, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    done = duban(
        "report",
        "--round",
        "专项督查",
        "--as-of",
        "2022-09-20",
        "--format",
        "md",
        "--json",
        "--out",
        str(tmp_path / "cli"),
        home=tmp_path,
        url=database_url,
    )
    assert done.returncode == 0, done.stderr
    assert "专项督查" in next((tmp_path / "cli").glob("*.md")).read_text(encoding="utf-8")

    # The flow's step, run as the scheduler would run it (its function, the settings from the
    # environment); with two plans it used to ask the database for `.one()` plan and fail.
    from config.settings import get_settings
    from flows.cycle import compile_step

    monkeypatch.setenv("DUBAN_HOME", str(tmp_path))
    monkeypatch.setenv("DUBAN_DATABASE_URL", database_url)
    get_settings.cache_clear()
    try:
        compiled = compile_step.fn(
            None,
            "专项督查",
            at("2022-09-20"),
            "md",
            str(tmp_path / "flow"),
            False,
            at("2022-09-20"),
        )
    finally:
        get_settings.cache_clear()
    assert [(c["plan"], c["round"]) for c in compiled] == [("2023", "专项督查")]


@pytest.fixture
def seeded(engine: Engine) -> Engine:
    return seed(engine)
