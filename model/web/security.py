"""The gates in front of every route: hosts, origins, logins, CSRF, body size, headers.

They are plain ASGI middleware rather than FastAPI dependencies because they must act
before a body is read: a cross-site, unauthenticated or oversized upload is refused
without reading it, and a body without a Content-Length is counted chunk by chunk as it
streams in. Only the CSRF token, which may sit in the form, is checked after the form is
read, by the ``require_csrf`` dependency of every route.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextvars import ContextVar
from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import quote, unquote_plus, urlsplit

from python_multipart.multipart import parse_options_header
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse

from model.web.accounts import TOKEN_USER, Accounts

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

SESSION_COOKIE = "caf_session"
CSRF_COOKIE = "caf_csrf"
"""A random nonce the CSRF token is bound to before a login (and without logins). Lax, not
Strict: a Strict cookie is not sent when a planner follows a link from elsewhere, and the
new nonce given then would void the forms open in the planner's other tabs."""
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")
MAX_FORM_FIELDS = 40
DEFAULT_PORTS = {"http": 80, "https": 443}
FORM_SLACK_BYTES = 64 * 1024
"""Room for the multipart framing and the parameter fields around the workbook itself."""

OPEN_PATHS = frozenset({"/login", "/logout", "/healthz"})
OPEN_PREFIX = "/static/"
"""Open without a login: the login form, the health check and the public static files."""
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")
"""The ``Host`` names a loopback server answers to: anything else may be DNS rebinding."""

HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        b"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
]
"""``same-origin`` matters: a run id in a URL is a capability and must not leak to another
site. Not ``no-referrer``: under it browsers send ``Origin: null`` with every form, and
the origin check could no longer tell this site's forms from anyone's."""


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


def token_matches(offered: str, token: str) -> bool:
    """Constant-time comparison of what a planner typed with the token."""
    return hmac.compare_digest(offered.encode(), token.encode())


def safe_next(path: str | None) -> str:
    """A local path to return to after login; anything else (``//evil``, URLs) is ``/``."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/"
    return path


@dataclass(frozen=True)
class Visitor:
    """Who is asking, as the templates see it (``current``), for the request being served.

    Attributes:
        user: the account name, ``"token"`` for a token login, None without logins.
        is_admin: admins, and everyone when there are no accounts.
        csrf: the token every form of the page must send back.
        login: whether this server asks for a login (the page shows "log out").
    """

    user: str | None = None
    is_admin: bool = True
    csrf: str = ""
    login: bool = False


_visitor: ContextVar[Visitor | None] = ContextVar("caf_visitor", default=None)


def current() -> Visitor:
    """The visitor of the request being served (the default outside a request)."""
    return _visitor.get() or Visitor()


def csrf_token(request: Request) -> str:
    """The CSRF token of ``request``: the value its forms must post as ``csrf_token``."""
    return str(getattr(request.state, "csrf", ""))


def sign(key: bytes, binding: str) -> str:
    """A CSRF token: the HMAC of what it is bound to (a session, or the browser's nonce)."""
    return hmac.new(key, b"caf-csrf-v2|" + binding.encode(), hashlib.sha256).hexdigest()


def _origin(url: str) -> tuple[str, str, int] | None:
    try:
        parts = urlsplit(url)
        port = parts.port or DEFAULT_PORTS.get(parts.scheme.lower())
    except ValueError:
        return None
    if not parts.scheme or not parts.hostname or port is None:
        return None
    return parts.scheme.lower(), parts.hostname.lower(), port


def same_origin(scope: Scope, https: bool) -> bool:
    """Whether a request comes from this site's own pages.

    The browser's ``Origin`` must be this server's scheme, host and port (``Host``);
    without one (or with ``null``), ``Sec-Fetch-Site`` must say this site. A client that
    sends neither header (curl, scripts) is not a browser another site can drive.
    """
    origin = header(scope, b"origin")
    if origin is None or origin == b"null":
        fetch_site = header(scope, b"sec-fetch-site")
        if fetch_site is None:
            return origin is None
        return fetch_site in (b"same-origin", b"none")
    host = header(scope, b"host")
    scheme = "https" if https or scope.get("scheme") == "https" else "http"
    if host is None:
        return False
    ours = _origin(f"{scheme}://{host.decode('latin-1')}")
    return ours is not None and _origin(origin.decode("latin-1")) == ours


def cookies_of(scope: Scope) -> dict[str, str]:
    """The request's cookies; none when the header cannot be parsed."""
    raw = header(scope, b"cookie")
    if raw is None:
        return {}
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(raw.decode("latin-1"))
    except Exception:
        return {}
    return {name: morsel.value for name, morsel in jar.items()}


def _page(status: int, title: str, body: str, **headers: str) -> HTMLResponse:
    return HTMLResponse(
        f"<!doctype html><meta charset=utf-8><title>{status}</title><h1>{title}</h1>{body}",
        status_code=status,
        headers=headers,
    )


CROSS_SITE = _page(
    403,
    "来自其他网站的请求 A request from another site",
    "<p>只接受本站页面提交的表单。This server only accepts forms sent from its own pages. "
    '<a href="/">打开 caf Open caf</a> and submit from there.</p>',
)
LOGIN_NEEDED = _page(401, "请先登录 Please log in", '<p><a href="/login">登录 Log in</a></p>')


class Gate:
    """Who may do what: same-origin writes, a login where one is required, the CSRF token.

    Sets ``scope["state"]``: ``user`` and ``is_admin`` (the contract with the routes),
    ``csrf`` (the token the forms carry), ``csrf_exempt`` (a ``Bearer`` request, which no
    other site can make a browser send), and ``session`` (the cookie, for logout).

    Args:
        accounts: the account tables; a server with accounts always asks for a login.
        token: the shared access token of ``--token-file``, if any.
        https: the planners reach the server over TLS (``--certfile`` or
            ``--forwarded-https``): cookies are ``Secure`` and origins are ``https://``.
    """

    def __init__(self, app: ASGIApp, accounts: Accounts, token: str | None, https: bool):
        self.app = app
        self.accounts = accounts
        self.token = token
        self.https = https
        self.key = accounts.site_key()
        self.login = token is not None or accounts.has_users()

    def login_required(self) -> bool:
        """Whether a login is needed; once an account exists it stays so until restart."""
        if not self.login and self.accounts.has_users():
            self.login = True
        return self.login

    def _identify(self, scope: Scope, cookies: dict[str, str]) -> tuple[str, bool, str] | None:
        """(user, admin, how) of a valid bearer token or session cookie; None otherwise."""
        bearer = header(scope, b"authorization")
        if self.token is not None and bearer is not None and bearer.startswith(b"Bearer "):
            if token_matches(bearer[7:].decode("latin-1"), self.token):
                return TOKEN_USER, True, "bearer"
            return None
        cookie = cookies.get(SESSION_COOKIE)
        session = self.accounts.session(cookie) if cookie else None
        if session is None:
            return None
        return session.user, session.admin, "session"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        secure = self.https or scope.get("scheme") == "https"
        if scope["method"] not in SAFE_METHODS and not same_origin(scope, self.https):
            await CROSS_SITE(scope, receive, send)
            return
        cookies = cookies_of(scope)
        login, found = await asyncio.to_thread(
            lambda: (self.login_required(), self._identify(scope, cookies))
        )
        path = scope["path"]
        open_path = path in OPEN_PATHS or path.startswith(OPEN_PREFIX)
        if login and found is None and not open_path:
            await self._refuse(scope, receive, send)
            return
        user, admin, how = found if found else (None, not login, "")
        nonce = cookies.get(CSRF_COOKIE, "")
        fresh = not nonce and not path.startswith(OPEN_PREFIX) and path != "/healthz"
        if fresh:
            nonce = secrets.token_urlsafe(24)
        binding = "session:" + cookies[SESSION_COOKIE] if how == "session" else "nonce:" + nonce
        csrf = sign(self.key, binding)
        state = scope.setdefault("state", {})
        state.update(
            user=user,
            is_admin=admin,
            csrf=csrf,
            csrf_exempt=how == "bearer",
            session=cookies.get(SESSION_COOKIE) if how == "session" else None,
            secure_cookies=secure,
        )
        _visitor.set(Visitor(user, admin, csrf, login))
        if scope["method"] not in SAFE_METHODS and how != "bearer":
            verdict, receive = await early_csrf(scope, receive, csrf)
            if verdict is False:
                await CSRF_REFUSED(scope, receive, send)
                return
            state["csrf_checked"] = verdict

        async def with_nonce(message: Message) -> None:
            if fresh and message["type"] == "http.response.start":
                flags = "; Path=/; HttpOnly; SameSite=Lax" + ("; Secure" if secure else "")
                cookie = f"{CSRF_COOKIE}={nonce}{flags}".encode("latin-1")
                message["headers"] = [*message.get("headers", []), (b"set-cookie", cookie)]
            await send(message)

        await self.app(scope, receive, with_nonce)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] in ("GET", "HEAD"):
            query = scope.get("query_string", b"").decode("latin-1")
            target = scope["path"] + (f"?{query}" if query else "")
            response: Any = RedirectResponse(
                "/login?next=" + quote(safe_next(target), safe=""), status_code=303
            )
        else:
            response = LOGIN_NEEDED
        await response(scope, receive, send)


CSRF_REFUSED = _page(
    403,
    "表单已过期 The form has expired",
    "<p>表单已过期或来自其他网站，请刷新页面后再提交。The form has expired or did not come "
    "from this site's pages: reload the page and submit it again.</p>",
)
PEEK_BYTES = 4096


async def early_csrf(scope: Scope, receive: Receive, expected: str) -> tuple[bool | None, Receive]:
    """Check the CSRF token before the body is read, when it comes first.

    The header, or the form's first field (each form of the app has the token first, and
    browsers send fields in order, so the first few hundred bytes hold it). The bytes
    peeked at are handed on unchanged. Returns True or False for a token found right or
    wrong, None when the token is elsewhere (``require_csrf`` then reads the form), and
    the ``receive`` the app must use from now on.
    """
    offered = header(scope, CSRF_HEADER.encode())
    if offered is not None:
        return hmac.compare_digest(offered, expected.encode()), receive
    content_type = header(scope, b"content-type") or b""
    if not content_type.startswith(tuple(t.encode() for t in FORM_TYPES)):
        return None, receive
    peeked: list[Message] = []
    body = b""
    more = True
    token, decided = None, False
    while more and not decided and len(body) < PEEK_BYTES:
        message = await receive()
        peeked.append(message)
        if message["type"] != "http.request":
            break
        body += message.get("body", b"")
        more = message.get("more_body", False)
        token, decided = first_field_token(content_type, body, complete=not more)

    async def replay() -> Message:
        return peeked.pop(0) if peeked else await receive()

    if token is None:
        return None, replay
    return hmac.compare_digest(token.encode(), expected.encode()), replay


def first_field_token(content_type: bytes, body: bytes, complete: bool) -> tuple[str | None, bool]:
    """The value of the form's first field when it is ``csrf_token`` (else None), and
    whether ``body`` was enough to tell."""
    field = CSRF_FIELD.encode()
    kind, options = parse_options_header(content_type)
    if kind == b"application/x-www-form-urlencoded":
        first, separator, _ = body.partition(b"&")
        name, equals, value = first.partition(b"=")
        if not equals:
            return None, complete or not field.startswith(name)
        if name != field:
            return None, True
        if not separator and not complete:
            return None, False
        return unquote_plus(value.decode("latin-1")), True
    opening = b"--" + options.get(b"boundary", b"") + b"\r\n"
    if len(body) < len(opening):
        return None, complete
    if len(opening) < 5 or not body.startswith(opening):
        return None, True
    head_end = body.find(b"\r\n\r\n")
    if head_end < 0:
        return None, complete
    for line in body[len(opening) : head_end].split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-disposition":
            disposition, parameters = parse_options_header(value.strip())
            if disposition != b"form-data" or parameters.get(b"name") != field:
                return None, True
            value_end = body.find(b"\r\n" + opening[:-2], head_end + 4)
            if value_end < 0:
                return None, complete
            return body[head_end + 4 : value_end].decode("latin-1"), True
    return None, True


async def require_csrf(request: Request) -> AsyncIterator[None]:
    """A FastAPI dependency of every route: a write must carry the page's CSRF token.

    ``Gate`` has already checked a token sent in the ``X-CSRF-Token`` header or as the
    form's first field, before the body was read; one elsewhere in the form is checked
    here. Reading the form here caches it for the route, which reads it again.

    Raises:
        HTTPException: 403 when the token is missing or wrong.
    """
    checked = getattr(request.state, "csrf_checked", None)
    if request.method in SAFE_METHODS or request.state.csrf_exempt or checked:
        yield
        return
    expected = csrf_token(request)
    offered = request.headers.get(CSRF_HEADER)
    form = None
    if offered is None and request.headers.get("content-type", "").startswith(FORM_TYPES):
        form = await request.form(max_files=1, max_fields=MAX_FORM_FIELDS)
        value = form.get(CSRF_FIELD)
        offered = value if isinstance(value, str) else None
    if not expected or offered is None or not hmac.compare_digest(offered, expected):
        if form is not None:
            await form.close()
        raise HTTPException(
            403,
            "表单已过期或来自其他网站，请刷新页面后再提交。The form has expired or did not "
            "come from this site's pages: reload the page and submit it again.",
        )
    try:
        yield
    finally:
        if form is not None:
            await form.close()


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
