"""Connections that cannot starve the server: a deadline for a request's head, and a cap.

uvicorn arms its keep-alive timeout only after a response, so a client that opens a
connection and sends its headers a byte at a time (or never) holds it for ever; a thousand
of them use up the process's file descriptors, and each refused ``accept`` then logs a
traceback. Here every connection must deliver a complete request head within
``header_seconds`` of connecting, or of its previous response, and its body within
``body_seconds`` of the head (a slow upload would hold a place in the queue), and there
are at most
``max_connections``: at the cap, a new connection takes the place of the one that has
waited longest for its request's head (a slow client, or an idle kept-alive one), so
clients that hold connections open without asking anything cannot lock others out; only
when every connection is busy with a request is a new one answered 503 and closed. The
file-descriptor limit itself is raised to the hard limit at start.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, ClassVar

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger(__name__)

_BUSY_TEXT = "服务器连接已满，请稍后重试。Too many connections: try again shortly.\n".encode()
BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 5\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\nConnection: close\r\n"
    + f"Content-Length: {len(_BUSY_TEXT)}\r\n\r\n".encode()
    + _BUSY_TEXT
)
"""What a connection past the cap is told before it is closed."""
DESCRIPTORS_PER_CONNECTION = 1
SPARE_DESCRIPTORS = 64
"""Kept free for what else the server opens: stored runs, workers' pipes, logs."""


class GuardedH11(H11Protocol):
    """uvicorn's HTTP/1.1 protocol with a deadline on each request head and a connection cap.

    Subclassed per server by ``guarded_protocol``, which sets the class attributes.
    """

    header_seconds: ClassVar[float] = 10.0
    body_seconds: ClassVar[float] = 120.0
    max_connections: ClassVar[int] = 500
    waiting: ClassVar[dict[GuardedH11, None]] = {}
    """The server's connections waiting for a request's head, oldest first."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_deadline: asyncio.TimerHandle | None = None
        self._body_deadline: asyncio.TimerHandle | None = None
        self._refused = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        if len(self.connections) >= self.max_connections and not self._evict():
            transport.write(BUSY)
            transport.close()
            self.transport = transport
            self._refused = True
            return
        super().connection_made(transport)
        self._arm()

    def _evict(self) -> bool:
        """Close the connection that has waited longest for a request's head; False when
        every connection is busy with a request."""
        while self.waiting:
            oldest = next(iter(self.waiting))
            oldest._disarm()
            if not oldest.transport.is_closing():
                oldest.transport.close()
                return True
        return False

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:
            self._disarm()
        if self.conn.their_state is h11.SEND_BODY:
            if self._body_deadline is None:
                self._body_deadline = self.loop.call_later(self.body_seconds, self._body_late)
        else:
            self._end_body()

    def _end_body(self) -> None:
        if self._body_deadline is not None:
            self._body_deadline.cancel()
            self._body_deadline = None

    def _body_late(self) -> None:
        """A request body still arriving after ``body_seconds``: drop the connection, so a
        slow upload cannot keep a place in the queue (the route sees a disconnect)."""
        self._body_deadline = None
        if self.conn.their_state is h11.SEND_BODY and not self.transport.is_closing():
            self.transport.close()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        self._end_body()
        if not self._refused:
            super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self._head_deadline = self.loop.call_later(self.header_seconds, self._too_slow)
        self.waiting[self] = None

    def _disarm(self) -> None:
        self.waiting.pop(self, None)
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _too_slow(self) -> None:
        """No complete request head in time: drop the connection (nothing is running)."""
        self._head_deadline = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.close()


def guarded_protocol(
    header_seconds: float, body_seconds: float, max_connections: int
) -> type[GuardedH11]:
    """A ``GuardedH11`` with these limits, for ``uvicorn.Config(http=...)``."""
    limits = {
        "header_seconds": header_seconds,
        "body_seconds": body_seconds,
        "max_connections": max_connections,
        "waiting": {},
    }
    return type("GuardedH11", (GuardedH11,), limits)


def raise_descriptor_limit(max_connections: int) -> int:
    """Raise the soft limit on open files to the hard one; return the connections that fit.

    Returns ``max_connections``, or fewer when even the hard limit cannot hold that many
    besides ``SPARE_DESCRIPTORS`` (logged), so the cap always bites before ``accept`` fails.
    """
    try:
        import resource
    except ImportError:  # pragma: no cover - not on POSIX
        return max_connections
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        soft = hard
    room = max(1, (soft - SPARE_DESCRIPTORS) // DESCRIPTORS_PER_CONNECTION)
    if room < max_connections:
        log.warning("only %d connections fit in the open-file limit of %d", room, soft)
    return min(max_connections, room)
