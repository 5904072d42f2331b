"""HTTP sources against a real HTTP server on 127.0.0.1, through the runner into the warehouse."""

from __future__ import annotations

import base64
import json
import threading
import time

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.conftest import Project
from tests.extractors.conftest import extracted, tables, watermark

TOKEN = "tok-Secret-7f3a9"
BASIC_PASSWORD = "b4sic-Secret-x1"
API_KEY = "k3y-Secret-q8"
RECORDS = [{"id": i, "name": f"r{i}", "tags": {"n": i}} for i in range(1, 6)]


def _json(body: object, status: int = 200, headers: dict | None = None) -> Response:
    return Response(json.dumps(body), status, headers, content_type="application/json")


def _int(request: Request, key: str, default: int) -> int:
    return int(request.args.get(key, default))


def serve_paginated(server: HTTPServer) -> None:
    def page(request: Request) -> Response:
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return _json({"error": "unauthorized"}, 401)
        n, size = _int(request, "page", 1), _int(request, "per_page", 2)
        return _json({"data": {"items": RECORDS[(n - 1) * size : n * size]}})

    def offset(request: Request) -> Response:
        expected = base64.b64encode(f"etl:{BASIC_PASSWORD}".encode()).decode()
        if request.headers.get("Authorization") != f"Basic {expected}":
            return _json({"error": "unauthorized"}, 401)
        start, limit = _int(request, "offset", 0), _int(request, "limit", 10)
        return _json(RECORDS[start : start + limit])

    def cursor(request: Request) -> Response:
        if request.headers.get("X-Api-Key") != API_KEY:
            return _json({"error": "unauthorized"}, 401)
        at = _int(request, "cursor", 0)
        following = at + 2 if at + 2 < len(RECORDS) else None
        return _json({"results": RECORDS[at : at + 2], "meta": {"next": following}})

    def link(request: Request) -> Response:
        n = _int(request, "p", 1)
        headers = {"Link": f'</link?p={n + 1}>; rel="next"'} if n < 3 else {}
        return _json(RECORDS[(n - 1) * 2 : n * 2], headers=headers)

    server.expect_request("/v1/items").respond_with_handler(page)
    server.expect_request("/offset").respond_with_handler(offset)
    server.expect_request("/cursor").respond_with_handler(cursor)
    server.expect_request("/link").respond_with_handler(link)


def test_every_pagination_style_and_auth_loads(
    project: Project, run_spec, httpserver: HTTPServer, monkeypatch
) -> None:
    serve_paginated(httpserver)
    base = httpserver.url_for("/")
    monkeypatch.setenv("DAGWRIGHT_CONN_API", base.replace("://", f"://:{TOKEN}@") + "v1")
    monkeypatch.setenv("DAGWRIGHT_CONN_BASIC_API", base.replace("://", f"://etl:{BASIC_PASSWORD}@"))
    monkeypatch.setenv("MY_API_KEY", API_KEY)
    outcome = run_spec(
        "http_all",
        f"""
        sources:
          by_page:
            extractor: http
            connection: api
            url: items
            auth: {{type: bearer}}
            records: $.data.items
            pagination: {{type: page, size_param: per_page, page_size: 2}}
          by_offset:
            extractor: http
            connection: basic_api
            url: /offset
            auth: {{type: basic}}
            pagination: {{type: offset, size_param: limit, page_size: 2}}
          by_cursor:
            extractor: http
            url: {base}cursor
            auth: {{type: api_key, header: X-Api-Key, env: MY_API_KEY}}
            records: results
            pagination: {{type: cursor, cursor_path: meta.next}}
          by_link:
            extractor: http
            url: {base}link
            pagination: {{type: link}}
        loads:
          by_page: {{from: by_page, write: replace}}
          by_offset: {{from: by_offset, write: replace}}
          by_cursor: {{from: by_cursor, write: replace}}
          by_link: {{from: by_link, write: replace}}
        """,
    )
    assert outcome.ok, outcome.record.error
    expected = [(r["id"], r["name"], r["tags"]["n"]) for r in RECORDS]
    for table in ("by_page", "by_offset", "by_cursor", "by_link"):
        rows = project.query(f"select id, name, tags.n from {table} order by id")
        assert rows == expected, table


def test_retries_honour_retry_after_and_rate_limit_spaces_requests(
    project: Project, run_spec, httpserver: HTTPServer
) -> None:
    lock = threading.Lock()
    flaky_calls: list[float] = []
    slow_calls: list[float] = []

    def flaky(request: Request) -> Response:
        with lock:
            flaky_calls.append(time.monotonic())
            n = len(flaky_calls)
        if n == 1:
            return _json({"error": "slow down"}, 429, {"Retry-After": "1"})
        if n in (2, 3):
            return _json({"error": "oops"}, 500 if n == 2 else 503)
        return _json(RECORDS)

    def slow(request: Request) -> Response:
        slow_calls.append(time.monotonic())
        n = _int(request, "page", 1)
        return _json(RECORDS[n - 1 : n])

    httpserver.expect_request("/flaky").respond_with_handler(flaky)
    httpserver.expect_request("/slow").respond_with_handler(slow)
    outcome = run_spec(
        "http_retry",
        f"""
        sources:
          flaky:
            extractor: http
            url: {httpserver.url_for("/flaky")}
            retry: {{attempts: 5, backoff: 0.01}}
          slow:
            extractor: http
            url: {httpserver.url_for("/slow")}
            rate_limit: 4
            pagination: {{type: page}}
        loads:
          flaky: {{from: flaky, write: replace}}
          slow: {{from: slow, write: replace}}
        """,
    )
    assert outcome.ok, outcome.record.error
    assert project.query("select count(*) from flaky") == [(5,)]
    assert project.query("select count(*) from slow") == [(5,)]
    assert len(flaky_calls) == 4
    assert flaky_calls[1] - flaky_calls[0] >= 0.95  # Retry-After: 1 honoured
    assert len(slow_calls) == 6  # five pages and the empty one that ends it
    # At most 4 a second: the 2nd to 6th requests span at least 1 s when sent. Measured from
    # the 2nd (connection already open), with slack for arrival jitter on a loaded machine;
    # unthrottled, the span is a few hundredths of a second.
    assert slow_calls[-1] - slow_calls[1] >= 0.7


def test_malformed_page_exhausted_retries_and_refused_token_fail_cleanly(
    project: Project, httpserver: HTTPServer
) -> None:
    def half_broken(request: Request) -> Response:
        if _int(request, "page", 1) == 2:
            return Response("<html>gateway hiccup</html>", 200, content_type="text/html")
        return _json(RECORDS[:2])

    httpserver.expect_request("/broken").respond_with_handler(half_broken)
    httpserver.expect_request("/down").respond_with_data("busy", status=503)
    httpserver.expect_request("/private").respond_with_handler(
        lambda r: _json({"error": "bad token"}, 401)
    )
    project.write_spec(
        "http_bad",
        f"""
        pipeline: http_bad
        start_date: 2026-01-01
        sources:
          broken:
            extractor: http
            url: {httpserver.url_for("/broken")}
            pagination: {{type: page}}
          down:
            extractor: http
            url: {httpserver.url_for("/down")}
            auth: {{type: bearer, env: API_TOKEN}}
            retry: {{attempts: 3, backoff: 0.01}}
          private:
            extractor: http
            url: {httpserver.url_for("/private")}
            auth: {{type: api_key, env: API_TOKEN}}
        loads:
          broken: {{from: broken, write: replace}}
          down: {{from: down, write: replace}}
          private: {{from: private, write: replace}}
        """,
    )
    result = project.cli("run", "http_bad", env={"API_TOKEN": TOKEN})
    out = result.stdout + result.stderr
    assert result.returncode == 1
    assert "source 'broken': page 2 (GET " in out
    assert "/broken?page=2) is not JSON (text/html" in out
    assert "source 'down': page 1" in out
    assert "failed after 3 attempts, last: HTTP 503" in out
    assert "source 'private': page 1" in out
    assert "HTTP 401 UNAUTHORIZED" in out
    assert TOKEN not in out
    runs = project.query('select error from "_dagwright".runs')
    assert runs and TOKEN not in str(runs)
    assert not {"broken", "down", "private"} & tables(project)


def test_incremental_three_runs_load_each_change_once(
    project: Project, run_spec, httpserver: HTTPServer
) -> None:
    rows: dict[int, dict] = {}
    seen_since: list[str | None] = []

    def changes(request: Request) -> Response:
        since = request.args.get("updated_since")
        seen_since.append(since)
        page = sorted(rows.values(), key=lambda r: r["updated_at"])
        return _json([r for r in page if since is None or r["updated_at"] > since])

    def put(id_: int, name: str, at: str) -> None:
        rows[id_] = {"id": id_, "name": name, "updated_at": at}

    httpserver.expect_request("/changes").respond_with_handler(changes)
    spec = f"""
        sources:
          people:
            extractor: http
            url: {httpserver.url_for("/changes")}
            since_param: updated_since
            incremental: {{cursor: updated_at}}
            columns: {{id: BIGINT, name: VARCHAR, updated_at: VARCHAR, note: VARCHAR}}
        loads:
          people: {{from: people, write: merge, primary_key: [id]}}
        """
    put(1, "a", "2026-01-01T10:00:00Z")
    put(2, "b", "2026-01-01T11:00:00Z")
    first = run_spec("http_inc", spec)
    assert first.ok, first.record.error
    assert extracted(first, "people") == 2

    put(2, "b2", "2026-01-02T09:00:00Z")
    put(3, "c", "2026-01-02T10:00:00Z")
    second = run_spec("http_inc", spec)
    assert second.ok, second.record.error
    assert extracted(second, "people") == 2

    put(4, "d", "2026-01-03T08:00:00Z")
    third = run_spec("http_inc", spec)
    assert third.ok, third.record.error
    assert extracted(third, "people") == 1

    unchanged = run_spec("http_inc", spec)
    assert unchanged.ok, unchanged.record.error
    assert extracted(unchanged, "people") == 0

    assert seen_since == [None, "2026-01-01T11:00:00Z", "2026-01-02T10:00:00Z"] + [
        "2026-01-03T08:00:00Z"
    ]
    assert project.query("select id, name, note from people order by id") == [
        (1, "a", None),
        (2, "b2", None),
        (3, "c", None),
        (4, "d", None),
    ]
    assert watermark(project, "http_inc", "people") == "2026-01-03T08:00:00Z"
