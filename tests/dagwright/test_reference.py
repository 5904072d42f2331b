"""The committed spec reference and plugin pages are exactly what the schema generates."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from dagwright.cli import main
from dagwright.reference import plugin_classes, render_all, stale
from dagwright.spec.model import json_schema

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_committed_reference_matches_the_schema() -> None:
    out_of_date = stale(DOCS)
    assert out_of_date == [], (
        f"docs/ is out of date for {out_of_date}: regenerate with `make schema` "
        "(or `dagwright reference`) and commit the result"
    )


def test_reference_names_every_key_and_definition_of_the_schema() -> None:
    schema = json_schema()
    page = (DOCS / "spec-reference.md").read_text()
    for key in schema["properties"]:
        assert f"| `{key}` |" in page, key
    for name, definition in schema["$defs"].items():
        assert f"\n## {name}\n" in page, name
        for key in definition.get("properties", {}):
            assert f"| `{key}` |" in page, f"{name}.{key}"


@pytest.mark.parametrize(
    "folder, group", [("extractors", "dagwright.extractors"), ("loaders", "dagwright.loaders")]
)
def test_a_page_per_plugin_lists_its_options(folder: str, group: str) -> None:
    classes = plugin_classes(group)
    assert classes
    for module, (cls, names) in classes.items():
        page = (DOCS / folder / f"{module}.md").read_text()
        for name in names:
            assert f": {name}`" in page
        for field_name, field in cls.config_model.model_fields.items():
            assert f"| `{field.alias or field_name}` |" in page, f"{module}: {field_name}"


def test_check_fails_naming_the_stale_page(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    docs = tmp_path / "docs"
    assert main(["-C", str(tmp_path), "reference"]) == 0
    assert sorted(str(p.relative_to(docs)) for p in docs.rglob("*.md")) == sorted(render_all())
    assert main(["-C", str(tmp_path), "reference", "--check"]) == 0
    page = docs / "loaders" / "duckdb.md"
    page.write_text(page.read_text().replace("Database file", "Data file"))
    shutil.copy(page, docs / "loaders" / "gone.md")
    capsys.readouterr()
    assert main(["-C", str(tmp_path), "reference", "--check"]) == 1
    err = capsys.readouterr().err
    assert f"{page}: out of date" in err
    assert "gone.md: out of date" in err
    assert "regenerate with: make schema" in err
