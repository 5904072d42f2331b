"""A source or destination whose extra is not installed is a located validation problem.

The packages are made missing the way Python itself blocks an import (``sys.modules[name]
= None``) in a fresh interpreter running the real CLI.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Project

CLI_WITHOUT = """
import sys
for name in sys.argv[1].split(","):
    sys.modules[name] = None
from dagwright.cli import main
sys.exit(main(sys.argv[2:]))
"""


def validate_without(project: Project, modules: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", CLI_WITHOUT, ",".join(modules), "validate"],
        cwd=project.root,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("source", "missing", "extra"),
    [
        (
            "{extractor: postgres, connection: orders_db, table: public.orders}",
            ["adbc_driver_postgresql", "psycopg", "sqlalchemy"],
            "postgres",
        ),
        ("{extractor: sqlite, path: data/shop.db, table: orders}", ["sqlalchemy"], "sql"),
        ("{extractor: http, url: 'https://api.example.com/orders'}", ["httpx"], "http"),
    ],
)
def test_a_source_without_its_extra_names_the_extra(
    project: Project, source: str, missing: list[str], extra: str
) -> None:
    spec = project.write_spec(
        "orders",
        f"""
        pipeline: orders
        start_date: 2026-01-01
        sources:
          orders: {source}
        loads:
          orders: {{from: orders, write: replace}}
        """,
    )
    result = validate_without(project, missing)
    assert result.returncode == 1, result.stdout + result.stderr
    line = next(n for n, t in enumerate(spec.read_text().splitlines(), 1) if "orders: {" in t)
    expected = (
        f"{spec}:{line}:"
        f"{spec.read_text().splitlines()[line - 1].index('{extractor: ') + 13}: "
        f"source 'orders' needs dagwright[{extra}]: pip install 'dagwright[{extra}]' "
        f"(not installed: {', '.join(missing)})"
    )
    assert expected in result.stdout, result.stdout
    assert "Traceback" not in result.stdout + result.stderr
    # with one way of reading PostgreSQL installed, the spec is fine
    if extra == "postgres":
        assert validate_without(project, ["adbc_driver_postgresql"]).returncode == 0


def test_a_destination_without_its_extra_names_the_extra(project: Project) -> None:
    spec = project.write_spec(
        "to_pg",
        """
        pipeline: to_pg
        start_date: 2026-01-01
        sources:
          orders: {extractor: csv, path: data/shop/orders.csv}
        destination: {loader: postgres, connection: warehouse}
        loads:
          orders: {from: orders, write: replace}
        """,
    )
    result = validate_without(project, ["psycopg"])
    assert result.returncode == 1
    assert (
        f"{spec}:5:23: the destination needs dagwright[postgres]: "
        "pip install 'dagwright[postgres]' (not installed: psycopg)"
    ) in result.stdout, result.stdout


def test_every_extra_a_plugin_names_exists() -> None:
    import tomllib

    from dagwright import plugins

    extras = tomllib.loads((Path(__file__).parents[3] / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    named = {"postgres", "sql", "http"}
    assert named <= set(extras)
    for group in (plugins.EXTRACTORS, plugins.LOADERS):
        for cls in plugins.plugin_classes(group):
            assert hasattr(cls, "needs"), cls
