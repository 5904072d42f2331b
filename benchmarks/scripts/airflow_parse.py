"""Airflow parsing a DAG folder: the import of Airflow, then the DagBag parse, timed apart.

Phases are reported in wall seconds and in CPU seconds of this process (``*_cpu``),
which a busy machine disturbs less. An expected DAG count of -1 skips the count check.
"""

import json
import sys
import time

folder, expected = sys.argv[1], int(sys.argv[2])
started, started_cpu = time.perf_counter(), time.process_time()
from airflow.dag_processing.dagbag import DagBag  # noqa: E402

imported, imported_cpu = time.perf_counter(), time.process_time()
bag = DagBag(dag_folder=folder, safe_mode=False)
parsed, parsed_cpu = time.perf_counter(), time.process_time()
if bag.import_errors:
    first = next(iter(bag.import_errors.items()))
    sys.exit(f"{len(bag.import_errors)} import error(s); first: {first[0]}: {first[1][-300:]}")
if expected >= 0 and len(bag.dags) != expected:
    sys.exit(f"expected {expected} DAGs, parsed {len(bag.dags)}")
phases = {
    "import": imported - started,
    "parse": parsed - imported,
    "import_cpu": imported_cpu - started_cpu,
    "parse_cpu": parsed_cpu - imported_cpu,
    "dags": len(bag.dags),
}
print(json.dumps({"phases": phases}))
