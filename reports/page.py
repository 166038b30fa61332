"""The 通报 as an HTML page and as Markdown (Jinja2 templates in reports/templates/); a published
one's title carries its 期号 and a line under it its 文号."""

from __future__ import annotations

import base64
from datetime import date
from functools import lru_cache
from pathlib import Path

import jinja2

from escaping.markdown import markdown_text
from escaping.templates import environment as template_environment
from models.report_state import Issue
from reports.charts import Chart
from reports.results import CHECKIN_LABELS, LIGHT_LABELS, STATUS_LABELS, Results

TEMPLATES = Path(__file__).parent / "templates"
MD_OVERDUE = 100  # an e-mail lists the 100 most overdue; the workbook has them all


def cn_date(day: date | None) -> str:
    return f"{day.year}年{day.month}月{day.day}日" if day else "—"


def percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate:.1%}"


def markdown_cell(text: str) -> str:
    return str(text).replace("|", "｜").replace("\r", " ").replace("\n", " ")


@jinja2.pass_eval_context
def _finalize(eval_ctx: jinja2.nodes.EvalContext, value: object) -> object:
    """Every value printed into the Markdown 通报 is Markdown text (HTML escaping covers the
    page)."""
    if eval_ctx.autoescape or isinstance(value, (int, float)):
        return value
    return markdown_text(value)


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    env = template_environment(
        TEMPLATES,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        finalize=_finalize,
    )
    env.filters |= {
        "cn_date": cn_date,
        "percent": percent,
        "cell": markdown_cell,
        "b64": lambda data: base64.b64encode(data).decode("ascii"),
    }
    env.globals |= {
        "status_labels": STATUS_LABELS,
        "checkin_labels": CHECKIN_LABELS,
        "light_labels": LIGHT_LABELS,
        "md_overdue": MD_OVERDUE,
    }
    return env


def html(
    results: Results, charts: list[Chart], compiled_at: str, issue: Issue | None = None
) -> str:
    return (
        environment()
        .get_template("results.html.j2")
        .render(r=results, charts=charts, compiled_at=compiled_at, issue=issue)
    )


def markdown(results: Results, issue: Issue | None = None) -> str:
    return environment().get_template("results.md.j2").render(r=results, issue=issue)
