"""What the fuzzers share: a seeded portal per backend, the routes and fields to attack, and what a
correct answer to a malformed request is (never a 500, the security headers, Chinese for a person).
"""

from __future__ import annotations

import inspect
import json
import re
import shutil
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute

from config import Settings
from models.db import make_engine
from tests.support.portal import Portal, open_round, running, seed

SECURITY_HEADERS = (
    "x-content-type-options",
    "x-frame-options",
    "content-security-policy",
    "referrer-policy",
)
BROWSER = {"accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
HAN = re.compile(r"[\u4e00-\u9fff]")
_FORM_FIELD = re.compile(r"""form\.get(?:list)?\(\s*["'](\w+)["']""")


def seeded_portal(request: pytest.FixtureRequest, home: Path, **settings: Any) -> Iterator[Portal]:
    """The seed (16 tasks, 49 units, one user per role) and an open round, served on a real uvicorn,
    on the backend named by `request.param`; for module-scoped fixtures."""
    from tests.conftest import _postgres_database

    if request.param == "sqlite":
        shutil.copyfile(request.getfixturevalue("sqlite_template"), home / "duban.db")
        urls: Iterator[str] = iter([f"sqlite:///{home / 'duban.db'}"])
    else:
        template = request.getfixturevalue("postgres_template")
        urls = _postgres_database(
            template.rsplit("/", 1)[0] + "/postgres", template="duban_template"
        )
    url = next(urls)
    engine = make_engine(url)
    seed(engine)
    open_round(engine, date.today() + timedelta(days=30))
    try:
        with running(
            Settings(home=home, database_url=url, dev_mode=True, **settings), engine
        ) as portal:
            yield portal
    finally:
        engine.dispose()
        next(urls, None)  # drops the PostgreSQL database


@dataclass(frozen=True)
class Target:
    """One route and method, with every input it reads."""

    method: str
    path: str  # the template, e.g. /assignments/{assignment_id}
    path_params: tuple[str, ...]
    query: tuple[str, ...]
    form: tuple[str, ...]  # declared Form() fields and every form.get("…") in the route's body

    @property
    def is_api(self) -> bool:
        return self.path.startswith("/api/")


def targets(app: FastAPI) -> list[Target]:
    """Every route of the app, read from app.routes and its OpenAPI description: a new route or
    field is fuzzed without anyone listing it. Form fields a route reads itself (form.get) come from
    its source."""
    spec = app.openapi()
    found = []
    for route in _api_routes(app.routes):
        source_fields = set(_FORM_FIELD.findall(inspect.getsource(route.endpoint)))
        for method in sorted(route.methods - {"HEAD"}):
            described = spec["paths"].get(route.path, {}).get(method.lower(), {})
            declared = described.get("parameters", [])
            form = source_fields | set(_form_fields(spec, described.get("requestBody", {})))
            found.append(
                Target(
                    method,
                    route.path,
                    tuple(p["name"] for p in declared if p["in"] == "path"),
                    tuple(p["name"] for p in declared if p["in"] == "query"),
                    tuple(sorted(form)),
                )
            )
    return found


def _api_routes(routes: list[Any]) -> Iterator[APIRoute]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(
            route, "original_router"
        ):  # FastAPI keeps included routers as they were declared
            yield from _api_routes(route.original_router.routes)


def _form_fields(spec: dict[str, Any], body: dict[str, Any]) -> list[str]:
    for content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        schema = body.get("content", {}).get(content_type, {}).get("schema")
        if schema is None:
            continue
        if "$ref" in schema:
            schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
        return list(schema.get("properties", {}))
    return []


def problems(
    method: str, path: str, *, accept: str, status: int, headers: Mapping[str, str], text: str
) -> list[str]:
    """What is wrong with this answer (empty when right): a 500; a missing security header; an error
    that is not a Chinese page with a way home for a person, or not Chinese JSON for a script."""
    where = f"{method} {path} → {status}"
    found = []
    if status >= 500:
        found.append(f"{where}: server error {text[:200]!r}")
    missing = [h for h in SECURITY_HEADERS if h not in headers]
    if missing:
        found.append(f"{where}: no {', '.join(missing)}")
    if status < 400:
        return found
    content_type = headers.get("content-type", "")
    script = path.startswith("/api/") or (
        "application/json" in accept and "text/html" not in accept
    )
    if script:
        try:
            detail = json.loads(text).get("detail", "")
        except (ValueError, AttributeError):
            detail = None
        if (
            not content_type.startswith("application/json")
            or not isinstance(detail, str)
            or not HAN.search(detail)
        ):
            found.append(f"{where}: a script got no Chinese JSON ({content_type}) {text[:120]!r}")
    elif not content_type.startswith("text/html") or not HAN.search(text) or 'href="/"' not in text:
        found.append(
            f"{where}: a person got no Chinese page with a way home ({content_type}) {text[:120]!r}"
        )
    return found
