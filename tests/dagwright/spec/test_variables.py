"""``${VAR}`` and ``${VAR:-default}`` in specs, as the README describes them."""

from __future__ import annotations

from tests.conftest import Project


def test_a_variable_with_a_default_and_one_without(project: Project) -> None:
    project.write_spec(
        "vars",
        """
        pipeline: vars
        start_date: 2026-01-01
        sources:
          customers: {extractor: csv, path: "${SHOP_DIR:-data/shop}/customers.csv"}
        loads:
          customers: {from: customers, write: replace}
        """,
    )
    ran = project.cli("run", "vars")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert project.query("select count(*) from customers") == [(1000,)]
    missing = project.cli("run", "vars", env={"SHOP_DIR": "elsewhere"})
    assert missing.returncode == 1
    assert "no file matches 'elsewhere/customers.csv'" in " ".join(missing.stdout.split())

    text = (project.dags / "vars.yaml").read_text().replace(":-data/shop", "")
    (project.dags / "vars.yaml").write_text(text)
    unset = project.cli("validate")
    assert unset.returncode == 1
    assert "vars.yaml:4:" in unset.stdout and "SHOP_DIR" in unset.stdout, unset.stdout
