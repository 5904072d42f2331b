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
    count = 'select count(*), count(distinct order_id) from "shop data"."fct_orders"'
    ((rows, distinct),) = postgres.execute(count)
    assert rows == distinct > 0
    again = project.cli(*args, env=env)
    assert again.returncode == 0, again.stdout + again.stderr
    assert postgres.execute(count) == [(rows, distinct)]
    assert postgres.execute('select count(*) from "shop data"."orders_by_day"') == [(rows,)]
    ledger = postgres.execute(
        "select table_name, count(*) from _dagwright.intervals where pipeline = 'orders_pg' "
        "group by table_name order by 1"
    )
    assert ledger == [("fct_orders", 1), ("orders_by_day", 1)]


def test_a_wrong_password_is_a_clear_error_without_the_password(pg: Warehouse, postgres) -> None:  # noqa: ANN001
    import os

    var = next(iter(pg.env))
    os.environ[var] = postgres.url.replace(postgres.password, "wrong-Pa55")
    with pytest.raises(ConfigError) as info:
        pg.load("t", [{"id": 1}])
    assert "cannot connect to PostgreSQL" in str(info.value)
    assert "wrong-Pa55" not in str(info.value)


def test_loads_of_one_table_wait_for_each_other(pg: Warehouse, postgres) -> None:  # noqa: ANN001
    errors: list[BaseException] = []

    def load(n: int) -> None:
        try:
            pg.load("t", [{"id": n, "v": i} for i in range(200)], at=n)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=load, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(pg.rows("t")) == 800
    assert len(pg.ledger()) == 4


def test_a_held_table_lock_times_out_with_a_hint(pg: Warehouse, postgres) -> None:  # noqa: ANN001
    pg.load("t", [{"id": 1}])
    pg.config["lock_timeout"] = 0.5
    with postgres.connect() as con:
        con.execute("select pg_advisory_lock(%s)", [lock_key(pg.pipeline, "t")])
        with pytest.raises(DagwrightError, match="held its lock for more than 0.5s"):
            pg.load("t", [{"id": 2}], at=1)
    assert pg.rows("t") == [{"id": 1}]
