"""Log in and out: a named account's password, or the shared access token, opens a session.

Every login, by account or by token, gets its own random session cookie whose digest is a
row of ``sessions``; logging out deletes the row, so the cookie opens nothing afterwards,
whoever kept a copy. Wrong passwords are counted per account name and per client address:
after ``accounts.FREE_FAILURES`` in a row, each further try must wait twice as long as the
last (429 with ``Retry-After``), and the password is not even checked while it waits.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from model.web import forms
from model.web.accounts import MAX_PASSWORD_CHARS, SESSION_SECONDS, TOKEN_USER, Accounts
from model.web.security import SESSION_COOKIE, safe_next, token_matches
from model.web.site import site_of

router = APIRouter()


@dataclass(frozen=True)
class Login:
    """What the login routes need: the account tables and the shared token, if any."""

    accounts: Accounts
    token: str | None


def login_of(request: Request) -> Login:
    login: Login = request.app.state.login
    return login


def _form_page(request: Request, status: int, target: str, failed: str = "") -> HTMLResponse:
    login = login_of(request)
    named = login.accounts.has_users()
    return site_of(request).page(
        "login.html",
        status,
        next=target,
        failed=failed,
        named=named,
        token_login=login.token is not None,
    )


def secret_field(form: Any, name: str) -> str:
    """A password as typed: blanks are part of it, so nothing is trimmed."""
    value = form.get(name)
    return value[:MAX_PASSWORD_CHARS] if isinstance(value, str) else ""


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request, next: str = "/") -> HTMLResponse:
    return _form_page(request, 200, safe_next(next))


@router.post("/login")
async def log_in(request: Request) -> Response:
    """Check the name and password (or the token); open a session; back to ``next``."""
    login = login_of(request)
    form = await request.form(max_files=0, max_fields=8)
    name = forms.text_field(form, "name", 100)
    password = secret_field(form, "password")
    offered = forms.text_field(form, "token", 1024)
    target = safe_next(forms.text_field(form, "next", 2000))
    if login.token is None and not await asyncio.to_thread(login.accounts.has_users):
        return RedirectResponse(target, status_code=303)
    client = request.client.host if request.client else "unknown"
    keys = [f"client:{client}", f"name:{(name or TOKEN_USER).lower()}"]
    wait = await asyncio.to_thread(login.accounts.wait_seconds, keys)
    if wait > 0:
        seconds = math.ceil(wait)
        page = _form_page(request, 429, target, failed=f"wait:{seconds}")
        page.headers["Retry-After"] = str(seconds)
        return page
    if name:
        account = await asyncio.to_thread(login.accounts.verify, name, password)
        who = (account.name, account.admin) if account else None
    elif login.token is not None and token_matches(offered or password, login.token):
        who = (TOKEN_USER, True)
    else:
        who = None
    if who is None:
        await asyncio.to_thread(login.accounts.record_failure, keys)
        return _form_page(request, 401, target, failed="wrong")
    await asyncio.to_thread(login.accounts.record_success, keys)
    cookie = await asyncio.to_thread(login.accounts.start_session, *who)
    old = request.cookies.get(SESSION_COOKIE)
    if old:
        await asyncio.to_thread(login.accounts.end_session, old)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        max_age=SESSION_SECONDS,
        httponly=True,
        samesite="lax",
        secure=bool(request.state.secure_cookies),
    )
    return response


@router.post("/logout")
async def log_out(request: Request) -> Response:
    """End the session on the server, then forget the cookie in the browser."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        await asyncio.to_thread(login_of(request).accounts.end_session, cookie)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(
        SESSION_COOKIE, httponly=True, samesite="lax", secure=bool(request.state.secure_cookies)
    )
    return response
