"""OpenLineage events of local runs, through the real client and its file and HTTP
transports, validated against the OpenLineage JSON Schema (spec 2-0-2 and its facets,
vendored in ``openlineage_spec/`` from OpenLineage/OpenLineage@8f02abf, Apache-2.0:
the client ships no schema files)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from dagwright.intervals import Interval, parse_when
from dagwright.plan import build_plan
from dagwright.runner import RunOutcome, run_pipeline
from dagwright.spec.load import load_spec
from tests.conftest import REPO, Project

SPEC = Path(__file__).parent / "openlineage_spec"
RUN_EVENT = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
JANUARY_1 = Interval(parse_when("2026-01-01"), parse_when("2026-01-02"))


def _registry() -> Any:
    from referencing import Registry, Resource

    docs = [json.loads(path.read_text()) for path in SPEC.glob("*.json")]
    return Registry().with_resources((d["$id"], Resource.from_contents(d)) for d in docs)


def _facets(event: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield from (event["run"].get("facets") or {}).values()
    yield from (event["job"].get("facets") or {}).values()
    for dataset in [*event.get("inputs", []), *event.get("outputs", [])]:
        for key in ("facets", "inputFacets", "outputFacets"):
            yield from (dataset.get(key) or {}).values()


def validate(event: dict[str, Any], *, every_facet: bool = True) -> None:
    """``event`` against the RunEvent schema, and each facet against its own schema
    (``every_facet``: all must be known; else facets of unknown schemas, such as the
    Airflow provider's own, are skipped)."""
    from jsonschema import Draft202012Validator, FormatChecker

    registry = _registry()
    checker = FormatChecker()

    def check(ref: str, instance: Any) -> None:
        Draft202012Validator({"$ref": ref}, registry=registry, format_checker=checker).validate(
            instance
        )

    check(RUN_EVENT, event)
    known = {uri for uri, _ in registry.items()}
    for facet in _facets(event):
        url = facet["_schemaURL"]
        if url.split("#")[0] in known:
            check(url, facet)
        else:
            assert not every_facet, f"facet of an unknown schema: {url}"


def read_events(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.fixture
def file_transport(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """OpenLineage configured by an ``openlineage.yml`` named in ``OPENLINEAGE_CONFIG``."""
    for key in list(os.environ):
        if key.startswith("OPENLINEAGE"):
            monkeypatch.delenv(key)
    events = tmp_path / "lineage" / "events.jsonl"
    events.parent.mkdir()
    config = tmp_path / "lineage" / "openlineage.yml"
    config.write_text(
        f"transport:\n  type: file\n  log_file_path: {events}\n  append: true\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("OPENLINEAGE_CONFIG", str(config))
    return events


def run_with_lineage(spec: Path, interval: Interval | None, run_id: str) -> RunOutcome:
    """A plain local run: the runner emits the events itself when OpenLineage is configured."""
    return run_pipeline(build_plan(load_spec(spec)), interval, run_id=run_id)


def _output(event: dict[str, Any], name: str) -> dict[str, Any]:
    return next(o for o in event["outputs"] if o["name"] == name)


def _lineage(dataset: dict[str, Any]) -> dict[str, set[tuple[str, str, str]]]:
    fields = dataset["facets"]["columnLineage"]["fields"]
    return {
        column: {(f["namespace"], f["name"], f["field"]) for f in value["inputFields"]}
        for column, value in fields.items()
    }


def test_example_run_emits_valid_events_with_schemas_and_column_lineage(
    example_project: Project, file_transport: Path
) -> None:
    project = example_project
    outcome = run_with_lineage(project.dags / "shop_daily.yaml", JANUARY_1, "ol-run-1")
    assert outcome.ok, outcome.error

    events = read_events(file_transport)
    for event in events:
        validate(event)
    run = [e for e in events if e["job"]["name"] == "shop_daily"]
    assert [e["eventType"] for e in run] == ["START", "COMPLETE"]
    assert events[0] is run[0] and events[-1] is run[1]
    assert run[0]["run"]["runId"] == run[1]["run"]["runId"]
    assert run[0]["job"]["namespace"] == "dagwright"
    tags = {t["key"]: t["value"] for t in run[1]["run"]["facets"]["tags"]["tags"]}
    assert tags["run_id"] == "ol-run-1"
    assert run[1]["run"]["facets"]["nominalTime"]["nominalStartTime"].startswith("2026-01-01")

    # One child run per stage, START then COMPLETE, its parent the pipeline's run.
    plan = build_plan(load_spec(project.dags / "shop_daily.yaml"))
    for stage in plan.ordered():
        mine = [e for e in events if e["job"]["name"] == f"shop_daily.{stage.id}"]
        assert [e["eventType"] for e in mine] == ["START", "COMPLETE"], stage.id
        assert mine[0]["run"]["runId"] == mine[1]["run"]["runId"]
        parent = mine[1]["run"]["facets"]["parent"]
        assert parent["run"]["runId"] == run[0]["run"]["runId"]
        assert parent["job"] == {"namespace": "dagwright", "name": "shop_daily", "facets": {}}

    warehouse = f"duckdb://{project.warehouse.resolve()}"
    shop = project.root.resolve() / "data" / "shop"
    complete = run[1]
    assert {(i["namespace"], i["name"]) for i in complete["inputs"]} == {
        ("file", str(shop / f"{name}.csv"))
        for name in ("customers", "products", "orders", "order_lines")
    }
    assert {(o["namespace"], o["name"]) for o in complete["outputs"]} == {
        (warehouse, "main.dim_customers"),
        (warehouse, "main.fct_orders"),
        (warehouse, "main.agg_daily_revenue"),
    }

    fct = _output(complete, "main.fct_orders")
    lineage = _lineage(fct)
    assert lineage["revenue"] == {
        ("file", str(shop / "order_lines.csv"), "quantity"),
        ("file", str(shop / "products.csv"), "unit_price"),
    }
    assert lineage["order_id"] == {("file", str(shop / "orders.csv"), "order_id")}
    # Through the clean_customers step, into the customers file.
    assert lineage["segment"] == {("file", str(shop / "customers.csv"), "segment")}
    revenue = fct["facets"]["columnLineage"]["fields"]["revenue"]["inputFields"][0]
    assert revenue["transformations"][0]["subtype"] == "AGGREGATION"
    assert "SUM(" in revenue["transformations"][0]["description"]
    dim = _lineage(_output(complete, "main.dim_customers"))
    assert dim["email"] == {("file", str(shop / "customers.csv"), "email")}

    # The schema facet lists the loaded table's columns; the rows loaded are the table's.
    columns = [
        r[0] for r in project.query("DESCRIBE fct_orders") if not r[0].startswith("_dagwright")
    ]
    assert [f["name"] for f in fct["facets"]["schema"]["fields"]] == columns
    (loaded,) = project.query("select count(*) from fct_orders")[0]
    assert fct["outputFacets"]["outputStatistics"]["rowCount"] == loaded
    assert fct["facets"]["symlinks"]["identifiers"] == [
        {"namespace": "x-dagwright://duckdb", "name": "fct_orders", "type": "TABLE"}
    ]
    orders = next(i for i in complete["inputs"] if i["name"].endswith("orders.csv"))
    assert {"order_id", "customer_id", "status"} <= {
        f["name"] for f in orders["facets"]["schema"]["fields"]
    }

    # The load's own event carries the same table and lineage.
    load = next(
        e
        for e in events
        if e["job"]["name"] == "shop_daily.load_fct_orders" and e["eventType"] == "COMPLETE"
    )
    assert _lineage(_output(load, "main.fct_orders")) == lineage


FAILING = """
pipeline: breaks
start_date: 2026-01-01
sources:
  customers: {extractor: csv, path: data/shop/customers.csv}
transforms:
  numbers:
    sql: select customer_id, cast(name as integer) as name_number from customers
destination: {loader: duckdb, path: warehouse.duckdb}
loads:
  numbered: {from: numbers, write: replace}
"""


def test_failing_run_emits_fail_with_the_error(project: Project, file_transport: Path) -> None:
    spec = project.write_spec("breaks", FAILING)
    outcome = run_with_lineage(spec, None, "ol-fails")
    assert not outcome.ok

    events = read_events(file_transport)
    for event in events:
        validate(event)
    by_job = {(e["job"]["name"], e["eventType"]): e for e in events}
    step = by_job["breaks.transform_numbers", "FAIL"]
    assert "Conversion Error" in step["run"]["facets"]["errorMessage"]["message"]
    assert step["run"]["facets"]["errorMessage"]["programmingLanguage"] == "python"
    run = by_job["breaks", "FAIL"]
    assert "Conversion Error" in run["run"]["facets"]["errorMessage"]["message"]
    assert ("breaks", "COMPLETE") not in by_job
    assert ("breaks.extract_customers", "COMPLETE") in by_job
    # The load never ran: no run of it was started.
    assert not [e for e in events if e["job"]["name"] == "breaks.load_numbered"]


SMALL = """
pipeline: small
start_date: 2026-01-01
sources:
  products: {extractor: csv, path: data/shop/products.csv}
transforms:
  priced:
    sql: select product_id, unit_price * 2 as double_price from products
destination: {loader: duckdb, path: warehouse.duckdb}
loads:
  prices: {from: priced, write: replace}
"""


class _Collector(BaseHTTPRequestHandler):
    received: list[tuple[str, str, dict[str, Any]]]

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((self.path, self.headers["Content-Type"], json.loads(body)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def lineage_server() -> Iterator[tuple[str, list[tuple[str, str, dict[str, Any]]]]]:
    received: list[tuple[str, str, dict[str, Any]]] = []
    handler = type("Handler", (_Collector,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", received
    finally:
        server.shutdown()
        server.server_close()


def test_events_reach_an_http_backend_named_by_openlineage_url(
    project: Project, lineage_server: tuple[str, list], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, received = lineage_server
    for key in list(os.environ):
        if key.startswith("OPENLINEAGE"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("OPENLINEAGE_URL", url)
    monkeypatch.setenv("OPENLINEAGE_NAMESPACE", "shop-team")
    monkeypatch.chdir(project.root)
    spec = project.write_spec("small", SMALL)

    outcome = run_with_lineage(spec, None, "ol-http")
    assert outcome.ok, outcome.error

    assert {path for path, _, _ in received} == {"/api/v1/lineage"}
    assert {kind for _, kind, _ in received} == {"application/json"}
    events = [event for _, _, event in received]
    for event in events:
        validate(event)
    run = [e for e in events if e["job"]["name"] == "small"]
    assert [e["eventType"] for e in run] == ["START", "COMPLETE"]
    assert {e["job"]["namespace"] for e in events} == {"shop-team"}
    prices = _output(run[1], "main.prices")
    assert _lineage(prices)["double_price"] == {
        ("file", str(project.root.resolve() / "data/shop/products.csv"), "unit_price")
    }
    (loaded,) = project.query("select count(*) from prices")[0]
    assert prices["outputFacets"]["outputStatistics"]["rowCount"] == loaded


def test_without_configuration_nothing_is_emitted_and_the_client_is_not_imported(
    tmp_path: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENLINEAGE")}
    env.update(HOME=str(tmp_path), PYTHONPATH=str(REPO))
    code = (
        "import sys\n"
        "from dagwright.openlineage import configured, run_lineage\n"
        "lineage = run_lineage(None, 'r')\n"
        "with lineage:\n"
        "    assert lineage.listen(None) is None\n"
        "print(configured(), 'openlineage.client' in sys.modules)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["False", "False"]
    assert not list(tmp_path.iterdir())
