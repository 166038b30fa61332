"""The HTTP part every group robot shares: one JSON POST with a timeout, its network failures
mapped to retryable DeliveryErrors, its answer returned as a dict."""

from __future__ import annotations

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
