"""The Chinese labels people read for duban's codes: states, roles, actions, audit actions, actors,
unit kinds, field names, the 通报's figures; and the one way a stored time is shown (the office's
zone, never UTC).

The portal (Jinja filters, web/deps.py) and the CLI's printing both read these tables, so a code
has one label wherever it is shown. A code with no label is shown as 其他（…） rather than raw,
so a new code is visible as missing without breaking a page.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Final
from zoneinfo import ZoneInfo

STATES: Final[dict[str, str]] = {
    "assigned": "已交办",
    "in_progress": "办理中",
    "reported": "已报结",
    "verified": "已核验",
    "closed": "已销号",
}
CHECKIN_STATES: Final[dict[str, str]] = {
    "pending": "待报送",
    "submitted": "已报送待审核",
    "accepted": "审核通过",
    "returned": "已退回",
}
ROUND_STATES: Final[dict[str, str]] = {"open": "进行中", "closed": "已结束"}
# The light of an item or a task (models/lights.py), in words beside its colour and shape.
LIGHTS: Final[dict[str, str]] = {
    "green": "绿灯",
    "yellow": "黄灯",
    "red": "红灯",
    "grey": "暂停",  # a suspended item's clock stops (models/suspensions.py)
}
# The assignment's role in its task (牵头 / 负责 / 配合).
ASSIGNMENT_ROLES: Final[dict[str, str]] = {
    "lead": "牵头",
    "responsible": "负责",
    "cooperating": "配合",
}
USER_ROLES: Final[dict[str, str]] = {
    "office_admin": "办公室管理员",
    "office_staff": "督办员",
    "unit": "单位联络员",
    "leader": "领导",
    "auditor": "审计员",
    "system": "系统",
}
ACTIONS: Final[dict[str, str]] = {
    "sign": "签收",
    "progress": "报送进展",
    "report": "报送办结",
    "verify": "核验通过",
    "return": "退回",
    "close": "销号",
    "reopen": "重新打开",
}
UNIT_KINDS: Final[dict[str, str]] = {
    "department": "部门",
    "town": "镇（区、街道）",
    "group": "单位组",
}
CONTACT_ROLES: Final[dict[str, str]] = {"liaison": "联络员", "head": "分管领导"}
OUTCOMES: Final[dict[str, str]] = {"ok": "成功", "refused": "被拒绝", "failed": "失败"}
# Every action code written to the audit trail (tests/test_every_page.py checks the code writes no
# other), as the trail's readers say it.
AUDIT_ACTIONS: Final[dict[str, str]] = {
    "assignment.create": "交办",
    "assignment.update": "通知重新导入，分工调整",
    "assignment.restore": "通知重新导入，恢复分工",
    "assignment.withdraw": "通知重新导入，撤销分工",
    "assignment.sign": "签收",
    "assignment.progress": "报送进展",
    "assignment.report": "报送办结",
    "assignment.verify": "核验通过",
    "assignment.return": "退回办结报告",
    "assignment.close": "销号",
    "assignment.reopen": "重新打开",
    "checkin.submit": "填报本轮报送",
    "checkin.accept": "本轮报送审核通过",
    "checkin.withdraw": "撤回本轮报送",
    "checkin.return": "本轮报送被退回",
    "extension.request": "申请延期",
    "extension.approve": "批准延期",
    "extension.reject": "不予延期",
    "decline.request": "申请退办",
    "decline.reassign": "退办改派",
    "decline.change_role": "退办调整分工角色",
    "decline.reject": "不予退办",
    "directive.add": "领导批示",
    "directive.reply": "回复领导批示",
    "directive.close": "领导批示办结",
    "escalation.raise": "发起督办",
    "escalation.resolve": "督办办结",
    "escalation.note": "督办事项备注",
    "escalation.consult": "记录会商结果",
    "escalation.close": "办结督办单",
    "round.open": "开启督导轮次",
    "plan.cadence": "设定报送周期",
    "round.close": "结束督导轮次",
    "results.compile": "生成通报",
    "results.publish": "发布通报",
    "results.withdraw": "撤回通报",
    "plan.import": "导入通知",
    "plan.update": "更新通知",
    "plan.archive": "归档计划",
    "task.create": "新增任务",
    "task.update": "修改任务",
    "task.assign": "分配任务",
    "task.withdraw": "撤销任务",
    "unit.create": "新增单位",
    "unit.update": "修改单位",
    "unit.adopt": "合并或改名单位",
    "user.create": "新增用户",
    "user.disable": "停用用户",
    "user.password": "修改密码",
    "user.enable": "启用用户",
    "user.role": "变更角色",
    "login": "登录",
    "logout": "退出登录",
    "login.failed": "登录失败",
    "login.throttled": "登录受限",
    "login.throttle.clear": "解除登录限制",
    "token.issue": "签发访问令牌",
    "token.revoke": "吊销访问令牌",
    "access.refused": "越权访问被拒绝",
    "action.refused": "操作被拒绝",
    "notification.dead": "通知发送失败（已放弃）",
    "notification.retry": "通知重新发送",
    "notification.fallback": "通知改投下一渠道",
    "reminder.enqueue": "生成提醒",
    "nudge.send": "一键催办",
    "suspension.suspend": "暂停计时",
    "suspension.resume": "恢复计时",
    "schema.upgrade": "数据库升级",
}
# A plan's (or a task's) reporting cadence (models/cadence.py); how a rest-day due day moves.
CADENCES: Final[dict[str, str]] = {
    "once": "仅一次（不定期，由办公室开启）",
    "monthly": "每月",
    "quarterly": "每季度",
    "half_yearly": "每半年",
}
CADENCE_ADJUSTS: Final[dict[str, str]] = {
    "none": "不调整",
    "later": "遇节假日顺延至下一个工作日",
    "earlier": "遇节假日提前至前一个工作日",
}
# An item's clock (models.suspensions.Pause).
PAUSES: Final[dict[str, str]] = {"running": "正常计时", "suspended": "暂停计时"}
# The channels a message goes by (models.recipients routes each row to one).
CHANNELS: Final[dict[str, str]] = {
    "email": "邮件",
    "wecom": "企业微信",
    "dingtalk": "钉钉",
    "sms": "短信",
}

# The kinds of message in the outbox (one per template under notifications/templates/).
MESSAGE_KINDS: Final[dict[str, str]] = {
    "escalation_blue": "蓝色督办提醒",
    "escalation_yellow": "黄色督办催办",
    "escalation_red": "红色督办",
    "extension_decided": "延期审批结果",
    "overdue": "逾期提醒",
    "reminder": "报送提醒",
    "nudge": "催办通知",
    "directive": "领导批示",
    "report_returned": "报告退回",
    "results_published": "通报发布",
    "round_opened": "轮次开启",
    "combined": "督办消息汇总（当日条数已满，合并发送）",
}
# What an audit event is about (its object_type).
OBJECT_TYPES: Final[dict[str, str]] = {
    "assignment": "任务分工",
    "checkin": "报送",
    "evidence": "佐证材料",
    "extension": "延期申请",
    "decline": "退办申请",
    "directive": "领导批示",
    "escalation": "督办",
    "login_throttle": "登录限制",
    "notification": "通知",
    "results": "通报",
    "round": "督导轮次",
    "route": "页面",
    "schema": "数据库",
    "unit": "单位",
    "user": "用户",
    "web_session": "登录会话",
    "token": "访问令牌",
    "plan": "通知文件",
    "task": "任务",
}
# Field names as the pages and messages name them.
FIELDS: Final[dict[str, str]] = {
    "title": "标题",
    "deadline": "时限",
    "units": "单位",
    "units_text": "责任单位",
    "content": "具体内容",
    "category": "类别",
    "reason": "理由",
    "until": "延期至",
}

# The 通报's headline figures (reports/results.py `_headline`, `_office_figures`) as its 汇总 names
# them (reports/workbook.py): the refusal to publish a changed draft and the audit page both say
# these. Inside a figure `pending` is 未到期 (not 待分工任务) and `1` is a level.
FIGURES: Final[dict[str, str]] = {
    "tasks": "任务",
    "assignments": "任务分工",
    "checkins": "应报送",
    "on_time": "按时报送",
    "late": "逾期报送",
    "missing": "未报送",
    "pending": "未到期",
    "verified": "审核确认",
    "returned": "退回修改",
    "overdue": "逾期未报",
    "completion_rate": "完成率",
    "on_time_rate": "按时报送率",
    "escalations": "督办事项",
    "open_escalations": "未办结督办事项",
    "office_review": "办公室待审核",
    "suspended": "暂停中",
    "task_lights": "任务灯",
    "items": "件数",
    "longest_days": "最长已等工作日",
    "past_limit": "超过审核时限",
    "1": "蓝色提醒",
    "2": "黄色催办",
    "3": "红色提请协调",
}


def reminder_stage(stage: str) -> str:
    """A reminder's step (models.reminders: t-N, due, overdue) as the office says it."""
    if stage == "due":
        return "截止当日"
    if stage == "overdue":
        return "已逾期"
    if stage.startswith("t-") and stage[2:].isdigit():
        return f"截止前{int(stage[2:])}个工作日"
    return f"其他（{stage}）"


def label(table: dict[str, str], code: object) -> str:
    """The label of `code` in `table`; an unknown code as 其他（code）, a missing one as —."""
    if code is None or code == "":
        return "—"
    key = getattr(code, "value", code)
    return table.get(str(key), f"其他（{key}）")


def actor_label(actor: str | None) -> str:
    """Who acted, as a person reads it: the console, the scheduler, a liaison, or a user's name."""
    if not actor:
        return "—"
    if actor.startswith("cli:"):
        return "命令行（系统管理员）"
    if actor == "system":
        return "系统（定时任务）"
    if actor.startswith("liaison:"):
        return f"{actor.removeprefix('liaison:')}联络员"
    return actor


def local_time(moment: datetime | date | str | None, zone: str, style: str = "minute") -> str:
    """A stored time in the office's zone: `minute` 2022-09-01 10:00, `second` with seconds, `day`
    the date alone. A naive datetime is UTC (how the database hands SQLite's back)."""
    if moment is None:
        return "—"
    if isinstance(moment, str):  # already shown as a person reads it
        return moment
    if not isinstance(moment, datetime):
        return moment.isoformat()
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo("UTC"))
    shown = moment.astimezone(ZoneInfo(zone))
    pattern = {"day": "%Y-%m-%d", "second": "%Y-%m-%d %H:%M:%S"}.get(style, "%Y-%m-%d %H:%M")
    return shown.strftime(pattern)
