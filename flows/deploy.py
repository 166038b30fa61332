"""Scaled out: the cycle's flows as Prefect deployments on a Prefect server, run by a process
worker.

`duban deploy` registers one deployment per entry of the schedule list (the
same list `duban serve` uses), on a process work pool it creates if needed,
with the code taken from this checkout. Start the pieces as the README says:
a Prefect server on PostgreSQL, a worker on the pool, then `duban deploy`.
"""

from __future__ import annotations

from pathlib import Path

from config import Settings

ROOT = Path(__file__).resolve().parent.parent
POOL = "duban"


def deploy(settings: Settings, *, pool: str = POOL) -> list[str]:
    """Create the work pool if missing and (re)register every scheduled flow; returns the deployment
    names."""
    from prefect import Flow
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectAlreadyExists
    from prefect.schedules import Cron

    from flows.cycle import FLOWS

    with get_client(sync_client=True) as client:
        try:
            client.create_work_pool(WorkPoolCreate(name=pool, type="process"))
        except ObjectAlreadyExists:
            pass
    names = []
    for schedule in settings.schedules:
        entrypoint = f"flows/cycle.py:{FLOWS[schedule.flow].fn.__name__}"
        # Called from sync code, from_source returns the flow; prefect types both halves of its
        # async_dispatch.
        source: Flow = Flow.from_source(source=str(ROOT), entrypoint=entrypoint)  # type: ignore[assignment]
        source.deploy(
            name=f"duban-{schedule.flow}",
            work_pool_name=pool,
            build=False,
            push=False,
            schedules=[Cron(schedule.cron, timezone=settings.timezone)],
            print_next_steps=False,
            ignore_warnings=True,
        )
        names.append(f"{schedule.flow}/duban-{schedule.flow}")
    return names
