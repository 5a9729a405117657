"""``caf user``: add, list, remove planner accounts, and change a password.

The accounts live in the data directory the server uses (``--data-dir``, ``runs`` by
default); ``caf serve`` asks for a login as soon as one exists. A password is typed twice
at a hidden prompt, or read as one line from standard input with ``--password-stdin``
(for scripts), and is stored only as its argon2id hash.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path
from typing import Any, TextIO

from model.errors import InputError, Problem


def add_arguments(commands: Any) -> None:
    """The ``caf user`` command and its four subcommands."""
    user = commands.add_parser("user", help="manage the web interface's planner accounts")
    actions = user.add_subparsers(dest="user_action", required=True)
    for name, help_text in [
        ("add", "add an account (asks for its password)"),
        ("passwd", "change an account's password and end its sessions"),
        ("remove", "remove an account and end its sessions"),
        ("list", "list the accounts"),
    ]:
        action = actions.add_parser(name, help=help_text)
        if name != "list":
            action.add_argument("name")
        if name in ("add", "passwd"):
            action.add_argument(
                "--password-stdin",
                action="store_true",
                help="read the password as one line from standard input",
            )
        if name == "add":
            action.add_argument("--admin", action="store_true", help="sees every planner's runs")
        action.add_argument("--data-dir", type=Path, default=Path("runs"))


def _password(args: argparse.Namespace) -> str:
    """The new password, from standard input or typed twice at a hidden prompt.

    Raises:
        InputError: the two typed passwords differ, or there is no terminal to ask at.
    """
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise InputError(
            [
                Problem(
                    f"user {args.name}",
                    "found no terminal to type the password at",
                    "pipe it in with --password-stdin",
                    what_zh="没有可输入密码的终端",
                    fix_zh="请用 --password-stdin 从标准输入读取密码",
                )
            ]
        )
    first = getpass.getpass(f"密码 Password for {args.name}: ")
    if getpass.getpass("再输一次 Again: ") != first:
        raise InputError(
            [
                Problem(
                    f"user {args.name}",
                    "found two different passwords",
                    "type the same password twice",
                    what_zh="两次输入的密码不一致",
                    fix_zh="请两次输入相同的密码",
                )
            ]
        )
    return first


def run(args: argparse.Namespace, out: TextIO) -> int:
    """Carry out ``caf user …``; return the exit code (0).

    Raises:
        InputError: a bad name or password, or no such account (the CLI prints it, exit 2).
    """
    from model.web.accounts import Accounts

    accounts = Accounts(args.data_dir)
    try:
        if args.user_action == "add":
            user = accounts.add_user(args.name, _password(args), admin=args.admin)
            role = "an admin" if user.admin else "a planner"
            print(f"added {user.name}, {role}, to {args.data_dir}", file=out)
        elif args.user_action == "passwd":
            accounts.set_password(args.name, _password(args))
            print(f"changed the password of {args.name}; its sessions are ended", file=out)
        elif args.user_action == "remove":
            accounts.remove_user(args.name)
            print(f"removed {args.name}; its sessions are ended", file=out)
        else:
            for user in accounts.users():
                print(
                    f"{user.name}\t{'admin' if user.admin else 'planner'}\t{user.created}",
                    file=out,
                )
    finally:
        accounts.close()
    return 0
