"""Source faults caused for real: a PostgreSQL backend terminated mid-extract, and HTTP servers
(raw sockets on 127.0.0.1) that hang, reset connections or truncate bodies. Each run is either
retried within the configured budget and loads, or fails cleanly with nothing loaded."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import struct
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator

import pytest

from tests.conftest import Project
from tests.extractors.conftest import tables

ROWS = [{"id": i, "name": f"r{i}"} for i in range(1, 4)]
Behaviour = Callable[[socket.socket, int], None]


class RawServer:
    """Accepts connections on 127.0.0.1; ``behaviour(conn, n)`` handles the n-th (from 1)."""

    def __init__(self, behaviour: Behaviour) -> None:
        self.behaviour = behaviour
        self.count = 0
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.stop = threading.Event()
        self.open: list[socket.socket] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}/items"

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.count += 1
            self.open.append(conn)
            threading.Thread(target=self._handle, args=(conn, self.count), daemon=True).start()

    def _handle(self, conn: socket.socket, n: int) -> None:
        try:
            _read_request(conn)
            self.behaviour(conn, n)
        except OSError:
            pass

    def close(self) -> None:
        self.stop.set()
        self.sock.close()
        for conn in self.open:
            with contextlib.suppress(OSError):
                conn.close()
        self.thread.join(2)


def _read_request(conn: socket.socket) -> None:
    conn.settimeout(5)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            return
        data += chunk


def _hang(conn: socket.socket, n: int) -> None:
    time.sleep(30)


def _reset(conn: socket.socket) -> None:
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()


def _answer(conn: socket.socket, body: bytes, length: int | None = None) -> None:
    head = (
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body) if length is None else length}\r\nConnection: close\r\n\r\n"
    )
    conn.sendall(head.encode() + body)
    conn.close()


def _valid(conn: socket.socket) -> None:
    _answer(conn, json.dumps(ROWS).encode())


def _truncated(conn: socket.socket) -> None:
    body = json.dumps(ROWS).encode()
    _answer(conn, body[:10], length=len(body))


@pytest.fixture
def raw_server() -> Iterator[Callable[[Behaviour], RawServer]]:
    servers: list[RawServer] = []

    def start(behaviour: Behaviour) -> RawServer:
        servers.append(RawServer(behaviour))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def _http_spec(project: Project, name: str, url: str, attempts: int, extra: str = "") -> None:
    project.write_spec(
        name,
        f"""
        pipeline: {name}
        start_date: 2026-01-01
        destination: {{loader: duckdb, path: warehouse.duckdb}}
        sources:
          api:
            extractor: http
            url: {url}
            timeout: 0.5
            retry: {{attempts: {attempts}, backoff: 0.05, max_delay: 0.1}}
            {extra}
        loads:
          items: {{from: api, write: replace}}
        """,
    )


def _assert_clean_failure(result: subprocess.CompletedProcess[str], project: Project) -> str:
    out = result.stdout + result.stderr
    assert result.returncode == 1, out
    assert "Traceback" not in out, out
    assert "source 'api'" in out, out
    assert "items" not in tables(project)
    return out


def test_http_server_that_hangs_fails_within_the_timeout_budget(
    project: Project, raw_server
) -> None:
    server = raw_server(_hang)
    _http_spec(project, "hangs", server.url, attempts=2)
    started = time.monotonic()
    result = project.cli("run", "hangs")
    elapsed = time.monotonic() - started
    out = _assert_clean_failure(result, project)
    assert "page 1" in out and "failed after 2 attempts" in out and "Timeout" in out, out
    assert server.count == 2
    assert elapsed < 20, elapsed  # the server would hang for 30 s


def test_http_connection_reset_is_retried_then_loads(project: Project, raw_server) -> None:
    server = raw_server(lambda conn, n: _reset(conn) if n <= 2 else _valid(conn))
    _http_spec(project, "resets_then_ok", server.url, attempts=4)
    result = project.cli("run", "resets_then_ok")
    assert result.returncode == 0, result.stdout + result.stderr
    assert server.count == 3
    assert project.query("select id, name from items order by id") == [
        (r["id"], r["name"]) for r in ROWS
    ]


def test_http_connection_always_reset_fails_cleanly(project: Project, raw_server) -> None:
    server = raw_server(lambda conn, n: _reset(conn))
    _http_spec(project, "always_resets", server.url, attempts=3)
    out = _assert_clean_failure(project.cli("run", "always_resets"), project)
    assert "failed after 3 attempts" in out, out
    assert server.count == 3


def test_http_truncated_body_is_retried_then_loads(project: Project, raw_server) -> None:
    server = raw_server(lambda conn, n: _truncated(conn) if n == 1 else _valid(conn))
    _http_spec(project, "truncated_then_ok", server.url, attempts=3)
    result = project.cli("run", "truncated_then_ok")
    assert result.returncode == 0, result.stdout + result.stderr
    assert server.count == 2
    assert project.query("select count(*) from items") == [(len(ROWS),)]


def test_http_truncated_body_always_fails_cleanly(project: Project, raw_server) -> None:
    server = raw_server(lambda conn, n: _truncated(conn))
    _http_spec(project, "always_truncated", server.url, attempts=2)
    out = _assert_clean_failure(project.cli("run", "always_truncated"), project)
    assert "failed after 2 attempts" in out, out
    assert server.count == 2


@pytest.fixture
def pg_slow_view(postgres) -> Iterator[str]:
    """A view of 300k rows whose scan stalls (pg_sleep) at row 5,000, so the backend can be
    found (wait event PgSleep) and terminated after the first chunks were read."""
    view = f"slow_{uuid.uuid4().hex[:8]}"
    postgres.execute(
        f"create view {view} as select id, name from (select g as id, 'n' || g as name, "
        "case when g = 5000 then pg_sleep(60)::text end as pause "
        "from generate_series(1, 300000) g offset 0) s where pause is null"
    )
    yield view
    postgres.execute(f"drop view {view}")


@pytest.mark.parametrize("engine", ["auto", "sqlalchemy"])
def test_postgres_backend_terminated_mid_extract_fails_cleanly(
    project: Project, postgres, pg_slow_view: str, engine: str
) -> None:
    project.write_spec(
        f"pg_drop_{engine}",
        f"""
        pipeline: pg_drop_{engine}
        start_date: 2026-01-01
        destination: {{loader: duckdb, path: warehouse.duckdb}}
        sources:
          orders:
            extractor: postgres
            connection: shop_db
            table: public.{pg_slow_view}
            chunk_size: 1000
            engine: {engine}
        loads:
          orders: {{from: orders, write: replace}}
        """,
    )
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", "DAGWRIGHT_CONN_SHOP_DB": postgres.url}
    proc = subprocess.Popen(
        [sys.executable, "-m", "dagwright.cli", "run", f"pg_drop_{engine}"],
        cwd=project.root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    terminated = 0
    deadline = time.monotonic() + 60
    try:
        while not terminated and time.monotonic() < deadline and proc.poll() is None:
            rows = postgres.execute(
                "select pg_terminate_backend(pid) from pg_stat_activity "
                "where datname = current_database() and pid <> pg_backend_pid() "
                "and wait_event = 'PgSleep'"
            )
            terminated = len(rows or [])
            time.sleep(0.05)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    text = out + err
    assert terminated, text
    assert proc.returncode == 1, text
    assert "Traceback" not in text, text
    assert "source 'orders'" in text and "terminating connection" in text, text
    assert "orders" not in tables(project)
