"""Signing in to the portal over HTTP as a browser does: open the login page (its CSRF cookie and
hidden field), then post the form on the same client. One definition for the tests and the
benchmarks."""

from __future__ import annotations

import re

import httpx

from web.auth import COOKIE


def csrf_of(html: str) -> str:
    """The value of the page's hidden `csrf` field."""
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def sign_in(client: httpx.Client, username: str, password: str, **fields: str) -> httpx.Response:
    """Open /login and post the form with its CSRF token; `fields` are extra form fields (`next`).
    The client keeps the cookies; the response is the server's answer (303 when signed in)."""
    token = csrf_of(client.get("/login").text)
    return client.post(
        "/login", data={"username": username, "password": password, "csrf": token, **fields}
    )


def session_cookie(base_url: str, username: str, password: str) -> dict[str, str]:
    """Signed in on a client of its own: the session cookie for other clients to send."""
    with httpx.Client(base_url=base_url) as browser:
        login = sign_in(browser, username, password)
        assert login.status_code == 303, (username, login.status_code)
        return {COOKIE: login.cookies[COOKIE]}
