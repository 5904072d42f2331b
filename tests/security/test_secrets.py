"""Secrets never reach a log line, an error or the run log: masked in one place."""

from __future__ import annotations

import io
import logging
import textwrap
from pathlib import Path

import duckdb
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from dagwright import secrets
from tests.conftest import Project

TOKEN = "tok-7f3a9c-SUPERSECRET"
PASSWORD = "p@ss w0rd/42"


def test_url_passwords_and_pairs_are_masked() -> None:
    text = (
        "connect postgresql://etl:hunter22@db.internal:5432/shop failed; "
        "dsn host=db password=hunter22 user=etl; GET /x?api_key=abc123&page=2"
    )
    masked = secrets.mask(text)
    assert "hunter22" not in masked and "abc123" not in masked
    assert "postgresql://etl:***@db.internal:5432/shop" in masked
    assert "password=*** user=etl" in masked
    assert "api_key=***&page=2" in masked


def test_registered_values_are_masked_in_every_encoding() -> None:
    secrets.register(PASSWORD)
    masked = secrets.mask(f"raw {PASSWORD} quoted p%40ss%20w0rd%2F42 plus p%40ss+w0rd%2F42")
    assert masked == "raw *** quoted *** plus ***"


def test_environment_secrets_are_registered() -> None:
    secrets.register_environment(
        {
            "SHOP_API_TOKEN": "env-token-value-1",
            "DAGWRIGHT_CONN_WAREHOUSE": "postgresql://u:conn-pw-value-2@h/db",
            "AIRFLOW_CONN_CRM": '{"conn_type": "http", "password": "json-pw-value-3", '
            '"extra": {"api_key": "extra-key-value-4"}}',
            "HOME": "/home/not-a-secret",
        }
    )
    text = "env-token-value-1 conn-pw-value-2 json-pw-value-3 extra-key-value-4 /home/not-a-secret"
    assert secrets.mask(text) == "*** *** *** *** /home/not-a-secret"


def test_short_values_are_not_registered() -> None:
    secrets.register("ab")
    assert secrets.mask("tab abc") == "tab abc"


def test_log_filter_masks_messages_arguments_and_tracebacks() -> None:
    secrets.register(TOKEN)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(secrets.MaskingFilter())
    logger = logging.getLogger("dagwright.test_secrets")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("calling with %s", TOKEN)
        try:
            raise RuntimeError(f"server said: bad token {TOKEN}")
        except RuntimeError:
            logger.exception("request failed")
    finally:
        logger.removeHandler(handler)
    out = stream.getvalue()
    assert TOKEN not in out
    assert "calling with ***" in out and "bad token ***" in out


def _grep_everywhere(project: Project, secret: str, *outputs: str) -> list[str]:
    """Where ``secret`` shows up: CLI output, the run log, any file in the project's state."""
    hits = [f"output {i}" for i, out in enumerate(outputs) if secret in out]
    if project.warehouse.exists():
        con = duckdb.connect(str(project.warehouse), read_only=True)
        try:
            for row in con.execute('SELECT * FROM "_dagwright"."runs"').fetchall():
                if any(secret in str(v) for v in row):
                    hits.append(f"run log {row[0]}")
        finally:
            con.close()
    state = project.root / ".dagwright"
    for path in state.rglob("*") if state.exists() else []:
        if path.is_file() and secret.encode() in path.read_bytes():
            hits.append(str(path))
    return hits


@pytest.mark.slow
def test_secret_from_env_interpolated_into_a_path_never_shows(project: Project) -> None:
    project.write_spec(
        "leaky",
        """
        pipeline: leaky
        start_date: 2026-01-01
        sources:
          orders: {extractor: csv, path: "data/${SHOP_API_TOKEN}/orders.csv"}
        loads:
          raw_orders: {from: orders}
        """,
    )
    env = {"SHOP_API_TOKEN": TOKEN}
    run = project.cli("run", "leaky", env=env)
    runs = project.cli("runs", "leaky", env=env)
    assert run.returncode == 1
    assert "data/***/orders.csv" in run.stdout + run.stderr
    assert _grep_everywhere(project, TOKEN, run.stdout, run.stderr, runs.stdout, runs.stderr) == []


@pytest.mark.slow
def test_token_echoed_by_an_http_server_never_shows(
    project: Project, httpserver: HTTPServer
) -> None:
    def echo(request: Request) -> Response:
        return Response(f"denied: {request.headers.get('Authorization')} is revoked", status=403)

    httpserver.expect_request("/orders").respond_with_handler(echo)
    project.write_spec(
        "api",
        f"""
        pipeline: api
        start_date: 2026-01-01
        sources:
          orders:
            extractor: http
            url: {httpserver.url_for("/orders")}
            auth: {{type: bearer, env: SHOP_API_TOKEN}}
            retry: {{attempts: 1}}
        loads:
          raw_orders: {{from: orders, write: replace}}
        """,
    )
    env = {"SHOP_API_TOKEN": TOKEN}
    run = project.cli("run", "api", env=env)
    runs = project.cli("runs", "api", env=env)
    assert run.returncode == 1
    assert httpserver.log, "the server was called"
    assert _grep_everywhere(project, TOKEN, run.stdout, run.stderr, runs.stdout, runs.stderr) == []


def test_cli_masks_errors_it_prints(tmp_path: Path) -> None:
    from tests.conftest import run_cli

    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "p.yaml").write_text(
        textwrap.dedent(
            """
            pipeline: p
            start_date: 2026-01-01
            sources:
              s: {extractor: csv, path: "data/etl:${DB_PASSWORD}@db/x.csv"}
            loads:
              t: {from: s, write: replace}
            """
        )
    )
    env = {"DB_PASSWORD": "Hunter2-very-secret"}
    result = run_cli("run", "p", cwd=tmp_path, env=env)
    out = " ".join((result.stdout + result.stderr).split())
    assert result.returncode == 1
    # the error names the path the secret was interpolated into, with the secret masked
    assert "no file matches 'data/etl:***@db/x.csv'" in out
    assert "Hunter2-very-secret" not in out
