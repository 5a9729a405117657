"""``caf serve``: check the address, the logins and TLS, bind, and run uvicorn.

Without accounts (``caf user add``) or a token the app may only listen on loopback, where
nobody but this machine's users can reach it, and it answers only to loopback ``Host``
names, so a web page cannot reach it through DNS rebinding either. Binding is done here,
before uvicorn starts, so a port in use is a one-line input error instead of a log
message and a silent exit.
"""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import socket
import ssl
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from model.errors import InputError, Problem
from model.web.limits import Limits, add_limit_arguments, connection_settings, limits_from_arguments
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


def check_address(host: str, token: str | None, accounts: bool = False) -> None:
    """Refuse a non-loopback address unless logins are required (accounts or a token)."""
    if token is None and not accounts and not is_loopback(host):
        raise InputError(
            [
                Problem(
                    f"--host {host}",
                    "this address can be reached from other machines, and no login is required",
                    "add planner accounts with caf user add NAME (or --token-file PATH with "
                    "a secret token), or use --host 127.0.0.1",
                    what_zh="该地址可从其他计算机访问，但无需登录",
                    fix_zh="请用 caf user add NAME 添加用户（或用 --token-file PATH 指定保密的"
                    "访问令牌），或改用 --host 127.0.0.1",
                )
            ]
        )


def allowed_hosts(host: str, extra: Sequence[str] = ()) -> list[str]:
    """The ``Host`` names to answer: loopback's, the bound address, and ``--allowed-host``.

    Listening on every address (``0.0.0.0``, ``::``), the machine's own names and
    addresses are added too; a name a proxy or DNS gives the server must be named.
    """
    from model.web.security import LOOPBACK_HOSTS

    names = [name.lower() for name in extra]
    bare = host.strip("[]")
    if is_loopback(host) or bare in ("", "0.0.0.0", "::"):
        names += LOOPBACK_HOSTS
    if bare in ("", "0.0.0.0", "::"):
        machine = socket.gethostname()
        names += [machine.lower(), socket.getfqdn().lower()]
        with contextlib.suppress(OSError):
            names += [str(info[4][0]) for info in socket.getaddrinfo(machine, None)]
    elif not is_loopback(host):
        names.append(bare.lower())
    shown = [f"[{name}]" if ":" in name and not name.startswith("[") else name for name in names]
    return list(dict.fromkeys(shown))


def check_tls(certfile: Path | None, keyfile: Path | None) -> bool:
    """Whether to serve over TLS: both files given, readable, and a matching pair.

    Raises:
        InputError: one file without the other, or files that do not load.
    """
    if certfile is None and keyfile is None:
        return False
    where = f"--certfile {certfile} --keyfile {keyfile}"
    if certfile is None or keyfile is None:
        what, what_zh = "found only one of the two files", "只给出了两个文件之一"
    else:
        try:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(certfile, keyfile, password=lambda: b"")
            return True
        except (OSError, ssl.SSLError) as error:
            what = f"cannot load the certificate and its key ({error})"
            what_zh = f"无法加载证书及其私钥（{error}）"
    raise InputError(
        [
            Problem(
                where,
                what,
                "give both a PEM certificate (chain) and its unencrypted PEM private key",
                what_zh=what_zh,
                fix_zh="请同时给出PEM格式的证书（链）及其未加密的PEM私钥",
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
    certfile: Path | None = None,
    keyfile: Path | None = None,
    forwarded_https: bool = False,
    extra_hosts: Sequence[str] = (),
    limits: Limits | None = None,
    keep_days: float = DEFAULT_KEEP_DAYS,
) -> int:
    """Serve the web interface until interrupted; return the exit code.

    Args:
        certfile, keyfile: serve HTTPS with this certificate and key.
        forwarded_https: a TLS proxy on this machine forwards to the server: trust its
            ``X-Forwarded-Proto``/``-For`` and mark cookies ``Secure``.
        extra_hosts: more ``Host`` names to answer (``--allowed-host``).
        limits: jobs' time, memory and queue; connections' deadlines and cap.
        keep_days: delete runs published longer ago than this (0: keep every run).

    Raises:
        InputError: a bad address, port, token file or certificate (the CLI prints it,
            exit 2).
    """
    import uvicorn

    from model.web.accounts import Accounts
    from model.web.app import create_app

    token = read_token(token_file) if token_file is not None else None
    tls = check_tls(certfile, keyfile)
    accounts = Accounts(data_dir)
    named = accounts.has_users()
    accounts.close()
    check_address(host, token, named)
    sock = bind(host, port)
    app = create_app(
        data_dir,
        token=token,
        workers=workers,
        allowed_hosts=allowed_hosts(host, extra_hosts),
        https=tls or forwarded_https,
        limits=limits,
        keep_days=keep_days,
    )
    shown = f"[{host}]" if ":" in host else host
    login = ", planner accounts" if named else ""
    login += ", access token" if token else ""
    if out is not None:
        print(
            f"caf serving {'https' if tls else 'http'}://{shown}:{sock.getsockname()[1]}/ "
            f"(runs in {Path(data_dir).resolve()}"
            + (f"; login by{login[1:]})" if login else ")")
            + "; press Ctrl+C to stop",
            file=out,
            flush=True,
        )
    config = uvicorn.Config(
        app,
        log_level="info",
        proxy_headers=forwarded_https,
        server_header=False,
        ssl_certfile=certfile if tls else None,
        ssl_keyfile=keyfile if tls else None,
        **connection_settings(limits or Limits()),
    )
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
    command.add_argument("--token-file", type=Path, help="a shared access token (one login)")
    command.add_argument("--certfile", type=Path, help="serve HTTPS with this PEM certificate")
    command.add_argument("--keyfile", type=Path, help="the private key of --certfile (PEM)")
    command.add_argument(
        "--forwarded-https",
        action="store_true",
        help="behind a TLS proxy on this machine: trust its X-Forwarded-Proto, Secure cookies",
    )
    command.add_argument(
        "--allowed-host",
        action="append",
        default=[],
        metavar="NAME",
        help="answer to this Host name as well (repeatable), e.g. the name planners type",
    )
    command.add_argument("--workers", type=int, default=2, help="solver processes (default 2)")
    command.add_argument(
        "--keep-days",
        type=keep_days_argument,
        default=DEFAULT_KEEP_DAYS,
        help="delete runs published more than this many days ago; the history keeps their "
        f"record (0: keep every run; default {DEFAULT_KEEP_DAYS:g})",
    )
    add_limit_arguments(command)


def serve_from_arguments(args: argparse.Namespace, out: TextIO) -> int:
    """``caf serve`` with the parsed options."""
    return serve(
        host=args.host,
        port=args.port,
        data_dir=args.data_dir,
        token_file=args.token_file,
        out=out,
        workers=args.workers,
        certfile=args.certfile,
        keyfile=args.keyfile,
        forwarded_https=args.forwarded_https,
        extra_hosts=args.allowed_host,
        limits=limits_from_arguments(args),
        keep_days=args.keep_days,
    )
