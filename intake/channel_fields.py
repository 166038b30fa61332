"""The directory's channel fields, checked: a person's mobile and channel list, a unit's group
robots. One function per field, each returning the value as stored or raising `FieldInvalid` with
the Chinese reason, so the directory import and the portal's directory page refuse the same
things with the same words.

A robot credential may be written as `env:NAME` (read from the environment when a message is
sent, so the directory file need not hold the secret) or as the robot's whole webhook address,
from which the key or token is taken.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from models.labels import CHANNELS as CHANNEL_NAMES

CHANNELS = tuple(CHANNEL_NAMES)  # the channels a contact may list, as the label table names them
# A channel may be written by its code or its Chinese name (the portal shows the names).
_BY_NAME = {name: code for code, name in CHANNEL_NAMES.items()} | {"微信": "wecom"}
_ENV = re.compile(r"env:[A-Za-z_][A-Za-z0-9_]{0,100}")
MOBILE = re.compile(r"1[3-9]\d{9}")  # a mainland mobile: 11 digits from 13–19
_WECOM_KEY = re.compile(r"[0-9A-Za-z-]{16,64}")
_DINGTALK_TOKEN = re.compile(r"[0-9A-Za-z]{16,128}")
_DINGTALK_SECRET = re.compile(r"SEC[0-9A-Za-z]{16,128}")


class FieldInvalid(ValueError):
    """A field's value refused; `zh` says why, for the office."""

    def __init__(self, zh: str) -> None:
        self.zh = zh
        super().__init__(zh)


def _shown(text: str) -> str:
    from escaping.terminal import visible

    return visible(text if len(text) <= 40 else text[:40] + "…")


def dialled(text: str) -> str:
    """A phone number as dialled: spaces and hyphens dropped, and the +86 or 0086 prefix."""
    return re.sub(r"[\s-]", "", text).removeprefix("+86").removeprefix("0086")


def mobile(value: object) -> str | None:
    """A mainland mobile number: 11 digits from 13–19; spaces, hyphens and +86 allowed around."""
    text = str(value or "").strip()
    if not text:
        return None
    digits = dialled(text)
    if not MOBILE.fullmatch(digits):
        raise FieldInvalid(f"手机号“{_shown(text)}”无效，应为 11 位大陆手机号（如 13800000000）")
    return digits


def channels(value: object) -> list[str]:
    """The channels in order: a list, or a text separated by 、 , ， ; or spaces; each by its code
    (`wecom`) or its Chinese name (企业微信)."""
    if value is None or value == "":
        return []
    items = value if isinstance(value, list) else re.split(r"[、,，;；\s]+", str(value))
    chosen: list[str] = []
    for item in items:
        typed = str(item).strip()
        name = _BY_NAME.get(typed, typed.lower())
        if not name:
            continue
        if name not in CHANNELS:
            known = "、".join(f"{CHANNEL_NAMES[c]}（{c}）" for c in CHANNELS)
            raise FieldInvalid(f"渠道“{_shown(typed)}”未知，可选：{known}")
        if name not in chosen:
            chosen.append(name)
    return chosen


def _credential(value: object, pattern: re.Pattern[str], *, label: str, param: str) -> str | None:
    text = str(value or "").strip()
    if not text:
        return None
    if _ENV.fullmatch(text):
        return text
    if text.lower().startswith(("http://", "https://")):
        taken = parse_qs(urlsplit(text).query).get(param, [""])[0]
        if not taken:
            raise FieldInvalid(f"{label}地址“{_shown(text)}”中没有 {param}=")
        text = taken
    if not pattern.fullmatch(text):
        raise FieldInvalid(
            f"{label}“{_shown(text)}”格式无效（应为机器人地址中的 {param}，或 env:变量名）"
        )
    return text


def wecom_key(value: object) -> str | None:
    return _credential(value, _WECOM_KEY, label="企业微信机器人 key", param="key")


def dingtalk_token(value: object) -> str | None:
    return _credential(
        value, _DINGTALK_TOKEN, label="钉钉机器人 access_token", param="access_token"
    )


def dingtalk_secret(value: object) -> str | None:
    text = str(value or "").strip()
    if not text:
        return None
    if _ENV.fullmatch(text):
        return text
    if not _DINGTALK_SECRET.fullmatch(text):
        raise FieldInvalid(
            f"钉钉机器人加签密钥“{_shown(text)}”格式无效（应以 SEC 开头，或 env:变量名）"
        )
    return text


def robot_problems(
    listed: list[str], *, wecom: str | None, dingtalk: str | None, mobile_: str | None
) -> list[str]:
    """What a contact's channel list asks that the directory cannot serve, in Chinese."""
    problems = []
    if "wecom" in listed and not wecom:
        problems.append("列出了企业微信，但单位未配置企业微信机器人（wecom_key）")
    if "dingtalk" in listed and not dingtalk:
        problems.append("列出了钉钉，但单位未配置钉钉机器人（dingtalk_token）")
    if "sms" in listed and not mobile_:
        problems.append("列出了短信，但没有手机号（mobile）")
    return problems
