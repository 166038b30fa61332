"""The portal: FastAPI with server-rendered Jinja2 pages (Chinese first) and the JSON API under /api/v1.

    auth.py        sessions, tokens, CSRF, login throttling
    deps.py        the principal, role checks, CSRF-checked forms, audited refusals
    middleware.py  security headers; the upload limit (413 before the body is read)
    dashboard.py   the dashboard's aggregates
    uploads.py     evidence type checks by content
    routes/        session, office, intake_pages, assignments, results, audit_review, access, api
    throttle.py    login throttling (growing waits, never a lock-out)
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from models.errors import ConfigError, DubanError, NotFound

DEFAULT_SECRET = "dev-insecure-secret"
STATUS_BY_EXIT = {2: 400, 3: 404, 4: 409, 5: 409}


def create_app(settings: Any = None) -> FastAPI:
    from config.settings import apply_calendar, get_settings
    from models.db import engine_for
    from models.schema import require_current
    from starlette.concurrency import run_in_threadpool

    from web.deps import Refused, SignInRequired, page, record_conflict, record_refusal
    from web.middleware import BodyLimit, SecurityHeaders
    from web.paths import STATIC
    from web.routes import access, api, assignments, audit_review, intake_pages, office, results, session

    settings = settings or get_settings()
    apply_calendar(settings)  # the lights and the dashboard's overdue counts count working days
    if settings.secret_key.get_secret_value() == DEFAULT_SECRET and not settings.dev_mode:
        raise ConfigError(detail="DUBAN_SECRET_KEY 仍为默认值：请设置随机密钥（或仅在本机试用时设 DUBAN_DEV_MODE=1）/ "
                                 "DUBAN_SECRET_KEY is the default: set a random secret (or DUBAN_DEV_MODE=1 for a local trial)")
    engine = engine_for(settings.resolved_database_url, settings.sqlite_busy_timeout_ms)
    require_current(engine)
    app = FastAPI(title="duban 督办", version="1", docs_url=None, redoc_url=None, openapi_url="/openapi.json")
    app.state.settings, app.state.engine = settings, engine
    app.add_middleware(BodyLimit, limit_bytes=int(settings.upload_max_mb * 1024 * 1024))
    app.add_middleware(SecurityHeaders)
    if settings.trusted_proxies:  # outermost: every later layer sees the forwarded client address
        from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies)
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    for module in (session, office, intake_pages, assignments, results, audit_review, access, api):
        app.include_router(module.router)

    def wants_json(request: Request) -> bool:
        return request.url.path.startswith("/api/")

    @app.exception_handler(SignInRequired)
    async def sign_in(request: Request, _: SignInRequired):  # noqa: ANN202
        if wants_json(request):
            return JSONResponse({"detail": "需要登录 / sign in first"}, status_code=401,
                                headers={"WWW-Authenticate": "Bearer"})
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        from urllib.parse import quote

        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)

    @app.exception_handler(DubanError)
    async def domain_error(request: Request, error: DubanError):  # noqa: ANN202
        status = 404 if isinstance(error, NotFound) else STATUS_BY_EXIT.get(error.exit_code, 400)
        message = f"{error.message('zh')} / {error.message('en')}"
        if status == 409:
            await run_in_threadpool(record_conflict, request, message)
        if wants_json(request):
            return JSONResponse({"detail": message}, status_code=status)
        return page(request, "error.html.j2", getattr(request.state, "principal", None), status=status, message=message)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException):  # noqa: ANN202
        if isinstance(error, Refused):
            await run_in_threadpool(record_refusal, request, error)
        elif error.status_code == 409:
            await run_in_threadpool(record_conflict, request, str(error.detail))
        if wants_json(request):
            return JSONResponse({"detail": error.detail}, status_code=error.status_code, headers=error.headers)
        return page(request, "error.html.j2", getattr(request.state, "principal", None), status=error.status_code,
                    message=str(error.detail))

    return app
