from __future__ import annotations

import pytest

from dagwright.errors import SpecError
from dagwright.spec.yaml_source import parse_yaml


def test_positions_of_keys_and_values() -> None:
    doc = parse_yaml("a: 1\nb:\n  c: [x, y]\n", "f.yaml")
    assert doc.data == {"a": 1, "b": {"c": ["x", "y"]}}
    assert doc.position(("b", "c")) == (3, 3)
    assert doc.position(("b", "c", 1)) == (3, 10)
    assert doc.position(("b", "missing")) == (2, 1)


def test_syntax_error_is_located() -> None:
    with pytest.raises(SpecError) as err:
        parse_yaml("a: 1\nb: [1, 2\nc: 3\n", "bad.yaml")
    text = str(err.value)
    assert text.startswith("bad.yaml:3:")
    assert "YAML syntax error" in text


def test_python_tags_never_construct_objects() -> None:
    with pytest.raises(SpecError) as err:
        parse_yaml("a: !!python/object/apply:os.system ['echo hi']\n", "evil.yaml")
    assert "evil.yaml:1:4: YAML tag 'tag:yaml.org,2002:python/object/apply:os.system'" in str(
        err.value
    )


def test_yaml_bomb_is_refused() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        refs = ", ".join([f"*a{i - 1}"] * 10)
        lines.append(f"a{i}: &a{i} [{refs}]")
    with pytest.raises(SpecError) as err:
        parse_yaml("\n".join(lines) + "\n", "bomb.yaml")
    assert "YAML bomb" in str(err.value)


def test_environment_interpolation() -> None:
    doc = parse_yaml("p: ${HOME_DIR}/x\nq: ${NOPE:-fallback}\n", "f.yaml", {"HOME_DIR": "/h"})
    assert doc.data == {"p": "/h/x", "q": "fallback"}
    with pytest.raises(SpecError) as err:
        parse_yaml("a: 1\np: ${UNSET_VAR}\n", "f.yaml", {})
    assert "f.yaml:2:4: environment variable UNSET_VAR is not set" in str(err.value)


def test_duplicate_keys_are_errors() -> None:
    with pytest.raises(SpecError) as err:
        parse_yaml("a: 1\na: 2\n", "f.yaml")
    assert "f.yaml:2:1: duplicate key 'a'" in str(err.value)


def test_empty_file() -> None:
    with pytest.raises(SpecError, match="the file is empty"):
        parse_yaml("", "f.yaml")
