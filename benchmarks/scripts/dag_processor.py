"""Airflow's standalone dag-processor parsing a DAG folder into a fresh metadata database.

The way a deployment parses: ``airflow dag-processor`` runs, forks a process per file
(``[dag_processor] parsing_processes`` at a time) and writes each DAG it finds to the
metadata database. Timed: from the dag-processor's start until every expected DAG is
serialized there (``parse``), then the CPU seconds of the dag-processor and every process
it forked (``parse_cpu``, from ``wait4``). The fresh database (created and migrated first,
not timed) is on the PostgreSQL server whose URL is argument 3.

    python dag_processor.py DAGS_FOLDER EXPECTED_DAGS POSTGRES_URL
"""

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid

import psycopg

folder, expected, server = sys.argv[1], int(sys.argv[2]), sys.argv[3]
database = f"bench_dagproc_{uuid.uuid4().hex[:8]}"
with psycopg.connect(server, autocommit=True) as admin:
    admin.execute(f"CREATE DATABASE {database}")
url = f"{server.rsplit('/', 1)[0]}/{database}"
home = tempfile.mkdtemp(prefix="dagproc-")
env = {
    **os.environ,
    "AIRFLOW_HOME": home,
    "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    "AIRFLOW__CORE__DAGS_FOLDER": folder,
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": url.replace("postgresql://", "postgresql+psycopg://"),
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": url.replace(
        "postgresql://", "postgresql+psycopg://"
    ),
    "AIRFLOW__DAG_PROCESSOR__DAG_FILE_PROCESSOR_TIMEOUT": "600",
    "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "600",
}
migrated = subprocess.run(
    [sys.executable, "-m", "airflow", "db", "migrate"], env=env, capture_output=True, text=True
)
if migrated.returncode != 0:
    sys.exit(f"airflow db migrate failed: {migrated.stderr[-1500:]}")
with open(os.path.join(home, "dag-processor.log"), "w") as log:
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "airflow", "dag-processor"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    count, parsed = 0, None
    with psycopg.connect(url, autocommit=True) as con:
        while time.perf_counter() - started < 900 and proc.poll() is None:
            count = con.execute("SELECT count(*) FROM serialized_dag").fetchone()[0]
            if count >= expected:
                parsed = time.perf_counter() - started
                break
            time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGTERM)
    _, status, usage = os.wait4(proc.pid, 0)
if parsed is None:
    with open(os.path.join(home, "dag-processor.log")) as f:
        tail = f.read()[-1500:]
    sys.exit(f"{count} of {expected} DAGs serialized; dag-processor log:\n{tail}")
phases = {"parse": parsed, "parse_cpu": usage.ru_utime + usage.ru_stime, "dags": count}
print(json.dumps({"phases": phases}))
