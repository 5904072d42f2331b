"""Plugins are found through entry points, and reading their config models stays cheap."""

from __future__ import annotations

import subprocess
import sys

from dagwright import plugins

HEAVY = (
    "duckdb",
    "pyarrow",
    "polars",
    "pandas",
    "psycopg",
    "adbc_driver_manager",
    "connectorx",
    "sqlalchemy",
    "httpx",
    "great_expectations",
    "airflow",
)

PROBE = """
import sys
from dagwright.spec.model import pipeline_model
pipeline_model()
print(" ".join(sorted(sys.modules)))
"""


def test_every_builtin_plugin_is_found_by_name() -> None:
    assert {"csv", "parquet", "postgres", "http", "sql"} <= set(plugins.names(plugins.EXTRACTORS))
    assert {"duckdb", "postgres", "parquet"} <= set(plugins.names(plugins.LOADERS))
    assert plugins.plugin(plugins.LOADERS, "duckdb").config_model.__name__ == "DuckDBConfig"


def test_building_the_spec_model_loads_no_driver_engine_or_sql_dialect() -> None:
    """Every plugin module is imported for its config model: none may do heavy work then."""
    out = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True
    ).stdout.split()
    heavy = [m for m in out if m.split(".")[0] in HEAVY]
    assert heavy == []
    dialects = [m for m in out if m.startswith(("sqlglot.dialects.", "sqlglot.generators."))]
    assert dialects in ([], ["sqlglot.dialects.dialect"])
