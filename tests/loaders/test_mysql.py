"""The MySQL loader end to end on a real MariaDB server: the CLI, bulk staging of hostile
values, values LOAD DATA would change refused with their row and column, locks, what a
failed load leaves, and clear errors."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from dagwright.errors import ConfigError, DagwrightError, DataError
from loaders.mysql import _lock_name, state_database
from tests.conftest import Project
from tests.loaders.conftest import Warehouse
from tests.loaders.test_postgres import SPEC, _orders

MYSQL_SPEC = SPEC.replace("orders_pg", "orders_my").replace(
    'destination: {loader: postgres, connection: warehouse_pg, schema: "shop data"}',
    'destination: {loader: mysql, connection: warehouse_my, schema: "shop data"}',
)


def test_cli_run_into_mariadb_and_rerun(project: Project, mariadb) -> None:  # noqa: ANN001
    project.write_spec("orders_my", MYSQL_SPEC)
    env = {"DAGWRIGHT_CONN_WAREHOUSE_MY": mariadb.url}
    args = ("run", "orders_my", "--start", "2026-01-01", "--end", "2026-01-03")
    first = project.cli(*args, env=env)
    assert first.returncode == 0, first.stdout + first.stderr
    expected = _orders(project, "2026-01-01", "2026-01-03")
    assert len(expected) > 100
    contents = "select order_id, customer_id, status from `shop data`.`{table}` order by 1"
    assert mariadb.execute(contents.format(table="fct_orders")) == expected
    again = project.cli(*args, env=env)
    assert again.returncode == 0, again.stdout + again.stderr
    for table in ("fct_orders", "orders_by_day"):
        assert mariadb.execute(contents.format(table=table)) == expected, table
    loads = mariadb.execute(
        f"select table_name, count(*) from `{state_database('dagwright')}`.loads "
        "where pipeline = 'orders_my' group by table_name order by 1"
    )
    assert loads == [("fct_orders", 2), ("orders_by_day", 2)], "the rerun reloaded the interval"
    runs = project.cli("runs", "orders_my", env=env)
    assert runs.returncode == 0 and runs.stdout.count("success") == 2, runs.stdout


HOSTILE = [
    'a "quoted", comma',
    "two\nlines\r\nand a tab\t",
    "back\\slash \\N \\n",
    "NULL",
    "",
    "emoji 🦆 and ünïcode",
    "'single' and `backtick`",
]


def test_hostile_values_survive_bulk_staging(my: Warehouse) -> None:
    import pyarrow as pa

    rows = [{"id": i, "s": s, "b": s.encode()} for i, s in enumerate(HOSTILE)]
    rows.append({"id": 99, "s": None, "b": None})
    my.load("h", pa.Table.from_pylist(rows), write="merge", primary_key=["id"])
    assert my.rows("h") == sorted(rows, key=lambda r: [str(v) for v in r.values()])


def test_a_value_load_data_would_change_is_refused_with_its_row_and_column(
    my: Warehouse,
) -> None:
    import pyarrow as pa

    my.load("f", [{"id": 1, "x": 1.5}])
    batch = pa.table({"id": [2, 3, 4], "x": [2.5, float("nan"), 3.5]})
    with pytest.raises(DataError) as info:
        my.load("f", batch, at=1)
    text = str(info.value)
    assert "column 'x'" in text.lower() or "`x`" in text, text
    assert "row 2" in text, text
    assert my.rows("f") == [{"id": 1, "x": 1.5}]
    assert my.ledger() == [("f", my_day(0), 1)]


def my_day(n: int):  # noqa: ANN201
    from tests.loaders.conftest import day

    return day(n)


def test_a_failed_load_keeps_its_new_column_but_no_row_and_no_state(
    my: Warehouse,
    mariadb,  # noqa: ANN001
) -> None:
    """DDL commits in MySQL: a column the contract added before the data transaction
    stays when that transaction fails, without a row of the batch or a ledger entry (what
    the loader's docstring promises)."""
    database = my.loader()._login()["database"]
    mariadb.execute(f"create table `{database}`.`u` (id bigint, check (id > 0))")
    my.load("u", [{"id": 1}], at=0)
    with pytest.raises(DataError, match="MySQL refused the batch"):
        my.load("u", [{"id": 2, "extra": "x"}, {"id": -1, "extra": "y"}], at=1)
    assert my.rows("u") == [{"extra": None, "id": 1}]
    assert my.ledger() == [("u", my_day(0), 1)]


def test_a_wrong_password_is_a_clear_error_without_the_password(my: Warehouse, mariadb) -> None:  # noqa: ANN001
    import os

    var = next(iter(my.env))
    os.environ[var] = os.environ[var].replace(mariadb.password, "wrong-Pa55")
    with pytest.raises(ConfigError) as info:
        my.load("t", [{"id": 1}])
    assert "cannot connect to MySQL" in str(info.value)
    assert "wrong-Pa55" not in str(info.value)


def test_loads_of_one_table_wait_for_each_other(my: Warehouse, mariadb) -> None:  # noqa: ANN001
    """Two loads of one table and interval at once: both wait for the table's named lock
    (held here), then run one after the other; the interval's rows end up in it once."""
    import time

    my.load("t", [{"id": 0, "v": 0}], at=9)
    errors: list[BaseException] = []

    def load(n: int) -> None:
        try:
            my.load("t", [{"id": n, "v": i} for i in range(200)], at=0)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=load, args=(n,)) for n in (1, 2)]
    con = mariadb.connect()
    try:
        with con.cursor() as cur:
            cur.execute(
                "select get_lock(%s, 5)", [_lock_name(my.loader().state_database, my.pipeline, "t")]
            )
            for t in threads:
                t.start()
            time.sleep(1.5)
            assert all(t.is_alive() for t in threads), "both loads wait for the table's lock"
            assert len(my.rows("t")) == 1, "nothing of them is in the table yet"
            cur.execute(
                "select release_lock(%s)",
                [_lock_name(my.loader().state_database, my.pipeline, "t")],
            )
    finally:
        con.close()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    rows = my.rows("t")
    assert len(rows) == 201, "the interval's rows once: the second load replaced the first's"
    assert {r["id"] for r in rows if r["v"] == 0} in ({0, 1}, {0, 2})


def test_a_held_table_lock_times_out_with_a_hint(my: Warehouse, mariadb) -> None:  # noqa: ANN001
    my.load("t", [{"id": 1}])
    my.config["lock_timeout"] = 1
    con = mariadb.connect()
    try:
        with con.cursor() as cur:
            cur.execute(
                "select get_lock(%s, 5)", [_lock_name(my.loader().state_database, my.pipeline, "t")]
            )
            with pytest.raises(DagwrightError, match="held its lock for more than 1s"):
                my.load("t", [{"id": 2}], at=1)
    finally:
        con.close()
    assert my.rows("t") == [{"id": 1}]


def test_two_databases_on_one_server_keep_their_own_state(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """Dev and prod databases of one server, one pipeline: each ledger is its own."""
    from tests.loaders.conftest import make_warehouse

    (tmp_path / "dev").mkdir()
    (tmp_path / "prod").mkdir()
    dev = make_warehouse("mysql", tmp_path / "dev", request)
    prod = make_warehouse("mysql", tmp_path / "prod", request)
    prod.pipeline = dev.pipeline
    dev.load("t", [{"id": 1}], at=0, run_id="dev-run")
    prod.load("t", [{"id": 2}], at=0, run_id="prod-run")
    states = [w.loader().state.tables(dev.pipeline)["t"] for w in (dev, prod)]
    assert [list(s.intervals.values())[0][0] for s in states] == ["dev-run", "prod-run"]
    assert dev.rows("t") == [{"id": 1}] and prod.rows("t") == [{"id": 2}]


@pytest.fixture
def my_ci(request: pytest.FixtureRequest, tmp_path: Path, mariadb) -> Warehouse:  # noqa: ANN001
    """A destination whose database's default collation is case- and accent-insensitive,
    as most servers' are (the test server's default is binary)."""
    import os
    import uuid

    database = f"ci_{uuid.uuid4().hex[:8]}"
    mariadb.execute(f"CREATE DATABASE `{database}` COLLATE utf8mb4_general_ci")
    name = f"wh_{uuid.uuid4().hex[:8]}"
    url = mariadb.url.rsplit("/", 1)[0] + "/" + database
    os.environ[f"DAGWRIGHT_CONN_{name.upper()}"] = url
    return Warehouse("mysql", tmp_path, {"loader": "mysql", "connection": name})


def test_keys_and_values_compare_as_bytes_whatever_the_database_collation(
    my_ci: Warehouse,
) -> None:
    w = my_ci
    merge = {"write": "merge", "primary_key": ["k"]}
    w.load("m", [{"k": "a", "v": 1}, {"k": "A", "v": 2}, {"k": "a ", "v": 3}], **merge)
    assert w.rows("m") == [{"k": "A", "v": 2}, {"k": "a", "v": 1}, {"k": "a ", "v": 3}]
    scd2 = {"write": "scd2", "primary_key": ["k"]}
    w.load("h", [{"k": "x", "v": "abc"}], at=0, **scd2)
    w.load("h", [{"k": "x", "v": "ABC"}], at=1, **scd2)
    w.load("h", [{"k": "x", "v": "ABC "}], at=2, **scd2)
    assert sorted(r["v"] for r in w.rows("h")) == ["ABC", "ABC ", "abc"]


def test_a_refused_value_after_many_rounded_ones_still_fails_the_load(my: Warehouse) -> None:
    rows = [{"id": i, "x": 1.005} for i in range(6)] + [{"id": 6, "x": 99999999.999}]
    with pytest.raises(DataError, match="column `.*`.`x` at row 7|'x' at row 7"):
        my.load("d", rows, columns={"x": "DECIMAL(10, 2)"})
    assert my.ledger() == []


def test_locks_of_two_databases_on_one_server_do_not_block_each_other(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    from datetime import UTC, datetime

    from dagwright.intervals import Interval
    from tests.loaders.conftest import make_warehouse

    (tmp_path / "dev").mkdir()
    (tmp_path / "prod").mkdir()
    dev = make_warehouse("mysql", tmp_path / "dev", request)
    prod = make_warehouse("mysql", tmp_path / "prod", request)
    dev.config["lock_timeout"] = prod.config["lock_timeout"] = 1
    day = Interval(datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC))
    with dev.loader().run_lock("orders", day), prod.loader().run_lock("orders", day):
        prod.load("t", [{"id": 1}])
    held, again = dev.loader(), dev.loader()
    with (
        held.run_lock("orders", day),
        pytest.raises(DagwrightError, match="another run"),
        again.run_lock("orders", day),
    ):
        pass


def test_times_unsigned_and_nanosecond_values_round_trip(my: Warehouse) -> None:
    from datetime import datetime, time

    import pyarrow as pa

    batch = pa.table(
        {
            "at": pa.array([1_700_000_000_123_456_789], pa.timestamp("ns")),
            "t": pa.array([time(13, 5, 7, 250)], pa.time64("us")),
            "big": pa.array([2**64 - 1], pa.uint64()),
        }
    )
    my.load("v", batch)
    row = my.rows("v")[0]
    assert row["at"] == datetime(2023, 11, 14, 22, 13, 20, 123456)
    assert row["t"] == time(13, 5, 7, 250)
    assert row["big"] == 2**64 - 1
    assert my.arrow("v").schema.field("t").type == pa.time64("us")


def test_a_pushed_down_query_mariadb_refuses_fails_its_stage_with_the_servers_words(
    project: Project,
    mariadb,  # noqa: ANN001
) -> None:
    project.write_spec(
        "refused",
        """
        pipeline: refused
        start_date: 2026-01-01
        sources:
          orders: {extractor: csv, path: data/shop/orders.csv}
        destination: {loader: mysql, connection: wh}
        transforms:
          totals:
            pushdown: true
            sql: select customer_id, sum(no_such_column) as total from raw_orders group by 1
        loads:
          raw_orders: {from: orders, write: replace}
          customer_totals: {from: totals, write: replace}
        """,
    )
    done = project.cli("run", "refused", env={"DAGWRIGHT_CONN_WH": mariadb.url})
    assert done.returncode == 1
    out = " ".join((done.stdout + done.stderr).split())
    assert "stage 'transform_totals': " in out and "refused.yaml:9:" in out, out
    assert "mysql rejects the translated SQL: Unknown column 'no_such_column'" in out, out
    assert "Traceback" not in out
