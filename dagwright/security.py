"""Confinement: code references resolve inside the project, files inside their roots.

Both limits are set by whoever deploys dagwright, not by spec authors (a spec cannot
widen them), through environment variables:

- ``DAGWRIGHT_ALLOW_MODULES``: comma-separated module prefixes that ``module:function``
  references may name besides the project's own packages (default: ``transforms``);
- ``DAGWRIGHT_FILE_ROOTS``: folders (``os.pathsep``-separated, relative to the project)
  that file sources may read; unset means no limit.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from dagwright.errors import ConfigError

ALLOW_MODULES_VAR = "DAGWRIGHT_ALLOW_MODULES"
FILE_ROOTS_VAR = "DAGWRIGHT_FILE_ROOTS"
DEFAULT_ALLOWED = ("transforms",)
_DOTTED = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")
_FUNCTION = re.compile(r"^[A-Za-z]\w*$")


def allowed_modules() -> tuple[str, ...]:
    raw = os.environ.get(ALLOW_MODULES_VAR)
    if raw is None:
        return DEFAULT_ALLOWED
    return tuple(m.strip() for m in raw.split(",") if m.strip())


def file_roots() -> list[str]:
    raw = os.environ.get(FILE_ROOTS_VAR, "")
    return [r for r in raw.split(os.pathsep) if r.strip()]


def resolve_reference(
    reference: str, project_root: Path, allow: Sequence[str] | None = None
) -> Callable[..., Any]:
    """Import ``module:function`` only if the module is the project's own or allow-listed.

    The module's location is checked before anything is imported, so a reference to
    ``os:system`` or to a package elsewhere on the path runs no code at all.
    """
    check_reference(reference, project_root, allow)
    module_name, _, attr = reference.partition(":")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # noqa: BLE001 - any import failure is the author's to fix
        raise ConfigError(f"cannot import {module_name!r} for {reference!r}: {exc}") from None
    func = getattr(module, attr, None)
    if not callable(func):
        raise ConfigError(f"{module_name!r} has no function {attr!r} ({reference!r})")
    return func


def check_reference(reference: str, project_root: Path, allow: Sequence[str] | None = None) -> None:
    """``ConfigError`` unless ``module:function`` names a project or allow-listed module."""
    allow = allowed_modules() if allow is None else tuple(allow)
    module_name, sep, attr = reference.partition(":")
    if not sep or not _DOTTED.match(module_name) or not _FUNCTION.match(attr):
        raise ConfigError(
            f"{reference!r} is not a 'module:function' reference "
            "(e.g. transforms.shop:daily_revenue; no private or dunder names)"
        )
    if not _allow_listed(module_name, allow):
        where = _location(module_name.split(".")[0])
        if where is None or not _inside(where, [project_root]):
            found = f"found at {where}" if where else "not found"
            raise ConfigError(
                f"{reference!r} is outside the project: module {module_name!r} is {found}; "
                f"references resolve inside {project_root} or under an allowed prefix "
                f"({', '.join(allow) or 'none'}; set {ALLOW_MODULES_VAR} to add one)"
            )


def _allow_listed(module: str, allow: Iterable[str]) -> bool:
    return any(module == prefix or module.startswith(prefix + ".") for prefix in allow)


def _location(top_level: str) -> Path | None:
    """Where a top-level module or package lives, found without importing it."""
    try:
        spec = importlib.util.find_spec(top_level)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    if spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    if spec.origin and spec.origin not in ("built-in", "frozen"):
        return Path(spec.origin)
    return Path(f"<{spec.origin or 'built-in'}>")


def confine_path(path: str | Path, roots: Sequence[str | Path], project_root: Path) -> Path:
    """``path`` resolved (symlinks, ``..``), or ``ConfigError`` when it leaves every root.

    Relative paths and roots are taken from the project root. No roots: no limit.
    """
    full = Path(path) if Path(path).is_absolute() else project_root / path
    resolved = full.resolve()
    if not roots:
        return resolved
    if not _inside(resolved, [_root(r, project_root) for r in roots]):
        shown = ", ".join(str(r) for r in roots)
        raise ConfigError(
            f"file {str(path)!r} resolves to {resolved}, outside the allowed file roots "
            f"({shown}); ask whoever runs dagwright to add its folder to {FILE_ROOTS_VAR}"
        )
    return resolved


def confine_files(
    files: Iterable[str | Path], project_root: Path, roots: Sequence[str | Path] | None = None
) -> list[str]:
    """Every file checked against ``roots`` (default: ``DAGWRIGHT_FILE_ROOTS``)."""
    roots = file_roots() if roots is None else roots
    files = [str(f) for f in files]
    for path in files if roots else []:
        confine_path(path, roots, project_root)
    return files


def _root(root: str | Path, project_root: Path) -> Path:
    root = Path(root).expanduser()
    return (root if root.is_absolute() else project_root / root).resolve()


def _inside(path: Path, roots: Iterable[Path]) -> bool:
    resolved = path.resolve() if path.is_absolute() else path
    return any(resolved == r.resolve() or resolved.is_relative_to(r.resolve()) for r in roots)
