"""The DuckDB loader stages a batch as a view (no second copy in memory); merge still keeps
the last row of the batch per key, whether the batch is a Parquet file or a workspace table."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from dagwright.spec.sections import Load
from dagwright.staging import describe
from dagwright.state import StateUpdate
from loaders.duckdb import DuckDBConfig, DuckDBLoader

MERGE = Load.model_validate({"from": "src", "write": "merge", "primary_key": ["id"]})
REPLACE = Load.model_validate({"from": "src", "write": "replace"})


def state(table: str) -> StateUpdate:
    return StateUpdate("r1", "p", table, interval_start=None, interval_end=None)


def loader(root: Path) -> DuckDBLoader:
    return DuckDBLoader(DuckDBConfig(), root)


def rows(target: DuckDBLoader, table: str) -> list[tuple]:
    with target.connect(read_only=True) as con:
        return con.execute(f'SELECT id, v FROM "{table}" ORDER BY id').fetchall()  # noqa: S608


def test_a_parquet_batch_is_staged_as_a_view_and_merge_keeps_its_last_row(tmp_path: Path) -> None:
    # id 1 in three row groups: file order, not row group or thread order, decides
    batch = pa.table({"id": [1, 2, 1, 3, 1, 2], "v": ["a", "b", "c", "d", "e", "f"]})
    path = tmp_path / "batch.parquet"
    pq.write_table(batch, path, row_group_size=2)
    target = loader(tmp_path)

    outcome = target.load("t", MERGE, describe(str(path)), state("t"))

    assert rows(target, "t") == [(1, "e"), (2, "f"), (3, "d")]
    assert outcome.rows == 3
    staged = [s for s in outcome.sql if "__dagwright_stage" in s and s.startswith("CREATE")]
    assert staged[0].startswith('CREATE TEMPORARY VIEW "__dagwright_stage"'), staged
    # only merge keeps rows, and only the deduplicated ones
    assert any(s.startswith('CREATE TEMPORARY TABLE "__dagwright_kept"') for s in outcome.sql)


def test_replace_copies_nothing_into_a_temporary_table(tmp_path: Path) -> None:
    path = tmp_path / "batch.parquet"
    pq.write_table(pa.table({"id": [1, 2], "v": ["a", "b"]}), path)
    target = loader(tmp_path)

    outcome = target.load("t", REPLACE, describe(str(path)), state("t"))

    assert rows(target, "t") == [(1, "a"), (2, "b")]
    assert not any("TEMPORARY TABLE" in s for s in outcome.sql), outcome.sql


def test_a_workspace_batch_merges_last_row_wins_in_one_transaction(tmp_path: Path) -> None:
    target = loader(tmp_path)
    uri = str(tmp_path / "staging" / "transform_x.parquet")
    values = "SELECT * FROM (VALUES (1, 'a'), (2, 'b'), (1, 'c'), (2, 'd'), (3, 'e')) t(id, v)"
    with target.run_lock("p") as exclusive:
        assert exclusive
        workspace = target.open_workspace()
        assert workspace is not None
        try:
            workspace.add_relation(uri, lambda cur: cur.sql(values))
            outcome = target.load("t", MERGE, describe(uri), state("t"))
            assert not Path(uri).exists()  # read in place: no Parquet file written
        finally:
            workspace.close()

    assert rows(target, "t") == [(1, "c"), (2, "d"), (3, "e")]
    assert outcome.rows == 3
    with target.connect(read_only=True) as con:
        ledger = con.execute('SELECT table_name, "rows" FROM "_dagwright"."intervals"').fetchall()
    assert ledger == [("t", 3)]


def test_the_plan_shows_the_staging_statements_a_merge_runs(tmp_path: Path) -> None:
    path = tmp_path / "batch.parquet"
    pq.write_table(pa.table({"id": [1, 1], "v": ["a", "b"]}), path)
    target = loader(tmp_path)

    planned = target.plan_load("t", MERGE)
    ran = target.load("t", MERGE, describe(str(path)), state("t")).sql

    def staging(statements: list[str]) -> list[str]:
        return [" ".join(s.split()[:4]) for s in statements if "__dagwright_" in s.split("(")[0]]

    assert staging(planned) == staging(ran)
    assert staging(planned)[0] == 'CREATE TEMPORARY VIEW "__dagwright_stage"'
