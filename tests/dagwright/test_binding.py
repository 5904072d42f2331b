"""Deep validation (``dagwright.binding``): a corpus of specs that only their data shows wrong.

Each spec in ``spec/deep_specs/dags`` reads real files and is wrong in one way the spec
alone cannot show (a column the source does not have, a function of another dialect, a
key or a check on a column no stage computes...). ``dagwright validate`` must report each
at its exact ``file:line:column`` before any data moves; ``deep_specs/EXPECTED.txt`` holds
the lines (one ending in ``[...]`` matches any text from there on). ``dags/ok/good.yaml``
is the control: the same sources and steps written right, valid.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CORPUS = Path(__file__).resolve().parent / "spec" / "deep_specs"
SPECS = sorted(p.name for p in (CORPUS / "dags").glob("*.yaml"))
WILDCARD = "[...]"


def _cli(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"COLUMNS": "250", "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "dagwright.cli", *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("deep") / "project"
    shutil.copytree(CORPUS, root)
    return root


@pytest.fixture(scope="module")
def validated(corpus: Path) -> subprocess.CompletedProcess[str]:
    return _cli(corpus, "validate", "dags")


def _by_file(lines: list[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in lines:
        name = Path(line.split(":", 1)[0]).name
        found.setdefault(name.replace(".sql", ".yaml"), []).append(line)
    return found


def test_the_corpus_holds_thirty_specs_and_their_lines() -> None:
    assert len(SPECS) >= 30
    expected = (CORPUS / "EXPECTED.txt").read_text(encoding="utf-8").splitlines()
    named = {Path(line.split(":", 1)[0]).stem for line in expected}
    assert named == {Path(s).stem for s in SPECS} - {"sql_file_unknown_column"} | {"unknown_column"}


def test_every_spec_is_refused_and_the_control_is_valid(
    validated: subprocess.CompletedProcess[str],
) -> None:
    output = validated.stdout + validated.stderr
    assert validated.returncode == 1
    assert "Traceback" not in output and "internal error" not in output
    total = len(SPECS) + 1
    assert f"{total} spec(s) checked: 1 valid, {len(SPECS)} invalid ({len(SPECS)} problem" in (
        validated.stdout
    )
    assert "good.yaml" not in validated.stdout


def test_each_problem_is_reported_at_its_exact_place(
    corpus: Path, validated: subprocess.CompletedProcess[str]
) -> None:
    expected = (CORPUS / "EXPECTED.txt").read_text(encoding="utf-8").splitlines()
    got = [
        line.replace(f"{corpus}/", "")
        for line in validated.stdout.splitlines()
        if "spec(s) checked" not in line
    ]
    assert len(got) == len(expected), "\n".join(got)
    for wanted, line in zip(expected, got, strict=True):
        if wanted.endswith(WILDCARD):
            assert line.startswith(wanted.removesuffix(WILDCARD)), line
        else:
            assert line == wanted


def test_static_validation_alone_passes_them_all(corpus: Path) -> None:
    """What deep validation adds: without the sources' columns each spec looks fine."""
    static = _cli(corpus, "validate", "--static", "dags")
    assert static.returncode == 0, static.stdout
    assert f"{len(SPECS) + 1} spec(s) checked: {len(SPECS) + 1} valid" in static.stdout


@pytest.mark.parametrize("name", ["sql_unknown_column", "load_primary_key_unknown"])
def test_what_validate_refuses_the_run_refuses_too(
    corpus: Path, validated: subprocess.CompletedProcess[str], name: str
) -> None:
    ran = _cli(corpus, "run", f"dags/{name}.yaml")
    assert ran.returncode == 1
    reported = next(line for line in validated.stdout.splitlines() if f"{name}.yaml" in line)
    column = reported.split("'")[-2] if name == "load_primary_key_unknown" else "unit_prize"
    assert column in " ".join(ran.stdout.split())


def test_plan_shows_each_stage_columns_and_types(corpus: Path) -> None:
    shown = _cli(corpus, "plan", "dags/ok/good.yaml")
    assert shown.returncode == 0, shown.stdout + shown.stderr
    text = " ".join(shown.stdout.split())
    assert (
        "columns: order_id BIGINT, customer_id BIGINT, amount DECIMAL(10,2), "
        "ordered_at TIMESTAMP, status VARCHAR" in text
    )
    assert "columns: order_id BIGINT, amount DECIMAL(10,2), name VARCHAR, segment VARCHAR" in text
    assert "columns: customer_id BIGINT, amount DECIMAL(38,2)" in text, text


PG_SPEC = """
pipeline: from_pg
start_date: 2026-01-01
sources:
  orders: {extractor: postgres, connection: shop_db, table: bind_orders}
transforms:
  priced:
    sql: select id, payload->>'$.sku' as sku, unit_prize from orders
loads:
  priced: {from: priced, write: merge, primary_key: [id]}
"""


@pytest.fixture
def pg_project(project, postgres):  # noqa: ANN001, ANN201 - tests.conftest fixtures
    with postgres.connect() as db:
        db.execute("drop table if exists bind_orders")
        db.execute("create table bind_orders (id int primary key, payload jsonb, price numeric)")
    project.write_spec("from_pg", PG_SPEC)
    return project


def test_a_database_source_is_bound_from_its_catalog(pg_project, postgres) -> None:  # noqa: ANN001
    env = {"DAGWRIGHT_CONN_SHOP_DB": postgres.url}
    checked = pg_project.cli("validate", env=env)
    assert checked.returncode == 1
    said = " ".join(checked.stdout.split())
    assert "from_pg.yaml:7:47: transform 'priced': duckdb rejects the translated SQL:" in said
    assert 'column named "unit_prize"' in said or '"unit_prize" not found' in said, said
    fixed = (pg_project.dags / "from_pg.yaml").read_text().replace(", unit_prize", ", price")
    (pg_project.dags / "from_pg.yaml").write_text(fixed)
    shown = pg_project.cli("plan", "from_pg", env=env)
    assert "columns: id INTEGER, payload JSON, price DECIMAL" in " ".join(shown.stdout.split())


def test_an_unreachable_source_is_a_warning_and_strict_makes_it_an_error(pg_project) -> None:  # noqa: ANN001
    closed = {"DAGWRIGHT_CONN_SHOP_DB": "postgresql://u:p@127.0.0.1:9/db"}
    warned = pg_project.cli("validate", env=closed)
    assert warned.returncode == 0, warned.stdout
    said = " ".join(warned.stdout.split())
    assert "from_pg.yaml:4:3: warning: source 'orders' cannot be reached" in said, said
    assert "were not checked" in said and "1 warning(s)" in said
    strict = pg_project.cli("validate", "--strict", env=closed)
    assert strict.returncode == 1
    assert "from_pg.yaml:4:3: source 'orders' cannot be reached" in " ".join(strict.stdout.split())
