"""The supervision cycle as Prefect flows: each sequences domain functions, one task per step.

Never one task per assignment: a step handles every row in one transaction.
Each flow takes `now` (an ISO string or datetime) so a whole cycle can run
on a simulated clock. The CLI calls the same domain functions directly, so
that a one-shot command does not pay for Prefect's start-up. Each flow logs
what it did (its figures, in the words of flows/figures.py) to Prefect's run
logger, so a deployment's Prefect UI shows it; archived plans are skipped.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime
from typing import Any

from prefect import Flow, flow, get_run_logger, task

from config import get_settings
from flows.figures import lines_of
from models.clock import parse_moment, utc_now
from models.db import engine_for, reading, unit_of_work
from models.lifecycle import SYSTEM_ACTOR


def _moment(now: str | datetime | None) -> datetime:
    if now is None:
        return utc_now()
    return parse_moment(now, timezone=get_settings().timezone) if isinstance(now, str) else now


def _engine():
    from models.budget import attach

    settings = get_settings()
    return attach(
        engine_for(settings.resolved_database_url, settings.sqlite_busy_timeout_ms), settings
    )


def _said(flow_name: str, result: dict[str, Any]) -> dict[str, Any]:
    """Log the run's figures in the office's words (flows/figures.py) to Prefect's run logger, so
    the Prefect UI shows what the run did; returns the result unchanged."""
    logger = get_run_logger()
    for line in lines_of(flow_name, result):
        logger.info(line)
    return result


@task
def open_round_step(plan_key: str, name: str, report_by: date, now: datetime) -> dict[str, Any]:
    from models.rounds import open_round

    settings = get_settings()
    with unit_of_work(_engine()) as session:
        opened = open_round(
            session,
            plan_key=plan_key,
            name=name,
            report_by=report_by,
            actor=SYSTEM_ACTOR,
            now=now,
            cooperating_lead_days=settings.cycle.cooperating_lead_days,
            timezone=settings.timezone,
            calendar=settings.working_calendar,
        )
        return {
            "round_id": opened.round.id,
            "created": opened.created,
            "checkins": opened.checkins,
            "notices": opened.notices,
        }


@task
def cadence_step(now: datetime) -> list[dict[str, Any]]:
    from models.cadence import open_due_rounds

    with unit_of_work(_engine()) as session:
        opened = open_due_rounds(session, now=now, settings=get_settings(), actor=SYSTEM_ACTOR)
        return [asdict(o) for o in opened]


@task
def reminders_step(now: datetime) -> dict[str, Any]:
    from models.reminders import send_reminders

    with unit_of_work(_engine()) as session:
        return asdict(send_reminders(session, now=now, settings=get_settings(), actor=SYSTEM_ACTOR))


@task
def escalation_step(now: datetime) -> dict[str, int]:
    from models.escalations import escalate_stalled

    with unit_of_work(_engine()) as session:
        return escalate_stalled(session, now=now, settings=get_settings(), actor=SYSTEM_ACTOR)


@task(retries=3, retry_delay_seconds=[10, 60, 300])
def dispatch_step(now: datetime | None) -> dict[str, Any]:
    from notifications.channels import channel_for
    from notifications.dispatch import dispatch

    settings = get_settings()
    report = dispatch(
        _engine(),
        channel_for(settings),
        settings,
        now=(lambda: now) if now else utc_now,
        worker="prefect",
    )
    return asdict(report)


@task
def compile_step(
    plan_key: str | None,
    round_name: str | None,
    as_of: datetime | None,
    formats: str,
    out_dir: str | None,
    publish: bool,
    now: datetime,
) -> list[dict[str, Any]]:
    from pathlib import Path

    from sqlmodel import select

    from models.plan import Plan, in_live_plan
    from models.round import RoundState, SupervisionRound
    from models.rounds import find_plan, resolve_round
    from reports.compile import compile_report_in_turns, parse_formats

    settings = get_settings()
    wanted = parse_formats(formats)
    out = Path(out_dir) if out_dir else settings.resolved_reports_dir
    compiled = []
    engine = _engine()
    with reading(engine) as session:
        if plan_key and not round_name:
            scopes: list[tuple[Plan, SupervisionRound | None]] = [
                (find_plan(session, plan_key), None)
            ]
        elif round_name:
            scopes = [resolve_round(session, plan_key=plan_key, name=round_name)]
        else:  # on a schedule: every open round
            scopes = [
                (session.get_one(Plan, r.plan_id), r)
                for r in session.exec(
                    select(SupervisionRound).where(
                        SupervisionRound.state == RoundState.OPEN,
                        in_live_plan(SupervisionRound.plan_id),
                    )
                )
            ]
        ids = [(plan.id, round_.id if round_ else None) for plan, round_ in scopes]
    for (
        plan_id,
        round_id,
    ) in ids:  # each replayed without the write lock, recorded in a short write

        def find(session, plan_id=plan_id, round_id=round_id):
            return session.get(Plan, plan_id), (
                session.get(SupervisionRound, round_id) if round_id else None
            )

        done = compile_report_in_turns(
            engine,
            find=find,
            as_of=as_of or now,
            formats=wanted,
            out_dir=out,
            settings=settings,
            actor=SYSTEM_ACTOR,
            now=now,
            publish=publish,
        )
        compiled.append(
            {
                "report_id": done.report.id,
                "plan": done.results.plan_key,
                "round": done.results.round_name,
                "files": [str(p) for p in done.files],
                "figures": done.results.headline,
                "published": done.published,
            }
        )
    return compiled


@flow(name="open_round")
def open_round_flow(
    plan_key: str | None = None,
    name: str | None = None,
    report_by: date | None = None,
    now: str | None = None,
) -> dict[str, Any]:
    """Open a supervision round: check-ins for every open assignment in scope, one notice per
    unit. Named (plan, name, date), that round; on the schedule (no name), every round a plan's
    reporting cadence says is due today (models/cadence.py), then send the notices."""
    moment = _moment(now)
    if name is None or report_by is None or plan_key is None:
        return _said(
            "open_round", {"periods": cadence_step(moment), "dispatch": dispatch_step(moment)}
        )
    return _said("open_round", open_round_step(plan_key, name, report_by, moment))


@flow(name="send_reminders")
def send_reminders_flow(now: str | None = None) -> dict[str, Any]:
    """The reminder ladder: today's digests, on working days and hours only, then send them."""
    moment = _moment(now)
    run = reminders_step(moment)
    return _said("send_reminders", {"reminders": run, "dispatch": dispatch_step(moment)})


@flow(name="escalate_stalled")
def escalate_stalled_flow(now: str | None = None) -> dict[str, Any]:
    """Raise every stalled item one level, then send the notices."""
    moment = _moment(now)
    counts = escalation_step(moment)
    return _said("escalate_stalled", {"escalations": counts, "dispatch": dispatch_step(moment)})


@flow(name="dispatch_notifications")
def dispatch_notifications_flow(now: str | None = None) -> dict[str, Any]:
    """Send what is due in the outbox, with retries and backoff."""
    return _said("dispatch_notifications", dispatch_step(_moment(now) if now else None))


@flow(name="compile_results")
def compile_results_flow(
    plan_key: str | None = None,
    round_name: str | None = None,
    as_of: str | None = None,
    formats: str = "html,xlsx,docx,md",
    out_dir: str | None = None,
    publish: bool = False,
    now: str | None = None,
) -> dict[str, Any]:
    """The 通报 of a round or plan (default: every open round) in every format, recorded on the
    round; with `publish`, the results-published notices go out too."""
    moment = _moment(now)
    reports = compile_step(
        plan_key, round_name, _moment(as_of) if as_of else None, formats, out_dir, publish, moment
    )
    return _said(
        "compile_results",
        {"reports": reports, "dispatch": dispatch_step(moment) if publish else None},
    )


FLOWS: dict[str, Flow[..., Any]] = {
    "open_round": open_round_flow,
    "send_reminders": send_reminders_flow,
    "escalate_stalled": escalate_stalled_flow,
    "dispatch_notifications": dispatch_notifications_flow,
    "compile_results": compile_results_flow,
}
