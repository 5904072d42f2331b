"""``dagwright init DIR``: a new project whose ``make demo`` and ``make test`` work at once."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

SOURCE_ENV = "DAGWRIGHT_SOURCE"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("init", help="create a new project with an example pipeline")
    p.add_argument("folder", metavar="DIR", help="the new project's folder (new or empty)")
    p.add_argument(
        "--dagwright-source",
        metavar="SRC",
        help=(
            "what the project's Makefile installs: a path to a dagwright checkout, or a "
            f"requirement such as 'dagwright==0.1.0' (default: ${SOURCE_ENV}, else where this "
            "dagwright was installed from)"
        ),
    )
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    folder = Path(args.project) / args.folder
    requirement = dagwright_requirement(args.dagwright_source or os.environ.get(SOURCE_ENV))
    written = create_project(folder, requirement)
    print(f"created {folder} ({len(written)} files), installing dagwright from: {requirement}")
    print(f"next: cd {folder} && make demo")
    return 0


def dagwright_requirement(source: str | None) -> str:
    """The pip requirement of dagwright for the new project, with the checks extra."""
    from dagwright import __version__

    if not source:
        source = _installed_from() or f"dagwright=={__version__}"
    path = Path(source).expanduser()
    if path.is_dir():
        if not (path / "pyproject.toml").is_file():
            from dagwright.errors import ConfigError

            raise ConfigError(f"--dagwright-source {source}: no pyproject.toml in that folder")
        return f"dagwright[checks] @ {path.resolve().as_uri()}"
    if source.startswith("file://"):
        return f"dagwright[checks] @ {source}"
    if source.startswith("dagwright") and "[" not in source:
        return "dagwright[checks]" + source[len("dagwright") :]
    return source


def _installed_from() -> str | None:
    """The local folder this dagwright was installed from (pip's direct_url.json), if any.

    A source checkout also holds a ``dagwright.egg-info`` without it, so every copy of
    the metadata is looked at.
    """
    import json
    from importlib.metadata import distributions

    for dist in distributions(name="dagwright"):
        text = dist.read_text("direct_url.json")
        if text:
            url = json.loads(text).get("url", "")
            return url if url.startswith("file://") else None
    return None


def create_project(folder: Path, requirement: str) -> list[Path]:
    from dagwright.commands import _scaffold as t
    from dagwright.commands.schema import render_schema
    from dagwright.errors import DagwrightError
    from dagwright.sample_data import ShopSize, generate

    size = ShopSize(customers=200, products=40, orders=t.DEMO_ORDERS, days=14)

    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise DagwrightError(f"{folder} exists and is not empty: choose a new folder")
    name = folder.resolve().name
    files = {
        f"dags/{t.PIPELINE}.yaml": t.SPEC,
        "dags/dagwright_dags.py": t.AIRFLOW_DAGS,
        "transforms/sales.py": t.TRANSFORM,
        "expectations/orders_raw.yaml": t.SUITE,
        "tests/test_transforms.py": t.TEST,
        "extractors/README.md": t.PLUGIN_README.format(folder="extractors", kind="extractor"),
        "loaders/README.md": t.PLUGIN_README.format(folder="loaders", kind="loader"),
        "Makefile": t.MAKEFILE.format(
            requirement=requirement,
            pytest=_pytest_version(),
            pipeline=t.PIPELINE,
            start=t.DEMO_START,
            end=t.DEMO_END,
            orders=t.DEMO_ORDERS,
        ),
        "README.md": t.README.format(
            name=name,
            requirement=requirement,
            pipeline=t.PIPELINE,
            start=t.DEMO_START,
            end=t.DEMO_END,
        ),
        "pyproject.toml": t.PYPROJECT,
        ".gitignore": t.GITIGNORE,
        ".vscode/settings.json": t.VSCODE,
        "dagwright.schema.json": render_schema(),
    }
    written = []
    for relative, text in files.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    counts = generate(folder / "data" / "shop", size)
    written += [folder / "data" / "shop" / f"{table}.csv" for table in counts]
    return written


def _pytest_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("pytest")
    except PackageNotFoundError:
        return "9.2.0"
