"""`duban dispatch` and `duban notifications list|show|retry|preview`: the outbox, for the
office."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.common import JsonOption, NowOption, actor_for, engine_for, now_from, settings
from cli.output import emit_json, say, show

notifications_app = typer.Typer(help="通知发件箱 / the outbox of messages", no_args_is_help=True)


def dispatch_command(
    now: NowOption = None,
    limit: Annotated[
        int | None, typer.Option("--limit", help="最多发送条数 / at most this many")
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """发送到期的通知 / Send the messages that are due (retries with backoff; failures
    dead-lettered)."""
    import os
    import socket
    from dataclasses import asdict

    from models.clock import utc_now
    from notifications.channels import channel_for
    from notifications.dispatch import dispatch, running_from

    config = settings()
    engine = engine_for(config)
    report = dispatch(
        engine,
        channel_for(config),
        config,
        now=running_from(now_from(now)) if now else utc_now,
        worker=f"{socket.gethostname()}:{os.getpid()}",
        limit=limit,
    )
    if json_output:
        emit_json(asdict(report))
        return
    if report.held:
        say(
            f"暂不发送：{report.held.split(' / ')[0]}（DUBAN_DISPATCH_IN_WORKING_HOURS=false "
            "可随时发送）",
            f"held: {report.held.split(' / ')[-1]} (DUBAN_DISPATCH_IN_WORKING_HOURS=false "
            "sends at any hour)",
        )
        return
    say(
        f"已发送 {report.sent} 条，待重试 {report.retried} 条，失败 {report.dead} "
        f"条（渠道：{config.mail_channel}）",
        f"sent {report.sent}, to retry {report.retried}, dead {report.dead} (channel: "
        f"{config.mail_channel})",
    )
    if report.maybe_sent:
        say(
            f"可能已送达 {report.maybe_sent} 条：服务器收下全文后未答复，退避后以同一 Message-ID "
            "重发，收件人可能收到两份",
            f"maybe sent {report.maybe_sent}: the server took the whole message and never "
            "answered; resent after the backoff under the same Message-ID, so it may arrive twice",
        )
    if report.fell_back:
        say(
            f"改由下一渠道发送 {report.fell_back} 条（原渠道失败，见 duban notifications list）",
            f"{report.fell_back} moved to the next channel of the person's list",
        )
    if report.rate_limited:
        say(
            f"机器人每分钟限额已满，{report.rate_limited} 条稍后发送",
            f"{report.rate_limited} wait for their robot's per-minute limit",
        )
    if report.taken_over:
        say(
            f"另一发送进程已接手 {report.taken_over} 条，本次未发送",
            f"{report.taken_over} taken over by another dispatcher, not sent here",
        )
    if report.breaker:
        say(
            f"连续失败，本次停止发送（熔断）：{report.breaker}；其余 {report.deferred} "
            "条退避后再发",
            f"stopped after {report.breaker}; {report.deferred} more wait for the backoff",
        )
    for error in report.errors[:20]:
        show(f"  {error}")


@notifications_app.command("list")
def notifications_list(
    status: Annotated[
        str | None, typer.Option("--status", help="pending|claimed|sent|dead|merged")
    ] = None,
    kind: Annotated[str | None, typer.Option("--kind", help="消息类型 / message kind")] = None,
    limit: Annotated[int, typer.Option("--limit")] = 50,
    json_output: JsonOption = False,
) -> None:
    """列出通知 / List outbox rows, newest first."""
    from sqlmodel import col, select

    from models.db import reading
    from models.notification import Notification

    query = select(Notification).order_by(col(Notification.id).desc()).limit(limit)
    if status:
        query = query.where(Notification.status == status)
    if kind:
        query = query.where(Notification.kind == kind)
    with reading(engine_for(settings())) as session:
        rows = [_row(n) for n in session.exec(query)]
    if json_output:
        emit_json(rows)
        return
    for r in rows:
        error = f"  ⚠ {r['last_error']}" if r["last_error"] else ""
        maybe = f"，可能已送达{r['maybe_sent']}次" if r["maybe_sent"] else ""
        way = f"  {r['path_text']}" if r["channel"] != "email" or len(r["path"]) > 1 else ""
        if r["merged_into"]:  # over the person's daily budget (models.budget)
            way += f"  已并入#{r['merged_into']}合并发送"
        show(
            f"#{r['id']} [{r['status']}] {r['kind']} → {r['recipient_name'] or ''} "
            f"<{r['recipient_email']}> "
            f"尝试{r['attempts']}次{maybe}{way}{error}"
        )
    if not rows:
        say("没有符合条件的通知", "no messages match")


def _row(n) -> dict:
    from models.notification import path_text

    return {"path_text": path_text(n.path, n.channel, n.status)} | {
        k: getattr(n, k)
        for k in (
            "id",
            "kind",
            "status",
            "recipient_name",
            "recipient_email",
            "channel",
            "address",
            "path",
            "unit_id",
            "attempts",
            "maybe_sent",
            "next_attempt_at",
            "sent_at",
            "last_error",
            "dedup_key",
            "merged_into",
            "message_id",
            "subject",
            "created_at",
        )
    }


@notifications_app.command("show")
def notifications_show(
    notification_id: Annotated[int, typer.Argument(help="通知编号 / id")],
    json_output: JsonOption = False,
) -> None:
    """查看一条通知及其正文 / Show one message as it is (or will be) sent."""
    from models.db import reading
    from models.errors import NotFound
    from models.notification import Notification
    from notifications.render import render

    config = settings()
    with reading(engine_for(config)) as session:
        n = session.get(Notification, notification_id)
        if n is None:
            raise NotFound(kind="notification", kind_zh="通知", key=f"#{notification_id}")
        row = _row(n)
        rendered = render(
            n.kind,
            n.lang,
            n.payload,
            office=config.office_name,
            portal_url=config.portal_url,
            recipient_name=n.recipient_name,
            created_at=n.created_at,
        )
    if json_output:
        emit_json(row | {"rendered_subject": rendered.subject, "text": rendered.text})
        return
    for key, value in row.items():
        if value not in (None, ""):
            show(f"{key}: {value}")
    show(f"\n{rendered.subject}\n")
    show(rendered.text)


@notifications_app.command("retry")
def notifications_retry(
    ids: Annotated[list[int] | None, typer.Argument(help="通知编号 / ids")] = None,
    all_dead: Annotated[
        bool, typer.Option("--all-dead", help="重试全部失败通知 / every dead-lettered message")
    ] = False,
    now: NowOption = None,
) -> None:
    """重新发送失败的通知 / Put dead-lettered messages back in the queue (a fresh budget of
    attempts)."""
    from models.db import unit_of_work
    from models.outbox import retry_dead

    if not ids and not all_dead:
        raise typer.BadParameter("给出通知编号或 --all-dead / give ids or --all-dead")
    config = settings()
    with unit_of_work(engine_for(config)) as session:
        chosen = retry_dead(
            session, ids=list(ids) if ids else None, actor=actor_for(config), now=now_from(now)
        )
    say(f"已重新排队 {len(chosen)} 条通知", f"{len(chosen)} messages queued again")


@notifications_app.command("preview")
def notifications_preview(
    kind: Annotated[str, typer.Argument(help="消息类型 / kind")],
    lang: Annotated[str, typer.Option("--lang")] = "zh",
    html: Annotated[bool, typer.Option("--html", help="输出 HTML 正文 / the HTML body")] = False,
) -> None:
    """用示例数据预览模板 / Render a template with its sample payload."""
    from models.clock import utc_now
    from notifications.render import render
    from notifications.samples import SAMPLES

    if kind not in SAMPLES:
        raise typer.BadParameter(
            f"{kind!r}；可选 / one of: {', '.join(SAMPLES)}", param_hint="KIND"
        )
    config = settings()
    rendered = render(
        kind,
        lang,
        SAMPLES[kind],
        office=config.office_name,
        portal_url=config.portal_url,
        recipient_name="联络员",
        created_at=utc_now(),
    )
    show(rendered.subject + "\n")
    show(rendered.html if html else rendered.text)
