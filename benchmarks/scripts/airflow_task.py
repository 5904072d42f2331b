"""A dagwright Airflow task against hand-written PythonOperators doing the same work.

The work: ``orders.csv`` (10,000 rows, ``benchmarks.data``) -> one SQL transform
(revenue per customer of the orders not void) -> a table in a DuckDB file. Contenders,
run in turns (``dagwright``, ``hand_3``, ``hand_1``, ``dagwright``, ...), each run in a
fresh interpreter with its own throwaway project and a copy of one migrated SQLite
metadata database (``tests/airflow/conftest.py``'s set-up), as ``dag.test()``:

- ``dagwright``: the spec as its Airflow DAG (``dags/dagwright_dags.py``): tasks
  ``extract_orders`` -> ``transform_revenue`` -> ``load_customer_revenue`` -> ``finish_run``
  (``lineage: false``, so the table is the hand-written one exactly; no checks);
- ``hand_3``: three PythonOperators with plain duckdb, exchanging Parquet files as
  dagwright's stages do (extract: CSV -> Parquet; transform: the SQL -> Parquet; load:
  Parquet -> the table);
- ``hand_1``: one PythonOperator doing it all in one DuckDB statement.

Timed per task: Airflow's task instance ``end_date - start_date`` from the metadata
database (``ti``), and wall seconds around the task's ``python_callable`` (``callable``);
per DAG run: wall seconds around ``dag.test()`` (``dag.test``, which also syncs the DAG
folder to the database) and first task start to last task end (``tasks span``). Under
``dag.test()`` the first task would also start Airflow's in-process Execution API (about
5 s of imports and app set-up, the same for both; a deployment's API server pays it
once): each child starts it before ``dag.test()`` and reports it apart, so every task is
timed warm. Each task's calls to the Execution API (count, seconds) and the seconds of
Python's garbage collections are recorded too.

Where a dagwright task's time goes: in the ``dagwright`` runs, the functions ``run_stage``
calls are wrapped with timers (load_plan, make_loader, record_run, choose_work,
xcom_pull, StageExecutor.run, loader.close; the rest of the callable is the imports and
bookkeeping of ``run_stage`` itself); one more run of ``dagwright`` and of ``hand_3``
after the rounds runs every task under cProfile, and the top functions are printed.
In ``dag.test()`` all tasks run in one process: the first task pays the imports its
stage needs, later tasks find them loaded and the plan cached (on a LocalExecutor or
Celery worker every task is a fresh process, and pays them each time).

Run from the repository root (a round takes about half a minute on 2 cores):

    .venv/bin/python benchmarks/scripts/airflow_task.py [ROUNDS]   # default 5
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ROWS = 10_000
CONTENDERS = ("dagwright", "hand_3", "hand_1")
LOGICAL_DATE = "2026-01-02T00:00:00+00:00"
SQL = """\
select customer_id, count(*) as orders, sum(amount) as revenue
from orders where status <> 'void' group by customer_id"""
TABLE = "customer_revenue"
STARTUP = "Execution API start-up"
DAG_IDS = {"dagwright": "orders_daily", "hand_3": "hand_3", "hand_1": "hand_1"}

SPEC = f"""\
pipeline: orders_daily
start_date: 2026-01-01
schedule: "@daily"
sources:
  orders: {{extractor: csv, path: data/orders.csv}}
transforms:
  revenue:
    sql: {json.dumps(SQL)}
loads:
  {TABLE}: {{from: revenue, write: replace, lineage: false}}
destination: {{loader: duckdb, path: warehouse.duckdb}}
"""

HAND_DAGS = f'''\
"""Hand-written: the same work with plain duckdb, as three tasks and as one."""

from datetime import UTC, datetime
from pathlib import Path

from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG

ROOT = Path(__file__).resolve().parent.parent
CSV = ROOT / "data" / "orders.csv"
WAREHOUSE = ROOT / "warehouse.duckdb"
STAGING = ROOT / "staging"
SQL = """{SQL}"""


def extract():
    import duckdb

    STAGING.mkdir(exist_ok=True)
    con = duckdb.connect()
    out = STAGING / "orders.parquet"
    rows = con.execute(
        f"COPY (SELECT * FROM read_csv('{{CSV}}')) TO '{{out}}' (FORMAT parquet)"
    ).fetchone()[0]
    con.close()
    return {{"rows": rows}}


def transform():
    import duckdb

    con = duckdb.connect()
    con.execute(f"CREATE VIEW orders AS SELECT * FROM read_parquet('{{STAGING}}/orders.parquet')")
    out = STAGING / "revenue.parquet"
    rows = con.execute(f"COPY ({{SQL}}) TO '{{out}}' (FORMAT parquet)").fetchone()[0]
    con.close()
    return {{"rows": rows}}


def load():
    import duckdb

    con = duckdb.connect(str(WAREHOUSE))
    con.execute(
        "CREATE OR REPLACE TABLE {TABLE} AS "
        f"SELECT * FROM read_parquet('{{STAGING}}/revenue.parquet')"
    )
    rows = con.execute("SELECT count(*) FROM {TABLE}").fetchone()[0]
    con.close()
    return {{"rows": rows}}


def everything():
    import duckdb

    con = duckdb.connect(str(WAREHOUSE))
    con.execute(
        f"CREATE OR REPLACE TABLE {TABLE} AS "
        f"WITH orders AS (SELECT * FROM read_csv('{{CSV}}')) {{SQL}}"
    )
    rows = con.execute("SELECT count(*) FROM {TABLE}").fetchone()[0]
    con.close()
    return {{"rows": rows}}


ARGS = dict(schedule="@daily", start_date=datetime(2026, 1, 1, tzinfo=UTC), catchup=False)

with DAG(dag_id="hand_3", **ARGS) as hand_3:
    (
        PythonOperator(task_id="extract", python_callable=extract)
        >> PythonOperator(task_id="transform", python_callable=transform)
        >> PythonOperator(task_id="load", python_callable=load)
    )

with DAG(dag_id="hand_1", **ARGS) as hand_1:
    PythonOperator(task_id="everything", python_callable=everything)
'''


def airflow_env(home: Path, dags: Path) -> dict[str, str]:
    """What ``tests/airflow/conftest.py`` gives Airflow: a throwaway home, SQLite."""
    args = "tests.airflow.sqlite_settings.connect_args"
    return {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS": args,
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS_ASYNC": args,
        "DAGWRIGHT_STAGING_CACHE": str(home / "staging-cache"),
        "PYTHONPATH": str(REPO),
    }


# --- the child: one DAG run under dag.test(), timed -------------------------------------


def _timed(name: str, fn, into: dict[str, list[float]]):
    """``fn`` timed into ``into[name]``: [seconds, start, end] (epoch seconds)."""
    import functools

    @functools.wraps(fn)  # the operator passes the context keys ``fn`` asks for
    def wrapper(*args, **kwargs):
        started, wall = time.perf_counter(), time.time()
        try:
            return fn(*args, **kwargs)
        finally:
            into[name] = [time.perf_counter() - started, wall, time.time()]

    return wrapper


def _phase_timers(phases: dict[str, dict[str, float]], current: dict[str, str]) -> None:
    """Wrap what ``run_stage`` calls; each outermost call is booked on the running task
    (``current["task"]``), so the phases do not overlap."""
    from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance

    import dagwright.airflow.tasks as tasks
    import dagwright.executor as executor

    depth = [0]

    def book(name, fn):
        def wrapper(*args, **kwargs):
            depth[0] += 1
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                depth[0] -= 1
                if depth[0] == 0:
                    task = phases.setdefault(current["task"], {})
                    task[name] = task.get(name, 0.0) + time.perf_counter() - started

        return wrapper

    make_loader = executor.make_loader

    def timed_loader(plan):
        loader = make_loader(plan)
        loader.state.record_run = book("state.record_run", loader.state.record_run)
        loader.close = book("loader.close", loader.close)
        return loader

    executor.make_loader = book("make_loader (open warehouse + state)", timed_loader)
    tasks.load_plan = book("load_plan (spec + plan, cached)", tasks.load_plan)
    tasks.choose_work = book("choose_work (survey state)", tasks.choose_work)
    tasks.run_interval = book("run_interval", tasks.run_interval)
    executor.StageExecutor.run = book("StageExecutor.run (the stage)", executor.StageExecutor.run)
    RuntimeTaskInstance.xcom_pull = book("ti.xcom_pull", RuntimeTaskInstance.xcom_pull)


def _api_timer(api: dict[str, dict[str, list[float]]], current: dict[str, str]) -> None:
    """Count and time the task's calls to the Execution API (in-process under dag.test)."""
    import re

    from airflow.sdk.execution_time.supervisor import InProcessTestSupervisor

    client = InProcessTestSupervisor._Client
    request = client.request
    uuid = re.compile(r"^[0-9a-f]{8}-[0-9a-f-]{27}$")

    def timed(self, method, url, *args, **kwargs):
        started = time.perf_counter()
        try:
            return request(self, method, url, *args, **kwargs)
        finally:
            parts = [("{id}" if uuid.match(p) else p) for p in str(url).strip("/").split("/")]
            key = f"{method} {'/'.join(parts[:1] if parts[0] == 'xcoms' else parts[:3])}"
            got = api.setdefault(current["task"], {}).setdefault(key, [0, 0.0])
            got[0] += 1
            got[1] += time.perf_counter() - started

    client.request = timed


def _gc_timer(current: dict[str, str]) -> dict[str, float]:
    """Seconds of Python's garbage collections, booked on what runs (``current``)."""
    import gc

    seconds: dict[str, float] = {}
    started = [0.0]

    def callback(phase: str, info: dict) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            key = current["task"]
            seconds[key] = seconds.get(key, 0.0) + time.perf_counter() - started[0]

    gc.callbacks.append(callback)
    return seconds


def _summary(prof, callable_name: str) -> dict:
    """A profiled task: imports, Execution API calls, the callable, and the top functions
    (cumulative seconds of the project's own code; own seconds of anything)."""
    import pstats

    stats = pstats.Stats(prof).stats  # type: ignore[attr-defined]

    def cumulative(file_part: str, name: str) -> float:
        return max(
            (v[3] for (f, _, n), v in stats.items() if file_part in f and n == name), default=0.0
        )

    def label(file: str, line: int, name: str) -> str:
        short = file.replace(str(REPO) + "/", "")
        short = short.split("site-packages/", 1)[-1]
        return f"{short}:{line}({name})"

    ours = ("dagwright/", "loaders/", "extractors/", "transforms/")
    own_code = sorted(
        (
            (label(*k), v[3])
            for k, v in stats.items()
            if k[0].startswith(str(REPO)) and any(o in k[0] for o in ours)
        ),
        key=lambda r: -r[1],
    )
    modules = sorted(
        ((label(*k), v[3]) for k, v in stats.items() if k[2] == "<module>" and "/" in k[0]),
        key=lambda r: -r[1],
    )
    own_time = sorted(((label(*k), v[2]) for k, v in stats.items()), key=lambda r: -r[1])
    return {
        "imports": cumulative("importlib._bootstrap", "_find_and_load"),
        "execution_api": cumulative("airflow/sdk/api/client.py", "request"),
        "callable": cumulative("", callable_name),
        "top_cumulative": own_code[:14],
        "top_own": own_time[:12],
        "top_imports": [m for m in modules if m[1] >= 0.005][:8],
    }


def child(contender: str, project: Path, mode: str) -> None:
    started = time.perf_counter()
    from datetime import datetime

    import airflow.sdk.definitions.dag as sdk_dag
    import duckdb
    from airflow.dag_processing.dagbag import DagBag
    from airflow.models.taskinstance import TaskInstance
    from airflow.sdk.execution_time.supervisor import InProcessTestSupervisor
    from airflow.utils.session import create_session
    from sqlalchemy import select

    imported = time.perf_counter()
    bag = DagBag(str(project / "dags"), safe_mode=False)
    dag = bag.dags[DAG_IDS[contender]]
    parsed = time.perf_counter()

    callables: dict[str, list[float]] = {}
    phases: dict[str, dict[str, float]] = {}
    current = {"task": "?"}
    profiles: dict[str, dict] = {}
    if contender == "dagwright" and mode == "timed":
        _phase_timers(phases, current)
    for task in dag.tasks:
        task.python_callable = _timed(task.task_id, task.python_callable, callables)
    api: dict[str, dict[str, list[float]]] = {}
    _api_timer(api, current)
    run_task = sdk_dag._run_task

    def each_task(*, ti, task, **kwargs):
        current["task"] = ti.task_id
        try:
            if mode != "profile":
                return run_task(ti=ti, task=task, **kwargs)
            import cProfile

            prof = cProfile.Profile()
            try:
                return prof.runcall(run_task, ti=ti, task=task, **kwargs)
            finally:
                name = getattr(task.python_callable, "__name__", "")
                profiles[ti.task_id] = _summary(prof, name)
        finally:
            current["task"] = "between tasks"

    sdk_dag._run_task = each_task
    gc_seconds = _gc_timer(current)

    # dag.test's first task would start the in-process Execution API (seconds of
    # imports and app set-up that a deployment's API server pays once): started here,
    # timed apart, so that every task is timed warm
    current["task"] = STARTUP
    warming = time.perf_counter()
    InProcessTestSupervisor._api_client().get("health/ping")
    startup = time.perf_counter() - warming
    current["task"] = "dag.test, outside tasks"

    before = time.perf_counter()
    run = dag.test(logical_date=datetime.fromisoformat(LOGICAL_DATE))
    after = time.perf_counter()
    with create_session() as session:
        tis = session.scalars(
            select(TaskInstance).where(
                TaskInstance.dag_id == dag.dag_id, TaskInstance.run_id == run.run_id
            )
        ).all()
        ti = {t.task_id: t for t in tis}
        states = {k: str(t.state) for k, t in ti.items()}
        seconds = {k: (t.end_date - t.start_date).total_seconds() for k, t in ti.items()}
        starts = {k: t.start_date.timestamp() for k, t in ti.items()}
        ends = {k: t.end_date.timestamp() for k, t in ti.items()}
    con = duckdb.connect(str(project / "warehouse.duckdb"), read_only=True)
    rows, revenue = con.execute(f"SELECT count(*), round(sum(revenue), 2) FROM {TABLE}").fetchone()
    con.close()
    result = {
        "state": str(run.state),
        "import": imported - started,
        "parse": parsed - imported,
        "dag_test": after - before,
        "span": max(ends.values()) - min(starts.values()),
        "ti": seconds,
        "ti_states": states,
        "callable": {k: v[0] for k, v in callables.items()},
        "before_callable": {k: v[1] - starts[k] for k, v in callables.items()},
        "after_callable": {k: ends[k] - v[2] for k, v in callables.items()},
        "startup": startup,
        "gc": gc_seconds,
        "phases": phases,
        "api": api,
        "profiles": profiles,
        "table": [rows, float(revenue)],
    }
    print("@@" + json.dumps(result))


# --- the parent: projects, turns, report ------------------------------------------------


def make_project(base: Path, name: str, contender: str, data: Path, template: Path) -> Path:
    root = base / name
    (root / "dags").mkdir(parents=True)
    shutil.copytree(data, root / "data")
    shutil.copytree(template, root / "airflow_home")
    if contender == "dagwright":
        shutil.copy(REPO / "dags" / "dagwright_dags.py", root / "dags" / "dagwright_dags.py")
        (root / "dags" / "orders_daily.yaml").write_text(SPEC, encoding="utf-8")
    else:
        (root / "dags" / "hand_dags.py").write_text(HAND_DAGS, encoding="utf-8")
    return root


def run_child(contender: str, root: Path, mode: str) -> dict:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", contender, str(root), mode],
        env=airflow_env(root / "airflow_home", root / "dags"),
        cwd=root,
        capture_output=True,
        text=True,
        timeout=600,
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("@@")]
    if proc.returncode != 0 or not lines:
        sys.exit(
            f"{contender} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
        )
    result = json.loads(lines[-1][2:])
    bad = {k: v for k, v in result["ti_states"].items() if v != "success"}
    if result["state"] != "success" or bad:
        sys.exit(f"{contender}: run {result['state']}, tasks {bad}\n{proc.stdout[-3000:]}")
    return result


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def main(rounds: int) -> None:
    sys.path.insert(0, str(REPO))
    from benchmarks.data import generate

    base = Path(tempfile.mkdtemp(prefix="dagwright-airflow-task-"))
    data = base / "data"
    generate(data, ROWS)
    (data / "customers.csv").unlink()
    for marker in data.glob(".complete-*"):
        marker.unlink()
    template = base / "airflow_template"
    template.mkdir()
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"],
        env=airflow_env(template, template / "dags"),
        check=True,
        capture_output=True,
        timeout=300,
    )
    print(f"airflow db migrate: {time.perf_counter() - started:.1f} s", flush=True)

    results: dict[str, list[dict]] = {c: [] for c in CONTENDERS}
    for number in range(rounds):
        for contender in CONTENDERS:
            root = make_project(base, f"{contender}-{number}", contender, data, template)
            result = run_child(contender, root, "timed")
            results[contender].append(result)
            tasks = ", ".join(f"{k} {v:.2f}" for k, v in result["ti"].items())
            print(
                f"round {number + 1} {contender}: dag.test {result['dag_test']:.2f} s, "
                f"span {result['span']:.2f} s; ti: {tasks}",
                flush=True,
            )
    tables = {c: results[c][-1]["table"] for c in CONTENDERS}
    if len({json.dumps(t) for t in tables.values()}) != 1:
        sys.exit(f"the contenders' tables differ: {tables}")

    profiles = {}
    for contender in ("dagwright", "hand_3"):
        root = make_project(base, f"{contender}-profile", contender, data, template)
        profiles[contender] = run_child(contender, root, "profile")["profiles"]

    report(results, profiles, tables["dagwright"])
    shutil.rmtree(base, ignore_errors=True)


PAIRS = [
    ("extract", "extract_orders", "extract"),
    ("transform", "transform_revenue", "transform"),
    ("load", "load_customer_revenue", "load"),
    ("run log", "finish_run", None),
]


def report(results: dict[str, list[dict]], profiles: dict[str, dict], table: list) -> None:
    def med(contender: str, pick) -> float:
        return median([pick(r) for r in results[contender]])

    def per_task(contender: str, task: str) -> tuple[float, float, float, float]:
        return (
            med(contender, lambda r: r["ti"][task]),
            med(contender, lambda r: r["callable"][task]),
            med(contender, lambda r: r["before_callable"][task]),
            med(contender, lambda r: r["after_callable"][task]),
        )

    rounds = len(results["dagwright"])
    print(f"\n## Airflow task: dagwright vs hand-written ({ROWS:,} CSV rows, {rounds} rounds)\n")
    print(f"Table {TABLE}: {table[0]} rows, sum(revenue) {table[1]}, the same for all.\n")
    print(
        "Per task, median seconds. ti: Airflow's end - start; callable: wall around the "
        "python_callable; before/after: ti start to callable start, callable end to ti end.\n"
    )
    print("| stage | contender | task | ti | callable | before | after |")
    print("|---|---|---|---:|---:|---:|---:|")
    for stage, dw, hand in PAIRS:
        for contender, task in (("dagwright", dw), ("hand_3", hand)):
            if task:
                ti, fn, pre, post = per_task(contender, task)
                print(
                    f"| {stage} | {contender} | {task} | {ti:.3f} | {fn:.3f} | {pre:.3f} "
                    f"| {post:.3f} |"
                )
    ti, fn, pre, post = per_task("hand_1", "everything")
    print(f"| all | hand_1 | everything | {ti:.3f} | {fn:.3f} | {pre:.3f} | {post:.3f} |")

    print("\nRatios dagwright / hand_3 (median of per-round ratios):\n")
    print("| stage | ti | callable | ti - callable (Airflow around it) |")
    print("|---|---:|---:|---:|")
    for stage, dw, hand in PAIRS[:3]:

        def ratio(key: str, dw=dw, hand=hand) -> float:
            return median(
                [
                    a[key][dw] / b[key][hand]
                    for a, b in zip(results["dagwright"], results["hand_3"], strict=True)
                ]
            )

        around = median(
            [
                (a["ti"][dw] - a["callable"][dw]) / (b["ti"][hand] - b["callable"][hand])
                for a, b in zip(results["dagwright"], results["hand_3"], strict=True)
            ]
        )
        print(f"| {stage} | {ratio('ti'):.1f}x | {ratio('callable'):.1f}x | {around:.1f}x |")

    print("\nPer DAG run, median seconds:\n")
    print(
        "| contender | tasks | tasks span | sum of ti | sum of callables | dag.test "
        "| span / dagwright's | DagBag parse (cold) | Execution API start-up (apart) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for contender in CONTENDERS:
        ratio = median(
            [
                b["span"] / a["span"]
                for a, b in zip(results["dagwright"], results[contender], strict=True)
            ]
        )
        print(
            f"| {contender} | {len(results[contender][0]['ti'])} "
            f"| {med(contender, lambda r: r['span']):.3f} "
            f"| {med(contender, lambda r: sum(r['ti'].values())):.3f} "
            f"| {med(contender, lambda r: sum(r['callable'].values())):.3f} "
            f"| {med(contender, lambda r: r['dag_test']):.3f} | {ratio:.2f} "
            f"| {med(contender, lambda r: r['parse']):.3f} "
            f"| {med(contender, lambda r: r['startup']):.3f} |"
        )
    print(
        "\nGarbage collections, median seconds: "
        + "; ".join(
            f"{c}: in its tasks "
            f"{med(c, lambda r: sum(v for k, v in r['gc'].items() if k in r['ti'])):.3f}, "
            f"in the Execution API start-up {med(c, lambda r: r['gc'].get(STARTUP, 0.0)):.3f}"
            for c in CONTENDERS
        )
    )

    tasks = [dw for _, dw, _ in PAIRS]
    print("\nWhere a dagwright task's callable (run_stage / finish_run) goes, median seconds:\n")
    names: list[str] = []
    for r in results["dagwright"]:
        for task in tasks:
            names += [n for n in r["phases"].get(task, {}) if n not in names]
    print("| phase | " + " | ".join(tasks) + " |")
    print("|---|" + "---:|" * len(tasks))
    for name in [*names, "rest (imports, context, result, prints)", "callable"]:

        def pick(r, task, name=name):
            got = r["phases"].get(task, {})
            if name == "callable":
                return r["callable"][task]
            if name.startswith("rest"):
                return r["callable"][task] - sum(got.values())
            return got.get(name, 0.0)

        cells = [f"{med('dagwright', lambda r, t=t: pick(r, t)):.3f}" for t in tasks]
        print(f"| {name} | " + " | ".join(cells) + " |")

    print("\nExecution API calls of each task (count x, median seconds of all its calls):\n")
    columns = [("dagwright", t) for t in tasks] + [("hand_3", t) for _, _, t in PAIRS[:3]]
    keys: list[str] = []
    for contender, task in columns:
        for r in results[contender]:
            keys += [k for k in r["api"].get(task, {}) if k not in keys]
    print("| call | " + " | ".join(f"{c} {t}" for c, t in columns) + " |")
    print("|---|" + "---:|" * len(columns))
    for key in [*keys, "all"]:
        cells = []
        for contender, task in columns:

            def api(r, task=task, key=key):
                calls = r["api"].get(task, {})
                if key == "all":
                    return [sum(c[0] for c in calls.values()), sum(c[1] for c in calls.values())]
                return calls.get(key, [0, 0.0])

            count = max(api(r)[0] for r in results[contender])
            seconds = med(contender, lambda r, api=api: api(r)[1])
            cells.append(f"{count}x {seconds:.3f}" if count else "-")
        print(f"| {key} | " + " | ".join(cells) + " |")

    print("\nOne run of each under cProfile (whole task as dag.test runs it; profiled seconds):\n")
    print("| contender | task | imports | Execution API calls | callable |")
    print("|---|---|---:|---:|---:|")
    for contender, found in profiles.items():
        for task, got in found.items():
            print(
                f"| {contender} | {task} | {got['imports']:.3f} | {got['execution_api']:.3f} "
                f"| {got['callable']:.3f} |"
            )
    for task, got in profiles["dagwright"].items():
        print(f"\n{task}, dagwright's own code by cumulative seconds:\n")
        print("| function | cumulative s |")
        print("|---|---:|")
        for name, seconds in got["top_cumulative"][:10]:
            print(f"| `{name}` | {seconds:.3f} |")
    for task, got in profiles["dagwright"].items():
        if got["top_imports"]:
            print(f"\n{task}, modules it imports (cumulative seconds, nested ones included):\n")
            print("| module | cumulative s |")
            print("|---|---:|")
            for name, seconds in got["top_imports"]:
                print(f"| `{name}` | {seconds:.3f} |")
    for task in ("extract_orders", "load_customer_revenue"):
        print(f"\n{task}, top own seconds (any code):\n")
        print("| function | own s |")
        print("|---|---:|")
        for name, seconds in profiles["dagwright"][task]["top_own"][:10]:
            print(f"| `{name}` | {seconds:.3f} |")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], Path(sys.argv[3]), sys.argv[4])
    else:
        main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
