"""Requests from elsewhere, accounts and sessions (issue 15, findings 3 and 4).

Each test sends what an attacker or a planner's browser would send to a real uvicorn
server on loopback: a form from another origin, a form without its CSRF token, a
rebinding ``Host``, a cookie after logout or past its expiry, a run of wrong passwords.
TLS and ``--forwarded-https`` are tested through ``caf serve`` itself, in a subprocess.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import socket
import sqlite3
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import Request

from model.cli import main
from model.errors import InputError
from model.web import database, server
from model.web.accounts import FREE_FAILURES, Accounts
from model.web.app import create_app
from model.web.security import same_origin
from tests.conftest import LiveServer
from tests.web_client import csrf_of, with_csrf
from tests.workbooks import WORKED_EXAMPLE, WORKED_PARAMETERS, write_workbook

ALICE = ("alice", "alice's long passphrase")
BOB = ("bob", "bob-has-a-password-too")
EVIL = "http://evil.example"


def whoami_app(data_dir: Path, **options: Any) -> Any:
    """The app, plus a route that shows the contract the routes rely on."""
    app = create_app(data_dir, workers=1, **options)

    async def whoami(request: Request) -> dict[str, Any]:
        return {"user": request.state.user, "is_admin": request.state.is_admin}

    app.add_api_route("/whoami", whoami)
    return app


def with_accounts(data_dir: Path) -> Path:
    accounts = Accounts(data_dir)
    accounts.add_user(*ALICE, admin=True)
    accounts.add_user(*BOB)
    accounts.close()
    return data_dir


@pytest.fixture(scope="module")
def worked(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("security") / "worked.xlsx"
    return write_workbook(path, WORKED_EXAMPLE, WORKED_PARAMETERS)


@pytest.fixture(scope="module")
def named(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server with two accounts: alice (an admin) and bob."""
    data_dir = with_accounts(tmp_path_factory.mktemp("named"))
    with LiveServer(whoami_app(data_dir)) as live:
        yield live


@pytest.fixture(scope="module")
def open_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A loopback server without accounts or token: no login."""
    with LiveServer(whoami_app(tmp_path_factory.mktemp("open"))) as live:
        yield live


def log_in(http: httpx.Client, name: str, password: str, **headers: str) -> httpx.Response:
    with_csrf(http, "/login")
    return http.post("/login", data={"name": name, "password": password}, headers=headers)


def post_run(http: httpx.Client, workbook: Path, **headers: str) -> httpx.Response:
    with workbook.open("rb") as handle:
        return http.post("/runs", files={"workbook": ("w.xlsx", handle)}, headers=headers)


def session_cookie(answer: httpx.Response) -> str:
    match = re.search(r"caf_session=([^;]+)", answer.headers.get("set-cookie", ""))
    assert match, answer.headers
    return match.group(1)


def data_dir_of(live: LiveServer) -> Path:
    return Path(live.server.config.app.state.site.store.root)


# --- the database ------------------------------------------------------------------------


def test_migrations_run_once_each_in_order_and_the_file_is_wal(tmp_path: Path) -> None:
    calls: list[int] = []
    steps: list[database.Step] = [
        "CREATE TABLE a (x INTEGER); CREATE INDEX a_x ON a (x);",
        lambda db: calls.append(1),
    ]
    first = database.connect(tmp_path)
    assert database.migrate(first, "test", steps) == 2
    assert database.migrate(database.connect(tmp_path), "test", steps) == 2
    assert calls == [1]
    assert first.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert first.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert first.execute("PRAGMA busy_timeout").fetchone()[0] == database.BUSY_TIMEOUT_MS
    with pytest.raises(sqlite3.OperationalError):
        database.migrate(first, "other", ["CREATE TABLE b (y)", "NOT SQL"])
    assert database.version(first, "other") == 0
    assert first.execute("SELECT name FROM sqlite_master WHERE name = 'b'").fetchone() is None
    with pytest.raises(RuntimeError, match="version 2"):
        database.migrate(first, "test", steps[:1])


# --- caf user ----------------------------------------------------------------------------


def caf_user(monkeypatch: pytest.MonkeyPatch, *argv: str, stdin: str = "") -> tuple[int, str]:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    out, err = io.StringIO(), io.StringIO()
    code = main(["user", *argv], out=out, err=err)
    return code, out.getvalue() + err.getvalue()


def test_caf_user_add_stores_only_an_argon2id_hash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    password = "a passphrase nobody guesses 17"
    where = ["--data-dir", str(tmp_path)]
    code, said = caf_user(
        monkeypatch, "add", "王芳", "--admin", "--password-stdin", *where, stdin=password + "\n"
    )
    assert code == 0, said
    rows = sqlite3.connect(tmp_path / "caf.sqlite").execute("SELECT * FROM users").fetchall()
    assert [(r[0], r[2]) for r in rows] == [("王芳", 1)]
    assert rows[0][1].startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("caf.sqlite*"))
    assert password.encode() not in stored
    assert Accounts(tmp_path).verify("王芳", password) is not None
    assert Accounts(tmp_path).verify("王芳", password + " ") is None

    assert caf_user(monkeypatch, "list", *where)[1].startswith("王芳\tadmin\t")
    code, said = caf_user(monkeypatch, "add", "王芳", "--password-stdin", *where, stdin=password)
    assert code == 2 and "already" in said
    code, said = caf_user(monkeypatch, "add", "eve", "--password-stdin", *where, stdin="short")
    assert code == 2 and "found a password of 5 characters" in said
    code, said = caf_user(monkeypatch, "add", "a b", "--password-stdin", *where, stdin=password)
    assert code == 2 and "user 'a b'" in said
    code, said = caf_user(monkeypatch, "add", "eve", *where)
    assert code == 2 and "--password-stdin" in said
    assert caf_user(monkeypatch, "remove", "王芳", *where)[0] == 0
    code, said = caf_user(monkeypatch, "remove", "王芳", *where)
    assert code == 2 and "no account of this name" in said
    assert caf_user(monkeypatch, "list", *where) == (0, "")


# --- requests from elsewhere -------------------------------------------------------------


def test_a_rebinding_host_is_refused_on_loopback(open_server: LiveServer) -> None:
    with httpx.Client(base_url=open_server.url) as http:
        assert http.get("/", headers={"Host": "evil.example"}).status_code == 400
        assert (
            http.get("/", headers={"Host": f"evil.example:{open_server.port}"}).status_code == 400
        )
        assert http.post("/runs", headers={"Host": "evil.example"}).status_code == 400
        for host in ("127.0.0.1", "localhost", "[::1]"):
            assert http.get("/", headers={"Host": f"{host}:{open_server.port}"}).status_code == 200


def test_a_cross_origin_post_is_refused_and_a_same_origin_one_works(
    open_server: LiveServer, worked: Path
) -> None:
    data_dir = data_dir_of(open_server)
    with httpx.Client(base_url=open_server.url, timeout=60) as http:
        with_csrf(http)
        before = set(data_dir.iterdir())
        for headers in (
            {"Origin": EVIL},
            {"Origin": f"http://127.0.0.1:{open_server.port + 1}"},  # same site, other port
            {"Origin": f"https://127.0.0.1:{open_server.port}"},
            {"Origin": "null"},
            {"Sec-Fetch-Site": "cross-site"},
            {"Sec-Fetch-Site": "same-site"},
        ):
            refused = post_run(http, worked, **headers)
            assert refused.status_code == 403, headers
            assert "A request from another site" in refused.text
        assert set(data_dir.iterdir()) == before
        same = {"Origin": open_server.url, "Sec-Fetch-Site": "same-origin"}
        assert post_run(http, worked, **same).status_code == 303
        null_but_same = {"Origin": "null", "Sec-Fetch-Site": "same-origin"}
        assert post_run(http, worked, **null_but_same).status_code == 303


def test_a_post_without_the_pages_csrf_token_is_refused(
    open_server: LiveServer, worked: Path
) -> None:
    with httpx.Client(base_url=open_server.url, timeout=60) as http:
        page = http.get("/")
        token = csrf_of(page.text)
        assert "caf_csrf" in page.headers["set-cookie"]
        assert "samesite=lax" in page.headers["set-cookie"].lower()
        refused = post_run(http, worked)
        assert refused.status_code == 403
        assert "reload the page" in refused.text
        assert post_run(http, worked, **{"X-CSRF-Token": "0" * 64}).status_code == 403
        with worked.open("rb") as handle:
            by_field = http.post(
                "/runs", files={"workbook": ("w.xlsx", handle)}, data={"csrf_token": token}
            )
        assert by_field.status_code == 303
        assert post_run(http, worked, **{"X-CSRF-Token": token}).status_code == 303
    with httpx.Client(base_url=open_server.url, timeout=60) as other:
        other.get("/")  # another browser: another nonce, so the first token is worthless
        assert post_run(other, worked, **{"X-CSRF-Token": token}).status_code == 403


def test_a_wrong_token_in_first_place_is_refused_before_the_upload_is_read(
    open_server: LiveServer,
) -> None:
    with httpx.Client(base_url=open_server.url) as http:
        nonce = http.get("/").cookies["caf_csrf"]
    first_part = (
        b'--b0undary\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n'
        + b"0" * 64
        + b'\r\n--b0undary\r\nContent-Disposition: form-data; name="workbook"; '
        + b'filename="big.xlsx"\r\n\r\nPK'
    )
    head = (
        f"POST /runs HTTP/1.1\r\nHost: 127.0.0.1:{open_server.port}\r\n"
        f"Cookie: caf_csrf={nonce}\r\nContent-Length: {9 * 2**20}\r\n"
        "Content-Type: multipart/form-data; boundary=b0undary\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", open_server.port), timeout=10) as raw:
        raw.sendall(head.encode() + first_part)  # and not one byte of the other 9 MiB
        answer = ""
        while "</p>" not in answer and (chunk := raw.recv(65536)):
            answer += chunk.decode("latin-1")
    assert answer.startswith("HTTP/1.1 403"), answer[:200]
    assert "reload the page" in answer


def test_a_token_after_other_fields_is_found_in_the_form(open_server: LiveServer) -> None:
    with httpx.Client(base_url=open_server.url) as http:
        token = csrf_of(http.get("/").text)
        form = {"from_run": "f" * 32, "csrf_token": token}
        assert http.post("/runs", data=form).status_code == 404  # past the check: no such run
        form["csrf_token"] = "0" * 64
        assert http.post("/runs", data=form).status_code == 403


def test_every_form_of_every_page_carries_the_token() -> None:
    templates = Path(__file__).resolve().parents[1] / "model" / "web" / "templates"
    for template in templates.glob("*.html"):
        text = template.read_text(encoding="utf-8")
        for form in re.findall(r"<form[^>]*>.*?</form>", text, re.S):
            if 'method="post"' in form:
                assert 'name="csrf_token" value="{{ csrf_token }}"' in form, template.name


def test_without_logins_everyone_on_loopback_is_an_admin(open_server: LiveServer) -> None:
    with httpx.Client(base_url=open_server.url) as http:
        assert http.get("/whoami").json() == {"user": None, "is_admin": True}
        assert "退出 Log out" not in http.get("/").text


# --- accounts and sessions ---------------------------------------------------------------


def test_a_planner_logs_in_by_name_and_the_routes_know_who(named: LiveServer) -> None:
    with httpx.Client(base_url=named.url) as http:
        assert http.get("/whoami").status_code == 303
        assert log_in(http, "alice", "wrong password!").status_code == 401
        assert log_in(http, "nobody", ALICE[1]).status_code == 401
        answer = log_in(http, *ALICE)
        assert answer.status_code == 303
        cookie = answer.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie and "max-age=43200" in cookie
        assert "secure" not in cookie  # plain http on loopback
        assert http.get("/whoami").json() == {"user": "alice", "is_admin": True}
        assert "alice" in http.get("/").text
    with httpx.Client(base_url=named.url) as http:
        assert log_in(http, "BOB", BOB[1]).status_code == 303  # names ignore case
        assert http.get("/whoami").json() == {"user": "bob", "is_admin": False}


def test_two_logins_get_different_cookies_and_logout_revokes_one(named: LiveServer) -> None:
    with httpx.Client(base_url=named.url) as first, httpx.Client(base_url=named.url) as second:
        one = session_cookie(log_in(first, *ALICE))
        two = session_cookie(log_in(second, *ALICE))
        assert one != two
        stored = sqlite3.connect(data_dir_of(named) / "caf.sqlite")
        hashes = {row[0] for row in stored.execute("SELECT key_hash FROM sessions")}
        assert one not in hashes and two not in hashes  # only digests are kept

        with_csrf(first)
        assert first.post("/logout").status_code == 303
    with httpx.Client(base_url=named.url, cookies={"caf_session": one}) as replay:
        assert replay.get("/whoami").status_code == 303  # the copied cookie is dead
    with httpx.Client(base_url=named.url, cookies={"caf_session": two}) as other:
        assert other.get("/whoami").json()["user"] == "alice"  # the other login lives on


def test_a_session_past_its_expiry_is_refused_by_the_server(named: LiveServer) -> None:
    with httpx.Client(base_url=named.url) as http:
        cookie = session_cookie(log_in(http, *BOB))
    with httpx.Client(base_url=named.url, cookies={"caf_session": cookie}) as browser:
        assert browser.get("/whoami").status_code == 200
        stored = sqlite3.connect(data_dir_of(named) / "caf.sqlite")
        with stored:
            stored.execute("UPDATE sessions SET expires = ? WHERE user = 'bob'", (time.time(),))
        assert browser.get("/whoami").status_code == 303  # the browser still sends it


def test_a_csrf_token_belongs_to_its_session(named: LiveServer, worked: Path) -> None:
    with httpx.Client(base_url=named.url, timeout=60) as alice:
        log_in(alice, *ALICE)
        alices = csrf_of(alice.get("/").text)
    with httpx.Client(base_url=named.url, timeout=60) as bob:
        log_in(bob, *BOB)
        assert post_run(bob, worked, **{"X-CSRF-Token": alices}).status_code == 403
        with_csrf(bob)
        assert post_run(bob, worked).status_code == 303


def test_removing_an_account_ends_its_sessions(tmp_path: Path) -> None:
    accounts = Accounts(with_accounts(tmp_path))
    cookie = accounts.start_session("bob", False)
    assert accounts.session(cookie) is not None
    accounts.set_password("bob", "a brand new password")
    assert accounts.session(cookie) is None
    cookie = accounts.start_session("bob", False)
    accounts.remove_user("bob")
    assert accounts.session(cookie) is None
    assert [user.name for user in accounts.users()] == ["alice"]


def test_wrong_passwords_meet_a_growing_wait(tmp_path: Path) -> None:
    with LiveServer(whoami_app(with_accounts(tmp_path))) as live:
        with httpx.Client(base_url=live.url) as http:
            for _ in range(FREE_FAILURES + 1):
                assert log_in(http, "bob", "not the password").status_code == 401
            blocked = log_in(http, *BOB)  # even the right one waits
            assert blocked.status_code == 429
            assert blocked.headers["retry-after"] == "1"
            assert "Too many wrong tries" in blocked.text
            assert "caf_session" not in blocked.headers.get("set-cookie", "")

            elsewhere = httpx.HTTPTransport(local_address="127.0.0.2")
            with httpx.Client(base_url=live.url, transport=elsewhere) as other:
                assert log_in(other, *BOB).status_code == 429  # the name waits everywhere
                assert log_in(other, *ALICE).status_code == 303  # other names do not

            time.sleep(1.1)
            assert log_in(http, "bob", "not the password").status_code == 401
            doubled = log_in(http, *BOB)
            assert doubled.status_code == 429
            assert doubled.headers["retry-after"] == "2"
            time.sleep(2.1)
            assert log_in(http, *BOB).status_code == 303
            assert http.get("/whoami").json()["user"] == "bob"
        stored = sqlite3.connect(tmp_path / "caf.sqlite")
        assert stored.execute("SELECT key FROM login_attempts").fetchall() == []


def test_the_first_account_makes_a_running_server_ask_for_a_login(tmp_path: Path) -> None:
    with LiveServer(whoami_app(tmp_path)) as live, httpx.Client(base_url=live.url) as http:
        assert http.get("/whoami").status_code == 200
        Accounts(tmp_path).add_user(*BOB)
        assert http.get("/whoami").status_code == 303
        assert log_in(http, *BOB).status_code == 303
        assert http.get("/whoami").json() == {"user": "bob", "is_admin": False}


def test_a_token_login_is_a_session_too(tmp_path: Path) -> None:
    token = "correct-horse-battery-staple-42"
    with LiveServer(whoami_app(tmp_path, token=token)) as live:
        cookies = []
        for _ in range(2):
            with httpx.Client(base_url=live.url) as http:
                with_csrf(http, "/login")
                answer = http.post("/login", data={"token": token})
                assert answer.status_code == 303
                cookies.append(session_cookie(answer))
                assert http.get("/whoami").json() == {"user": "token", "is_admin": True}
                if len(cookies) == 1:
                    with_csrf(http)
                    http.post("/logout")
        assert cookies[0] != cookies[1]
        with httpx.Client(base_url=live.url, cookies={"caf_session": cookies[0]}) as replay:
            assert replay.get("/whoami").status_code == 303
        bearer = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=live.url, headers=bearer) as script:
            assert script.get("/whoami").json() == {"user": "token", "is_admin": True}
            assert script.post("/runs").status_code == 422  # no CSRF token needed


# --- what caf serve checks ---------------------------------------------------------------


def test_serve_needs_a_login_off_loopback_and_checks_tls_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="caf user add"):
        server.check_address("0.0.0.0", None)
    server.check_address("0.0.0.0", None, accounts=True)
    with pytest.raises(InputError, match="only one of the two"):
        server.check_tls(tmp_path / "cert.pem", None)
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate")
    with pytest.raises(InputError, match="cannot load the certificate"):
        server.check_tls(junk, junk)
    assert server.check_tls(None, None) is False


def test_the_hosts_a_server_answers_to() -> None:
    loopback = server.allowed_hosts("127.0.0.1", ["caf.example.gov.cn"])
    assert loopback == ["caf.example.gov.cn", "127.0.0.1", "localhost", "[::1]"]
    assert server.allowed_hosts("10.1.2.3") == ["10.1.2.3"]
    assert server.allowed_hosts("fe80::1") == ["[fe80::1]"]
    everywhere = server.allowed_hosts("0.0.0.0")
    assert "localhost" in everywhere
    assert os.uname().nodename.lower() in everywhere


def test_same_origin_compares_scheme_host_and_port() -> None:
    def scope(**headers: str) -> dict[str, Any]:
        encoded = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        return {"scheme": "http", "headers": encoded}

    assert same_origin(scope(Host="caf:80", Origin="http://CAF"), https=False)
    assert same_origin(scope(Host="caf", Origin="https://caf:443"), https=True)
    assert not same_origin(scope(Host="caf", Origin="http://caf"), https=True)
    assert not same_origin(scope(Host="caf:8000", Origin="http://caf:8001"), https=False)
    assert not same_origin(scope(Origin="http://caf"), https=False)
    assert not same_origin(scope(Host="caf", Origin="http://caf:notaport"), https=False)
    assert same_origin(scope(Host="caf"), https=False)  # curl: no Origin at all


def start_caf_serve(data_dir: Path, *options: str) -> tuple[subprocess.Popen[str], str]:
    """``caf serve`` on a free port; its URL once it answers."""
    command = [sys.executable, "-m", "model.cli", "serve", "--port", "0", "--workers", "1"]
    process = subprocess.Popen(
        [*command, "--data-dir", str(data_dir), *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    match = re.search(r"caf serving (\S+)/ ", line)
    if not match:
        process.kill()
        pytest.fail(f"caf serve did not start: {line!r}")
    return process, match.group(1)


def stop(process: subprocess.Popen[str]) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, made with the openssl command."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("no openssl command to make a test certificate")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            *(openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"),
            *("-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def test_caf_serve_over_tls_sets_secure_cookies(tmp_path: Path, worked: Path) -> None:
    cert, key = self_signed(tmp_path)
    data_dir = with_accounts(tmp_path / "runs")
    process, url = start_caf_serve(data_dir, "--certfile", str(cert), "--keyfile", str(key))
    try:
        assert url.startswith("https://127.0.0.1:")
        trusted = ssl.create_default_context(cafile=str(cert))
        with httpx.Client(base_url=url, verify=trusted, timeout=60) as http:
            page = http.get("/login")
            assert "; secure" in page.headers["set-cookie"].lower()
            answer = log_in(http, *ALICE, Origin=url)
            assert answer.status_code == 303
            assert "; secure" in answer.headers["set-cookie"].lower()
            with_csrf(http)
            assert post_run(http, worked, Origin=url).status_code == 303
            plain = url.replace("https://", "http://")
            assert post_run(http, worked, Origin=plain).status_code == 403
    finally:
        stop(process)


def test_caf_serve_behind_a_tls_proxy_sets_secure_cookies(tmp_path: Path) -> None:
    data_dir = with_accounts(tmp_path)
    process, url = start_caf_serve(data_dir, "--forwarded-https", "--allowed-host", "caf.test")
    port = url.rsplit(":", 1)[1]
    proxied = {"X-Forwarded-Proto": "https", "Host": f"caf.test:{port}"}
    try:
        with httpx.Client(base_url=url, headers=proxied) as http:
            page = http.get("/login")
            nonce = re.search(r"caf_csrf=([^;]+)", page.headers["set-cookie"])
            assert nonce and "; secure" in page.headers["set-cookie"].lower()
            form = {"name": ALICE[0], "password": ALICE[1], "csrf_token": csrf_of(page.text)}
            cookie = {"Cookie": f"caf_csrf={nonce.group(1)}"}  # httpx keeps Secure ones for https
            answer = http.post(
                "/login", data=form, headers=cookie | {"Origin": f"https://caf.test:{port}"}
            )
            assert answer.status_code == 303
            assert "; secure" in answer.headers["set-cookie"].lower()
            plain = http.post(
                "/login", data=form, headers=cookie | {"Origin": f"http://caf.test:{port}"}
            )
            assert plain.status_code == 403
        with httpx.Client(base_url=url) as http:
            assert http.get("/login", headers={"Host": "other.test"}).status_code == 400
    finally:
        stop(process)
