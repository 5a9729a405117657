"""What the routes share: the run store, the worker pool, and the submit-a-run flow.

One ``Site`` lives in ``app.state.site``. Its ``submit`` is the single path from an upload
to a published run: stage the workbook under the size limit, solve in the pool, answer
422 with every problem or publish the run directory and redirect to it.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from model.errors import Problem, found_count
from model.web import forms, jobs
from model.web.plans import PartJobs
from model.web.security import MAX_FORM_FIELDS, UploadTooLarge, current
from model.web.storage import KIND_RUN, PLAN_DIR, RISK_DIR, RunStore, UnknownRun
from model.web.views import render
from model.web.workers import JobFailed, QueueFull, Workers

log = logging.getLogger(__name__)

_WORKER_STOPPED: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "worker_stopped", default=False
)
"""Whether the last job this request ran lost its worker process (``Site.failure``)."""

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
RECENT_SECONDS = 90 * 86400
Job = Callable[..., dict[str, Any]]
"""A function of ``model.web.jobs``: ``(input path, display name, folder, *extra)``."""


@dataclass
class Site:
    """The application's state and the helpers every route needs."""

    store: RunStore
    pool: Workers
    max_upload_bytes: int
    auth: bool
    plans: PartJobs = field(default_factory=lambda: PartJobs(PLAN_DIR, jobs.plan_job))
    risks: PartJobs = field(default_factory=lambda: PartJobs(RISK_DIR, jobs.risk_job))

    @property
    def limit_mib(self) -> float:
        return self.max_upload_bytes / 2**20

    def page(self, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        """Render a template with the site-wide context.

        Every template gets ``csrf_token`` (each form posts it back as a hidden field),
        ``user`` (the planner logged in, or None) and ``auth`` (whether to offer log out).
        """
        visitor = current()
        return render(
            name,
            status_code,
            auth=visitor.login,
            user=visitor.user,
            csrf_token=visitor.csrf,
            **context,
        )

    def problems(self, problems: list[Any], title: str, back: str) -> HTMLResponse:
        """The 422 page: every problem as the CLI prints it, Chinese above English.

        ``problems`` holds ``Problem`` objects or their fields as the jobs return them.
        """
        shown = [p if isinstance(p, Problem) else Problem(*p) for p in problems]
        found = found_count(shown)
        return self.page("problems.html", 422, problems=shown, found=found, title=title, back=back)

    def failure(self) -> HTMLResponse:
        """The 500 page: no traceback for the planner; the log has it. A job whose worker
        process stopped under it (killed, or ended by the system) says so, since trying
        again may well work; anything else is caf's own error."""
        if _WORKER_STOPPED.get():
            message = (
                "计算进程在计算中途意外终止（例如被系统或管理员结束），未保存任何结果。请重新提交；"
                "本次请求不受影响的其他计算照常进行。The worker process computing this run "
                "stopped before it finished (ended by the system or an administrator, for "
                "instance), and nothing was saved. Submit it again; other runs were not affected."
            )
        else:
            message = (
                "计算失败，未保存任何结果。The run failed inside caf and nothing was "
                "saved. Try again; if it fails again, send the workbook to the maintainers."
            )
        return self.page("error.html", 500, title="内部错误 Internal error", message=message)

    async def work(self, job: Job, *args: Any) -> dict[str, Any] | None:
        """Run a job in the pool; None (logged) when it fails unexpectedly."""
        _WORKER_STOPPED.set(False)
        try:
            result: dict[str, Any] = await self.pool.run(job, *args)
        except QueueFull:
            raise  # a job started outside a request's place: its caller says so
        except JobFailed:
            log.exception("a worker stopped under a run")
            _WORKER_STOPPED.set(True)
            return None
        except Exception:
            log.exception("a run failed")
            return None
        return result

    async def stage_workbook(self, form: Any, folder: Path) -> tuple[Path, str] | None:
        """Put the uploaded workbook, or an earlier run's, into ``folder``.

        Returns the stored path and the planner's name for it, or None when the form
        holds neither.

        Raises:
            UploadTooLarge: the file is over the limit.
            UnknownRun: ``from_run`` names no run.
        """
        upload = form.get("workbook")
        if isinstance(upload, UploadFile) and upload.filename:
            if upload.size is not None and upload.size > self.max_upload_bytes:
                raise UploadTooLarge
            name = forms.display_name(upload.filename)
            target = folder / forms.stored_name(name)
            await asyncio.to_thread(copy_capped, upload, target, self.max_upload_bytes)
            return target, name
        earlier = forms.run_id_from(forms.text_field(form, "from_run", 200))
        if earlier is None:
            return None
        source, name = self.store.input_of(earlier)
        target = folder / source.name
        await asyncio.to_thread(shutil.copyfile, source, target)
        return target, name

    async def submit(
        self, request: Request, kind: str, job: Job, extra: Callable[[Any], tuple[Any, ...]]
    ) -> Response:
        """Upload → pool → 303 to the published run, or 422 listing every problem."""
        back = "/" if kind == KIND_RUN else "/compare"
        prefix = "/runs" if kind == KIND_RUN else "/compare"
        async with request.form(max_files=1, max_fields=MAX_FORM_FIELDS) as form:
            with self.store.staging() as (run_id, folder):
                staged = await self.stage_workbook(form, folder)
                if staged is None:
                    problem = Problem(
                        "form workbook",
                        "found no workbook",
                        "choose an .xlsx file",
                        what_zh="未发现上传的工作簿",
                        fix_zh="请选择一个 .xlsx 文件",
                    )
                    return self.problems([problem], "没有工作簿 No workbook", back)
                path, name = staged
                result = await self.work(job, str(path), name, str(folder), *extra(form))
                if result is None:
                    return self.failure()
                if result.get("problems"):
                    title = "工作簿有误 The workbook has problems"
                    return self.problems(result["problems"], title, back)
                meta = {"kind": kind, "source": name, "input": path.name, "created": now()}
                self.store.publish(run_id, folder, {**meta, **result["meta"]})
        response = RedirectResponse(f"{prefix}/{run_id}", status_code=303)
        remembered = forms.remember(request.cookies.get(forms.RECENT_COOKIE), run_id)
        response.set_cookie(
            forms.RECENT_COOKIE,
            remembered,
            max_age=RECENT_SECONDS,
            httponly=True,
            samesite="lax",
        )
        return response

    def recent(self, request: Request) -> list[dict[str, Any]]:
        """This browser's earlier runs that still exist, newest first."""
        listed = []
        for run_id in forms.recent_runs(request.cookies.get(forms.RECENT_COOKIE)):
            try:
                listed.append({"id": run_id, **self.store.meta(run_id, KIND_RUN)})
            except UnknownRun:
                continue
        return listed


def site_of(request: Request) -> Site:
    """The ``Site`` of the app serving ``request``."""
    site: Site = request.app.state.site
    return site


def download(request: Request, run_id: str, name: str, kind: str) -> FileResponse:
    """A run's output file as a download named after the run: ``allocation_1a2b3c4d.xlsx``.

    Raises:
        UnknownRun: no complete run of ``kind`` has this id, or it has no such file.
    """
    return attachment(site_of(request).store.file(run_id, name, kind), run_id)


def attachment(path: Path, run_id: str) -> FileResponse:
    """A stored file (a path the store has checked) as a download named after its run."""
    stem, suffix = path.stem, path.suffix
    media_type = XLSX if suffix == ".xlsx" else "application/json"
    return FileResponse(path, media_type=media_type, filename=f"{stem}_{run_id[:8]}{suffix}")


def now() -> str:
    """The creation time shown on pages and in the run lists."""
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")


def copy_capped(upload: UploadFile, target: Path, limit: int) -> None:
    """Copy the spooled upload, counting bytes again: ``size`` may be absent."""
    copied = 0
    upload.file.seek(0)
    with target.open("xb") as out:
        while chunk := upload.file.read(1 << 20):
            copied += len(chunk)
            if copied > limit:
                raise UploadTooLarge
            out.write(chunk)
