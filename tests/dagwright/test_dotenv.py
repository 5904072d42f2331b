"""A project's ``.env`` holds the connections of local runs (the environment wins)."""

from __future__ import annotations

from tests.conftest import Project


def test_a_connection_in_dotenv_is_used_and_its_password_never_shown(
    project: Project,
    postgres,  # noqa: ANN001
) -> None:
    project.write_spec(
        "to_pg",
        """
        pipeline: to_pg
        start_date: 2026-01-01
        sources:
          customers: {extractor: csv, path: data/shop/customers.csv}
        destination: {loader: postgres, connection: dotenv_pg, schema: from_dotenv}
        loads:
          customers: {from: customers, write: replace}
        """,
    )
    (project.root / ".env").write_text(
        "# local connections, never committed\n"
        f"export DAGWRIGHT_CONN_DOTENV_PG='{postgres.url}'\n"
        "SOMETHING_ELSE=1  # a comment\n",
        encoding="utf-8",
    )
    ran = project.cli("run", "to_pg")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert postgres.execute("select count(*) from from_dotenv.customers") == [(1000,)]
    assert postgres.password not in ran.stdout + ran.stderr

    # the environment wins over the file; a broken line is located
    wrong = postgres.url.replace(postgres.password, "not-it")
    refused = project.cli("run", "to_pg", env={"DAGWRIGHT_CONN_DOTENV_PG": wrong})
    assert refused.returncode == 1 and "cannot connect to PostgreSQL" in refused.stderr
    (project.root / ".env").write_text("DAGWRIGHT_CONN_X postgresql://a\n", encoding="utf-8")
    broken = project.cli("validate")
    assert broken.returncode == 1
    assert "error: .env:1:1: not a KEY=VALUE line" in broken.stderr
