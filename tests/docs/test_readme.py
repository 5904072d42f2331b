"""The README's spec and command table, run as they are written (the docs cannot drift).

``tests/docs/test_newcomer.py`` runs the README's "first hour" from a built wheel.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

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
