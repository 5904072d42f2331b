"""``module:function`` references stay inside the project; file sources inside their roots."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from dagwright.errors import ConfigError
from dagwright.security import check_reference, confine_files, confine_path, resolve_reference
from tests.conftest import Project


@pytest.fixture
def project_module(tmp_path: Path) -> Path:
    """A project with its own package ``myproj_steps`` importable from its root."""
    package = tmp_path / "myproj_steps"
    package.mkdir()
    (package / "__init__.py").write_text("def double(x):\n    return 2 * x\n")
    sys.path.insert(0, str(tmp_path))
    yield tmp_path
    sys.path.remove(str(tmp_path))
    sys.modules.pop("myproj_steps", None)


def test_project_module_resolves(project_module: Path) -> None:
    assert resolve_reference("myproj_steps:double", project_module, allow=())(4) == 8


@pytest.mark.parametrize(
    "reference",
    ["os:system", "subprocess:run", "builtins:eval", "shutil:rmtree", "pytest:main"],
)
def test_module_outside_the_project_is_refused_before_import(
    reference: str, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError, match="is outside the project"):
        resolve_reference(reference, tmp_path, allow=("transforms",))


def test_refused_module_is_never_imported(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "side_effect_mod.py").write_text(
        f"open({str(tmp_path / 'ran')!r}, 'w').close()\ndef f():\n    pass\n"
    )
    sys.path.insert(0, str(elsewhere))
    try:
        with pytest.raises(ConfigError, match="outside the project"):
            resolve_reference("side_effect_mod:f", tmp_path / "project", allow=())
    finally:
        sys.path.remove(str(elsewhere))
    assert not (tmp_path / "ran").exists()


def test_allow_list_admits_a_prefix(tmp_path: Path) -> None:
    assert resolve_reference("json:dumps", tmp_path, allow=("json",))([1]) == "[1]"
    with pytest.raises(ConfigError, match="outside the project"):
        check_reference("jsonschema_x.y:f", tmp_path, allow=("json",))


def test_allow_list_comes_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DAGWRIGHT_ALLOW_MODULES", "json, textwrap")
    assert resolve_reference("textwrap:dedent", tmp_path)(" a") == "a"


@pytest.mark.parametrize(
    "reference", ["os", "os:", ":system", "os:__import__", "os:_exit", "../x:f", "a b:f"]
)
def test_malformed_references_are_refused(reference: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is not a 'module:function' reference|outside"):
        check_reference(reference, tmp_path, allow=("os",))


def test_paths_inside_roots_pass(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "a.csv").write_text("x\n")
    assert confine_path("data/a.csv", ["data"], tmp_path) == (tmp_path / "data" / "a.csv")
    assert confine_path("/etc/passwd", [], tmp_path) == Path("/etc/passwd")


@pytest.mark.parametrize("path", ["../outside.csv", "data/../../outside.csv", "/etc/passwd"])
def test_paths_leaving_roots_are_refused(path: str, tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    with pytest.raises(ConfigError, match="outside the allowed file roots"):
        confine_path(path, ["data"], tmp_path)


def test_symlink_out_of_a_root_is_refused(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    secret = tmp_path / "secret.csv"
    secret.write_text("x\n")
    (tmp_path / "data" / "link.csv").symlink_to(secret)
    with pytest.raises(ConfigError, match="resolves to .*secret.csv"):
        confine_files([tmp_path / "data" / "link.csv"], tmp_path, roots=["data"])


@pytest.mark.slow
def test_file_source_outside_roots_fails_the_run(project: Project) -> None:
    """Through the real CLI: DAGWRIGHT_FILE_ROOTS refuses a source reading outside it."""
    outside = project.root.parent / f"{project.root.name}_outside.csv"
    outside.write_text("id\n1\n")
    project.write_spec(
        "escape",
        f"""
        pipeline: escape
        start_date: 2026-01-01
        sources:
          inside: {{extractor: csv, path: data/shop/orders.csv}}
          outside: {{extractor: csv, path: "{outside}"}}
        loads:
          t_inside: {{from: inside}}
          t_outside: {{from: outside}}
        """,
    )
    result = project.cli("run", "escape", env={"DAGWRIGHT_FILE_ROOTS": "data"})
    assert result.returncode == 1
    assert "outside the allowed file roots (data)" in " ".join(result.stdout.split())
    assert project.query('SELECT COUNT(*) FROM "t_inside"')[0][0] == 5000
    tables = project.query("SELECT table_name FROM information_schema.tables")
    assert ("t_outside",) not in tables
    unlimited = project.cli("run", "escape", env={"DAGWRIGHT_FILE_ROOTS": ""})
    assert unlimited.returncode == 0, unlimited.stdout + unlimited.stderr
    assert os.environ.get("DAGWRIGHT_FILE_ROOTS") is None


def test_a_spec_cannot_widen_the_bounds(project: Project) -> None:
    """Through the real CLI: a spec has no key that sets the bounds, and a ``${VAR}`` it
    names is read, never set, so neither a module nor a file outside them is reached."""
    outside = project.root.parent / f"{project.root.name}_secret.csv"
    outside.write_text("id\n1\n")
    project.write_spec(
        "widen",
        f"""
        pipeline: widen
        start_date: 2026-01-01
        allow_modules: [os]
        file_roots: ["/"]
        sources:
          outside: {{extractor: csv, path: "{outside}"}}
        transforms:
          shell: {{polars: "os:system", inputs: [outside]}}
        loads:
          t: {{from: shell, write: replace}}
        """,
    )
    refused = project.cli("validate", env={"DAGWRIGHT_FILE_ROOTS": "data"})
    out = " ".join(refused.stdout.split())
    assert refused.returncode == 1
    assert "unknown key 'allow_modules' in spec" in out and "unknown key 'file_roots'" in out
    # without the keys the spec is valid, and the run still keeps to the bounds
    text = (project.dags / "widen.yaml").read_text()
    (project.dags / "widen.yaml").write_text(
        text.replace("allow_modules: [os]\n", "").replace('file_roots: ["/"]\n', "")
    )
    ran = project.cli("run", "widen", env={"DAGWRIGHT_FILE_ROOTS": "data"})
    said = " ".join((ran.stdout + ran.stderr).split())
    assert ran.returncode == 1
    assert "outside the allowed file roots (data)" in said
    tables = project.query("SELECT table_name FROM information_schema.tables")
    assert ("t",) not in tables
    unbounded = project.cli("run", "widen", env={"DAGWRIGHT_FILE_ROOTS": ""})
    said = " ".join((unbounded.stdout + unbounded.stderr).split())
    assert unbounded.returncode == 1
    assert "'os:system'" in said and "DAGWRIGHT_ALLOW_MODULES" in said, said
