"""The FastAPI application: middleware, error pages, login, and the three sets of routes.

The routes of docs/outputs.md are in ``run_routes``, a run's multi-year plan in
``plan_routes``, the comparison pages in ``compare_routes``. The work is in ``jobs`` and
the disk in ``storage``; this module only assembles them, in the order a request meets
them: headers, host, body limit, then origin, login and CSRF token (``security.Gate``),
route.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import Depends, FastAPI, Request
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import ClientDisconnect
from starlette.responses import Response

from model import __version__
from model.errors import InputError
from model.web.accounts import Accounts
from model.web.audit import keep_sweeping
from model.web.compare_routes import router as compare_router
from model.web.history_routes import router as history_router
from model.web.limits import Limits
from model.web.login_routes import Login
from model.web.login_routes import router as login_router
from model.web.plan_routes import router as plan_router
from model.web.risk_routes import router as risk_router
from model.web.run_index import AuditIndex
from model.web.run_routes import router as run_router
from model.web.security import (
    LOOPBACK_HOSTS,
    BodyLimit,
    Gate,
    SecurityHeaders,
    UploadTooLarge,
    require_csrf,
    too_large_page,
)
from model.web.site import Site
from model.web.storage import DEFAULT_KEEP_DAYS, RunStore, UnknownRun
from model.web.workers import QueueFull, Workers

STATIC = Path(__file__).with_name("static")
DEFAULT_MAX_UPLOAD = 10 * 2**20


def create_app(
    data_dir: str | Path,
    token: str | None = None,
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD,
    workers: int = 2,
    limits: Limits | None = None,
    keep_days: float = DEFAULT_KEEP_DAYS,
    allowed_hosts: Sequence[str] = LOOPBACK_HOSTS,
    https: bool = False,
) -> FastAPI:
    """Build the web application.

    Args:
        data_dir: where runs are stored, one directory each.
        token: when given, every page needs a login with this token.
        max_upload_bytes: the largest workbook accepted (413 above it).
        workers: processes solving in parallel.
        limits: each job's time and memory, and how many may wait (``Limits``' defaults).
        keep_days: runs older than this are deleted (0: kept for ever); the trail keeps them.
        allowed_hosts: the ``Host`` names answered (400 for any other: DNS rebinding).
        https: planners reach the server over TLS, directly or through a proxy: session
            cookies are ``Secure`` and the origin expected of a form is ``https://``.
    """
    pool = Workers(workers, limits)
    site = Site(RunStore.open(data_dir), pool, max_upload_bytes, token is not None)
    audit = AuditIndex.open(site.store.root)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        site.pool.warm()
        site.store.clean_partial()
        audit.close_orphans()
        sweeper = asyncio.create_task(keep_sweeping(site.store, audit, keep_days))
        try:
            yield
        finally:
            sweeper.cancel()
            site.plans.cancel_all()
            site.risks.cancel_all()
            await asyncio.to_thread(site.pool.shutdown)

    app = FastAPI(
        title="caf",
        version=__version__,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        dependencies=[Depends(require_csrf)],
    )
    app.state.site = site
    app.state.audit = audit
    _error_pages(app, site)
    accounts = Accounts(site.store.root)
    app.state.login = Login(accounts, token)
    app.include_router(login_router)
    app.include_router(run_router)
    app.include_router(plan_router)
    app.include_router(risk_router)
    app.include_router(compare_router)
    app.include_router(history_router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_middleware(Gate, accounts=accounts, token=token, https=https)
    app.add_middleware(BodyLimit, limit=max_upload_bytes)
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts))
    app.add_middleware(SecurityHeaders)
    return app


def _error_pages(app: FastAPI, site: Site) -> None:
    @app.exception_handler(UploadTooLarge)
    async def too_large(_: Request, __: Exception) -> Response:
        return too_large_page(site.max_upload_bytes)

    @app.exception_handler(ClientDisconnect)
    async def gone(_: Request, __: Exception) -> Response:
        # the client left mid-upload, or --body-timeout cut it off: nobody reads an answer
        return Response(status_code=400)

    @app.exception_handler(InputError)
    async def bad_input(request: Request, error: Exception) -> Response:
        problems = list(error.problems) if isinstance(error, InputError) else []
        back = "/compare" if request.url.path.startswith("/compare") else "/"
        return site.problems(problems, "输入有误 The input has problems", back)

    @app.exception_handler(QueueFull)
    async def busy(_: Request, error: Exception) -> Response:
        wait = error.retry_after if isinstance(error, QueueFull) else 60
        message = (
            f"服务器正忙，请约 {wait} 秒后重试。"
            f"The server is busy with other runs: try again in about {wait} s."
        )
        page = site.page("error.html", 503, title="服务器正忙 Busy", message=message)
        page.headers["Retry-After"] = str(wait)
        return page

    @app.exception_handler(UnknownRun)
    async def unknown(_: Request, __: Exception) -> Response:
        message = "没有这个计算结果。No run has this address: check the link."
        return site.page("error.html", 404, title="找不到 Not found", message=message)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, error: StarletteHTTPException) -> Response:
        code = error.status_code
        return site.page("error.html", code, title=str(code), message=str(error.detail))
