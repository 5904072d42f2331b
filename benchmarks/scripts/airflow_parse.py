"""Airflow parsing a DAG folder: the import of Airflow, then the DagBag parse, timed apart."""

import json
import sys
import time

folder, expected = sys.argv[1], int(sys.argv[2])
started = time.perf_counter()
from airflow.dag_processing.dagbag import DagBag  # noqa: E402

imported = time.perf_counter()
bag = DagBag(dag_folder=folder, safe_mode=False)
parsed = time.perf_counter()
if bag.import_errors:
    first = next(iter(bag.import_errors.items()))
    sys.exit(f"{len(bag.import_errors)} import error(s); first: {first[0]}: {first[1][-300:]}")
if len(bag.dags) != expected:
    sys.exit(f"expected {expected} DAGs, parsed {len(bag.dags)}")
print(json.dumps({"phases": {"import": imported - started, "parse": parsed - imported}}))
