"""The example DAG under ``dag.test()`` with the OpenLineage provider: the provider's own
task events carry the stages' datasets, schemas and column lineage (``StageOperator``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.airflow.conftest import AirflowHome, add_dag_file
from tests.conftest import Project
from tests.dagwright.test_openlineage import read_events, validate

pytestmark = pytest.mark.xdist_group("airflow")

RUN = """
import json
from datetime import datetime, UTC
from airflow.dag_processing.dagbag import DagBag

dag = DagBag("dags").dags["shop_daily"]
run = dag.test(logical_date=datetime(2026, 1, 1, tzinfo=UTC))
print("@@" + json.dumps({"state": str(run.state)}))
"""


def _complete(events: list[dict], job: str) -> dict:
    found = [e for e in events if e["job"]["name"] == job and e["eventType"] == "COMPLETE"]
    assert found, sorted({(e["job"]["name"], e["eventType"]) for e in events})
    return found[-1]


def test_provider_task_events_carry_datasets_and_column_lineage(
    example_project: Project, airflow_home: AirflowHome, tmp_path: Path
) -> None:
    project = example_project
    add_dag_file(project.dags)
    events_file = tmp_path / "airflow-events.jsonl"
    transport = {"type": "file", "log_file_path": str(events_file), "append": True}

    result = airflow_home.python(
        RUN,
        project.dags,
        timeout=300,
        AIRFLOW__OPENLINEAGE__TRANSPORT=json.dumps(transport),
        AIRFLOW__OPENLINEAGE__NAMESPACE="shop-airflow",
    )
    assert result["state"] == "success"

    events = read_events(events_file)
    for event in events:
        validate(event, every_facet=False)
    shop = project.root.resolve() / "data" / "shop"
    warehouse = f"duckdb://{project.warehouse.resolve()}"

    load = _complete(events, "shop_daily.load_fct_orders")
    assert load["job"]["namespace"] == "shop-airflow"
    assert load["run"]["facets"]["parent"]["job"]["name"] == "shop_daily"
    assert {(i["namespace"], i["name"]) for i in load["inputs"]} == {
        ("file", str(shop / f"{name}.csv"))
        for name in ("customers", "products", "orders", "order_lines")
    }
    (fct,) = load["outputs"]
    assert (fct["namespace"], fct["name"]) == (warehouse, "main.fct_orders")
    fields = fct["facets"]["columnLineage"]["fields"]
    assert {(f["name"], f["field"]) for f in fields["revenue"]["inputFields"]} == {
        (str(shop / "order_lines.csv"), "quantity"),
        (str(shop / "products.csv"), "unit_price"),
    }
    assert {(f["name"], f["field"]) for f in fields["segment"]["inputFields"]} == {
        (str(shop / "customers.csv"), "segment")
    }
    columns = [
        r[0] for r in project.query("DESCRIBE fct_orders") if not r[0].startswith("_dagwright")
    ]
    assert [f["name"] for f in fct["facets"]["schema"]["fields"]] == columns
    (loaded,) = project.query("select count(*) from fct_orders")[0]
    assert fct["outputFacets"]["outputStatistics"]["rowCount"] == loaded

    extract = _complete(events, "shop_daily.extract_orders")
    (orders,) = extract["inputs"]
    assert (orders["namespace"], orders["name"]) == ("file", str(shop / "orders.csv"))
    assert {"order_id", "status", "ordered_at"} <= {
        f["name"] for f in orders["facets"]["schema"]["fields"]
    }
    start = next(
        e
        for e in events
        if e["job"]["name"] == "shop_daily.load_dim_customers" and e["eventType"] == "START"
    )
    assert "email" in start["outputs"][0]["facets"]["columnLineage"]["fields"]
