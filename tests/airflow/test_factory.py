"""DAG integrity: the specs in dags/ load through Airflow's DagBag as the planner says."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from dagwright.intervals import cron_of
from dagwright.plan import build_plan
from dagwright.spec.load import discover, load_spec
from tests.airflow.conftest import REPO, AirflowHome, add_dag_file
from tests.conftest import Project

DESCRIBE_DAGBAG = """
import json, sys
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(sys.argv[1] if len(sys.argv) > 1 else {folder!r})
out = {{"errors": bag.import_errors, "dags": {{}}}}
for dag_id, dag in bag.dags.items():
    tt = dag.timetable
    out["dags"][dag_id] = {{
        "timetable": type(tt).__name__,
        "expression": getattr(tt, "expression", None),
        "asset_condition": repr(getattr(tt, "asset_condition", None)),
        "start_date": dag.start_date.isoformat() if dag.start_date else None,
        "catchup": dag.catchup,
        "max_active_runs": dag.max_active_runs,
        "tags": sorted(dag.tags),
        "description": dag.description,
        "doc_md": dag.doc_md,
        "tasks": {{
            t.task_id: {{
                "upstream": sorted(t.upstream_task_ids),
                "retries": t.retries,
                "retry_delay": t.retry_delay.total_seconds(),
                "timeout": t.execution_timeout.total_seconds() if t.execution_timeout else None,
                "owner": t.owner,
                "pool": t.pool,
                "trigger_rule": str(t.trigger_rule.value),
                "outlets": [o.name for o in t.outlets],
            }}
            for t in dag.tasks
        }},
    }}
print("@@" + json.dumps(out))
"""

pytestmark = pytest.mark.xdist_group("airflow")

SPECS = sorted(p for p in discover([REPO / "dags"]))


def describe_dagbag(airflow: AirflowHome, dags: Path, **env: str) -> dict:
    return airflow.python(DESCRIBE_DAGBAG.format(folder=str(dags)), dags, **env)


@pytest.fixture(scope="module")
def repo_dagbag(tmp_path_factory: pytest.TempPathFactory, airflow_template: Path) -> dict:
    """The repository's own dags/ folder, parsed by Airflow (spec cache kept outside it)."""
    cache = tmp_path_factory.mktemp("spec_cache") / "specs.json"
    return describe_dagbag(
        AirflowHome(airflow_template), REPO / "dags", DAGWRIGHT_AIRFLOW_CACHE=str(cache)
    )


def test_repo_dags_folder_has_no_import_errors(repo_dagbag: dict) -> None:
    assert repo_dagbag["errors"] == {}
    assert sorted(repo_dagbag["dags"]) == sorted(load_spec(p).name for p in SPECS)


@pytest.mark.parametrize("spec_path", SPECS, ids=[p.stem for p in SPECS])
def test_dag_matches_spec(repo_dagbag: dict, spec_path: Path) -> None:
    spec = load_spec(spec_path)
    plan = build_plan(spec)
    model = spec.model
    dag = repo_dagbag["dags"][spec.name]

    stage_ids = [s.id for s in plan.ordered()]
    assert set(dag["tasks"]) == {*stage_ids, "finish_run"}
    for stage in plan.ordered():
        task = dag["tasks"][stage.id]
        assert task["upstream"] == sorted(stage.upstream), stage.id
        assert task["retries"] == model.retries
        assert task["retry_delay"] == model.retry_delay.total_seconds()
        assert task["owner"] == model.owner
        expected_timeout = (
            model.execution_timeout.total_seconds() if model.execution_timeout else None
        )
        assert task["timeout"] == expected_timeout
        if model.pool:
            assert task["pool"] == model.pool
        assert task["outlets"] == ([stage.name] if stage.kind == "load" else [])
    leaves = {s for s in stage_ids if not plan.downstream(s)}
    assert dag["tasks"]["finish_run"]["upstream"] == sorted(leaves)
    assert dag["tasks"]["finish_run"]["trigger_rule"] == "all_done"

    cron = cron_of(model.schedule)
    if cron:
        assert dag["timetable"] == "CronDataIntervalTimetable"
        assert dag["expression"] == cron
    assert dag["catchup"] == model.catchup
    assert dag["max_active_runs"] == model.max_active_runs
    assert dag["tags"] == sorted(model.tags)
    assert dag["start_date"].startswith(model.start_date.isoformat())


GOOD = """
pipeline: {name}
schedule: "0 6 * * 1"
start_date: 2026-01-05
owner: analytics
tags: [weekly]
retries: 3
retry_delay: 30s
execution_timeout: 10m
pool: warehouse
max_active_runs: 2
catchup: true
sources:
  customers: {{extractor: csv, path: data/shop/customers.csv}}
loads:
  {name}_customers: {{from: customers, write: replace}}
"""


def test_one_broken_spec_is_reported_and_the_others_still_load(
    project: Project, airflow_home: AirflowHome
) -> None:
    add_dag_file(project.dags)
    project.write_spec("alpha", GOOD.format(name="alpha"))
    project.write_spec("omega", GOOD.format(name="omega"))
    project.write_spec(
        "broken",
        """
        pipeline: broken
        schedule: "@daily"
        start_date: 2026-01-01
        owner: data-eng
        tags: [shop]
        sources:
          orders: {extractor: csv, path: data/shop/orders.csv}
        loads:
          fct_orders: {from: order, write: append}
          fct_refunds: {from: refund, write: append}
        """,
    )
    bag = describe_dagbag(airflow_home, project.dags)

    assert bag["errors"] == {}  # an import error would stop Airflow scheduling alpha and omega
    assert sorted(bag["dags"]) == ["alpha", "broken", "omega"]
    stub = bag["dags"]["broken"]
    assert stub["tags"] == ["dagwright-broken-spec", "shop"], "the spec's tags, where readable"
    assert stub["timetable"] == "NullTimetable"
    assert stub["tasks"]["spec_error"]["owner"] == "data-eng", "the spec's owner, not airflow"
    problems = [
        "dags/broken.yaml:9:22: load 'fct_orders' reads unknown input 'order' "
        "(did you mean 'orders'?)",
        "dags/broken.yaml:10:23: load 'fct_refunds' reads unknown input 'refund'",
    ]
    assert stub["description"] == f"BROKEN SPEC: {problems[0]} (and 1 more, see the DAG's docs)"
    assert stub["doc_md"].startswith("## Broken spec: 2 problems")
    for problem in problems:
        assert f"- `{problem}" in stub["doc_md"], "every problem on the DAG's page"
    assert list(stub["tasks"]) == ["spec_error"]

    alpha = bag["dags"]["alpha"]
    assert alpha["timetable"] == "CronDataIntervalTimetable"
    assert alpha["expression"] == "0 6 * * 1"
    assert alpha["catchup"] is True and alpha["max_active_runs"] == 2
    task = alpha["tasks"]["extract_customers"]
    assert task["retries"] == 3 and task["retry_delay"] == 30.0
    assert task["timeout"] == timedelta(minutes=10).total_seconds()
    assert task["pool"] == "warehouse" and task["owner"] == "analytics"
    assert alpha["tasks"]["load_alpha_customers"]["outlets"] == ["alpha_customers"]


def test_fixing_the_spec_clears_the_error_and_assets_schedule_pipelines(
    project: Project, airflow_home: AirflowHome
) -> None:
    add_dag_file(project.dags)
    project.write_spec("alpha", GOOD.format(name="alpha"))
    broken = project.write_spec("downstream", "pipeline: downstream\nshedule: [alpha_customers]\n")
    first = describe_dagbag(airflow_home, project.dags)
    assert first["errors"] == {}
    doc = first["dags"]["downstream"]["doc_md"]
    assert "could not turn `dags/downstream.yaml` into the DAG of pipeline `downstream`" in doc
    assert "unknown key 'shedule'" in doc and "did you mean 'schedule'" in doc

    broken.write_text(
        "pipeline: downstream\nschedule: [alpha_customers]\nstart_date: 2026-01-01\n"
        "sources:\n  c: {extractor: csv, path: data/shop/customers.csv}\n"
        "loads:\n  copy_of_customers: {from: c, write: replace}\n",
        encoding="utf-8",
    )
    second = describe_dagbag(airflow_home, project.dags)
    assert second["errors"] == {}
    downstream = second["dags"]["downstream"]
    assert "dagwright-broken-spec" not in downstream["tags"]
    assert downstream["timetable"] == "AssetTriggeredTimetable"
    assert "alpha_customers" in downstream["asset_condition"]


def test_every_doc_says_how_a_broken_spec_shows() -> None:
    """The DAG file's docstring, the one ``dagwright init`` writes, and both READMEs say
    the same: a paused DAG tagged ``dagwright-broken-spec`` (not an import error)."""
    from dagwright.commands import _scaffold

    dag_file = (REPO / "dags" / "dagwright_dags.py").read_text()
    assert dag_file == _scaffold.AIRFLOW_DAGS, "the generated DAG file is the repository's"
    for text in (dag_file, _scaffold.README, (REPO / "README.md").read_text()):
        flat = " ".join(text.split())
        assert "dagwright-broken-spec" in flat
        assert "shows up as an import error" not in flat
        assert "reported together as an import error" not in flat
