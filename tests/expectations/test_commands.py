"""``dagwright quarantine`` (list, replay after a fix) and ``dagwright docs``, end to end."""

from __future__ import annotations

import pytest

from dagwright.cli import main
from dagwright.plan import build_plan
from dagwright.runner import run_pipeline
from dagwright.spec.load import load_spec
from tests.conftest import Project
from tests.expectations.conftest import orders_spec

QUARANTINE = (
    "[{expect_column_values_to_not_be_null: {column: customer_id}, severity: quarantine}, "
    "{expect_column_values_to_be_in_set: {column: status, value_set: [paid, void, shipped]}, "
    "severity: quarantine}]"
)


@pytest.fixture(autouse=True)
def _wide(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "250")
    monkeypatch.setenv("NO_COLOR", "1")


def cli(project: Project, *args: str) -> int:
    return main(["-C", str(project.root), *args])


def test_quarantine_list_and_replay_after_a_fix(orders_project: Project, capsys) -> None:
    path = orders_spec(orders_project, source=QUARANTINE, write="merge", name="orders")
    path.write_text(
        path.read_text().replace("write: merge", "write: merge, primary_key: [order_id]")
    )
    first = run_pipeline(build_plan(load_spec(path)))
    assert first.ok, first.record.error

    def loaded() -> list[int]:
        return [r[0] for r in orders_project.query("select order_id from fct_orders order by 1")]

    assert loaded() == [1, 2, 5, 7, 8]

    capsys.readouterr()
    assert cli(orders_project, "quarantine", "orders") == 0
    listing = capsys.readouterr().out
    assert "check_orders: 3 quarantined row(s)" in listing
    assert first.record.run_id in listing
    assert "expect_column_values_to_be_in_set(column=status)" in listing and "bogus" in listing

    # the fix: 'bogus' is a real status after all; rows without a customer stay quarantined
    path.write_text(
        path.read_text().replace("[paid, void, shipped]", "[paid, void, shipped, bogus]")
    )
    assert cli(orders_project, "quarantine", "orders", "--replay") == 0
    out = capsys.readouterr().out
    assert "replayed 3 quarantined row(s)" in out
    assert loaded() == [1, 2, 4, 5, 7, 8]
    (count,) = orders_project.query("select count(*) from fct_orders where order_id = 4")[0]
    assert count == 1

    assert cli(orders_project, "quarantine", "orders") == 0
    listing = capsys.readouterr().out
    assert "check_orders: 2 quarantined row(s)" in listing
    assert first.record.run_id not in listing
    pending = orders_project.query(
        "select order_id, _dagwright_failed from orders__quarantine "
        "where _dagwright_run_id <> ? order by 1",
        [first.record.run_id],
    )
    assert pending == [
        (3, "expect_column_values_to_not_be_null(column=customer_id)"),
        (6, "expect_column_values_to_not_be_null(column=customer_id)"),
    ]
    # nothing left to replay for the first run; replaying again changes nothing
    assert cli(orders_project, "quarantine", "orders", "--replay") == 0
    assert loaded() == [1, 2, 4, 5, 7, 8]


def test_docs_builds_data_docs_for_recent_runs(orders_project: Project, capsys) -> None:
    assert cli(orders_project, "docs") == 1
    assert "no check results yet" in capsys.readouterr().err

    path = orders_spec(orders_project, source="[orders_strict]", load="[orders_loose]")
    bad = run_pipeline(build_plan(load_spec(path)))
    assert not bad.ok
    orders_spec(orders_project, source="[orders_loose]", load="[orders_loose]")
    good = run_pipeline(build_plan(load_spec(path)))
    assert good.ok
    assert cli(orders_project, "docs", "orders") == 0
    out = capsys.readouterr().out
    assert "Data Docs for 3 validation(s) of 2 run(s)" in out
    site = orders_project.root / ".dagwright" / "gx" / "uncommitted" / "data_docs"
    index = site / "local_site" / "index.html"
    assert str(index) in out and index.is_file()
    pages = {p.parts[-3]: p.read_text() for p in site.rglob("check_orders.html")}
    assert set(pages) == {bad.record.run_id, good.record.run_id}
    assert "bogus" in pages[bad.record.run_id] and "customer_id" in pages[bad.record.run_id]
    assert "bogus" not in pages[good.record.run_id]
    assert bad.record.run_id in index.read_text()
    # the same results on a page that loads nothing from the network
    offline = orders_project.root / ".dagwright" / "gx" / "check_results.html"
    assert str(offline) in out
    text = offline.read_text()
    assert "http://" not in text and "https://" not in text and "<script" not in text
    assert "check_orders · <span class='bad'>failed</span>" in text
    assert "expect_column_values_to_be_in_set" in text and "bogus" in text
    assert text.count("<h2 ") == 3
