"""The notice on the page after an action ("已签收", "已提交，待办公室审核"): one mechanism for
every POST that redirects.

The notice travels in a short-lived cookie signed with the portal's secret, so nobody can plant a
message of their own on someone's page through a crafted cookie; it is read once, by the next page
rendered (`web.deps.page`), and shown escaped like any other text.

A route that redirects after a change returns `redirect_with(request, "/where", "已签收")`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

FLASH_COOKIE = "duban_flash"
LONGEST = 300  # characters: a notice is a sentence; the cookie stays far below browsers' limits


def _signature(secret: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), b"flash:" + body, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def sealed(secret: str, notice: str) -> str:
    """The cookie value carrying `notice`: its text, then its signature."""
    body = base64.urlsafe_b64encode(notice[:LONGEST].encode()).decode().rstrip("=")
    return f"{body}.{_signature(secret, body.encode())}"


def opened(secret: str, value: str | None) -> str | None:
    """The notice a cookie carries, or None when there is none or its signature is wrong."""
    if not value or "." not in value:
        return None
    body, signature = value.rsplit(".", 1)
    if not hmac.compare_digest(signature, _signature(secret, body.encode())):
        return None
    try:
        return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode()[:LONGEST]
    except (ValueError, UnicodeDecodeError):
        return None


def _secret(request: Request) -> str:
    return request.app.state.settings.secret_key.get_secret_value()


def redirect_with(request: Request, target: str, notice: str) -> RedirectResponse:
    """A 303 to `target` that shows `notice` on the page it leads to."""
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        FLASH_COOKIE,
        sealed(_secret(request), notice),
        max_age=120,
        httponly=True,
        samesite="lax",
        path="/",
        secure=request.url.scheme == "https",
    )
    return response


def take_notice(request: Request) -> str | None:
    """The notice waiting for this page, if any (the caller clears it with `cleared`)."""
    return opened(_secret(request), request.cookies.get(FLASH_COOKIE))


def cleared(response: Response) -> Response:
    """Drop the notice once a page has shown it, so a reload does not repeat it."""
    response.delete_cookie(FLASH_COOKIE, path="/")
    return response
