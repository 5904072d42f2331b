"""The README's spec and command table, run as they are written (the docs cannot drift).

``tests/docs/test_newcomer.py`` runs the README's "first hour" from a built wheel.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tests.conftest import REPO, Project, run_cli

README = (REPO / "README.md").read_text(encoding="utf-8")


def blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", text, flags=re.DOTALL)


def test_the_readme_pipeline_validates_and_runs(tmp_path: Path, shop_data: Path) -> None:
    (spec,) = [b for b in blocks(README, "yaml") if b.startswith("# dags/shop_daily.yaml")]
    project = Project(tmp_path)
    project.dags.mkdir()
    (project.dags / "shop_daily.yaml").write_text(spec, encoding="utf-8")
    shutil.copytree(shop_data, tmp_path / "data" / "shop")
    validated = run_cli("validate", cwd=tmp_path)
    assert validated.returncode == 0, validated.stdout + validated.stderr
    ran = run_cli("run", "shop_daily", "--start", "2026-01-01", "--end", "2026-01-08", cwd=tmp_path)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    (orders,) = project.query("select count(*) from fct_orders where revenue > 0")[0]
    assert orders > 100
    days = project.query("select count(distinct order_date) from agg_daily_revenue")
    assert days == [(7,)]


def test_every_command_of_the_readme_table_exists() -> None:
    table = README[README.index("## The command line") :].split("\n## ")[0]
    named = re.findall(r"^\| `dagwright ([a-z-]+(?: [a-z]+)?)", table, flags=re.MULTILINE)
    assert len(named) > 15
    helped = run_cli("--help", cwd=REPO)
    assert helped.returncode == 0
    for command in named:
        word = command.split()[0]
        assert re.search(rf"^\s+{word}\b", helped.stdout, flags=re.MULTILINE), command


@pytest.mark.slow
def test_make_demo_runs_the_example_as_the_readme_says(tmp_path: Path) -> None:
    """The README's first block: `make demo` in a checkout (with this test's virtualenv,
    which `make test` installed, so make installs nothing again)."""
    import os
    import subprocess
    import sys

    from tests.docs.test_newcomer import checkout_copy

    (top,) = blocks(README, "sh")[:1]
    assert top.splitlines()[0].startswith("make demo")
    copy = checkout_copy(tmp_path / "checkout")
    venv = Path(sys.executable).parent.parent
    stamp = venv / ".installed-all"
    if not stamp.exists():
        stamp.touch()
    then = stamp.stat().st_mtime - 60
    os.utime(copy / "pyproject.toml", (then, then))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAKE", "MFLAGS"))}
    env |= {"VENV": str(venv), "COLUMNS": "200", "NO_COLOR": "1"}
    demo = subprocess.run(
        ["make", "demo"], cwd=copy, env=env, capture_output=True, text=True, timeout=900
    )
    assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]
    assert re.search(r"shop_daily run \S+ success", demo.stdout)
    reports = list((copy / ".dagwright" / "reports" / "shop_daily").glob("*.html"))
    assert len(reports) == 1 and str(reports[0]) in demo.stdout
    assert (copy / "warehouse.duckdb").is_file()


def test_the_readme_params_section_declares_what_it_says(project: Project) -> None:
    """The README's ``params:`` example, in a spec whose SQL step binds both values."""
    (params,) = [b for b in blocks(README, "yaml") if b.startswith("params:")]
    project.write_spec(
        "readme_params",
        "pipeline: readme_params\nstart_date: 2026-01-01\n"
        + params
        + "sources:\n  orders: {extractor: csv, path: data/shop/order_lines.csv}\n"
        "transforms:\n  kept:\n    sql: select * from orders where quantity * 100 >= "
        "$min_amount and $region = 'EU'\n"
        "loads:\n  kept: {from: kept, write: replace}\n",
    )
    checked = project.cli("validate")
    assert checked.returncode == 0, checked.stdout
    default = project.cli("run", "readme_params")
    assert default.returncode == 0, default.stdout + default.stderr
    assert project.query("select count(*) from kept")[0][0] > 0
    ran = project.cli("run", "readme_params", "--param", "region=US")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert project.query("select count(*) from kept") == [(0,)]
    wrong = project.cli("run", "readme_params", "--param", "min_amount=lots")
    assert "parameter 'min_amount': 'lots' is not a integer" in wrong.stdout + wrong.stderr
