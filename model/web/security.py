"""The gates in front of every route: body size, the access token, and response headers.

They are plain ASGI middleware rather than FastAPI dependencies because they must act
before a body is read: an unauthenticated or oversized upload is refused without reading
it, and a body without a Content-Length is counted chunk by chunk as it streams in.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable, MutableMapping
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import quote

from starlette.responses import HTMLResponse, RedirectResponse

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

SESSION_COOKIE = "caf_session"
SESSION_SECONDS = 12 * 3600
FORM_SLACK_BYTES = 64 * 1024
"""Room for the multipart framing and the parameter fields around the workbook itself."""

OPEN_PATHS = frozenset({"/login", "/healthz"})
OPEN_PREFIX = "/static/"
"""Open without the token: the login form, the health check and the public static files."""

HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        b"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
]
"""``no-referrer`` matters: a run id in a URL is a capability and must not leak."""


class UploadTooLarge(Exception):
    """The request body passed the limit while streaming in."""


def header(scope: Scope, name: bytes) -> bytes | None:
    """The first value of a request header."""
    for key, value in scope.get("headers", []):
        if key == name:
            return bytes(value)
    return None


def too_large_page(limit: int) -> HTMLResponse:
    """The 413 answer: a short page, since the body may never be read."""
    mib = limit / 2**20
    return HTMLResponse(
        "<!doctype html><meta charset=utf-8><title>413</title>"
        f"<h1>文件过大 The upload is too large</h1><p>上限 The limit is {mib:g} MiB. "
        "Remove unused sheets, images and formatting, then upload it again.</p>",
        status_code=413,
    )


class BodyLimit:
    """Refuse bodies over ``limit`` bytes: by Content-Length first, then by counting."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit + FORM_SLACK_BYTES
        self.file_limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = header(scope, b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await too_large_page(self.file_limit)(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise UploadTooLarge
            return message

        await self.app(scope, counted, send)


def session_value(token: str) -> str:
    """The cookie proving a login: derived from the token, so the token is never stored."""
    return hmac.new(token.encode(), b"caf-session-v1", hashlib.sha256).hexdigest()


def token_matches(offered: str, token: str) -> bool:
    """Constant-time comparison of what a planner typed with the token."""
    return hmac.compare_digest(offered.encode(), token.encode())


def safe_next(path: str | None) -> str:
    """A local path to return to after login; anything else (``//evil``, URLs) is ``/``."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/"
    return path


class TokenGate:
    """With a token set, every page needs the session cookie (or ``Bearer`` header)."""

    def __init__(self, app: ASGIApp, token: str | None) -> None:
        self.app = app
        self.token = token
        self.session = session_value(token) if token else ""

    def _allowed(self, scope: Scope) -> bool:
        path = scope["path"]
        if self.token is None or path in OPEN_PATHS or path.startswith(OPEN_PREFIX):
            return True
        bearer = header(scope, b"authorization")
        if bearer is not None and bearer.startswith(b"Bearer "):
            return token_matches(bearer[7:].decode("latin-1"), self.token)
        raw = header(scope, b"cookie")
        if raw is None:
            return False
        cookies: SimpleCookie = SimpleCookie()
        try:
            cookies.load(raw.decode("latin-1"))
        except Exception:
            return False
        morsel = cookies.get(SESSION_COOKIE)
        return morsel is not None and hmac.compare_digest(morsel.value, self.session)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self._allowed(scope):
            await self.app(scope, receive, send)
            return
        if scope["method"] in ("GET", "HEAD"):
            query = scope.get("query_string", b"").decode("latin-1")
            target = scope["path"] + (f"?{query}" if query else "")
            response: Any = RedirectResponse(
                "/login?next=" + quote(safe_next(target), safe=""), status_code=303
            )
        else:
            response = HTMLResponse(
                "<!doctype html><meta charset=utf-8><title>401</title>"
                '<h1>请先登录 Please log in</h1><p><a href="/login">登录 Log in</a></p>',
                status_code=401,
            )
        await response(scope, receive, send)


class SecurityHeaders:
    """Add the headers of ``HEADERS`` to every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        static = scope["path"].startswith("/static/")
        cache = (b"cache-control", b"public, max-age=3600" if static else b"no-store")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in [*HEADERS, cache] if k not in names]
                message["headers"] = list(message.get("headers", [])) + extra
            await send(message)

        await self.app(scope, receive, with_headers)
