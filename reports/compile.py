"""Compile a 通报: compute the figures, write the files, record them, and publish on request.

The files are written into a hidden folder beside their destination and
moved into place only when every format has been written, so a failure
leaves the previous files as they were and no half-written ones. A second
compile of the same scope and moment replaces a draft's files and updates the
same record; publishing twice sends nothing twice (the outbox's dedup keys).

Publishing renders the files again from the same figures (the replay as of the
record's moment), now with the 期号 and 文号 in the masthead, the titles and the
file names, and records them in the publishing transaction: the files are
rendered before the write (the write lock is held only to number, record and
move them in) and moved in last, under new names, so a failure leaves the
draft and its files as they were. A published 通报's files are never
rewritten: not by publishing again, not by compiling its moment again, not by
withdrawing it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from models import audit, report_state
from models.clock import utc
from models.db import id_of, reading, unit_of_work
from models.errors import DubanError, NotFound
from models.labels import FIGURES
from models.lifecycle import Actor
from models.outbox import enqueue_many
from models.plan import Plan
from models.recipients import Recipient, message, unit_contacts
from models.report_state import Issue, ReportState
from models.results import ResultsReport
from models.round import SupervisionRound
from models.rounds import round_payload
from models.unit import ContactRole, Unit
from reports import results as figures
from reports.results import Results

FORMATS = ("html", "xlsx", "docx", "md")
PARALLEL_FROM = (
    20_000  # items and escalations: below this a second process costs more than it saves
)


class UnknownFormat(DubanError):
    exit_code = 2
    zh = "不支持的格式：{given}（可选：{known}）"
    en = "unknown format: {given} (choose from: {known})"


class AsOfInFuture(DubanError):
    exit_code = 2
    zh = "--as-of {as_of} 晚于当前时间 {now}：通报只能反映已经发生的情况"
    en = "--as-of {as_of} is later than now ({now}): a report can only show what has happened"


class WorkbookFailed(DubanError):
    exit_code = 1
    zh = "Excel 工作簿写入失败：{detail}"
    en = "writing the workbook failed: {detail}"


class FiguresChanged(DubanError):
    exit_code = 4
    zh = (
        "第 {report} 号通报按截至时间重算的数据与编制时不一致（{keys_zh}），"
        "不能按原稿发布：请重新编制后再发布。"
    )
    en = (
        "report #{report}: the figures replayed as of its moment differ from the draft's ({keys});"
        " compile it again before publishing"
    )


@dataclass(frozen=True)
class Compiled:
    report: ResultsReport
    results: Results
    files: list[Path]
    published: int  # notices queued by this call


def parse_formats(text: str) -> list[str]:
    wanted = [f.strip().lower() for f in text.split(",") if f.strip()]
    unknown = [f for f in wanted if f not in FORMATS]
    if unknown or not wanted:
        raise UnknownFormat(given=", ".join(unknown) or "（空）", known=", ".join(FORMATS))
    return list(dict.fromkeys(wanted))


def file_stem(results: Results, issue: Issue | None = None) -> str:
    """The files' name without its suffix; a published 通报's carries its 期号, with the year it
    counts in when that is not the year of the day it is as of (a December 通报 published in
    January), so that no two published 通报 share a name."""
    scope = results.round_name or "全部轮次"
    numbered = ""
    if issue is not None:
        year = "" if issue.year == results.as_of_day.year else f"{issue.year}年"
        numbered = f"（{year}第{issue.number}期）"
    name = f"{results.plan_key}_{scope}_通报{numbered}_{results.as_of_day.isoformat()}"
    return re.sub(r'[\\/:*?"<>|\s]+', "-", name)


@dataclass(frozen=True)
class Rendered:
    """The figures and the files of a compile, before anything is recorded in the database."""

    results: Results
    files: list[Path]


@dataclass(frozen=True)
class Staged:
    """Files written into a staging folder inside their destination, not yet moved in."""

    folder: Path
    files: list[Path]
    issue: Issue | None


def compile_report(
    session: Session,
    *,
    plan: Plan,
    round_: SupervisionRound | None,
    as_of: datetime,
    formats: list[str],
    out_dir: Path,
    settings: Any,
    actor: Actor,
    now: datetime,
    publish: bool = False,
) -> Compiled:
    """Render and record in the caller's one transaction (the portal and the flow)."""
    rendered = render_report(
        session,
        plan=plan,
        round_=round_,
        as_of=as_of,
        formats=formats,
        out_dir=out_dir,
        settings=settings,
        now=now,
    )
    return record_report(
        session,
        rendered,
        plan=plan,
        round_=round_,
        out_dir=out_dir,
        settings=settings,
        actor=actor,
        now=now,
        publish=publish,
    )


def compile_report_in_turns(
    engine: Engine,
    *,
    find: Callable[[Session], tuple[Plan, SupervisionRound | None]],
    as_of: datetime,
    formats: list[str],
    out_dir: Path,
    settings: Any,
    actor: Actor,
    now: datetime,
    publish: bool = False,
) -> Compiled:
    """Replay and render in a read transaction, then record in a short write transaction.

    The replay of a province's events takes many seconds; on SQLite a write transaction held that
    long would make every other writer (a unit filing its check-in) wait or fail. Reading takes no
    lock, and what it reads is one consistent snapshot; the record names the moment it was as of.
    """
    staged = None
    try:
        with reading(engine) as session:
            plan, round_ = find(session)
            rendered = render_report(
                session,
                plan=plan,
                round_=round_,
                as_of=as_of,
                formats=formats,
                out_dir=out_dir,
                settings=settings,
                now=now,
            )
            if publish:  # the numbered files too, before the write (the numbers checked in it)
                staged = _stage_publication(
                    session,
                    rendered,
                    plan=plan,
                    round_=round_,
                    formats=formats,
                    out_dir=out_dir,
                    settings=settings,
                    now=now,
                )
        with unit_of_work(engine) as session:
            return record_report(
                session,
                rendered,
                plan=plan,
                round_=round_,
                out_dir=out_dir,
                settings=settings,
                actor=actor,
                now=now,
                publish=publish,
                staged=staged,
            )
    finally:
        if staged is not None:
            shutil.rmtree(staged.folder, ignore_errors=True)


def _stage_publication(
    session: Session,
    rendered: Rendered,
    *,
    plan: Plan,
    round_: SupervisionRound | None,
    formats: list[str],
    out_dir: Path,
    settings: Any,
    now: datetime,
) -> Staged | None:
    """The files of a compile about to be published, numbered as it would be now; None when its
    record is published already (publishing again only re-sends)."""
    existing = session.exec(
        select(ResultsReport).where(ResultsReport.key == _key(plan, round_, rendered.results.as_of))
    ).first()
    if existing is not None and report_state.state_of(existing) is not ReportState.DRAFT:
        return None
    issue = report_state.numbers(
        session,
        plan_id=id_of(plan),
        report_id=existing.id if existing else None,
        now=now,
        timezone=settings.timezone,
        prefix=settings.report_doc_prefix,
    )
    return stage_files(
        rendered.results,
        formats=formats,
        out_dir=out_dir,
        settings=settings,
        compiled_at=now,
        issue=issue,
    )


def scores_as_of(
    session: Session,
    *,
    plan: Plan,
    round_: SupervisionRound | None,
    as_of: datetime,
    settings: Any,
    now: datetime,
) -> figures.Scores:
    """A 通报's 考核得分 and 红黑榜 as of a moment, without the rest of it or a file (`duban score`,
    GET /api/v1/plans/{key}/scores); reads only."""
    if utc(as_of) > utc(now):
        raise AsOfInFuture(as_of=utc(as_of).isoformat(), now=utc(now).isoformat())
    return figures.compute_scores(
        session,
        plan=plan,
        round_=round_,
        as_of=as_of,
        timezone=settings.timezone,
        rules=settings.cycle,
        scoring=settings.scoring,
    )


def render_report(
    session: Session,
    *,
    plan: Plan,
    round_: SupervisionRound | None,
    as_of: datetime,
    formats: list[str],
    out_dir: Path,
    settings: Any,
    now: datetime,
) -> Rendered:
    """Compute the figures from the event log and write the files into place; reads only."""
    if utc(as_of) > utc(now):
        raise AsOfInFuture(as_of=utc(as_of).isoformat(), now=utc(now).isoformat())
    results = figures.compute(
        session,
        plan=plan,
        round_=round_,
        as_of=as_of,
        timezone=settings.timezone,
        rules=settings.cycle,
        issuer=settings.office_name,
        scoring=settings.scoring,
    )
    staged = stage_files(
        results, formats=formats, out_dir=out_dir, settings=settings, compiled_at=now
    )
    try:
        files = _move_in(staged, out_dir)
    finally:
        shutil.rmtree(staged.folder, ignore_errors=True)
    return Rendered(results=results, files=files)


def stage_files(
    results: Results,
    *,
    formats: list[str],
    out_dir: Path,
    settings: Any,
    compiled_at: datetime,
    issue: Issue | None = None,
) -> Staged:
    """Write every format into a new staging folder inside `out_dir`; the caller moves them in
    (`_move_in`) and removes the folder."""
    from reports.charts import cjk_font

    font = (
        cjk_font(settings.report_font) if {"html", "docx"} & set(formats) else None
    )  # fail before writing
    out_dir.mkdir(parents=True, exist_ok=True)
    clear_stale_staging(out_dir)
    staging = Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{_HOST}-{os.getpid()}-", dir=out_dir))
    try:
        written = _write_formats(
            results,
            font,
            formats,
            staging,
            file_stem(results, issue),
            # People read the office's clock, never UTC.
            compiled_at=utc(compiled_at)
            .astimezone(ZoneInfo(settings.timezone))
            .strftime("%Y-%m-%d %H:%M"),
            issue=issue,
        )
    except OSError as error:
        shutil.rmtree(staging, ignore_errors=True)
        if error.filename:
            raise
        raise _where(error, out_dir) from error
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return Staged(folder=staging, files=written, issue=issue)


def _move_in(staged: Staged, out_dir: Path, *, undo: bool = False) -> list[Path]:
    """Move the staged files into `out_dir`, each in one rename; with `undo`, a failure takes back
    the ones already moved (new names: nothing of before is lost)."""
    moved: list[Path] = []
    try:
        for path in staged.files:
            target = out_dir / path.name
            os.replace(path, target)
            moved.append(target)
    except OSError as error:
        for target in moved if undo else []:
            target.unlink(missing_ok=True)
        if error.filename:
            raise
        raise _where(error, out_dir) from error
    return moved


def _where(error: OSError, out_dir: Path) -> OSError:
    return OSError(error.errno, error.strerror, str(out_dir))  # a full disk: name where


def record_report(
    session: Session,
    rendered: Rendered,
    *,
    plan: Plan,
    round_: SupervisionRound | None,
    out_dir: Path,
    settings: Any,
    actor: Actor,
    now: datetime,
    publish: bool = False,
    staged: Staged | None = None,
) -> Compiled:
    """Record the compiled files (and publish on request) in the caller's write transaction."""
    results, files = rendered.results, rendered.files
    report = _record(
        session,
        results,
        plan=plan,
        round_=round_,
        files=files,
        out_dir=out_dir,
        actor=actor,
        now=now,
    )
    published = (
        publish_report(
            session, report, results, settings=settings, actor=actor, now=now, staged=staged
        )
        if publish
        else 0
    )
    if [p.name for p in files] != [f["name"] for f in report.files]:  # the published ones
        files = [Path(report.out_dir) / f["name"] for f in report.files]
    return Compiled(report=report, results=results, files=files, published=published)


STAGING_PREFIX = ".compiling-"
STAGING_STALE_S = 24 * 3600  # no compile runs this long: past it a folder is stale whoever made it
_HOST = re.sub(r"[^A-Za-z0-9]+", "_", __import__("socket").gethostname())[:40] or "host"


def clear_stale_staging(out_dir: Path, *, stale_after_s: float = STAGING_STALE_S) -> list[Path]:
    """Remove staging folders a killed compile left behind: those of a process of this host that is
    gone, and any older than `stale_after_s` (another host's, or the old unnamed ones). A live
    compile's stays."""
    import time

    removed = []
    for folder in out_dir.glob(f"{STAGING_PREFIX}*"):
        if not folder.is_dir():
            continue
        host, pid = _owner(folder.name)
        try:
            age = time.time() - folder.stat().st_mtime
        except FileNotFoundError:
            continue
        if age <= stale_after_s and not (host == _HOST and pid is not None and not _alive(pid)):
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    return removed


def _owner(name: str) -> tuple[str | None, int | None]:
    """(host, pid) from ".compiling-<host>-<pid>-<random>"; (None, None) for a name of another
    shape."""
    parts = name[len(STAGING_PREFIX) :].split("-")
    if len(parts) >= 3 and parts[-2].isdigit():
        return "-".join(parts[:-2]), int(parts[-2])
    return None, None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process, alive
        return True
    return True


def _write_formats(
    results: Results,
    font: str | None,
    formats: list[str],
    folder: Path,
    stem: str,
    *,
    compiled_at: str,
    issue: Issue | None = None,
) -> list[Path]:
    from reports import page
    from reports.charts import charts_for

    # The workbook first: when large it is written in another process, the longest part of a
    # compile.
    workbook = (
        _start_workbook(results, folder / f"{stem}.xlsx", issue) if "xlsx" in formats else None
    )
    charts = charts_for(results, font) if font else []
    written = []
    for chart in charts:
        path = folder / f"{stem}_{chart.name}.png"
        path.write_bytes(chart.png)
        written.append(path)
    for fmt in formats:
        path = folder / f"{stem}.{fmt}"
        if fmt == "html":
            path.write_text(page.html(results, charts, compiled_at, issue), encoding="utf-8")
        elif fmt == "md":
            path.write_text(page.markdown(results, issue), encoding="utf-8")
        elif fmt == "docx":
            from reports.document import write_document

            write_document(results, charts, path, issue)
        written.append(path)
    if workbook is not None:
        workbook()  # waits for the workbook's process; raises what it raised
    return written


def _start_workbook(results: Results, path: Path, issue: Issue | None = None):
    """Write the workbook here, or in a process of its own when it is large, while the other formats
    render.

    The process is a plain `python -m reports.workbook`, not multiprocessing: that would re-import
    the caller's main module, and the caller may be a Prefect worker with threads and open
    connections."""
    import pickle
    import subprocess
    import sys

    from reports.workbook import tables, write_tables

    sheets = tables(results, issue)
    if len(results.items) + len(results.escalations) < PARALLEL_FROM:
        write_tables(sheets, path)
        return lambda: None
    data = path.with_suffix(".tables.pickle")
    data.write_bytes(pickle.dumps(sheets, protocol=pickle.HIGHEST_PROTOCOL))
    process = subprocess.Popen(
        [sys.executable, "-m", "reports.workbook", str(data), str(path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )

    def wait() -> None:
        _, errors = process.communicate()
        data.unlink(missing_ok=True)
        if process.returncode != 0:
            if b"No space left" in errors or b"Errno 28" in errors:
                import errno

                raise OSError(
                    errno.ENOSPC, "No space left on device", str(path)
                )  # one message for a full disk
            raise WorkbookFailed(
                detail=errors.decode("utf-8", "replace").strip().splitlines()[-1:] or "?"
            )

    return wait


def _record(
    session: Session,
    results: Results,
    *,
    plan: Plan,
    round_: SupervisionRound | None,
    files: list[Path],
    out_dir: Path,
    actor: Actor,
    now: datetime,
) -> ResultsReport:
    key = _key(plan, round_, results.as_of)
    report = session.exec(select(ResultsReport).where(ResultsReport.key == key)).first()
    if report is not None and report_state.state_of(report) is not ReportState.DRAFT:
        return report  # its files say what was published (and withdrawn): they stay as they are
    listed = _listing(files)
    before = None
    if report is None:
        report = ResultsReport(
            key=key,
            plan_id=id_of(plan),
            round_id=round_.id if round_ else None,
            as_of=results.as_of,
            compiled_at=utc(now),
            compiled_by=actor.name,
            out_dir=str(out_dir.resolve()),
        )
    else:
        before = {"files": [f["sha256"] for f in report.files]}
    report.compiled_at, report.compiled_by, report.out_dir = (
        utc(now),
        actor.name,
        str(out_dir.resolve()),
    )
    report.files, report.figures = listed, dict(results.headline)
    session.add(report)
    session.flush()
    audit.record(
        session,
        at=now,
        actor=actor,
        action="results.compile",
        object_type="results",
        object_id=report.id,
        before=before,
        after={
            "as_of": results.as_of,
            "files": [f["name"] for f in listed],
            "sha256": [f["sha256"] for f in listed],
            "figures": report.figures,
        },
    )
    return report


def _key(plan: Plan, round_: SupervisionRound | None, as_of: datetime) -> str:
    return f"p{plan.id}:r{round_.id if round_ else '*'}:{as_of.isoformat()}"


def _listing(files: list[Path]) -> list[dict[str, Any]]:
    return [
        {
            "name": p.name,
            "format": p.suffix.lstrip("."),
            "bytes": p.stat().st_size,
            "sha256": hashlib.sha256(p.read_bytes()).hexdigest(),
        }
        for p in files
    ]


def publish_report(
    session: Session,
    report: ResultsReport,
    results: Results,
    *,
    settings: Any,
    actor: Actor,
    now: datetime,
    doc_no: str | None = None,
    staged: Staged | None = None,
) -> int:
    """The results-published notice to every unit in the report (liaison and head) and to the
    leaders. A draft is numbered (期号, 文号) here and its numbered files (`staged`, or rendered
    here when none were or their numbers were taken meanwhile) recorded and moved in last;
    publishing again only re-sends (deduped) and rewrites nothing."""
    first = report_state.state_of(report) is not ReportState.PUBLISHED
    own = None
    try:
        if first:  # a withdrawn one is refused by the state table
            issue = report_state.publish(
                session,
                report,
                now=now,
                timezone=settings.timezone,
                prefix=settings.report_doc_prefix,
                doc_no=doc_no,
            )
            _same_figures(report, results)
            if not _fits(staged, issue, Path(report.out_dir)):
                staged = own = stage_files(
                    results,
                    formats=formats_of(report),
                    out_dir=Path(report.out_dir),
                    settings=settings,
                    compiled_at=report.compiled_at,
                    issue=issue,
                )
            assert staged is not None
            report.files = _listing(staged.files)
            session.add(report)
        queued = _notify(session, report, results, settings=settings, actor=actor, now=now)
        if staged is not None and first:
            _move_in(staged, Path(report.out_dir), undo=True)  # last: a failure before keeps all
    finally:
        if own is not None:
            shutil.rmtree(own.folder, ignore_errors=True)
    return queued


def formats_of(report: ResultsReport) -> list[str]:
    """The formats a report was compiled in (its charts come with the HTML and the document)."""
    recorded = {f["format"] for f in report.files}
    return [f for f in FORMATS if f in recorded]


def _fits(staged: Staged | None, issue: Issue, out_dir: Path) -> bool:
    return (
        staged is not None
        and staged.issue == issue
        and staged.folder.parent.resolve() == out_dir.resolve()
    )


def _same_figures(report: ResultsReport, results: Results) -> None:
    """The files published are the draft the office read: refuse when the replay differs (the
    rules or the history changed since it was compiled)."""

    def plain(value: Any) -> Any:
        return json.loads(json.dumps(value, default=str))

    now, then = plain(results.headline), plain(report.figures)
    changed = sorted(k for k in now.keys() | then.keys() if now.get(k) != then.get(k))
    if changed:
        raise FiguresChanged(
            report=report.id,
            keys=", ".join(changed),
            keys_zh="、".join(FIGURES.get(k, k) for k in changed),
        )


def _notify(
    session: Session,
    report: ResultsReport,
    results: Results,
    *,
    settings: Any,
    actor: Actor,
    now: datetime,
) -> int:
    names = {u.name for u in results.units}
    found = list(session.exec(select(Unit.id).where(col(Unit.name).in_(names)))) if names else []
    unit_ids = [i for i in found if i is not None]
    targets: list[Recipient] = []
    for role in (ContactRole.LIAISON, ContactRole.HEAD):
        targets += unit_contacts(session, unit_ids, role).values()
    rules = settings.cycle
    targets.append(
        Recipient(None, "office_head", f"{settings.office_name}负责同志", rules.office_head_email)
    )
    if rules.leading_group_email:
        targets.append(Recipient(None, "leading_group", "领导小组", rules.leading_group_email))
    payload = {
        "round": round_payload(
            results.round_name or "全部轮次", results.report_by or results.as_of_day
        ),
        "plan": {"title": results.plan_title},
        "figures": results.notice_figures(),
        # The link is made when the message is rendered (notifications.links).
        "report_id": report.id,
    }
    messages = [
        message(
            "results_published",
            f"results:{report.id}:{t.role}:u{t.unit_id or 0}:{t.email}",
            t,
            payload,
        )
        for t in targets
    ]
    queued = enqueue_many(session, messages, now=now)
    audit.record(
        session,
        at=now,
        actor=actor,
        action="results.publish",
        object_type="results",
        object_id=report.id,
        after={
            "recipients": len(messages),
            "queued": queued,
            "issue_no": report.issue_no,
            "doc_no": report.doc_no,
            "files": [f["name"] for f in report.files],
            "sha256": [f["sha256"] for f in report.files],
        },
    )
    return queued


def _results_of(session: Session, report: ResultsReport, settings: Any) -> Results:
    """The figures the record was compiled from: the replay is deterministic as of its moment."""
    plan = session.get_one(Plan, report.plan_id)
    round_ = session.get(SupervisionRound, report.round_id) if report.round_id else None
    return figures.compute(
        session,
        plan=plan,
        round_=round_,
        as_of=report.as_of,
        timezone=settings.timezone,
        rules=settings.cycle,
        issuer=settings.office_name,
        scoring=settings.scoring,
    )


def _report(session: Session, report_id: int) -> ResultsReport:
    report = session.get(ResultsReport, report_id)
    if report is None:
        raise NotFound(kind_zh="通报", kind="report", key=f"#{report_id}")
    return report


def publish_draft(
    engine: Engine,
    report_id: int,
    *,
    settings: Any,
    actor: Actor,
    now: datetime,
    doc_no: str | None = None,
) -> ResultsReport:
    """Publish a compiled draft: replay and number in a read transaction, render the numbered files
    outside any, then number, record, move them in and notify in a short write."""
    with reading(engine) as session:
        draft = _report(session, report_id)
        report_state.check(draft, report_state.ReportAction.PUBLISH)
        results = _results_of(session, draft, settings)
        _same_figures(draft, results)  # before rendering anything
        issue = report_state.numbers(
            session,
            plan_id=draft.plan_id,
            report_id=draft.id,
            now=now,
            timezone=settings.timezone,
            prefix=settings.report_doc_prefix,
            doc_no=doc_no,
        )
        formats, out_dir, compiled_at = formats_of(draft), Path(draft.out_dir), draft.compiled_at
    staged = stage_files(
        results,
        formats=formats,
        out_dir=out_dir,
        settings=settings,
        compiled_at=compiled_at,
        issue=issue,
    )
    try:
        with unit_of_work(engine) as session:
            report = _report(session, report_id)
            report_state.check(report, report_state.ReportAction.PUBLISH)  # a race lost: say so
            publish_report(
                session,
                report,
                results,
                settings=settings,
                actor=actor,
                now=now,
                doc_no=doc_no,
                staged=staged,
            )
            session.flush()
            session.expunge(report)
            return report
    finally:
        shutil.rmtree(staged.folder, ignore_errors=True)


def withdraw_published(
    engine: Engine, report_id: int, *, reason: str | None, actor: Actor, now: datetime
) -> ResultsReport:
    """Withdraw a published 通报 with its reason; the record, its files and numbers stay."""
    with unit_of_work(engine) as session:
        report = _report(session, report_id)
        report_state.withdraw(session, report, now=now, actor_name=actor.name, reason=reason)
        audit.record(
            session,
            at=now,
            actor=actor,
            action="results.withdraw",
            object_type="results",
            object_id=report.id,
            before={"state": "published"},
            after={
                "state": "withdrawn",
                "reason": report.withdraw_reason,
                "issue_no": report.issue_no,
                "doc_no": report.doc_no,
            },
        )
        session.flush()
        session.expunge(report)
        return report
