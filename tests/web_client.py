"""What a test client needs to post like the app's own pages: the page's CSRF token.

Each page carries the token in a hidden ``csrf_token`` field; a browser posts it back
with the form. A test client fetches a page and sends the token in the ``X-CSRF-Token``
header, which the server accepts in place of the field (as ``upload.js`` could).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import re
from typing import Any

import httpx

FIELD = re.compile(r'<input type="hidden" name="csrf_token" value="([^"]*)">')


def csrf_of(page: str) -> str:
    """The CSRF token a page's forms carry."""
    match = FIELD.search(page)
    assert match, "the page holds no csrf_token field"
    return match.group(1)


def with_csrf(http: httpx.Client, path: str = "/") -> httpx.Client:
    """Fetch ``path`` (keeping its cookies) and send its CSRF token with every request."""
    page = http.get(path)
    http.headers["x-csrf-token"] = csrf_of(page.text)
    return http


def outside_any_loop(coroutine: Any) -> Any:
    """``asyncio.run`` on a thread of its own: Playwright's sync API leaves an event loop
    running in the main thread once a browser test has run, where ``asyncio.run`` refuses."""
    with concurrent.futures.ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, coroutine).result()
