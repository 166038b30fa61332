"""What a flow run did, in the office's words: its figures turned into Chinese lines.

The flows (flows/cycle.py) log these lines to Prefect's run logger, so the Prefect UI of a
deployment shows what each run did, e.g.
    开启轮次 1 个，催报 12 条，督办 第一级 3 项、第二级 1 项，发送消息 40 条
Pure functions of the dictionaries the flows return: no Prefect here, testable alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import PurePath
from typing import Any

LEVEL_WORDS = {"1": "第一级", "2": "第二级", "3": "第三级"}


def _zh(reason: str) -> str:
    """The Chinese half of a "中文 / English" reason."""
    return reason.partition(" / ")[0]


def joined(parts: Iterable[str | None]) -> str:
    """One line of the parts there are, as the office writes a list: 甲，乙，丙."""
    return "，".join(p for p in parts if p)


def rounds_opened(periods: Iterable[Mapping[str, Any]]) -> str:
    """开启轮次 N 个: the rounds this run created (a period already open is not counted again)."""
    return f"开启轮次 {sum(1 for p in periods if p.get('created'))} 个"


def reminders(run: Mapping[str, Any]) -> str:
    """催报 N 条: the reminder digests queued (one per unit liaison and day)."""
    return f"催报 {run.get('enqueued', 0)} 条"


def escalations(counts: Mapping[str, Any]) -> str:
    """督办 第一级 3 项、第二级 1 项: the items raised this run, by the level they reached."""
    by_level = [
        f"{word} {counts[level]} 项" for level, word in LEVEL_WORDS.items() if counts.get(level)
    ]
    return "督办 " + "、".join(by_level) if by_level else "督办 0 项"


def messages(report: Mapping[str, Any] | None) -> str | None:
    """发送消息 N 条, and what did not go (待重试, 失败); None when nothing was dispatched."""
    if report is None:
        return None
    tail = [
        f"{word} {report[key]} 条"
        for key, word in (("retried", "待重试"), ("dead", "失败"), ("maybe_sent", "待确认"))
        if report.get(key)
    ]
    return joined([f"发送消息 {report.get('sent', 0)} 条", *tail])


def reports(compiled: Iterable[Mapping[str, Any]]) -> str:
    """生成通报 N 份，文件 M 个."""
    done = list(compiled)
    files = sum(len(r.get("files", ())) for r in done)
    return f"生成通报 {len(done)} 份，文件 {files} 个"


def _period_line(period: Mapping[str, Any]) -> str:
    name = f"{period['name']}（报送截止 {period['report_by']}）"
    if period.get("skipped"):
        return f"{name}：未开启，{period['skipped']}"
    if not period.get("created"):
        return f"{name}：已开启过，未重复开启"
    return f"{name}：报送事项 {period.get('checkins', 0)} 条，通知 {period.get('notices', 0)} 条"


def _held(report: Mapping[str, Any] | None) -> list[str]:
    if report and report.get("held"):
        return [f"消息暂缓发送：{_zh(report['held'])}"]
    return []


def open_round_lines(result: Mapping[str, Any]) -> list[str]:
    """The open_round flow: on the schedule its periods, or the one round it was asked for."""
    if "periods" in result:
        periods = result["periods"]
        details = [f"{p['plan']} {_period_line(p)}" for p in periods] or ["今日无到期的报送周期"]
        dispatch = result.get("dispatch")
        return [joined([rounds_opened(periods), messages(dispatch)]), *details, *_held(dispatch)]
    if not result.get("created"):
        return ["开启轮次 0 个（该轮次已开启过，未重复开启）"]
    return [
        joined(
            [
                rounds_opened([result]),
                f"报送事项 {result.get('checkins', 0)} 条",
                f"通知 {result.get('notices', 0)} 条",
            ]
        )
    ]


def reminder_lines(result: Mapping[str, Any]) -> list[str]:
    """The send_reminders flow."""
    run, dispatch = result["reminders"], result.get("dispatch")
    lines = [joined([reminders(run), messages(dispatch)])]
    if run.get("skipped"):
        lines.append(f"未催报：{_zh(run['skipped'])}")
    return lines + _held(dispatch)


def escalation_lines(result: Mapping[str, Any]) -> list[str]:
    """The escalate_stalled flow."""
    counts, dispatch = result["escalations"], result.get("dispatch")
    lines = [joined([escalations(counts), messages(dispatch)])]
    lines.append(f"滞后事项 {counts.get('stalled', 0)} 项，本次升级 {counts.get('raised', 0)} 项")
    return lines + _held(dispatch)


def dispatch_lines(result: Mapping[str, Any]) -> list[str]:
    """The dispatch_notifications flow."""
    return [messages(result) or "发送消息 0 条", *_held(result)]


def compile_lines(result: Mapping[str, Any]) -> list[str]:
    """The compile_results flow: the count, then each 通报 with its files' names."""
    compiled, dispatch = result["reports"], result.get("dispatch")
    lines = [joined([reports(compiled), messages(dispatch)])]
    for report in compiled:
        names = "、".join(PurePath(f).name for f in report.get("files", ()))
        scope = report["plan"] + (f" {report['round']}" if report.get("round") else "")
        published = f"，发布通知 {report['published']} 条" if report.get("published") else ""
        lines.append(f"通报（{scope}）：{names or '无文件'}{published}")
    return lines


LINES = {
    "open_round": open_round_lines,
    "send_reminders": reminder_lines,
    "escalate_stalled": escalation_lines,
    "dispatch_notifications": dispatch_lines,
    "compile_results": compile_lines,
}


def lines_of(flow: str, result: Mapping[str, Any]) -> list[str]:
    """What the flow of that name logs about a run that returned `result`."""
    return LINES[flow](result)
