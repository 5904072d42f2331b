"""The PostgreSQL loader end to end: the CLI into a real server, locks, and clear errors."""

from __future__ import annotations

import threading

import pytest

from dagwright.errors import ConfigError, DagwrightError
from loaders.warehouse import lock_key
from tests.conftest import Project
from tests.loaders.conftest import Warehouse

SPEC = """
pipeline: orders_pg
start_date: 2026-01-01
sources:
  orders:
    extractor: csv
    path: data/shop/orders.csv
    incremental: {cursor: ordered_at, use_interval: true}
destination: {loader: postgres, connection: warehouse_pg, schema: "shop data"}
loads:
  fct_orders: {from: orders, write: merge, primary_key: [order_id]}
  orders_by_day: {from: orders, write: delete_insert, interval_column: ordered_at}
"""


def test_cli_run_into_postgres_and_rerun(project: Project, postgres) -> None:  # noqa: ANN001
    project.write_spec("orders_pg", SPEC)
    env = {"DAGWRIGHT_CONN_WAREHOUSE_PG": postgres.url}
    args = ("run", "orders_pg", "--start", "2026-01-01", "--end", "2026-01-03")
    first = project.cli(*args, env=env)
    assert first.returncode == 0, first.stdout + first.stderr
    expected = _orders(project, "2026-01-01", "2026-01-03")
    assert len(expected) > 100
    contents = 'select order_id, customer_id, status from "shop data"."{table}" order by 1'
    assert postgres.execute(contents.format(table="fct_orders")) == expected
    again = project.cli(*args, env=env)
    assert again.returncode == 0, again.stdout + again.stderr
    for table in ("fct_orders", "orders_by_day"):
        assert postgres.execute(contents.format(table=table)) == expected, table
    loads = postgres.execute(
        "select table_name, count(*) from _dagwright.loads where pipeline = 'orders_pg' "
        "group by table_name order by 1"
    )
    assert loads == [("fct_orders", 2), ("orders_by_day", 2)], "the rerun reloaded the interval"


def _orders(project: Project, start: str, end: str) -> list[tuple]:
    """The source's orders of [start, end), as the tables must hold them."""
    import csv
    from datetime import datetime

    lo, hi = datetime.fromisoformat(start), datetime.fromisoformat(end)
    with (project.root / "data" / "shop" / "orders.csv").open(newline="") as f:
        rows = [
            (int(r["order_id"]), int(r["customer_id"]), r["status"])
            for r in csv.DictReader(f)
            if lo <= datetime.fromisoformat(r["ordered_at"]) < hi
        ]
    return sorted(rows)


def test_a_wrong_password_is_a_clear_error_without_the_password(pg: Warehouse, postgres) -> None:  # noqa: ANN001
    import os

    var = next(iter(pg.env))
    os.environ[var] = postgres.url.replace(postgres.password, "wrong-Pa55")
    with pytest.raises(ConfigError) as info:
        pg.load("t", [{"id": 1}])
    assert "cannot connect to PostgreSQL" in str(info.value)
    assert "wrong-Pa55" not in str(info.value)


def test_loads_of_one_table_wait_for_each_other(pg: Warehouse, postgres) -> None:  # noqa: ANN001
    """Two loads of one table and interval at once: both wait for the table's lock (held
    here), then run one after the other; the interval's rows end up in the table once."""
    import time

    pg.load("t", [{"id": 0, "v": 0}], at=9)  # the table exists
    errors: list[BaseException] = []

    def load(n: int) -> None:
        try:
            pg.load("t", [{"id": n, "v": i} for i in range(200)], at=0)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=load, args=(n,)) for n in (1, 2)]
    with postgres.connect() as con:
        con.execute("select pg_advisory_lock(%s)", [lock_key(pg.pipeline, "t")])
        for t in threads:
            t.start()
        time.sleep(1.5)
        assert all(t.is_alive() for t in threads), "both loads wait for the table's lock"
        assert len(pg.rows("t")) == 1, "nothing of them is in the table yet"
        con.execute("select pg_advisory_unlock(%s)", [lock_key(pg.pipeline, "t")])
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    rows = pg.rows("t")
    assert len(rows) == 201, "the interval's rows once: the second load replaced the first's"
    assert {r["id"] for r in rows if r["v"] == 0} in ({0, 1}, {0, 2})
    loads = postgres.execute(
        f'select count(*), count(distinct loaded_at) from "_dagwright".loads '
        f"where pipeline = '{pg.pipeline}' and table_name = 't'"
    )
    assert loads == [(3, 3)], "three loads, one after the other"


def test_a_held_table_lock_times_out_with_a_hint(pg: Warehouse, postgres) -> None:  # noqa: ANN001
    pg.load("t", [{"id": 1}])
    pg.config["lock_timeout"] = 0.5
    with postgres.connect() as con:
        con.execute("select pg_advisory_lock(%s)", [lock_key(pg.pipeline, "t")])
        with pytest.raises(DagwrightError, match="held its lock for more than 0.5s"):
            pg.load("t", [{"id": 2}], at=1)
    assert pg.rows("t") == [{"id": 1}]
