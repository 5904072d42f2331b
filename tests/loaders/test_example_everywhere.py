"""The example pipeline (``dags/shop_daily.yaml``), unchanged but for its ``destination:``,
gives the same tables on every destination: DuckDB, PostgreSQL, MariaDB, Snowflake (through
fakesnow) and Parquet."""

from __future__ import annotations

import math
import re
import shutil
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO, run_cli
from tests.loaders.conftest import Warehouse

TABLES = ("dim_customers", "fct_orders", "agg_daily_revenue")
WINDOW = ("--start", "2026-01-01", "--end", "2026-01-08")


def _normal(value: Any) -> Any:
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, 6)
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


def tables(w: Warehouse) -> dict[str, list[tuple]]:
    out = {}
    for name in TABLES:
        data = w.arrow(name)
        keep = sorted(c for c in data.column_names if not c.startswith("_dagwright"))
        rows = [tuple(_normal(r[c]) for c in keep) for r in data.select(keep).to_pylist()]
        out[name] = [tuple(keep), *sorted(rows, key=lambda r: [str(v) for v in r])]
    return out


def destination(kind: str, root: Path, request: pytest.FixtureRequest) -> Warehouse:
    if kind == "duckdb":
        return Warehouse(kind, root, {"loader": "duckdb", "path": "warehouse.duckdb"})
    if kind == "parquet":
        return Warehouse(kind, root, {"loader": "parquet", "path": "lake"})
    name = f"wh_{uuid.uuid4().hex[:8]}"
    if kind == "postgres":
        server = request.getfixturevalue("postgres")
        url, config = server.url, {"schema": f"s_{uuid.uuid4().hex[:8]}"}
    elif kind == "snowflake":
        server = request.getfixturevalue("fakesnow")
        url, config = server.url(f"D_{uuid.uuid4().hex[:8].upper()}"), {}
    else:
        server = request.getfixturevalue("mariadb")
        database = f"d_{uuid.uuid4().hex[:8]}"
        server.execute(f"CREATE DATABASE `{database}`")
        url, config = server.url.rsplit("/", 1)[0] + "/" + database, {}
    env = {f"DAGWRIGHT_CONN_{name.upper()}": url}
    return Warehouse(kind, root, {"loader": kind, "connection": name, **config}, env=env)


def run_example(w: Warehouse, shop_data: Path) -> None:
    """Run the repository's spec with only its ``destination:`` block replaced."""
    import os

    shutil.copytree(shop_data, w.root / "data" / "shop")
    (w.root / "dags").mkdir()
    text = (REPO / "dags" / "shop_daily.yaml").read_text(encoding="utf-8")
    block = "destination:\n" + "".join(f"  {k}: {v}\n" for k, v in w.config.items())
    changed = re.sub(r"destination:\n(?:  .*\n)+", block, text, count=1)
    assert changed != text or w.kind == "duckdb"
    (w.root / "dags" / "shop_daily.yaml").write_text(changed, encoding="utf-8")
    shutil.copytree(REPO / "expectations", w.root / "expectations")
    os.environ.update(w.env)  # read_table resolves the connection in this process too
    done = run_cli("run", "shop_daily", *WINDOW, cwd=w.root, env=w.env)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.slow
def test_the_example_gives_equal_tables_on_every_destination(
    tmp_path: Path, shop_data: Path, request: pytest.FixtureRequest
) -> None:
    results = {}
    for kind in ("duckdb", "postgres", "mysql", "snowflake", "parquet"):
        w = destination(kind, tmp_path / kind, request)
        (tmp_path / kind).mkdir()
        run_example(w, shop_data)
        results[kind] = tables(w)
    reference = results.pop("duckdb")
    assert all(len(rows) > 1 for rows in reference.values()), "the example loaded rows"
    for kind, got in results.items():
        for name in TABLES:
            assert got[name] == reference[name], f"{name} on {kind} differs from DuckDB"
