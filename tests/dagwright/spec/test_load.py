"""Every class of spec problem is reported as file:line:column with an actionable message."""

from __future__ import annotations

from pathlib import Path

import pytest

from dagwright.errors import SpecError
from dagwright.spec.load import load_spec, load_specs

VALID = """\
pipeline: orders
schedule: "@daily"
start_date: 2026-01-01
sources:
  orders:
    extractor: csv
    path: data/shop/orders.csv
  customers:
    extractor: csv
    path: data/shop/customers.csv
transforms:
  joined:
    sql: select o.*, c.segment from orders o join customers c using (customer_id)
loads:
  fct_orders: {from: joined, write: merge, primary_key: [order_id]}
"""


def problems(tmp_path: Path, text: str, name: str = "p.yaml") -> list[str]:
    (tmp_path / "dags").mkdir(exist_ok=True)
    path = tmp_path / "dags" / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SpecError) as err:
        load_spec(path)
    prefix = str(path)
    return [str(p).replace(prefix, name) for p in err.value.problems]


def test_valid_spec_loads(tmp_path: Path) -> None:
    (tmp_path / "dags").mkdir()
    path = tmp_path / "dags" / "p.yaml"
    path.write_text(VALID)
    spec = load_spec(path)
    assert spec.name == "orders"
    assert spec.project_root == tmp_path.resolve()
    assert list(spec.model.sources) == ["orders", "customers"]
    assert spec.model.loads["fct_orders"].primary_key == ["order_id"]
    assert spec.model.destination.loader == "duckdb"
    assert spec.model.retry_delay.total_seconds() == 300


def test_misspelt_key_has_did_you_mean(tmp_path: Path) -> None:
    text = VALID.replace('schedule: "@daily"', 'shedule: "@daily"')
    assert problems(tmp_path, text) == [
        "p.yaml:2:1: unknown key 'shedule' in spec (did you mean 'schedule'?)"
    ]


def test_misspelt_plugin_option_has_did_you_mean(tmp_path: Path) -> None:
    text = VALID.replace("    path: data/shop/orders.csv", "    pth: data/shop/orders.csv")
    assert problems(tmp_path, text) == [
        "p.yaml:5:3: missing required key 'path' in sources.orders",
        "p.yaml:7:5: unknown key 'pth' in sources.orders (did you mean 'path'?)",
    ]


def test_unknown_extractor(tmp_path: Path) -> None:
    text = VALID.replace(
        "extractor: csv\n    path: data/shop/orders.csv", "extractor: cvs\n    path: x"
    )
    (msg,) = problems(tmp_path, text)
    assert msg.startswith("p.yaml:6:16: unknown extractor 'cvs' (did you mean 'csv'?); installed: ")


def test_wrong_type(tmp_path: Path) -> None:
    text = VALID + "retries: many\n"
    assert problems(tmp_path, text) == [
        "p.yaml:16:10: retries: Input should be a valid integer, unable to parse string as an integer"
    ]


def test_missing_required_key(tmp_path: Path) -> None:
    text = VALID.replace("start_date: 2026-01-01\n", "")
    assert problems(tmp_path, text) == ["p.yaml:1:1: missing required key 'start_date' in spec"]


def test_unknown_input_reference_in_sql(tmp_path: Path) -> None:
    text = VALID.replace("join customers c", "join customer c")
    assert problems(tmp_path, text) == [
        "p.yaml:13:10: transform 'joined' reads unknown input 'customer' (did you mean 'customers'?)"
    ]


def test_unknown_load_reference(tmp_path: Path) -> None:
    text = VALID.replace("{from: joined,", "{from: joinde,")
    assert problems(tmp_path, text) == [
        "p.yaml:15:22: load 'fct_orders' reads unknown input 'joinde' (did you mean 'joined'?)"
    ]


def test_cycle(tmp_path: Path) -> None:
    text = VALID.replace(
        "transforms:\n",
        "transforms:\n  a: {sql: select * from b}\n  b: {sql: select * from a}\n",
    )
    assert problems(tmp_path, text) == ["p.yaml:12:3: transforms form a cycle: a -> b -> a"]


def test_duplicate_name_across_sections(tmp_path: Path) -> None:
    text = VALID.replace("  joined:\n", "  orders:\n    sql: select 1 as x\n  joined:\n")
    assert "p.yaml:12:3: duplicate name 'orders': a source and a transform cannot share a name" in (
        problems(tmp_path, text)
    )


def test_duplicate_pipeline_names_across_files(tmp_path: Path) -> None:
    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "a.yaml").write_text(VALID)
    (tmp_path / "dags" / "b.yaml").write_text(VALID)
    specs, found = load_specs([tmp_path / "dags"])
    assert [s.path.name for s in specs] == ["a.yaml"]
    assert [str(p).replace(f"{tmp_path}/dags/", "") for p in found] == [
        "b.yaml:1:11: duplicate pipeline name 'orders': also defined in a.yaml"
    ]


def test_yaml_syntax_error(tmp_path: Path) -> None:
    text = VALID.replace("  fct_orders: {from: joined,", "  fct_orders: {from: joined")
    (msg,) = problems(tmp_path, text)
    assert msg.startswith("p.yaml:15:")
    assert "YAML syntax error" in msg


def test_bad_cron(tmp_path: Path) -> None:
    text = VALID.replace('"@daily"', '"61 * * * *"')
    (msg,) = problems(tmp_path, text)
    assert msg.startswith("p.yaml:2:11: invalid cron expression '61 * * * *'")


def test_unknown_preset(tmp_path: Path) -> None:
    text = VALID.replace('"@daily"', '"@dayly"')
    assert problems(tmp_path, text) == [
        "p.yaml:2:11: unknown schedule preset '@dayly' (did you mean '@daily'?)"
    ]


def test_sql_syntax_error(tmp_path: Path) -> None:
    text = VALID.replace("select o.*,", "select o.* from from,")
    (msg,) = problems(tmp_path, text)
    assert msg == (
        "p.yaml:13:10: transform 'joined': SQL syntax error (duckdb): "
        "Expected table name but got ',' (line 1 of the SQL)"
    )


def test_disposition_needs_key(tmp_path: Path) -> None:
    text = VALID.replace(", primary_key: [order_id]", "")
    assert problems(tmp_path, text) == [
        "p.yaml:15:3: loads.fct_orders: write: merge needs primary_key"
    ]


def test_transform_needs_one_body(tmp_path: Path) -> None:
    text = VALID.replace(
        "    sql: select o.*", "    polars: transforms.shop:daily_revenue\n    sql: select o.*"
    )
    (msg,) = problems(tmp_path, text)
    assert "transforms.joined: a transform needs exactly one of sql, sql_file, polars" in msg


def test_not_a_mapping(tmp_path: Path) -> None:
    assert problems(tmp_path, "- just\n- a list\n") == [
        "p.yaml:1:1: a spec must be a mapping with 'pipeline:', 'sources:'..."
    ]


BODY = "    sql: select o.*, c.segment from orders o join customers c using (customer_id)"


@pytest.mark.parametrize(
    ("dialect", "sql"),
    [
        ("duckdb", "select * from orders where amount > $threshold"),
        ("duckdb", "select * from orders where amount > ?"),
        ("snowflake", "select * from orders where amount > :threshold"),
        ("bigquery", "select * from orders where amount > @threshold"),
        ("postgres", "select * from orders where amount > %(threshold)s"),
        ("databricks", "select * from orders where amount > {threshold}"),
        ("clickhouse", "select * from orders where amount > {threshold: UInt32}"),
    ],
)
def test_unknown_parameter_in_each_dialects_syntax(tmp_path: Path, dialect: str, sql: str) -> None:
    """Validation skips looking for placeholders in SQL that cannot hold one: never these."""
    text = VALID.replace(BODY, f'    dialect: {dialect}\n    sql: "{sql}"')
    (msg,) = problems(tmp_path, text)
    assert "transform 'joined': unknown parameter" in msg
    assert "a SQL step can bind interval_start, interval_end" in msg


def test_a_step_is_parsed_and_compiled_once_per_process(tmp_path: Path) -> None:
    """Validation reads a step's tables and compiles it; planning and the run reuse both."""
    from dagwright.plan import build_plan
    from transforms.sql import _compile_once, compile_step, parsed

    text = VALID.replace(BODY, f"{BODY} -- {tmp_path.name}")  # SQL no other test parsed
    (tmp_path / "dags").mkdir()
    path = tmp_path / "dags" / "p.yaml"
    path.write_text(text, encoding="utf-8")
    parses, compiles = parsed.cache_info().misses, _compile_once.cache_info().misses
    spec = load_spec(path)
    build_plan(spec)
    compiled, _ = compile_step(spec.model.transforms["joined"], spec.project_root)
    assert parsed.cache_info().misses - parses == 1
    assert _compile_once.cache_info().misses - compiles == 1
    assert compiled.sql.startswith("SELECT o.*, c.segment FROM orders AS o")
