"""Parse time of dags/dagwright_dags.py for N generated specs, against N hand-written DAGs.

    .venv/bin/python tests/airflow/bench_parse.py 100 1000

Each measurement is a fresh interpreter filling a DagBag from one file (Airflow's import
excluded); the best of three runs is reported. Generated specs have 4 stages (one source,
two SQL transforms, one load), like the hand-written DAGs' 4 TaskFlow tasks.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

SPEC = """pipeline: p{i:04d}
schedule: "@daily"
start_date: 2026-01-01
retries: 1
sources:
  raw: {{extractor: csv, path: data/x{i}.csv}}
transforms:
  clean: {{sql: "select * from raw where id is not null"}}
  agg: {{sql: "select id, count(*) as n from clean group by id"}}
loads:
  t{i}: {{from: agg, write: replace}}
"""

HAND_WRITTEN = """
from datetime import datetime
from airflow.sdk import DAG, task

for i in range({n}):
    with DAG(f"d{{i}}", schedule="@daily", start_date=datetime(2026, 1, 1),
             default_args={{"retries": 1}}) as dag:
        @task
        def extract():
            return 1
        @task
        def clean(x):
            return x
        @task
        def agg(x):
            return x
        @task
        def load(x):
            return x
        load(agg(clean(extract())))
    globals()[f"d{{i}}"] = dag
"""

MEASURE = """
import sys, time
from airflow.dag_processing.dagbag import DagBag
import airflow.sdk
started = time.perf_counter()
bag = DagBag(sys.argv[1])
assert not bag.import_errors, bag.import_errors
print(f"@@{time.perf_counter() - started:.3f} {len(bag.dags)}")
"""


def measure(path: Path, home: Path) -> float:
    env = {
        "PATH": "/usr/bin:/bin",
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "600",
    }
    out = subprocess.run(
        [sys.executable, "-c", MEASURE, str(path)], env=env, capture_output=True, text=True
    )
    line = next((x for x in out.stdout.splitlines() if x.startswith("@@")), None)
    if line is None:
        raise SystemExit(out.stderr[-3000:])
    return float(line[2:].split()[0])


def main(counts: list[int]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        home = root / "airflow_home"
        for n in counts:
            project = root / f"specs_{n}"
            (project / "dags").mkdir(parents=True)
            shutil.copy(REPO / "dags" / "dagwright_dags.py", project / "dags")
            for i in range(n):
                (project / "dags" / f"p{i:04d}.yaml").write_text(SPEC.format(i=i))
            hand = root / f"hand_{n}.py"
            hand.write_text(HAND_WRITTEN.format(n=n))
            dag_file = project / "dags" / "dagwright_dags.py"
            cold = measure(dag_file, home)
            warm = min(measure(dag_file, home) for _ in range(3))
            base = min(measure(hand, home) for _ in range(3))
            print(
                f"{n:5d} specs: hand-written {base:6.2f}s  dagwright warm {warm:6.2f}s "
                f"({warm / base:.2f}x)  cold (first parse, no cache) {cold:6.2f}s"
            )


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [100, 1000])
