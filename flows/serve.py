"""The embedded scheduler: APScheduler inside `duban serve`, firing the flows on the schedule list.

Jobs live in the same database (SQLAlchemy job store), so a restart keeps
them; a run missed while the process was down is coalesced into one.
"""

from __future__ import annotations

from typing import Any

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger

from config import Settings
from models.errors import ConfigError


def run_flow(name: str) -> Any:
    """What a scheduled job calls: the flow of that name, now."""
    from flows.cycle import FLOWS

    return FLOWS[name]()


def build_scheduler(
    settings: Settings, *, blocking: bool = True
) -> BlockingScheduler | BackgroundScheduler:
    from flows.cycle import FLOWS

    scheduler_class = BlockingScheduler if blocking else BackgroundScheduler
    scheduler = scheduler_class(
        jobstores={
            "default": SQLAlchemyJobStore(
                url=settings.resolved_database_url, tablename="apscheduler_jobs"
            )
        },
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 3600},
        timezone=settings.timezone,
    )
    for schedule in settings.schedules:
        if schedule.flow not in FLOWS:
            raise ConfigError(
                detail=f"schedule names an unknown flow {schedule.flow!r}; known: "
                f"{', '.join(FLOWS)}"
            )
        try:
            trigger = CronTrigger.from_crontab(schedule.cron, timezone=settings.timezone)
        except ValueError as error:
            raise ConfigError(
                detail=f"schedule {schedule.flow}: bad cron {schedule.cron!r}: {error}"
            ) from error
        scheduler.add_job(
            run_flow,
            trigger,
            args=[schedule.flow],
            id=schedule.flow,
            name=schedule.flow,
            replace_existing=True,
        )
    return scheduler
