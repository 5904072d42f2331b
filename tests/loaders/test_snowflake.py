"""The Snowflake loader end to end on fakesnow (Snowflake's HTTP API over DuckDB): the CLI
with reruns and the run log, bulk staging of hostile values, what a load killed after its
DDL leaves, clustering keys, pushed-down steps, and clear configuration errors.

fakesnow accepts any password and never makes a transaction wait for a lock (it fails
the second writer instead), so wrong credentials and loads waiting for each other are not
shown here; ``docs/destinations.md`` says what differs from Snowflake."""

from __future__ import annotations

import multiprocessing
import os
import signal
import uuid

import pytest

from dagwright.errors import ConfigError
from dagwright.state import KILL_AT
from tests.conftest import Project
from tests.loaders.conftest import Warehouse, day
from tests.loaders.test_mysql import HOSTILE
from tests.loaders.test_postgres import SPEC, _orders

SNOWFLAKE_SPEC = SPEC.replace("orders_pg", "orders_sf").replace(
    'destination: {loader: postgres, connection: warehouse_pg, schema: "shop data"}',
    "destination: {loader: snowflake, connection: warehouse_sf, schema: shop_data}",
)


def _database() -> str:
    return f"D_{uuid.uuid4().hex[:8].upper()}"


def _query(fakesnow, database: str, sql: str) -> list[tuple]:  # noqa: ANN001
    con = fakesnow.connect(database)
    try:
        cur = con.cursor()
        cur.execute(sql)
        return [tuple(r) for r in cur.fetchall()]
    finally:
        con.close()


def test_cli_run_into_snowflake_and_rerun(project: Project, fakesnow) -> None:  # noqa: ANN001
    database = _database()
    project.write_spec("orders_sf", SNOWFLAKE_SPEC)
    env = {"DAGWRIGHT_CONN_WAREHOUSE_SF": fakesnow.url(database)}
    args = ("run", "orders_sf", "--start", "2026-01-01", "--end", "2026-01-03")
    first = project.cli(*args, env=env)
    assert first.returncode == 0, first.stdout + first.stderr
    expected = _orders(project, "2026-01-01", "2026-01-03")
    assert len(expected) > 100
    contents = 'select "order_id", "customer_id", "status" from "shop_data"."{table}" order by 1'
    assert _query(fakesnow, database, contents.format(table="fct_orders")) == expected
    again = project.cli(*args, env=env)
    assert again.returncode == 0, again.stdout + again.stderr
    for table in ("fct_orders", "orders_by_day"):
        assert _query(fakesnow, database, contents.format(table=table)) == expected, table
    loads = _query(
        fakesnow,
        database,
        'select table_name, count(*) as n from "_dagwright"."loads" '
        "where pipeline = 'orders_sf' group by table_name order by 1",
    )
    assert loads == [("fct_orders", 2), ("orders_by_day", 2)], "the rerun reloaded the interval"
    staged = _query(
        fakesnow,
        database,
        "select count(*) as n from information_schema.tables "
        "where table_schema = '_dagwright' and table_name like 'stage_%'",
    )
    assert staged == [(0,)], "every load dropped its staging table"
    runs = project.cli("runs", "orders_sf", env=env)
    assert runs.returncode == 0 and runs.stdout.count("success") == 2, runs.stdout


def test_hostile_values_survive_bulk_staging(sf: Warehouse) -> None:
    import pyarrow as pa

    rows = [{"id": i, "s": s, "b": s.encode()} for i, s in enumerate(HOSTILE)]
    rows.append({"id": 99, "s": None, "b": None})
    sf.load("h", pa.Table.from_pylist(rows), write="merge", primary_key=["id"])
    assert sf.rows("h") == sorted(rows, key=lambda r: [str(v) for v in r.values()])


def test_a_load_killed_after_its_ddl_keeps_the_new_column_but_no_row_and_no_state(
    sf: Warehouse,
    fakesnow,  # noqa: ANN001
    tmp_path,  # noqa: ANN001
) -> None:
    """DDL commits in Snowflake: a column the contract added before the data transaction
    stays when the load dies after it, without a row of the batch or a ledger entry (what
    the loader's docstring promises); the rerun then loads the batch once."""
    from dagwright.spec.sections import Load

    sf.load("u", [{"id": 1}], at=0)
    staged = sf.stage([{"id": 2, "extra": "x"}])
    state = sf.state("u", 1)
    tokens = tmp_path / "sessions"

    def child() -> None:
        os.environ[KILL_AT] = "apply:ddl"
        loader = sf.loader()
        connect = loader.connect

        def listed():  # noqa: ANN202
            con = connect()
            with tokens.open("a") as out:
                out.write(con.rest.token + "\n")
            return con

        loader.connect = listed
        loader.load("u", Load.model_validate({"from": "src"}), staged, state)
        os._exit(0)

    process = multiprocessing.get_context("fork").Process(target=child)
    process.start()
    process.join(60)
    assert process.exitcode == -signal.SIGKILL
    for token in tokens.read_text().split():
        fakesnow.end_session(token)
    assert sf.rows("u") == [{"extra": None, "id": 1}]
    assert sf.ledger() == [("u", day(0), 1)]
    sf.load("u", [{"id": 2, "extra": "x"}], at=1)
    assert sf.rows("u") == [{"extra": None, "id": 1}, {"extra": "x", "id": 2}]


def test_cluster_by_sets_the_new_tables_clustering_key(sf: Warehouse) -> None:
    result = sf.load("c", [{"id": 1, "day": "2026-01-01"}], cluster_by=["day", "id"])
    create = next(s for s in result.sql if s.startswith('CREATE TABLE IF NOT EXISTS "PUBLIC"."c"'))
    assert create.endswith('CLUSTER BY ("day", "id")'), create
    assert sf.rows("c") == [{"day": "2026-01-01", "id": 1}]


PUSHDOWN = """
pipeline: pushed
start_date: 2026-01-01
sources:
  orders: {extractor: csv, path: data/shop/orders.csv}
destination: {loader: snowflake, connection: wh}
transforms:
  totals:
    pushdown: true
    sql: |
      select customer_id, count(*) as orders, count_if(status = 'shipped') as shipped
      from raw_orders group by customer_id
loads:
  raw_orders: {from: orders, write: replace}
  customer_totals: {from: totals, write: replace}
"""


def test_a_pushed_down_step_runs_in_snowflake_with_names_as_written(
    project: Project,
    fakesnow,  # noqa: ANN001
) -> None:
    import csv
    from collections import Counter

    database = _database()
    project.write_spec("pushed", PUSHDOWN)
    done = project.cli("run", "pushed", env={"DAGWRIGHT_CONN_WH": fakesnow.url(database)})
    assert done.returncode == 0, done.stdout + done.stderr
    with (project.root / "data" / "shop" / "orders.csv").open(newline="") as f:
        orders = list(csv.DictReader(f))
    counts = Counter(int(r["customer_id"]) for r in orders)
    shipped = Counter(int(r["customer_id"]) for r in orders if r["status"] == "shipped")
    expected = sorted((c, n, shipped[c]) for c, n in counts.items())
    got = _query(
        fakesnow,
        database,
        'select "customer_id", "orders", "shipped" from "PUBLIC"."customer_totals" order by 1',
    )
    assert got == expected


def test_pushed_down_queries_name_tables_and_columns_as_written() -> None:
    """fakesnow finds names whatever their case; Snowflake folds unquoted ones to upper case
    and would not find the quoted lower-case columns dagwright creates."""
    from loaders.snowflake import as_written, qmark

    sql = "SELECT customer_id, COUNT(*) AS orders FROM PUBLIC.raw_orders AS o WHERE d >= :start"
    assert as_written(sql) == (
        'SELECT "customer_id", COUNT(*) AS "orders" FROM "PUBLIC"."raw_orders" AS "o" '
        'WHERE "d" >= :start'
    )
    assert qmark("SELECT p:sku::INT, :start, ':start' FROM t", {"start"}) == (
        "SELECT p:sku::INT, ?, ':start' FROM t",
        ["start"],
    )
    assert qmark("SELECT /* it's */ :start -- don't\nFROM t WHERE d < :start", {"start"}) == (
        "SELECT /* it's */ ? -- don't\nFROM t WHERE d < ?",
        ["start", "start"],
    )
    # names Snowflake defines keep its case: a table function's columns, INFORMATION_SCHEMA
    flattened = as_written("SELECT f.value AS tag FROM raw_orders AS o, LATERAL FLATTEN(o.tags) f")
    assert '"f".value AS "tag"' in flattened and "VALUE, THIS)" in flattened, flattened
    assert as_written("SELECT table_name FROM information_schema.tables") == (
        "SELECT table_name FROM information_schema.tables"
    )


def test_a_pushed_down_query_snowflake_refuses_fails_its_stage_at_its_line(
    project: Project,
    fakesnow,  # noqa: ANN001
) -> None:
    spec = PUSHDOWN.replace(
        "select customer_id, count(*) as orders, count_if(status = 'shipped') as shipped\n"
        "      from raw_orders group by customer_id",
        "select customer_id, sum(no_such_column) as total from raw_orders group by 1",
    )
    project.write_spec("pushed", spec)
    done = project.cli("run", "pushed", env={"DAGWRIGHT_CONN_WH": fakesnow.url(_database())})
    assert done.returncode == 1
    out = " ".join((done.stdout + done.stderr).split())
    assert "stage 'transform_totals': " in out and "pushed.yaml:10:" in out, out
    assert "no_such_column" in out.lower(), out
    assert "Traceback" not in out


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("postgresql://u:p@host/db", "is postgresql://, not a Snowflake URL"),
        ("snowflake://u:p@account", "names no database"),
    ],
)
def test_a_connection_that_is_not_a_snowflake_database_is_a_clear_error(
    sf: Warehouse, url: str, message: str
) -> None:
    os.environ[next(iter(sf.env))] = url
    with pytest.raises(ConfigError, match=message):
        sf.load("t", [{"id": 1}])


def test_a_run_lease_held_by_a_live_run_times_out_and_a_lapsed_one_is_taken(
    sf: Warehouse,
) -> None:
    """Snowflake has no session locks: a run holds a lease row, renewed while it lives. A
    second run of the pipeline and interval waits up to lock_timeout and fails with a
    hint; a lease a killed run left lapses, and the next run takes it."""
    from dagwright.errors import DagwrightError
    from loaders.snowflake import lock_key

    sf.config["lock_timeout"] = 1.5
    first, second = sf.loader(), sf.loader()
    with first.run_lock("p"), pytest.raises(DagwrightError) as info, second.run_lock("p"):
        pass
    assert "another run of 'p' for this interval is writing to" in str(info.value)
    assert "raise lock_timeout" in str(info.value)
    name = f"{lock_key('runs of', 'p') & 0xFFFFFFFFFFFFFFFF:016x}"
    with first.session() as s:  # as a run killed ten minutes ago leaves it
        s.execute(
            'UPDATE "_dagwright"."run_leases" SET holder = ?, '
            "expires_at = DATEADD(SECOND, -600, CURRENT_TIMESTAMP()) WHERE name = ?",
            ["killed", name],
        )
    with second.run_lock("p") as exclusive:
        assert exclusive is False
    with first.session() as s:
        assert s.execute('SELECT holder FROM "_dagwright"."run_leases" WHERE name = ?', [name]) == [
            (None,)
        ]


def test_a_lease_row_another_run_holds_keeps_the_lease_taken_whatever_other_rows_exist(
    sf: Warehouse,
) -> None:
    """Snowflake enforces no unique key: two first runs racing may each insert the lease's
    row. A free row beside a held one does not make the lease free."""
    from dagwright.errors import DagwrightError
    from loaders.snowflake import lock_key

    sf.config["lock_timeout"] = 1.0
    loader = sf.loader()
    name = f"{lock_key('runs of', 'p') & 0xFFFFFFFFFFFFFFFF:016x}"
    with loader.run_lock("p"), loader.session() as s:
        s.execute('INSERT INTO "_dagwright"."run_leases" (name) VALUES (?)', [name])
        with pytest.raises(DagwrightError, match="another run of 'p'"), sf.loader().run_lock("p"):
            pass


def test_side_tables_of_a_failed_store_leave_no_staging_table(sf: Warehouse) -> None:
    """A check stage's rows staged before the transaction (DDL commits in Snowflake): when
    one part fails to stage, the parts staged before it are dropped too."""
    import pyarrow as pa

    from dagwright.state import SideRows

    loader = sf.loader()
    good = pa.table({"stage": ["check_x"], "run": ["r1"], "v": [1]})
    bad = pa.table({"stage": ["check_x"], "run": ["r1"], "v": pa.array([1], pa.duration("s"))})
    parts = [
        SideRows(table="_dagwright.side_a", rows=good, stage_column="stage", run_column="run"),
        SideRows(table="_dagwright.side_b", rows=bad, stage_column="stage", run_column="run"),
    ]
    with pytest.raises(Exception):  # noqa: B017, PT011 - the type has no Snowflake type
        loader.state.store_side_rows(parts, "check_x", [])
    with loader.session() as s:
        left = s.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = '_dagwright' AND table_name LIKE 'stage_%'"
        )
    assert left == []
