"""The one settings class: environment (`DUBAN_*`) over TOML files over defaults.

Precedence, highest first: constructor arguments (tests), `DUBAN_*`
environment variables, `$DUBAN_HOME/duban.toml` (the site's own file), then
`config/defaults.toml` shipped with the code.
"""

from __future__ import annotations

import os
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

if TYPE_CHECKING:
    from models.calendar import WorkingCalendar

CONFIG_DIR = Path(__file__).resolve().parent
DEFAULTS_FILE = CONFIG_DIR / "defaults.toml"


def _home_from_env() -> Path:
    return Path(os.environ.get("DUBAN_HOME", "var")).expanduser().resolve()


class CycleRules(BaseModel):
    """The office's rules for a supervision round, in working days unless named otherwise."""

    model_config = ConfigDict(
        extra="forbid"
    )  # a mistyped key in duban.toml is refused, not ignored
    cooperating_lead_days: int = Field(
        default=2, ge=0, description="cooperating units report this much earlier"
    )
    reminder_before: list[int] = Field(
        default=[3, 1], description="reminders T-n before the due day"
    )
    overdue_every: int = Field(
        default=2, ge=1, description="while overdue, a reminder every n working days"
    )
    warning_days: int = Field(
        default=3, ge=0, description="yellow light when due within this window"
    )
    pace_tolerance: float = Field(
        default=0.1, ge=0, le=1, description="yellow when this far behind the expected pace"
    )
    grace_days: int = Field(default=2, ge=0, description="overdue longer than this: stalled")
    unsigned_days: int = Field(default=3, ge=1, description="not signed for after this: stalled")
    idle_days: int = Field(default=10, ge=1, description="no activity for this long: stalled")
    returns_to_stall: int = Field(default=2, ge=1, description="returned this many times: stalled")
    unreviewed_days: int = Field(
        default=3, ge=1, description="a report not reviewed by the office this long: stalled"
    )
    escalation_step_days: int = Field(
        default=2, ge=0, description="at least this long between two levels"
    )
    cadence_open_days: int = Field(
        default=10,
        ge=1,
        le=20,
        description="a cadence period's round opens this long before it falls due (models/cadence)",
    )
    extension_max_days: int = Field(
        default=366,
        ge=1,
        description="an extension moves a due date at most this far (calendar days)",
    )
    working_hours: tuple[str, str] = Field(
        default=("08:30", "17:30"), description="messages go out only then"
    )
    nudge_cooldown_hours: int = Field(
        default=24, ge=0, description="一键催办: a unit is nudged at most once this many hours"
    )
    office_email: str = Field(
        default="office@localhost", description="the office: red escalations, unreviewed reports"
    )
    office_head_email: str = Field(
        default="office-head@localhost", description="the office's own head"
    )
    leading_group_email: str | None = Field(
        default=None, description="the leading group, copied on red escalations"
    )
    _calendar: WorkingCalendar | None = PrivateAttr(default=None)

    @property
    def calendar(self) -> WorkingCalendar:
        """The working days these rules count in: their settings' calendar
        (`Settings.working_calendar`); rules made on their own count on the statutory calendar
        alone."""
        # Read from pydantic's private store directly: lights ask this once per assignment, and the
        # generic attribute path costs more than the rule itself.
        calendar: WorkingCalendar | None = (self.__pydantic_private__ or {}).get("_calendar")
        if calendar is None:
            from models.calendar import STATUTORY

            return STATUTORY
        return calendar

    @field_validator("reminder_before")
    @classmethod
    def _reminders_come_before(cls, steps: list[int]) -> list[int]:
        bad = [n for n in steps if n < 1]
        if bad:
            raise ValueError(
                f"提醒提前的工作日数应为正整数，不能是 {bad[0]} / every step must be a whole "
                f"number of working days of at least 1, not {bad[0]}"
            )
        return sorted(set(steps), reverse=True)

    @field_validator("working_hours")
    @classmethod
    def _hours_are_times(cls, hours: tuple[str, str]) -> tuple[str, str]:
        import re

        normal = []
        for text in hours:
            # "8:30" is what an office writes for 08:30: taken as that; anything else is refused by
            # name.
            found = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*", str(text))
            if not found or int(found[1]) > 23 or int(found[2]) > 59:
                raise ValueError(
                    f"“{text}”不是时刻，应写作 HH:MM，如 08:30 / {text!r} is not a time: write "
                    "HH:MM, e.g. 08:30"
                )
            normal.append(f"{int(found[1]):02d}:{found[2]}")
        if normal[0] >= normal[1]:
            raise ValueError(
                f"工作时间的开始 {normal[0]} 应早于结束 {normal[1]} / the start {normal[0]} must "
                f"be before the end {normal[1]}"
            )
        return normal[0], normal[1]


class YearArrangement(BaseModel):
    """One year's official holiday arrangement (国务院办公厅关于部分节假日安排的通知), as the office
    enters it: days off beyond weekends, and make-up working days on weekends. A day or a range
    "2027-02-06/2027-02-12"."""

    model_config = ConfigDict(extra="forbid")

    holidays: list[str] = Field(default_factory=list)
    workdays: list[str] = Field(
        default_factory=list, description="调休上班: weekend days that are working days"
    )

    def days(self, year: int) -> dict[date, bool]:
        found: dict[date, bool] = {}
        for working, name, entries in (
            (False, "holidays", self.holidays),
            (True, "workdays", self.workdays),
        ):
            for entry in entries:
                first, _, last = entry.partition("/")
                try:
                    start, end = (
                        date.fromisoformat(first.strip()),
                        date.fromisoformat((last or first).strip()),
                    )
                except ValueError:
                    raise ValueError(
                        f"[calendar.{year}] {name}: {entry!r} is not a date YYYY-MM-DD "
                        "or a range YYYY-MM-DD/YYYY-MM-DD"
                    ) from None
                if start > end or start.year != year or end.year != year:
                    raise ValueError(
                        f"[calendar.{year}] {name}: {entry!r} must lie within {year}, first "
                        "day first"
                    )
                for offset in range((end - start).days + 1):
                    day = start + timedelta(days=offset)
                    if found.get(day, working) != working:
                        raise ValueError(
                            f"[calendar.{year}]: {day} is listed both as a holiday and as a "
                            "working day"
                        )
                    found[day] = working
        return found


class NotifyRules(BaseModel):
    """How much the office may ask of one person (基层减负)."""

    model_config = ConfigDict(extra="forbid")

    max_per_person_per_day: int = Field(
        default=3,
        ge=1,
        description="messages one person receives on one office day, across all channels; "
        "what would exceed it is merged into that day's or the next working day's digest",
    )


class ScoringRules(BaseModel):
    """考核: how a unit's score is counted (models/scoring.py). Points are per counted fact,
    negative for a deduction, times the weight of the unit's role on that assignment; the total is
    held within [floor, cap]. There is deliberately no rule for 留痕 or for a 批示 received (the
    基层减负 rules forbid them as assessment criteria): such a key is refused as unknown."""

    model_config = ConfigDict(extra="forbid")

    base: float = Field(default=100, description="every unit starts from this")
    cap: float = Field(default=100, description="no score above this")
    floor: float = Field(default=0, description="no score below this")
    on_time: float = Field(default=0, description="per report filed by its due date")
    late: float = Field(default=-2, description="per report filed after its due date")
    missing: float = Field(default=-5, description="per report not filed by its due date")
    returned: float = Field(default=-1, description="per return for rework (退回)")
    escalated_1: float = Field(default=-1, description="an item whose highest level was blue")
    escalated_2: float = Field(default=-3, description="an item whose highest level was yellow")
    escalated_3: float = Field(default=-5, description="an item whose highest level was red")
    directive_unresolved: float = Field(
        default=-2, description="per 批示 item not answered by its deadline"
    )
    weight_lead: float = Field(default=1.5, description="牵头")
    weight_responsible: float = Field(default=1.0, description="负责")
    weight_cooperating: float = Field(default=0.5, description="配合")
    board_size: int = Field(default=3, description="红黑榜: the top and the bottom N")

    @model_validator(mode="after")
    def _rules_make_sense(self) -> ScoringRules:
        problem = _scoring_problem(self)
        if problem:
            raise ValueError(problem)
        return self


_DEDUCTIONS = {
    "late": "逾期报送",
    "missing": "未报送",
    "returned": "退回",
    "escalated_1": "蓝色督办",
    "escalated_2": "黄色督办",
    "escalated_3": "红色督办",
    "directive_unresolved": "批示未办结",
}


def _scoring_problem(rules: ScoringRules) -> str | None:
    """The first rule that cannot be meant, in words ("中文 / English"), or None."""
    if rules.cap < rules.floor:
        return (
            f"上限 cap={rules.cap:g} 低于下限 floor={rules.floor:g} / the cap {rules.cap:g} is "
            f"below the floor {rules.floor:g}"
        )
    if not rules.floor <= rules.base <= rules.cap:
        return (
            f"基础分 base={rules.base:g} 应在下限 {rules.floor:g} 与上限 {rules.cap:g} 之间 / the "
            f"base {rules.base:g} must lie between the floor and the cap"
        )
    for key, words in _DEDUCTIONS.items():
        if getattr(rules, key) > 0:
            return (
                f"{key}（{words}）应为扣分（0 或负数），不能是 {getattr(rules, key):g} / {key} "
                "is a deduction: 0 or negative"
            )
    if not rules.escalated_1 >= rules.escalated_2 >= rules.escalated_3:
        return (
            "督办级别越高扣分应越多：escalated_1 ≥ escalated_2 ≥ escalated_3 / a higher "
            "escalation level must deduct at least as much as a lower one"
        )
    for role in ("lead", "responsible", "cooperating"):
        if getattr(rules, f"weight_{role}") < 0:
            return f"weight_{role} 不能为负数 / weight_{role} cannot be negative"
    if rules.board_size < 0:
        return "board_size（红黑榜名额）不能为负数 / board_size cannot be negative"
    return None


class Schedule(BaseModel):
    """One scheduled flow: its name in flows.cycle.FLOWS and a crontab line in the office's time
    zone."""

    model_config = ConfigDict(extra="forbid")

    flow: str
    cron: str


class Settings(BaseSettings):
    """Everything duban can be told from outside the code."""

    # extra="forbid": a key of duban.toml that names no setting is a typo, refused with its name.
    model_config = SettingsConfigDict(
        env_prefix="DUBAN_", extra="forbid", env_nested_delimiter="__"
    )

    home: Path = Field(
        default_factory=_home_from_env, description="var data: database, outbox, Prefect home"
    )
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default SQLite under home"
    )
    lang: Literal["zh", "en"] = Field(default="zh", description="language of messages and errors")
    sqlite_busy_timeout_ms: int = Field(default=30_000, ge=0)
    timezone: str = Field(
        default="Asia/Shanghai", description="the office's wall clock, for dates and working hours"
    )
    actor: str | None = Field(
        default=None,
        max_length=100,
        description="who the CLI acts as on the audit trail; default cli:<login>",
    )
    office_name: str = Field(default="领导小组办公室", description="signs every message")
    portal_url: str = Field(
        default="http://127.0.0.1:8000", description="base of the links in messages"
    )
    # The portal (web/): `duban serve` refuses the default secret unless dev_mode is on.
    secret_key: SecretStr = Field(
        default=SecretStr("dev-insecure-secret"), description="signs nothing a user can forge"
    )
    dev_mode: bool = Field(default=False, description="allow the default secret (make run sets it)")
    session_idle_minutes: int = Field(default=30, ge=1)
    session_max_hours: int = Field(default=12, ge=1)
    api_token_hours: int = Field(default=12, ge=1)
    # Login throttling slows guessing and never locks anyone out (web/throttle.py): after
    # login_max_failures failures of one name from one address, that pair waits
    # login_delay_base_s, doubling with each failure up to login_delay_cap_s; one address
    # trying many names waits the same way after login_address_max_failures.
    login_max_failures: int = Field(
        default=5, ge=1, description="failures of a (name, address) before delays start"
    )
    login_window_minutes: int = Field(
        default=15, ge=1, description="failures are forgotten after this quiet time"
    )
    login_address_max_failures: int = Field(
        default=25, ge=1, description="failures of an address before delays start"
    )
    login_delay_base_s: float = Field(
        default=1.0, gt=0, description="the first delay; it doubles with each failure"
    )
    login_delay_cap_s: float = Field(default=900.0, gt=0, description="the longest delay")
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="addresses (or networks) of proxies whose X-Forwarded-For is believed",
    )
    upload_max_mb: float = Field(default=20, gt=0)
    evidence_quota_mb: float = Field(
        default=500, gt=0, description="per unit: evidence it may store, each file once"
    )
    report_font: str | None = Field(
        default=None, description="a CJK font file for charts; default: Noto Sans CJK"
    )
    reports_dir: Path | None = Field(
        default=None, description="where scheduled reports go; default home/reports"
    )
    report_doc_prefix: str = Field(
        default="督", max_length=20, description="文号 prefix: 督 gives 督〔2026〕3号"
    )

    # Messages: the outbox channel writes .eml files under home/outbox; smtp sends them.
    mail_channel: str = Field(default="outbox", description="outbox | smtp | a plugin's name")
    mail_from: str = Field(default="duban@localhost", description="the sender address")
    mail_from_name: str = Field(default="督办系统", description="the sender's display name")
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_tls: Literal["none", "starttls", "ssl"] = "none"
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_timeout_s: float = Field(
        default=30.0, gt=0, description="socket timeout per SMTP operation"
    )

    # Group robots (issue 19): the services' addresses (a test points them at loopback) and limits.
    wecom_base: str = Field(
        default="https://qyapi.weixin.qq.com", description="企业微信/政务微信 robot service"
    )
    wecom_per_minute: int = Field(default=20, ge=1, le=20, description="messages per robot")
    dingtalk_base: str = Field(
        default="https://oapi.dingtalk.com", description="钉钉 robot service"
    )
    dingtalk_per_minute: int = Field(default=20, ge=1, le=20, description="messages per robot")
    dingtalk_keyword: str | None = Field(
        default=None, description="the keyword a robot in keyword security mode requires"
    )
    chat_timeout_s: float = Field(default=10.0, gt=0, description="per robot request")

    # The dispatcher: batches, claims that expire, retries with backoff.
    dispatch_batch: int = Field(default=50, ge=1)
    dispatch_lease_s: int = Field(
        default=300, ge=1, description="a claim left by a crashed dispatcher expires after this"
    )
    dispatch_breaker_failures: int = Field(
        default=3,
        ge=1,
        description="consecutive transient failures to one "
        "destination after which a run stops trying it",
    )
    retry_base_s: int = Field(default=60, ge=1)
    retry_cap_s: int = Field(default=3600, ge=1)
    retry_max_attempts: int = Field(default=10, ge=1)
    dispatch_in_working_hours: bool = Field(
        default=True, description="hold messages until working hours on working days"
    )

    # SMS through the province's HTTP gateway (notifications/channels/sms.py): one JSON POST per
    # message, the fields named as the gateway names them.
    sms_url: str | None = Field(default=None, description="the gateway's send address")
    sms_auth_header: str = Field(default="Authorization", description="the header the key goes in")
    sms_auth: SecretStr | None = Field(default=None, description="the header's value")
    sms_template: str = Field(default="", max_length=64, description="the approved template id")
    sms_sign: str = Field(default="督办", max_length=20, description="the signature 【…】")
    sms_fields: dict[str, str] = Field(
        default_factory=lambda: {
            "mobile": "mobile",
            "template": "templateId",
            "content": "content",
            "params": "params",
        },
        description="our field name -> the gateway's (mobile, template, content, params)",
    )
    sms_max_segments: int = Field(
        default=3, ge=1, le=10, description="a message longer than this many parts is refused"
    )
    sms_daily_cap_per_number: int = Field(
        default=5, ge=1, description="messages one number receives a day (the gateway's rule)"
    )
    sms_timeout_s: float = Field(default=10.0, gt=0)

    cycle: CycleRules = Field(default_factory=CycleRules)
    notify: NotifyRules = Field(default_factory=NotifyRules)
    scoring: ScoringRules = Field(default_factory=ScoringRules)
    # Years the office enters itself, when the chinese_calendar release does not know them yet.
    calendar: dict[int, YearArrangement] = Field(default_factory=dict)
    # The one schedule list: `duban serve` (APScheduler) and `duban deploy` (Prefect) both read it.
    schedules: list[Schedule] = Field(default_factory=list)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        site_file = _home_from_env() / "duban.toml"
        return (
            init_settings,
            env_settings,
            TomlConfigSettingsSource(settings_cls, toml_file=[DEFAULTS_FILE, site_file]),
        )

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'duban.db'}"

    @property
    def resolved_reports_dir(self) -> Path:
        return self.reports_dir or self.home / "reports"

    @property
    def prefect_home(self) -> Path:
        return self.home / "prefect"

    @property
    def outbox_dir(self) -> Path:
        return self.home / "outbox"

    @field_validator("home")
    @classmethod
    def _home_is_a_folder(cls, home: Path) -> Path:
        if home.exists() and not home.is_dir():
            raise ValueError(
                f"{home} 是一个文件，不是目录：DUBAN_HOME 应指向存放数据库和发件箱的目录 / "
                f"{home} is a file, not a folder: DUBAN_HOME must name the folder for the database "
                "and outbox"
            )
        return home

    @field_validator("timezone")
    @classmethod
    def _timezone_is_known(cls, name: str) -> str:
        from zoneinfo import ZoneInfo

        try:
            ZoneInfo(name)
        except (
            KeyError,
            ValueError,
            OSError,
        ):  # ZoneInfoNotFoundError is a KeyError; "../x" a ValueError
            pass
        else:
            return name
        raise ValueError(
            f"未知的时区“{name}”，应如 Asia/Shanghai / unknown time zone {name!r}: use e.g. "
            "Asia/Shanghai"
        )

    @field_validator("database_url")
    @classmethod
    def _database_url_is_usable(cls, url: str | None) -> str | None:
        if url is None:
            return url
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError, NoSuchModuleError

        example = "postgresql+psycopg://用户:密码@主机/库名 或 sqlite:////路径/duban.db"
        example_en = "postgresql+psycopg://user:password@host/name or sqlite:////path/duban.db"
        try:
            parsed = make_url(url)
        except (ArgumentError, ValueError):
            raise ValueError(
                f"不是有效的数据库地址，应如 {example} / not a database URL: write {example_en}"
            ) from None
        if parsed.get_backend_name() == "postgres":
            raise ValueError(
                "SQLAlchemy 不接受 postgres://，请写 postgresql+psycopg:// / SQLAlchemy does not "
                "accept postgres://: write postgresql+psycopg://"
            )
        if parsed.get_backend_name() not in ("sqlite", "postgresql"):
            raise ValueError(
                f"只支持 SQLite 和 PostgreSQL，应如 {example} / only SQLite and PostgreSQL are "
                f"supported: write {example_en}"
            )
        try:
            parsed.get_dialect().import_dbapi()
        except (NoSuchModuleError, ImportError):
            raise ValueError(
                f"未安装驱动“{parsed.drivername}”，请写 postgresql+psycopg:// / the driver "
                f"{parsed.drivername!r} is not installed: write postgresql+psycopg://"
            ) from None
        return url

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _proxies_from_text(cls, value: object) -> object:
        # DUBAN_TRUSTED_PROXIES is written as an office would: "10.0.0.1, 10.0.0.2"
        import ipaddress

        proxies = (
            [part.strip() for part in value.split(",") if part.strip()]
            if isinstance(value, str)
            else value
        )
        for proxy in proxies if isinstance(proxies, list) else []:
            try:
                ipaddress.ip_network(str(proxy), strict=False)
            except ValueError:
                raise ValueError(
                    f"代理地址“{proxy}”不是 IP 地址或网段 / {proxy!r} is not an IP address or "
                    "network"
                ) from None
        return proxies

    @field_validator("calendar")
    @classmethod
    def _calendar_is_valid(cls, years: dict[int, YearArrangement]) -> dict[int, YearArrangement]:
        for year, arrangement in years.items():
            arrangement.days(
                year
            )  # a bad entry is a configuration error at start-up, not a wrong count later
        return years

    def calendar_days(self) -> dict[int, dict[date, bool]]:
        return {year: arrangement.days(year) for year, arrangement in self.calendar.items()}

    @model_validator(mode="after")
    def _own_the_calendar(self) -> Settings:
        # These settings own their calendar and hand it to their rules: two settings in one process
        # (a test, a second app) count working days each with their own entries, whoever was made
        # last.
        from models.calendar import WorkingCalendar

        self.cycle._calendar = WorkingCalendar(self.calendar_days())
        return self

    @property
    def working_calendar(self) -> WorkingCalendar:
        """The office's working days: its entered years over the statutory calendar."""
        return self.cycle.calendar


def _check_site_file() -> None:
    """A duban.toml that is not TOML is named with its line, before pydantic reads it."""
    import tomllib

    from models.errors import ConfigError

    site_file = _home_from_env() / "duban.toml"
    if not site_file.is_file():
        return
    try:
        tomllib.loads(site_file.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(
            detail=f"{site_file} 不是有效的 TOML（{error}）/ {site_file} is not valid TOML "
            f"({error})"
        ) from None
    except OSError as error:
        raise ConfigError(
            detail=f"无法读取 {site_file}（{error.strerror}）/ cannot read {site_file} "
            f"({error.strerror})"
        ) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    _check_site_file()
    return Settings()
