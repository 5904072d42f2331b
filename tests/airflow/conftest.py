"""Airflow fixtures: a throwaway AIRFLOW_HOME with a migrated SQLite metadata database.

Airflow reads its configuration once per process, so Airflow code runs in subprocesses
with the temporary AIRFLOW_HOME in their environment (the test process never imports it).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SQLITE_ARGS = "tests.airflow.sqlite_settings.connect_args"


@dataclass(frozen=True)
class AirflowHome:
    home: Path

    def env(self, dags: Path, **extra: str) -> dict[str, str]:
        return {
            **os.environ,
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{self.home / 'airflow.db'}",
            "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS": SQLITE_ARGS,
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS_ASYNC": SQLITE_ARGS,
            "DAGWRIGHT_STAGING_CACHE": str(self.home / "staging-cache"),
            "PYTHONPATH": str(REPO),
            **extra,
        }

    def python(self, code: str, dags: Path, timeout: float = 180, **extra: str) -> dict:
        """Run ``code`` in a fresh interpreter; it must print one JSON line starting with '@@'."""
        proc = subprocess.run(
            [sys.executable, "-c", textwrap.dedent(code)],
            env=self.env(dags, **extra),
            cwd=dags.parent,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        lines = [line for line in proc.stdout.splitlines() if line.startswith("@@")]
        assert proc.returncode == 0 and lines, (
            f"exit {proc.returncode}\nstdout:\n{proc.stdout[-4000:]}\nstderr:\n{proc.stderr[-6000:]}"
        )
        return json.loads(lines[-1][2:])


@pytest.fixture(scope="session")
def airflow_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated metadata database per test session (worker), copied per test."""
    home = tmp_path_factory.mktemp("airflow_template")
    env = AirflowHome(home).env(home / "dags")
    subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"],
        env=env,
        check=True,
        capture_output=True,
        timeout=180,
    )
    return home


@pytest.fixture
def airflow_home(tmp_path: Path, airflow_template: Path) -> AirflowHome:
    home = tmp_path / "airflow_home"
    shutil.copytree(airflow_template, home)
    return AirflowHome(home)


def add_dag_file(dags: Path) -> None:
    shutil.copy(REPO / "dags" / "dagwright_dags.py", dags / "dagwright_dags.py")
