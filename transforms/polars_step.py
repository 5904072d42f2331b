"""Polars steps: ``module:function`` takes the inputs as LazyFrames, returns a LazyFrame."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dagwright.errors import StageError
from dagwright.security import check_reference
from dagwright.staging import local_path, open_output

if TYPE_CHECKING:
    import polars as pl

    from dagwright.context import RunContext
    from dagwright.spec.sections import Transform
    from dagwright.staging import StagedTable


def use_project(project_root: Path) -> None:
    """Make the project's own modules importable: its root, and its ``transforms/`` folder."""
    import transforms

    root = str(project_root)
    if root not in sys.path:
        sys.path.append(root)
    own = project_root / "transforms"
    if own.is_dir() and str(own) not in list(transforms.__path__):
        transforms.__path__.append(str(own))


def resolve(name: str, reference: str, project_root: Path | None = None) -> Callable[..., Any]:
    """Import ``module:function``, with an error naming the step when it cannot."""
    module_name, _, attr = reference.partition(":")
    if project_root is not None:
        use_project(project_root)
        check_reference(reference, project_root)
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # noqa: BLE001 - any import failure is the user's to fix
        raise StageError(
            f"transform_{name}", f"cannot import {module_name!r} for {reference!r}: {exc}"
        ) from None
    func = getattr(module, attr, None)
    if not callable(func):
        raise StageError(
            f"transform_{name}", f"{module_name!r} has no function {attr!r} ({reference!r})"
        )
    return func


def run_polars(
    name: str, step: Transform, inputs: dict[str, StagedTable], out: str, ctx: RunContext
) -> None:
    import polars as pl

    assert step.polars is not None
    func = resolve(name, step.polars, ctx.project_root)
    frames = {k: pl.scan_parquet(local_path(v.uri)) for k, v in inputs.items()}
    result = lazy(name, step.polars, call(name, step.polars, func, frames))
    try:
        result.sink_parquet(open_output(out))
    except Exception as exc:  # noqa: BLE001 - the user's query failed; name the step
        raise StageError(
            f"transform_{name}", f"{step.polars}: {type(exc).__name__}: {exc}"
        ) from None


def lazy(name: str, reference: str, result: Any) -> pl.LazyFrame:
    """A step's result as a LazyFrame (a DataFrame is made lazy); anything else names the step."""
    import polars as pl

    if isinstance(result, pl.DataFrame):
        return result.lazy()
    if not isinstance(result, pl.LazyFrame):
        raise StageError(
            f"transform_{name}",
            f"{reference} returned {type(result).__name__}, expected a polars LazyFrame",
        )
    return result


def call(name: str, reference: str, func: Callable[..., Any], frames: dict[str, Any]) -> Any:
    """Call ``func`` with the inputs by name; a signature that does not fit names the step."""
    import inspect

    try:
        inspect.signature(func).bind(**frames)
    except TypeError as exc:
        raise StageError(
            f"transform_{name}",
            f"{reference} cannot take the inputs {sorted(frames)}: {exc} "
            "(its parameters must be named like the inputs)",
        ) from None
    except ValueError:
        pass
    try:
        return func(**frames)
    except Exception as exc:  # noqa: BLE001 - the user's function failed; name the step
        raise StageError(
            f"transform_{name}", f"{reference} raised {type(exc).__name__}: {exc}"
        ) from exc
