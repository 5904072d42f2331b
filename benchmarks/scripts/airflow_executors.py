"""A three-interval ``dagwright backfill --via airflow`` on LocalExecutor and on
CeleryExecutor (two workers sharing no disk, Redis, staging in S3), in turns.

The cluster is the one ``tests/airflow/test_celery.py`` starts (PostgreSQL for the
metadata database and the warehouse, moto for S3); both executors stage in S3, so the
difference is the executor's. Timed: from the backfill command to its three runs
finished. Run from the repository root:

    .venv/bin/python benchmarks/scripts/airflow_executors.py [ROUNDS]
"""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from dagwright.sample_data import generate  # noqa: E402
from tests.airflow.test_celery import airflow_cluster, backfill_three  # noqa: E402
from tests.conftest import Project  # noqa: E402
from tests.support.postgres import postgres_server  # noqa: E402
from tests.support.s3 import s3_server  # noqa: E402

EXECUTORS = ("LocalExecutor", "CeleryExecutor")


def main(rounds: int) -> None:
    base = Path(tempfile.mkdtemp(prefix="dagwright-executors-"))
    shop = base / "shop"
    generate(shop)
    seconds: dict[str, list[float]] = {e: [] for e in EXECUTORS}
    with postgres_server("bench_executors") as pg, s3_server() as s3:
        for number in range(rounds):
            for executor in EXECUTORS:
                root = base / f"{executor}-{number}"
                (root / "dags").mkdir(parents=True)
                shutil.copytree(shop, root / "data" / "shop")
                project = Project(root)
                with airflow_cluster(root, project, pg, s3, executor) as cluster:
                    took, states = backfill_three(cluster, project)
                assert sorted(states.values()) == ["success"] * 3, states
                seconds[executor].append(took)
                print(f"{executor}: {took:.1f} s", flush=True)
    for executor, values in seconds.items():
        print(f"{executor}: median {statistics.median(values):.1f} s of {values}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2)
