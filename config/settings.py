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
from typing import Annotated, Literal

from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

CONFIG_DIR = Path(__file__).resolve().parent
DEFAULTS_FILE = CONFIG_DIR / "defaults.toml"


def _home_from_env() -> Path:
    return Path(os.environ.get("DUBAN_HOME", "var")).expanduser().resolve()


class CycleRules(BaseModel):
    """The office's rules for a supervision round, in working days unless named otherwise."""

    cooperating_lead_days: int = Field(default=2, ge=0, description="cooperating units report this much earlier")
    reminder_before: list[int] = Field(default=[3, 1], description="reminders T-n before the due day")
    overdue_every: int = Field(default=2, ge=1, description="while overdue, a reminder every n working days")
    warning_days: int = Field(default=3, ge=0, description="yellow light when due within this window")
    pace_tolerance: float = Field(default=0.1, ge=0, le=1, description="yellow when this far behind the expected pace")
    grace_days: int = Field(default=2, ge=0, description="overdue longer than this: stalled")
    unsigned_days: int = Field(default=3, ge=1, description="not signed for after this: stalled")
    idle_days: int = Field(default=10, ge=1, description="no activity for this long: stalled")
    returns_to_stall: int = Field(default=2, ge=1, description="returned this many times: stalled")
    unreviewed_days: int = Field(default=3, ge=1, description="a report not reviewed by the office this long: stalled")
    escalation_step_days: int = Field(default=2, ge=0, description="at least this long between two levels")
    extension_max_days: int = Field(default=366, ge=1, description="an extension moves a due date at most this far "
                                                                   "(calendar days)")
    working_hours: tuple[str, str] = Field(default=("08:30", "17:30"), description="messages go out only then")
    office_email: str = Field(default="office@localhost", description="the office: red escalations, unreviewed reports")
    office_head_email: str = Field(default="office-head@localhost", description="the office's own head")
    leading_group_email: str | None = Field(default=None, description="the leading group, copied on red escalations")


class YearArrangement(BaseModel):
    """One year's official holiday arrangement (国务院办公厅关于部分节假日安排的通知), as the office
    enters it: days off beyond weekends, and make-up working days on weekends. A day or a range
    "2027-02-06/2027-02-12"."""

    holidays: list[str] = Field(default_factory=list)
    workdays: list[str] = Field(default_factory=list, description="调休上班: weekend days that are working days")

    def days(self, year: int) -> dict[date, bool]:
        found: dict[date, bool] = {}
        for working, name, entries in ((False, "holidays", self.holidays), (True, "workdays", self.workdays)):
            for entry in entries:
                first, _, last = entry.partition("/")
                try:
                    start, end = date.fromisoformat(first.strip()), date.fromisoformat((last or first).strip())
                except ValueError:
                    raise ValueError(f"[calendar.{year}] {name}: {entry!r} is not a date YYYY-MM-DD "
                                     "or a range YYYY-MM-DD/YYYY-MM-DD") from None
                if start > end or start.year != year or end.year != year:
                    raise ValueError(f"[calendar.{year}] {name}: {entry!r} must lie within {year}, first "
                                     "day first")
                for offset in range((end - start).days + 1):
                    day = start + timedelta(days=offset)
                    if found.get(day, working) != working:
                        raise ValueError(f"[calendar.{year}]: {day} is listed both as a holiday and as a "
                                         "working day")
                    found[day] = working
        return found


class Schedule(BaseModel):
    """One scheduled flow: its name in flows.cycle.FLOWS and a crontab line in the office's time
    zone."""

    flow: str
    cron: str


class Settings(BaseSettings):
    """Everything duban can be told from outside the code."""

    model_config = SettingsConfigDict(env_prefix="DUBAN_", extra="ignore", env_nested_delimiter="__")

    home: Path = Field(default_factory=_home_from_env, description="var data: database, outbox, Prefect home")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; default SQLite under home")
    lang: Literal["zh", "en"] = Field(default="zh", description="language of messages and errors")
    sqlite_busy_timeout_ms: int = Field(default=30_000, ge=0)
    timezone: str = Field(default="Asia/Shanghai", description="the office's wall clock, for dates and working hours")
    actor: str | None = Field(default=None, description="who the CLI acts as on the audit trail; default cli:<login>")
    office_name: str = Field(default="领导小组办公室", description="signs every message")
    portal_url: str = Field(default="http://127.0.0.1:8000", description="base of the links in messages")
    # The portal (web/): `duban serve` refuses the default secret unless dev_mode is on.
    secret_key: SecretStr = Field(default=SecretStr("dev-insecure-secret"), description="signs nothing a user can forge")
    dev_mode: bool = Field(default=False, description="allow the default secret (make run sets it)")
    session_idle_minutes: int = Field(default=30, ge=1)
    session_max_hours: int = Field(default=12, ge=1)
    api_token_hours: int = Field(default=12, ge=1)
    # Login throttling slows guessing and never locks anyone out (web/throttle.py): after
    # login_max_failures failures of one name from one address, that pair waits
    # login_delay_base_s, doubling with each failure up to login_delay_cap_s; one address
    # trying many names waits the same way after login_address_max_failures.
    login_max_failures: int = Field(default=5, ge=1, description="failures of a (name, address) before delays start")
    login_window_minutes: int = Field(default=15, ge=1, description="failures are forgotten after this quiet time")
    login_address_max_failures: int = Field(default=25, ge=1, description="failures of an address before delays start")
    login_delay_base_s: float = Field(default=1.0, gt=0, description="the first delay; it doubles with each failure")
    login_delay_cap_s: float = Field(default=900.0, gt=0, description="the longest delay")
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="addresses (or networks) of proxies whose X-Forwarded-For is believed")
    upload_max_mb: float = Field(default=20, gt=0)
    evidence_quota_mb: float = Field(default=500, gt=0, description="per unit: evidence it may store, each file once")
    report_font: str | None = Field(default=None, description="a CJK font file for charts; default: Noto Sans CJK")
    reports_dir: Path | None = Field(default=None, description="where scheduled reports go; default home/reports")

    # Messages: the outbox channel writes .eml files under home/outbox; smtp sends them.
    mail_channel: str = Field(default="outbox", description="outbox | smtp | a plugin's name")
    mail_from: str = Field(default="duban@localhost", description="the sender address")
    mail_from_name: str = Field(default="督办系统", description="the sender's display name")
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_tls: Literal["none", "starttls", "ssl"] = "none"
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_timeout_s: float = Field(default=30.0, gt=0, description="socket timeout per SMTP operation")

    # The dispatcher: batches, claims that expire, retries with backoff.
    dispatch_batch: int = Field(default=50, ge=1)
    dispatch_lease_s: int = Field(default=300, ge=1, description="a claim left by a crashed dispatcher expires after this")
    retry_base_s: int = Field(default=60, ge=1)
    retry_cap_s: int = Field(default=3600, ge=1)
    retry_max_attempts: int = Field(default=10, ge=1)
    dispatch_in_working_hours: bool = Field(default=True, description="hold messages until working hours on working days")

    cycle: CycleRules = Field(default_factory=CycleRules)
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

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _proxies_from_text(cls, value: object) -> object:
        # DUBAN_TRUSTED_PROXIES is written as an office would: "10.0.0.1, 10.0.0.2"
        import ipaddress

        proxies = [part.strip() for part in value.split(",") if part.strip()] if isinstance(value, str) else value
        for proxy in proxies if isinstance(proxies, list) else []:
            try:
                ipaddress.ip_network(str(proxy), strict=False)
            except ValueError:
                raise ValueError(f"代理地址“{proxy}”不是 IP 地址或网段 / {proxy!r} is not an IP address or "
                                 "network") from None
        return proxies

    @field_validator("calendar")
    @classmethod
    def _calendar_is_valid(cls, years: dict[int, YearArrangement]) -> dict[int, YearArrangement]:
        for year, arrangement in years.items():
            arrangement.days(year)  # a bad entry is a configuration error at start-up, not a wrong count later
        return years

    def calendar_days(self) -> dict[int, dict[date, bool]]:
        return {year: arrangement.days(year) for year, arrangement in self.calendar.items()}


def apply_calendar(settings: Settings) -> None:
    """Make the process count working days with the office's entered years (models.calendar)."""
    from models.calendar import enter_arrangements

    enter_arrangements(settings.calendar_days())


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    settings = Settings()
    apply_calendar(settings)
    return settings
