"""sql_folder entries: expanded into ordinary steps and loads, every problem located in the
spec (file:line:column of the entry) or in the .sql file."""

from __future__ import annotations

from pathlib import Path

import pytest

from dagwright.errors import SpecError
from dagwright.spec.load import load_spec

HEAD = """\
pipeline: p
start_date: 2026-01-01
sources:
  orders: {extractor: csv, path: data/orders.csv}
transforms:
"""


def project(tmp_path: Path, entries: str, files: dict[str, str], tail: str = "") -> Path:
    """A spec of ``HEAD`` + ``entries`` (+ ``tail``) and its .sql files, by project path."""
    (tmp_path / "dags").mkdir(exist_ok=True)
    for name, sql in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(sql, encoding="utf-8")
    spec = tmp_path / "dags" / "p.yaml"
    spec.write_text(HEAD + entries + tail, encoding="utf-8")
    return spec


def problems(spec: Path) -> list[str]:
    with pytest.raises(SpecError) as err:
        load_spec(spec)
    root = str(spec.parent.parent)
    return [str(p).replace(str(spec), "p.yaml").replace(root, "<root>") for p in err.value.problems]


FOLDER = "  q:\n    sql_folder: sql/q/*.sql\n"
TWO = {"sql/q/a.sql": "select * from orders", "sql/q/b.sql": "select * from a"}


def test_a_folder_becomes_steps_and_loads(tmp_path: Path) -> None:
    spec = load_spec(project(tmp_path, "  q:\n    sql_folder: sql/q\n", TWO))
    assert list(spec.model.transforms) == ["a", "b"]
    assert spec.model.transforms["b"].sql_file == "sql/q/b.sql"
    assert {t: (load.from_, load.write) for t, load in spec.model.loads.items()} == {
        "a": ("a", "replace"),
        "b": ("b", "replace"),
    }


def test_overrides_merge_over_the_folder_load_and_null_loads_nothing(tmp_path: Path) -> None:
    entry = (
        FOLDER + "    load: {table: 'mart.{name}', lineage: false}\n"
        "    loads:\n      a: null\n      b: {table: bees, write: merge, primary_key: [id]}\n"
    )
    spec = load_spec(project(tmp_path, entry, {**TWO, "sql/q/c.sql": "select 1 as id"}))
    loads = spec.model.loads
    assert sorted(loads) == ["bees", "mart.c"]
    assert (loads["bees"].from_, loads["bees"].write, loads["bees"].lineage) == (
        "b",
        "merge",
        False,
    )
    assert loads["bees"].primary_key == ["id"]
    assert (loads["mart.c"].from_, loads["mart.c"].write) == ("c", "replace")
    assert list(spec.model.transforms) == ["a", "b", "c"]


def test_steps_take_the_entry_options(tmp_path: Path) -> None:
    entry = (
        FOLDER
        + "    dialect: snowflake\n    expect: [{expect_table_row_count_to_be_between: {min_value: 1}}]\n"
    )
    spec = load_spec(project(tmp_path, entry, TWO))
    step = spec.model.transforms["a"]
    assert step.dialect == "snowflake" and len(step.expect) == 1


def test_missing_folder_names_the_pattern_and_the_folder(tmp_path: Path) -> None:
    spec = project(tmp_path, "  q:\n    sql_folder: sql/qq/*.sql\n", TWO)
    assert problems(spec) == [
        "p.yaml:7:17: transforms.q: sql_folder 'sql/qq/*.sql' looks in <root>/sql/qq, which "
        "does not exist (did you mean 'q'?); paths are relative to the project root <root>"
    ]


def test_missing_plain_folder(tmp_path: Path) -> None:
    spec = project(tmp_path, "  q:\n    sql_folder: queries\n", TWO)
    (problem,) = problems(spec)
    assert problem.startswith(
        "p.yaml:7:17: transforms.q: sql_folder 'queries' looks in <root>/queries, which does "
        "not exist"
    )


def test_empty_glob_names_the_pattern_and_the_folder(tmp_path: Path) -> None:
    spec = project(tmp_path, "  q:\n    sql_folder: sql/q/*.sq\n", TWO)
    assert problems(spec) == [
        "p.yaml:7:17: transforms.q: sql_folder 'sql/q/*.sq' matches no .sql file in "
        "<root>/sql/q; hint: a folder lists its *.sql files, a glob names them (sql/*.sql, "
        "sql/**/*.sql)"
    ]


def test_a_stem_that_is_not_a_step_name(tmp_path: Path) -> None:
    spec = project(tmp_path, FOLDER, {**TWO, "sql/q/1st-pass.sql": "select 1 as x"})
    assert problems(spec) == [
        "p.yaml:7:17: transforms.q: file sql/q/1st-pass.sql: '1st-pass' is not a valid step "
        "name: use letters, digits and underscores, not starting with a digit; rename the file"
    ]


def test_a_stem_colliding_with_a_source(tmp_path: Path) -> None:
    spec = project(tmp_path, FOLDER, {**TWO, "sql/q/orders.sql": "select 1 as x"})
    assert problems(spec) == [
        "p.yaml:7:17: transforms.q: file sql/q/orders.sql: its step 'orders' has the name of a "
        "source; rename the file or the source"
    ]


def test_a_stem_colliding_with_a_transform(tmp_path: Path) -> None:
    entries = "  a:\n    sql: select * from orders\n" + FOLDER
    spec = project(tmp_path, entries, TWO, "loads:\n  t: {from: a, write: replace}\n")
    assert problems(spec) == [
        "p.yaml:9:17: transforms.q: file sql/q/a.sql: its step 'a' has the name of a "
        "transform; rename the file or the transform"
    ]


def test_a_stem_colliding_with_another_folders_file(tmp_path: Path) -> None:
    entries = FOLDER + "  r:\n    sql_folder: sql/r/\n"
    spec = project(tmp_path, entries, {**TWO, "sql/r/a.sql": "select 1 as x"})
    assert problems(spec) == [
        "p.yaml:9:17: transforms.r: file sql/r/a.sql: its step 'a' is also the step of file "
        "sql/q/a.sql; rename one"
    ]


def test_a_cycle_names_the_files_in_the_circle(tmp_path: Path) -> None:
    files = {
        "sql/q/a.sql": "select * from orders",
        "sql/q/b.sql": "select * from d",
        "sql/q/c.sql": "select * from b",
        "sql/q/d.sql": "with x as (select * from c) select * from x",
    }
    spec = project(tmp_path, FOLDER, files)
    assert problems(spec) == [
        "p.yaml:7:17: transforms.q: files read each other in a cycle: sql/q/b.sql -> "
        "sql/q/d.sql -> sql/q/c.sql -> sql/q/b.sql; hint: a step cannot read its own output, "
        "not even through other files"
    ]


def test_a_pushed_down_cycle_goes_through_the_tables(tmp_path: Path) -> None:
    files = {"sql/q/a.sql": "select * from bees", "sql/q/b.sql": "select * from a"}
    entry = FOLDER + "    pushdown: true\n    loads:\n      b: {table: bees}\n"
    spec = project(tmp_path, entry, files)
    (problem,) = problems(spec)
    assert "files read each other in a cycle: sql/q/a.sql -> sql/q/b.sql -> sql/q/a.sql" in problem


def test_an_override_for_a_file_that_does_not_exist(tmp_path: Path) -> None:
    entry = FOLDER + "    loads:\n      bb: {table: x}\n"
    spec = project(tmp_path, entry, TWO)
    assert problems(spec) == [
        "p.yaml:9:7: transforms.q.loads: 'bb' names no file of sql_folder 'sql/q/*.sql' "
        "(no bb.sql) (did you mean 'b'?)"
    ]


def test_sql_that_does_not_parse_is_located_in_its_file(tmp_path: Path) -> None:
    files = {**TWO, "sql/q/c.sql": "select id,\n       amount\nfrom orders where (\n"}
    spec = project(tmp_path, FOLDER, files)
    (problem,) = problems(spec)
    assert problem.startswith("<root>/sql/q/c.sql:3:1: transform 'c': SQL syntax error (duckdb): ")


def test_a_file_reading_an_unknown_table_points_at_the_entry(tmp_path: Path) -> None:
    files = {**TWO, "sql/q/c.sql": "select * from order_lines"}
    spec = project(tmp_path, FOLDER, files)
    assert problems(spec) == [
        "p.yaml:7:17: transform 'c' reads unknown input 'order_lines' (did you mean 'orders'?)"
    ]


def test_folder_load_options_are_checked_together(tmp_path: Path) -> None:
    entry = FOLDER + "    load: {write: merge}\n    loads:\n      b: {primary_key: [id]}\n"
    spec = project(tmp_path, entry, TWO)
    assert problems(spec) == ["p.yaml:8:5: transforms.q.load: write: merge needs primary_key"]


def test_a_table_two_files_load(tmp_path: Path) -> None:
    entry = FOLDER + "    load: {table: same}\n"
    spec = project(tmp_path, entry, TWO)
    assert problems(spec) == [
        "p.yaml:8:5: transforms.q: file sql/q/b.sql loads table 'same', which file sql/q/a.sql "
        "loads too; hint: give it another table in transforms.q.loads.b.table"
    ]


def test_a_table_the_spec_loads_too(tmp_path: Path) -> None:
    spec = project(tmp_path, FOLDER, TWO, "loads:\n  a: {from: orders, write: replace}\n")
    assert problems(spec) == [
        "p.yaml:6:3: transforms.q: file sql/q/a.sql loads table 'a', which loads: declares "
        "too; hint: give it another table in transforms.q.loads.a.table"
    ]


def test_unknown_key_in_an_entry_has_did_you_mean(tmp_path: Path) -> None:
    spec = project(tmp_path, FOLDER + "    lods: {}\n", TWO)
    assert problems(spec) == [
        "p.yaml:8:5: unknown key 'lods' in transforms.q (did you mean 'loads'?)"
    ]


def test_a_spec_without_loads_needs_a_folder(tmp_path: Path) -> None:
    spec = project(tmp_path, "  a:\n    sql: select * from orders\n", {})
    assert problems(spec) == ["p.yaml:1:1: missing required key 'loads' in spec"]


def test_a_folder_loading_nothing(tmp_path: Path) -> None:
    spec = project(tmp_path, FOLDER + "    loads: {a: null, b: null}\n", TWO)
    assert problems(spec) == [
        "p.yaml:5:1: the spec loads nothing: every sql_folder file is set not to load (null) "
        "and loads: declares no table"
    ]
