"""``dagwright connections``: what the specs name, where it is defined, masked, tested."""

from __future__ import annotations

from tests.conftest import Project


def test_connections_lists_tests_and_masks(project: Project, postgres, httpserver) -> None:  # noqa: ANN001
    httpserver.expect_request("/").respond_with_data("hello")
    project.write_spec(
        "to_pg",
        """
        pipeline: to_pg
        start_date: 2026-01-01
        sources:
          api: {extractor: http, url: /orders, connection: shop_api}
        destination: {loader: postgres, connection: warehouse_pg}
        loads:
          orders: {from: api, write: replace}
        """,
    )
    project.write_spec(
        "elsewhere",
        """
        pipeline: elsewhere
        start_date: 2026-01-01
        sources:
          db: {extractor: postgres, connection: missing_db, table: public.t}
        loads:
          t: {from: db, write: replace}
        """,
    )
    (project.root / ".env").write_text(f"DAGWRIGHT_CONN_WAREHOUSE_PG={postgres.url}\n")
    env = {
        "DAGWRIGHT_CONN_SHOP_API": httpserver.url_for("/").replace("://", "://bot:tok3n-S3cret@")
    }
    listed = project.cli("connections", "--test", env={**env, "COLUMNS": "400"})
    out = listed.stdout
    assert listed.returncode == 1, out  # one connection is not defined
    rows = {line.split("│")[1].strip(): line for line in out.splitlines() if line.count("│") > 4}
    assert ".env (DAGWRIGHT_CONN_WAREHOUSE_PG)" in rows["warehouse_pg"]
    assert "ok (" in rows["warehouse_pg"] and "to_pg.destination" in rows["warehouse_pg"]
    assert "DAGWRIGHT_CONN_SHOP_API" in rows["shop_api"] and "HTTP 200" in rows["shop_api"]
    assert "bot:***@" in rows["shop_api"]
    assert "not defined" in rows["missing_db"]
    assert "set the environment variable DAGWRIGHT_CONN_MISSING_DB" in rows["missing_db"]
    assert postgres.password not in out and "tok3n-S3cret" not in out
