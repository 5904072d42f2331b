"""A newcomer's first hour, as the README walks it, on a machine with nothing installed.

The README's "first hour" block runs as written, line by line, in a copy of this checkout
with an empty home: ``make dist`` builds the wheel, a fresh virtualenv installs it with
the ``checks`` extra only, ``dagwright init`` writes a project (which vendors that wheel),
and the project's own ``make demo`` and ``make test`` install it again into the project's
``.venv`` and pass. Then the commands the README names next, each with the outcome a
user looks for: ``new`` (a PostgreSQL source, whose extra this install lacks, is refused
with the pip command), ``validate``, ``plan``, ``run``, ``backfill``, ``status``,
``report``, ``quarantine``, ``lineage``, ``runs``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("newcomer")]


def first_hour_block() -> list[str]:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Your first hour") :]
    block = re.search(r"```sh\n(.*?)```", section, flags=re.DOTALL)
    assert block is not None
    lines = [line.split("  #")[0].strip() for line in block.group(1).splitlines()]
    return [line for line in lines if line]


def checkout_copy(target: Path) -> Path:
    """The checkout's tracked files, with their times (so make rebuilds nothing)."""
    files = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True
    ).stdout.split(b"\0")
    for name in filter(None, files):
        source = REPO / name.decode()
        dest = target / name.decode()
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, dest)
    return target


def test_the_first_hour_from_a_built_wheel(tmp_path: Path) -> None:
    steps = first_hour_block()
    assert steps[0] == "make dist" and steps[-1] == "make test", steps
    copy = checkout_copy(tmp_path / "checkout")
    venv = Path(sys.executable).parent.parent
    stamp = venv / ".installed-dev"
    if not stamp.exists():
        stamp.touch()  # installed by hand, not by make: nothing for make to redo
    # the copy's pyproject.toml is older than the stamp, so make installs nothing again
    then = stamp.stat().st_mtime - 60
    os.utime(copy / "pyproject.toml", (then, then))
    home = tmp_path / "home"
    home.mkdir()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DAGWRIGHT_", "VIRTUAL_ENV", "PYTHON", "MAKE", "MFLAGS"))
    }
    env |= {
        "HOME": str(home),
        "PATH": os.defpath + os.pathsep + os.environ.get("PATH", ""),
        # `make dist` builds with the test's own virtualenv (which has `build`)
        "VENV": str(venv),
        "COLUMNS": "200",
        "NO_COLOR": "1",
    }
    script = "set -ex\n" + "\n".join(steps) + "\n"
    done = subprocess.run(
        ["bash", "-c", script], cwd=copy, env=env, capture_output=True, text=True, timeout=1500
    )
    out = done.stdout + done.stderr
    assert done.returncode == 0, out[-6000:]
    assert (copy / "dist" / "dagwright-0.1.0-py3-none-any.whl").is_file()
    acme = copy / "acme"
    assert (acme / "vendor" / "dagwright-0.1.0-py3-none-any.whl").is_file()
    assert "installing dagwright from: ./vendor/dagwright-0.1.0-py3-none-any.whl[checks]" in out
    assert (acme / ".venv" / "bin" / "dagwright").is_file(), "make demo made the project's venv"
    assert re.search(r"sales_daily run \S+ success", out), out[-3000:]
    reports = list((acme / ".dagwright" / "reports" / "sales_daily").glob("*.html"))
    assert len(reports) == 1
    assert "2 passed" in out, "make test ran the example's transform tests"

    # the project's README: each of its shell blocks runs as written there
    generated = (acme / "README.md").read_text(encoding="utf-8")
    shell = re.findall(r"```sh\n(.*?)```", generated, flags=re.DOTALL)
    assert len(shell) >= 2 and "make demo" in shell[0]
    for block in shell[1:]:
        ran = subprocess.run(
            ["bash", "-c", "set -e\n" + block], cwd=acme, env=env, capture_output=True,
            text=True, timeout=600,
        )  # fmt: skip
        assert ran.returncode == 0, block + ran.stdout + ran.stderr
        assert "order_date" in ran.stdout or block.strip().startswith("make"), ran.stdout

    dagwright = str(home / "dw" / "bin" / "dagwright")

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [dagwright, *args], cwd=acme, env=env, capture_output=True, text=True, timeout=600
        )

    def said(result: subprocess.CompletedProcess[str]) -> str:
        return " ".join((result.stdout + result.stderr).split())

    new = cli("new", "orders", "--source", "postgres", "--destination", "duckdb")
    assert new.returncode == 0, said(new)
    assert (acme / "dags" / "orders.yaml").is_file()
    assert "needs dagwright[postgres]: pip install 'dagwright[postgres]'" in said(new)
    refused = cli("validate")
    assert refused.returncode == 1
    assert "source 'raw' needs dagwright[postgres]: pip install 'dagwright[postgres]'" in said(
        refused
    ), said(refused)
    (acme / "dags" / "orders.yaml").unlink()
    csv_skeleton = cli("new", "events", "--source", "csv", "--destination", "duckdb")
    assert csv_skeleton.returncode == 0, said(csv_skeleton)
    valid = cli("validate", "--static")
    assert valid.returncode == 0 and "2 valid" in said(valid), said(valid)
    unread = cli("validate")
    assert unread.returncode == 1 and "source 'raw': no file matches" in said(unread), said(unread)
    (acme / "dags" / "events.yaml").unlink()

    plan = cli("plan", "sales_daily")
    assert plan.returncode == 0 and "load_" in plan.stdout and "SELECT" in plan.stdout.upper()

    run = cli("run", "sales_daily", "--start", "2026-01-08", "--end", "2026-01-09")
    assert run.returncode == 0, said(run)
    backfill = cli("backfill", "sales_daily", "--start", "2026-01-01", "--end", "2026-01-15")
    assert backfill.returncode == 0, said(backfill)
    assert "6 interval(s) loaded, 0 failed, 8 already loaded and skipped" in said(backfill)
    status = cli("status", "sales_daily", "--start", "2026-01-01", "--end", "2026-01-15")
    assert "14 loaded, 0 failed, 0 missing" in said(status), said(status)

    report = cli("report")
    assert report.returncode == 0 and report.stdout.strip().endswith(".html"), said(report)
    quarantine = cli("quarantine", "sales_daily")
    assert quarantine.returncode == 0, said(quarantine)
    lineage = cli("lineage", "sales_daily")
    assert lineage.returncode == 0 and "orders." in lineage.stdout, said(lineage)
    runs = cli("runs")
    assert runs.returncode == 0 and "success" in runs.stdout, said(runs)
