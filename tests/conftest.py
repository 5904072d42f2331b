"""Shared fixtures: a throwaway project with the shop data, and the CLI in a subprocess."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# Polars steps may name test helpers (tests.support.*), which live outside the temp projects.
os.environ.setdefault("DAGWRIGHT_ALLOW_MODULES", "transforms,tests.support")


@dataclass
class Project:
    """A temporary dagwright project: ``dags/``, ``data/shop``, and helpers to use it."""

    root: Path

    @property
    def dags(self) -> Path:
        return self.root / "dags"

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse.duckdb"

    def write_spec(self, name: str, text: str) -> Path:
        path = self.dags / f"{name}.yaml"
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
        return path

    def query(self, sql: str, params: list[object] | None = None) -> list[tuple]:
        import duckdb

        con = duckdb.connect(str(self.warehouse), read_only=True)
        try:
            return con.execute(sql, params or []).fetchall()
        finally:
            con.close()

    def cli(
        self, *args: str, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return run_cli(*args, cwd=self.root, env=env)


def run_cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "dagwright.cli", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(scope="session")
def shop_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from dagwright.sample_data import generate

    folder = tmp_path_factory.mktemp("shop") / "data" / "shop"
    generate(folder)
    return folder


@pytest.fixture
def project(tmp_path: Path, shop_data: Path) -> Project:
    """An empty project (``dags/``) with the shop data set in ``data/shop``."""
    (tmp_path / "dags").mkdir()
    shutil.copytree(shop_data, tmp_path / "data" / "shop")
    return Project(tmp_path)


@pytest.fixture
def example_project(project: Project) -> Project:
    """The repository's example specs and transforms copied into a temporary project."""
    for spec in (REPO / "dags").glob("*.yaml"):
        shutil.copy(spec, project.dags / spec.name)
    return project


@pytest.fixture
def load_pipeline() -> Callable[[Path], object]:
    from dagwright.spec.load import load_spec

    return load_spec


@pytest.fixture(scope="session")
def postgres():
    """A real PostgreSQL 18 server on 127.0.0.1 for the whole test session (per worker)."""
    from tests.support.postgres import postgres_server

    with postgres_server() as server:
        yield server


@pytest.fixture(scope="session")
def mariadb():
    """A real MariaDB server on 127.0.0.1 for the whole test session (per worker)."""
    from tests.support.mariadb import mariadb_server

    with mariadb_server() as server:
        yield server


@pytest.fixture(scope="session")
def fakesnow(tmp_path_factory: pytest.TempPathFactory):
    """Snowflake's stand-in (a fakesnow server, from a virtualenv of its own) on 127.0.0.1
    for the whole test session (per worker)."""
    from tests.support.fakesnow import fakesnow_server

    with fakesnow_server(tmp_path_factory.mktemp("fakesnow")) as server:
        yield server


@pytest.fixture(scope="session")
def s3_server():
    """A real S3-compatible server (moto) on 127.0.0.1 for the whole test session."""
    from tests.support.s3 import s3_server as start

    with start() as server:
        yield server


@pytest.fixture
def s3(s3_server, monkeypatch: pytest.MonkeyPatch):
    """The moto server with the AWS environment set for s3fs; buckets via ``make_bucket``."""
    import s3fs

    for name, value in s3_server.env.items():
        monkeypatch.setenv(name, value)
    s3fs.S3FileSystem.clear_instance_cache()
    return s3_server
