"""Extractors and loaders found by name through Python entry points.

``[project.entry-points."dagwright.extractors"]`` maps a name (the spec's
``extractor:`` value) to ``module:Class``. Adding a plugin never touches the core.
"""

from __future__ import annotations

from functools import cache
from importlib.metadata import entry_points
from typing import Any

EXTRACTORS = "dagwright.extractors"
LOADERS = "dagwright.loaders"


@cache
def _installed() -> Any:
    """Every entry point, read once: each read scans all installed distributions."""
    return entry_points()


@cache
def _group(group: str) -> dict[str, Any]:
    return {ep.name: ep for ep in _installed().select(group=group)}


def names(group: str) -> list[str]:
    return sorted(_group(group))


@cache
def plugin(group: str, name: str) -> type:
    """The plugin class registered under ``name``; ``KeyError`` when there is none."""
    return _group(group)[name].load()


def plugin_classes(group: str) -> list[type]:
    """Every distinct plugin class of a group (one class may serve several names)."""
    seen: dict[int, type] = {}
    for name in names(group):
        cls = plugin(group, name)
        seen.setdefault(id(cls), cls)
    return list(seen.values())
