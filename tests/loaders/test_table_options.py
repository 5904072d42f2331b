"""What real warehouse tables need: declared column types (``columns:``), a PRIMARY KEY
constraint on merge and scd2 tables, and ``indexes:``, on PostgreSQL and MySQL."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from dagwright.errors import DataError
from tests.conftest import Project
from tests.loaders.conftest import Warehouse


def column_types(w: Warehouse, table: str) -> dict[str, str]:
    loader = w.loader()
    with loader.session() as s:
        found = loader.table_columns(s, loader.target(table)) or {}
    return {name: t.sql("duckdb").upper() for name, t in found.items()}


def test_declared_column_types_win_over_the_batch(warehouse: Warehouse) -> None:
    import pyarrow as pa

    batch = pa.table({"id": [1, 2], "mean": [12.345, 0.5], "n": pa.array([1, 2], pa.int8())})
    spec = {"columns": {"mean": "DECIMAL(12, 2)", "n": "BIGINT"}}
    warehouse.load("avg", batch, at=0, **spec)
    types = column_types(warehouse, "avg")
    assert types["mean"] == "DECIMAL(12, 2)"
    assert types["n"] == ("DECIMAL(38, 0)" if warehouse.kind == "snowflake" else "BIGINT")
    rows = warehouse.rows("avg")
    assert [r["mean"] for r in rows] == [Decimal("12.35"), Decimal("0.50")]
    warehouse.load("avg", batch, at=1, schema_contract="freeze", **spec)
    assert len(warehouse.rows("avg")) == 4


def test_a_declared_column_the_batch_lacks_is_a_clear_error(warehouse: Warehouse) -> None:
    with pytest.raises(DataError, match="columns: declares 'meen'.*did you mean 'mean'"):
        warehouse.load("avg", [{"id": 1, "mean": 1.5}], columns={"meen": "DOUBLE"})


def constraints(w: Warehouse, table: str, server) -> tuple[list[str], list[list[str]]]:  # noqa: ANN001
    """The table's primary key columns and its other indexes' columns."""
    if w.kind == "postgres":
        schema = w.config["schema"]
        key = server.execute(
            "select a.attname from pg_index i join pg_class c on c.oid = i.indrelid "
            "join pg_namespace n on n.oid = c.relnamespace join pg_attribute a on "
            "a.attrelid = c.oid and a.attnum = any(i.indkey) where n.nspname = %s and "
            "c.relname = %s and i.indisprimary order by array_position(i.indkey, a.attnum)",
            [schema, table],
        )
        others = server.execute(
            "select indexdef from pg_indexes where schemaname = %s and tablename = %s "
            "and indexname not like '%%pkey'",
            [schema, table],
        )
        indexed = [d.split("(", 1)[1].rstrip(")").replace('"', "").split(", ") for (d,) in others]
        return [k for (k,) in key], sorted(indexed)
    database = w.loader()._login()["database"]
    rows = server.execute(
        "select index_name, column_name from information_schema.statistics where "
        "table_schema = %s and table_name = %s order by index_name, seq_in_index",
        [database, table],
    )
    by: dict[str, list[str]] = {}
    for name, column in rows:
        by.setdefault(name, []).append(column)
    return by.pop("PRIMARY", []), sorted(by.values())


@pytest.mark.parametrize("kind", ["postgres", "mysql"])
def test_merge_and_scd2_tables_get_a_primary_key_and_the_declared_indexes(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    from tests.loaders.conftest import make_warehouse

    w = make_warehouse(kind, tmp_path, request)
    server = request.getfixturevalue("postgres" if kind == "postgres" else "mariadb")
    rows = [{"id": "a", "shop": 1, "v": "x"}, {"id": "b", "shop": 2, "v": "y"}]
    indexes = ["shop", ["v", "shop"]]
    w.load("m", rows, write="merge", primary_key=["id"], indexes=indexes)
    assert constraints(w, "m", server) == (["id"], [["shop"], ["v", "shop"]])
    w.load("h", rows, write="scd2", primary_key=["id", "shop"])
    assert constraints(w, "h", server) == (["id", "shop", "valid_from"], [])
    w.load(
        "h",
        [{"id": "a", "shop": 1, "v": "changed"}],
        at=1,
        write="scd2",
        primary_key=["id", "shop"],
    )
    assert len(w.rows("h")) == 3
    w.load("plain", rows, indexes=["v"])
    assert constraints(w, "plain", server) == ([], [["v"]])


SPEC = """
pipeline: means
start_date: 2026-01-01
sources:
  orders:
    extractor: csv
    path: data/shop/orders.csv
destination: {DESTINATION}
transforms:
  by_customer:
    pushdown: true
    sql: select customer_id, avg(order_id) as mean_order from raw_orders group by customer_id
loads:
  raw_orders: {from: orders, write: replace}
  customer_means:
    from: by_customer
    write: merge
    primary_key: [customer_id]
    columns: {mean_order: "DECIMAL(14, 2)"}
"""


@pytest.mark.parametrize("kind", ["postgres", "mysql"])
def test_a_pushed_down_average_loads_as_the_declared_type(
    kind: str, project: Project, request: pytest.FixtureRequest
) -> None:
    server = request.getfixturevalue("postgres" if kind == "postgres" else "mariadb")
    destination = (
        '{loader: postgres, connection: wh, schema: "means"}'
        if kind == "postgres"
        else "{loader: mysql, connection: wh}"
    )
    project.write_spec("means", SPEC.replace("{DESTINATION}", destination))
    done = project.cli("run", "means", env={"DAGWRIGHT_CONN_WH": server.url})
    assert done.returncode == 0, done.stdout + done.stderr
    if kind == "postgres":
        found = server.execute(
            "select format_type(a.atttypid, a.atttypmod) from pg_attribute a join pg_class c "
            "on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace where "
            "n.nspname = 'means' and c.relname = 'customer_means' and a.attname = 'mean_order'"
        )
        assert found == [("numeric(14,2)",)]
    else:
        found = server.execute(
            "select column_type from information_schema.columns where table_schema = "
            "database() and table_name = 'customer_means' and column_name = 'mean_order'"
        )
        assert found == [("decimal(14,2)",)]


def test_a_declared_type_that_is_not_one_is_a_spec_error(project: Project) -> None:
    project.write_spec(
        "bad",
        """
        pipeline: bad
        start_date: 2026-01-01
        sources:
          orders: {extractor: csv, path: data/shop/orders.csv}
        loads:
          t:
            from: orders
            columns: {order_id: "DECIMALL(12, 2)"}
        """,
    )
    done = project.cli("validate", "--static")
    assert done.returncode == 1
    out = " ".join(done.stdout.split())
    assert "bad.yaml:8:" in out and "'DECIMALL(12, 2)' is not a SQL type" in out, out


def test_indexes_on_a_destination_without_them_is_a_spec_error(project: Project) -> None:
    project.write_spec(
        "idx",
        """
        pipeline: idx
        start_date: 2026-01-01
        sources:
          orders: {extractor: csv, path: data/shop/orders.csv}
        loads:
          t: {from: orders, indexes: [order_id], cluster_by: [order_id]}
        """,
    )
    done = project.cli("validate", "--static")
    assert done.returncode == 1
    out = " ".join(done.stdout.split())
    assert "indexes applies to PostgreSQL and MySQL destinations, and this one is duckdb" in out
    assert "cluster_by applies to Snowflake destinations" in out, out
