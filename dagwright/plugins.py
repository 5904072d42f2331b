"""Extractors and loaders found by name through Python entry points.

``[project.entry-points."dagwright.extractors"]`` maps a name (the spec's
``extractor:`` value) to ``module:Class``. Adding a plugin never touches the core.
"""

from __future__ import annotations

from functools import cache
from importlib.metadata import entry_points
from importlib.util import find_spec
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


def missing_extra(cls: type, config: Any) -> tuple[str, list[str]] | None:
    """The pip extra a plugin needs for ``config`` when it is not installed, with the
    modules missing; ``None`` when one of the plugin's ways to work is installed.

    A plugin says what it needs with ``needs(config)``: the extra's name, and the sets of
    modules of which any one will do (a PostgreSQL source reads through ADBC, or through
    SQLAlchemy with psycopg). Only looked up, never imported: validation stays cheap.
    """
    needs = getattr(cls, "needs", None)
    if needs is None:
        return None
    extra, ways = needs(config)
    if not ways or any(all(_present(m) for m in way) for way in ways):
        return None
    return extra, sorted({m for way in ways for m in way if not _present(m)})


def _present(module: str) -> bool:
    try:
        return find_spec(module) is not None
    except (ImportError, ValueError):
        return False
