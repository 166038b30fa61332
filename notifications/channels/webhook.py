"""The HTTP part every group robot shares: one JSON POST with a timeout, its network failures
mapped to retryable DeliveryErrors, its answer returned as a dict."""

from __future__ import annotations

import hashlib
from typing import Any

import httpx

from notifications.channels import DeliveryError


def post_json(
    client: httpx.Client, url: str, body: dict[str, Any], *, service: str
) -> dict[str, Any]:
    try:
        response = client.post(url, json=body)
    except httpx.TimeoutException as error:
        # The request may have reached the service and its answer be lost: it may have been
        # delivered, so it waits for the backoff like a lost SMTP answer.
        raise DeliveryError(
            f"{service}无应答（超时）：{type(error).__name__}",
            permanent=False,
            maybe_sent=isinstance(error, httpx.ReadTimeout),
        ) from error
    except httpx.HTTPError as error:
        raise DeliveryError(
            f"无法连接{service}：{type(error).__name__}: {error}", permanent=False
        ) from error
    if response.status_code >= 500 or response.status_code == 429:
        raise DeliveryError(f"{service}暂时不可用（HTTP {response.status_code}）", permanent=False)
    try:
        answer = response.json()
    except ValueError as error:
        raise DeliveryError(
            f"{service}的应答无法识别（HTTP {response.status_code}）", permanent=False
        ) from error
    if not isinstance(answer, dict):
        raise DeliveryError(
            f"{service}的应答无法识别（HTTP {response.status_code}）", permanent=False
        )
    return answer


class RobotConnection:
    """The robots' one HTTP connection, opened for a dispatch run and closed after it."""

    timeout: float
    client: httpx.Client | None = None

    def open(self) -> None:
        if self.client is None:
            self.client = httpx.Client(timeout=self.timeout, trust_env=False)

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None


def robot_destination(service: str, key: str) -> str:
    """A robot as the rate limit and the breaker name it: by a digest of its key, for the key
    itself is a credential."""
    return f"{service}:{hashlib.sha256(key.encode('utf-8')).hexdigest()[:16]}"
