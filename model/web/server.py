"""``caf serve``: check the address and the token, bind, and run uvicorn.

Without a token the app may only listen on loopback, where nobody but this machine's
users can reach it. Binding is done here, before uvicorn starts, so a port in use is a
one-line input error instead of a log message and a silent exit.
"""

from __future__ import annotations

import argparse
import ipaddress
import socket
from pathlib import Path
from typing import TextIO

from model.errors import InputError, Problem
from model.web.storage import DEFAULT_KEEP_DAYS, keep_days_argument

MIN_TOKEN_CHARS = 16
TOKEN_HINT = "python -c 'import secrets; print(secrets.token_urlsafe(32))' > token.txt"


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback address (``127.0.0.0/8``, ``::1``, ``localhost``)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def read_token(path: Path) -> str:
    """The access token: the file's text without surrounding blanks.

    Raises:
        InputError: the file is missing, unreadable, or holds too short a token.
    """
    where = f"--token-file {path}"
    try:
        token = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(
            [
                Problem(
                    where,
                    f"cannot read the file ({error})",
                    "check the path",
                    what_zh=f"无法读取该文件（{error}）",
                    fix_zh="请检查路径",
                )
            ]
        ) from None
    if len(token) < MIN_TOKEN_CHARS or any(c.isspace() for c in token):
        raise InputError(
            [
                Problem(
                    where,
                    f"found a token of {len(token)} characters, or one with blanks",
                    f"use one word of at least {MIN_TOKEN_CHARS} characters: {TOKEN_HINT}",
                    what_zh=f"令牌长度为{len(token)}个字符，或其中含有空白字符",
                    fix_zh=f"请使用不含空白、至少{MIN_TOKEN_CHARS}个字符的令牌：{TOKEN_HINT}",
                )
            ]
        )
    return token


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port``.

    Raises:
        InputError: the address is unknown or the port is taken.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        family, kind, proto, _, address = infos[0]
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as error:
        raise InputError(
            [
                Problem(
                    f"--host {host} --port {port}",
                    f"cannot listen there ({error.strerror or error})",
                    "choose another port with --port, or stop the program using it",
                    what_zh=f"无法在该地址监听（{error.strerror or error}）",
                    fix_zh="请用 --port 另选端口，或停止占用该端口的程序",
                )
            ]
        ) from None
    sock.listen(128)
    return sock


def check_address(host: str, token: str | None) -> None:
    """Refuse a non-loopback address unless an access token is set."""
    if token is None and not is_loopback(host):
        raise InputError(
            [
                Problem(
                    f"--host {host}",
                    "this address can be reached from other machines, and no access token is set",
                    "add --token-file PATH with a secret token, or use --host 127.0.0.1",
                    what_zh="该地址可从其他计算机访问，但未设置访问令牌",
                    fix_zh="请用 --token-file PATH 指定保密的访问令牌，或改用 --host 127.0.0.1",
                )
            ]
        )


def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    data_dir: str | Path = "runs",
    token_file: Path | None = None,
    out: TextIO | None = None,
    workers: int = 2,
    keep_days: float = DEFAULT_KEEP_DAYS,
) -> int:
    """Serve the web interface until interrupted; return the exit code.

    Args:
        keep_days: delete runs published longer ago than this (0: keep every run).

    Raises:
        InputError: a bad address, port or token file (the CLI prints it, exit 2).
    """
    import uvicorn

    from model.web.app import create_app

    token = read_token(token_file) if token_file is not None else None
    check_address(host, token)
    sock = bind(host, port)
    app = create_app(data_dir, token=token, workers=workers, keep_days=keep_days)
    shown = f"[{host}]" if ":" in host else host
    if out is not None:
        print(
            f"caf serving http://{shown}:{sock.getsockname()[1]}/ "
            f"(runs in {Path(data_dir).resolve()}"
            + (", access token required)" if token else ")")
            + "; press Ctrl+C to stop",
            file=out,
            flush=True,
        )
    config = uvicorn.Config(app, log_level="info", proxy_headers=False, server_header=False)
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()
    return 0


def add_arguments(command: argparse.ArgumentParser) -> None:
    """The options of ``caf serve``; every limit of the server is one of them."""
    command.add_argument("--host", default="127.0.0.1")
    command.add_argument("--port", type=int, default=8000)
    command.add_argument("--data-dir", type=Path, default=Path("runs"))
    command.add_argument("--token-file", type=Path)
    command.add_argument("--workers", type=int, default=2, help="solver processes (default 2)")
    command.add_argument(
        "--keep-days",
        type=keep_days_argument,
        default=DEFAULT_KEEP_DAYS,
        help="delete runs published more than this many days ago; the history keeps their "
        f"record (0: keep every run; default {DEFAULT_KEEP_DAYS:g})",
    )


def serve_from_arguments(args: argparse.Namespace, out: TextIO) -> int:
    """``caf serve`` with the parsed options."""
    return serve(
        host=args.host,
        port=args.port,
        data_dir=args.data_dir,
        token_file=args.token_file,
        out=out,
        workers=args.workers,
        keep_days=args.keep_days,
    )
