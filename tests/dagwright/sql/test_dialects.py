"""The framework's own dialect rules, and the check for functions passed through unchanged."""

from __future__ import annotations

import pytest

from dagwright.sql.dialects import called_functions, unknown_functions
from transforms.sql import SqlStepError, compile_sql


@pytest.mark.parametrize(
    ("dialect", "sql", "engine", "expected"),
    [
        (
            "snowflake",
            "select contains(a, 'x') from t",
            "postgres",
            "SELECT (POSITION('x' IN a) > 0) FROM t",
        ),
        ("tsql", "select cast(a as float) from t", "duckdb", "SELECT CAST(a AS DOUBLE) FROM t"),
        (
            "mysql",
            "select a, count(*) from t group by a with rollup",
            "postgres",
            "SELECT a, COUNT(*) FROM t GROUP BY ROLLUP (a)",
        ),
        (
            "mysql",
            "select group_concat(a) from t",
            "postgres",
            "SELECT STRING_AGG(CAST(a AS TEXT), ',') FROM t",
        ),
        (
            "bigquery",
            "select timestamp_diff(b, a, minute) from t",
            "duckdb",
            "SELECT CAST(TRUNC(EXTRACT(epoch FROM b - a) / 60) AS BIGINT) FROM t",
        ),
        (
            "snowflake",
            "select median(a) from t",
            "duckdb",
            "SELECT MEDIAN(CAST(a AS DOUBLE)) FROM t",
        ),
    ],
)
def test_own_rules(dialect: str, sql: str, engine: str, expected: str) -> None:
    assert compile_sql(sql, dialect, engine).sql == expected


def test_functions_are_checked_against_the_engine_catalog() -> None:
    assert called_functions("SELECT UPPER(a), my_udf(b), CAST(c AS INT) FROM t", "duckdb") == [
        "UPPER",
        "MY_UDF",
    ]
    assert unknown_functions("SELECT UPPER(a), my_udf(b) FROM t", "duckdb") == ["MY_UDF"]
    assert unknown_functions(
        "SELECT STRPOS(a, 'x'), approx_quantile(b, 0.5) FROM t", "postgres"
    ) == ["APPROX_QUANTILE"]
    with pytest.raises(SqlStepError) as caught:
        compile_sql("select a,\n  my_udf(b) from t", "snowflake", "postgres")
    assert (caught.value.line, caught.value.column) == (2, 3)
    assert "MY_UDF (snowflake) has no faithful postgres translation" in str(caught.value)


def test_select_star_except_is_refused_for_postgres() -> None:
    assert (
        compile_sql("SELECT * EXCEPT (a) FROM t", "bigquery", "duckdb").sql
        == "SELECT * EXCLUDE (a) FROM t"
    )
    with pytest.raises(SqlStepError, match=r"SELECT \* EXCEPT"):
        compile_sql("SELECT * EXCEPT (a) FROM t", "bigquery", "postgres")


def test_only_queries_and_one_statement() -> None:
    with pytest.raises(SqlStepError, match="exactly one query"):
        compile_sql("select 1; select 2", "duckdb")
    with pytest.raises(SqlStepError, match="found DELETE"):
        compile_sql("delete from t", "tsql")


def test_duckdb_json_operators_run_on_postgres_jsonb(postgres) -> None:  # noqa: ANN001
    """``->>`` of one key stays an operator (the path functions refuse jsonb)."""
    from transforms.sql import compile_sql

    compiled = compile_sql(
        "select payload->>'$.sku' as sku, payload->'$.n' as n, "
        "json_extract_string(payload, '$.a.b') as deep from jsonb_docs",
        "duckdb",
        "postgres",
        "numeric",
    )
    with postgres.connect() as db:
        db.execute("drop table if exists jsonb_docs")
        db.execute("create table jsonb_docs (payload jsonb)")
        db.execute("""insert into jsonb_docs values ('{"sku": "A-1", "n": 2, "a": {"b": "x"}}')""")
        assert db.execute(compiled.sql).fetchall() == [("A-1", 2, "x")], compiled.sql
