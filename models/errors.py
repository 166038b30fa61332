"""Named errors of the domain, each with a Chinese and an English message.

The CLI and the portal show `error.message(lang)`; the message names the
object, its state and the action, so a user knows what to do next.
"""

from __future__ import annotations

from typing import Any, ClassVar


class DubanError(Exception):
    """Base of every error duban reports to a user."""

    zh: ClassVar[str] = "{detail}"
    en: ClassVar[str] = "{detail}"
    exit_code: ClassVar[int] = 1

    def __init__(self, **params: Any) -> None:
        self.params = params
        super().__init__(self.message("en"))

    def message(self, lang: str = "zh") -> str:
        template = self.zh if lang == "zh" else self.en
        return template.format(**self.params)


class NotFound(DubanError):
    zh = "未找到{kind_zh}：{key}"
    en = "{kind} not found: {key}"
    exit_code = 3


class TransitionNotAllowed(DubanError):
    zh = "{subject_zh}当前状态为“{state_zh}”，不能执行“{action_zh}”。"
    en = "{subject} is {state}; the action '{action}' is not allowed"
    exit_code = 4


class NotPermitted(DubanError):
    zh = "{actor}（{role_zh}）无权对{subject_zh}执行“{action_zh}”。"
    en = "{actor} ({role}) may not {action} {subject}"
    exit_code = 4


class GuardFailed(TransitionNotAllowed):
    """A transition the table allows, refused by a rule of the office."""

    zh = "{subject_zh}不能执行“{action_zh}”：{why_zh}"
    en = "{subject} cannot {action}: {why}"


class FilingRequired(GuardFailed):
    """Progress and completion are filed as a check-in, never taken as a bare action."""

    zh = "{subject_zh}不能直接执行“{action_zh}”：请填写报送表报送{what_zh}，由办公室审核。"
    en = "{subject} cannot {action} by itself: file a {what} check-in for the office to review"


class ReasonRequired(DubanError):
    zh = "“{action_zh}”必须填写理由。"
    en = "the action '{action}' needs a reason"
    exit_code = 2


class ConcurrentChange(DubanError):
    zh = "{subject_zh}已被他人修改（您看到的是第 {expected} 版），请刷新后重试。"
    en = "{subject} was changed by someone else (you saw version {expected}); reload and try again"
    exit_code = 5


class ConfigError(DubanError):
    zh = "配置错误：{detail}"
    en = "configuration error: {detail}"
    exit_code = 2

    def message(self, lang: str = "zh") -> str:
        # A detail written "中文 / English" shows each reader their half.
        zh, _, en = str(self.params.get("detail", "")).partition(" / ")
        return (self.zh if lang == "zh" else self.en).format(
            detail=zh if lang == "zh" or not en else en
        )


class DatabaseNotReady(DubanError):
    zh = "数据库尚未初始化或版本过旧（{url}），请先运行 duban init。"
    en = "the database at {url} is not initialised or out of date; run 'duban init' first"
    exit_code = 2


class ReportDateTooEarly(DubanError):
    """A round whose date has passed would make every check-in overdue the moment it opens."""

    zh = "报送截止日期 {report_by} 早于开启日 {today}：请选择开启日当天或之后的日期。"
    en = (
        "the report-by date {report_by} is before the opening day {today}: choose that day or later"
    )
    exit_code = 2


class TextTooLong(DubanError):
    """A name longer than its column holds (PostgreSQL would refuse it; SQLite would keep it
    all)."""

    zh = "{what_zh}过长：{length} 个字符，最多 {limit} 个。"
    en = "the {what} is too long: {length} characters, at most {limit}"
    exit_code = 2
