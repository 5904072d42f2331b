"""``dagwright new``: a commented skeleton spec, for every installed source and destination."""

from __future__ import annotations

from pathlib import Path

import pytest

from dagwright import plugins
from dagwright.cli import main
from dagwright.spec.load import load_spec


def test_every_source_and_destination_kind_gives_a_spec_that_validates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kinds = [
        (s, d) for s in plugins.names(plugins.EXTRACTORS) for d in plugins.names(plugins.LOADERS)
    ]
    assert ("csv", "duckdb") in kinds
    for source, destination in kinds:
        name = f"{source}_to_{destination}"
        args = ["-C", str(tmp_path), "new", name, "--source", source, "--destination", destination]
        assert main(args) == 0, capsys.readouterr().err
        path = tmp_path / "dags" / f"{name}.yaml"
        first, *rest = path.read_text().splitlines()
        assert first == "# yaml-language-server: $schema=../dagwright.schema.json"
        assert (path.parent / "../dagwright.schema.json").resolve().is_file()
        assert any(line.lstrip().startswith("# ") and ":" in line for line in rest)
        spec = load_spec(path, tmp_path)
        assert spec.model.sources["raw"].extractor == source
        assert spec.model.destination.loader == destination
    assert main(["-C", str(tmp_path), "validate", "--static"]) == 0
    assert f"{len(kinds)} spec(s) checked: {len(kinds)} valid" in capsys.readouterr().out


def test_unknown_kind_existing_file_and_bad_name_are_clear_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["-C", str(tmp_path), "new", "orders", "--source", "cvs"]) == 1
    assert (
        "--source 'cvs' is not an installed plugin (did you mean 'csv'?)" in capsys.readouterr().err
    )
    assert not (tmp_path / "dags" / "orders.yaml").exists()
    assert main(["-C", str(tmp_path), "new", "orders", "--source", "csv"]) == 0
    before = (tmp_path / "dags" / "orders.yaml").read_text()
    assert main(["-C", str(tmp_path), "new", "orders", "--source", "http"]) == 1
    assert "exists; use --force to overwrite it" in capsys.readouterr().err
    assert (tmp_path / "dags" / "orders.yaml").read_text() == before
    assert main(["-C", str(tmp_path), "new", "9orders", "--source", "csv"]) == 1
    assert "use letters, digits and underscores" in capsys.readouterr().err
