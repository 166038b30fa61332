"""The portal: FastAPI with server-rendered Jinja2 pages (Chinese first) and the JSON API under
/api/v1.

    auth.py        sessions, tokens, CSRF, login throttling
    errors.py      every error answered: a Chinese page for a person, JSON for a script
    bounds.py      bounded ids, capped text, each field's Chinese name
    deps.py        the principal, role checks, CSRF-checked forms, audited refusals
    middleware.py  security headers, Server-Timing; the upload limit (413 before the body is read)
    dashboard.py   the dashboard's aggregates
    uploads.py     evidence type checks by content
    routes/        session, office, office_lists, intake_pages, assignments, filings, results,
                   audit_review, access, api
    throttle.py    login throttling (growing waits, never a lock-out)
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from models.errors import ConfigError

DEFAULT_SECRET = "dev-insecure-secret"


class Portal(FastAPI):
    """FastAPI with the security headers and the server time outside everything, so that even the
    last-resort 500 (answered by Starlette's outermost error middleware) carries them."""

    def build_middleware_stack(self):
        from web.middleware import SecurityHeaders, ServerTiming

        return ServerTiming(SecurityHeaders(super().build_middleware_stack()))


def create_app(settings: Any = None) -> FastAPI:
    from config.settings import get_settings
    from models.budget import attach
    from models.db import engine_for
    from models.schema import require_current
    from web import errors
    from web.dashboard import Figures
    from web.middleware import BodyLimit
    from web.paths import STATIC
    from web.report_preview import Previews
    from web.routes import (
        access,
        admin,
        api,
        api_cadence,
        api_declines,
        api_directives,
        api_escalations,
        api_nudges,
        api_plans,
        api_review,
        api_scores,
        api_suspension,
        assignments,
        audit_review,
        declines,
        directives,
        filings,
        intake_pages,
        leader,
        messages,
        notices,
        nudges,
        office,
        office_lists,
        plans,
        results,
        session,
    )

    settings = settings or get_settings()
    if settings.secret_key.get_secret_value() == DEFAULT_SECRET and not settings.dev_mode:
        raise ConfigError(
            detail="DUBAN_SECRET_KEY 仍为默认值：请设置随机密钥（或仅在本机试用时设 "
            "DUBAN_DEV_MODE=1）/ "
            "DUBAN_SECRET_KEY is the default: set a random secret (or DUBAN_DEV_MODE=1 for a "
            "local trial)"
        )
    engine = engine_for(settings.resolved_database_url, settings.sqlite_busy_timeout_ms)
    require_current(engine)
    engine = attach(engine, settings)  # the reminder budget rides on every session
    app = Portal(
        title="duban 督办", version="1", docs_url=None, redoc_url=None, openapi_url="/openapi.json"
    )
    app.state.settings, app.state.engine = settings, engine
    app.state.figures = Figures()  # the dashboard's, kept until the data changes
    app.state.previews = Previews()  # the 通报 pages', kept per file as it stands
    app.add_middleware(BodyLimit, limit_bytes=int(settings.upload_max_mb * 1024 * 1024))
    if settings.trusted_proxies:  # outermost: every later layer sees the forwarded client address
        from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies)
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    for module in (
        session,
        office,
        office_lists,
        plans,
        intake_pages,
        assignments,
        declines,
        filings,
        results,
        leader,
        nudges,
        directives,
        audit_review,
        messages,
        notices,
        admin,
        access,
        api,
        api_review,
        api_cadence,
        api_escalations,
        api_nudges,
        api_plans,
        api_suspension,
        api_declines,
        api_directives,
        api_scores,
    ):
        app.include_router(module.router)

    errors.install(app)
    return app
