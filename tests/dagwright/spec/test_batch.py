"""Validating a batch of specs pauses automatic collection, collects what it made, restores it."""

from __future__ import annotations

import gc
import weakref
from pathlib import Path

import pytest

from dagwright.spec.batch import YOUNG_EVERY, collections_per_spec
from dagwright.spec.load import load_specs


class Node:
    pass


def cyclic_garbage() -> weakref.ref[Node]:
    node = Node()
    node.self = node  # type: ignore[attr-defined]
    return weakref.ref(node)


def test_cycles_made_during_a_batch_are_collected_and_the_collector_comes_back() -> None:
    assert gc.isenabled()
    with collections_per_spec() as tick:
        assert not gc.isenabled()
        garbage = cyclic_garbage()
        for _ in range(YOUNG_EVERY):
            tick()
        assert garbage() is None
    assert gc.isenabled()


def test_the_collector_comes_back_when_validation_raises() -> None:
    with pytest.raises(RuntimeError), collections_per_spec():
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_load_specs_leaves_the_collector_on(tmp_path: Path) -> None:
    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "bad.yaml").write_text("pipeline: [not, a, name]\n", encoding="utf-8")
    specs, problems = load_specs([tmp_path / "dags"])
    assert specs == [] and problems
    assert gc.isenabled()
