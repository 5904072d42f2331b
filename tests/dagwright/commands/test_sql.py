"""``dagwright sql translate``: the SQL steps' translation, ad hoc."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import run_cli


def translate(tmp_path: Path, sql: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dagwright.cli", "sql", "translate", *args, "-"],
        input=sql,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_translate_from_stdin_and_file(tmp_path: Path) -> None:
    result = translate(
        tmp_path,
        "select iff(amount > 10, 'big', 'small') as size, contains(name, 'x') as has_x\n"
        "from orders where ordered_at >= :interval_start",
        "--from",
        "snowflake",
        "--to",
        "postgres",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        "SELECT CASE WHEN amount > 10 THEN 'big' ELSE 'small' END AS size, "
        "(POSITION('x' IN name) > 0) AS has_x FROM orders WHERE ordered_at >= %(interval_start)s;"
    )
    assert "bound parameters: interval_start" in result.stderr
    (tmp_path / "q.sql").write_text("SELECT TOP 2 a FROM t ORDER BY a")
    from_file = run_cli(
        "sql", "translate", "--from", "tsql", "--to", "duckdb", "q.sql", cwd=tmp_path
    )
    assert from_file.stdout.strip() == "SELECT a FROM t ORDER BY a NULLS FIRST LIMIT 2;"


def test_translate_errors_are_located(tmp_path: Path) -> None:
    result = translate(
        tmp_path,
        "select a,\n       soundex(name) as s from t",
        "--from",
        "snowflake",
        "--to",
        "duckdb",
    )
    assert result.returncode == 1
    assert result.stderr.startswith("error: <stdin>:2:8: cannot translate to duckdb: SOUNDEX")
    bad = translate(tmp_path, "select 1", "--from", "snowflak", "--to", "postgres")
    assert bad.returncode == 1 and "(did you mean 'snowflake'?)" in bad.stderr


def test_translate_to_mysql_and_a_located_refusal(tmp_path: Path) -> None:
    result = translate(
        tmp_path,
        "select iff(amount > 10, 'big', 'small') as size, contains(name, 'x') as has_x\n"
        "from orders where ordered_at >= :interval_start",
        "--from",
        "snowflake",
        "--to",
        "mysql",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        "SELECT IF(amount > 10, 'big', 'small') AS size, (LOCATE('x', name) > 0) AS has_x "
        "FROM orders WHERE ordered_at >= :interval_start;"
    )
    refused = translate(
        tmp_path,
        "select customer_id, sum(amount) from orders\ngroup by grouping sets ((customer_id), ())",
        "--from",
        "snowflake",
        "--to",
        "mysql",
    )
    assert refused.returncode == 1
    assert refused.stderr.startswith("error: <stdin>:2:26: cannot translate to mysql: GROUP BY")


def test_translate_to_snowflake_keeps_the_meaning_and_locates_a_refusal(tmp_path: Path) -> None:
    """Where Snowflake's function of the same name means something else (REGEXP_LIKE
    matches the whole string, TIMESTAMPDIFF counts boundaries, CONCAT_WS is NULL for any
    NULL), the translation says what the source meant."""
    result = translate(
        tmp_path,
        "select regexp_contains(email, r'@corp') as corp,\n"
        "timestamp_diff(shipped_at, ordered_at, hour) as hours from orders",
        "--from",
        "bigquery",
        "--to",
        "snowflake",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        "SELECT (REGEXP_INSTR(email, '@corp') > 0) AS corp, "
        "CAST(TRUNC(DATEDIFF(MICROSECOND, ordered_at, shipped_at) / 3600000000) AS BIGINT) "
        "AS hours FROM orders;"
    )
    joined = translate(
        tmp_path, "select concat_ws('-', a, b) as ab from t", "--from", "spark", "--to", "snowflake"
    )
    assert joined.stdout.strip() == (
        "SELECT SUBSTRING(COALESCE('-' || a, '') || COALESCE('-' || b, ''), LENGTH('-') + 1) "
        "AS ab FROM t;"
    )
    same = translate(
        tmp_path,
        "select regexp_like(email, '.*@corp') as corp from orders",
        "--from",
        "snowflake",
        "--to",
        "snowflake",
    )
    assert same.stdout.strip() == "SELECT REGEXP_LIKE(email, '.*@corp') AS corp FROM orders;"
    refused = translate(
        tmp_path,
        "select order_id,\ntimestampdiff(month, ordered_at, shipped_at) as months from orders",
        "--from",
        "mysql",
        "--to",
        "snowflake",
    )
    assert refused.returncode == 1
    assert refused.stderr.startswith("error: <stdin>:2:"), refused.stderr
    assert "cannot translate to snowflake: TIMESTAMPDIFF in MONTH units" in refused.stderr
