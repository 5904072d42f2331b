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
            "what the project's Makefile installs: a dagwright wheel or checkout (copied or "
            "built into the project's vendor/), or a requirement such as 'dagwright==0.1.0' "
            f"(default: ${SOURCE_ENV}, else this dagwright)"
        ),
    )
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    folder = Path(args.project) / args.folder
    source = args.dagwright_source or os.environ.get(SOURCE_ENV)
    written = create_project(folder, source)
    requirement = _requirement_in(folder)
    print(f"created {folder} ({len(written)} files), installing dagwright from: {requirement}")
    print(f"next: cd {folder} && make demo")
    return 0


def dagwright_requirement(source: str | None, folder: Path) -> str:
    """What the new project's Makefile installs, with the checks extra.

    A wheel, or a dagwright checkout (built into a wheel), is copied into the project's
    ``vendor/`` and named by a path relative to the project: a colleague who clones the
    project installs the same dagwright, with no path of the author's machine in it. A
    requirement (``dagwright==0.1.0``, a URL) is used as it is. By default: this dagwright,
    vendored when it was installed from a local checkout, else its released version.
    """
    from dagwright import __version__

    if not source:
        source = _installed_from() or f"dagwright=={__version__}"
    path = Path(source.removeprefix("file://")).expanduser()
    if path.is_dir() or (path.is_file() and path.suffix == ".whl"):
        return f"./vendor/{_vendor(path, folder / 'vendor').name}[checks]"
    if source.startswith("dagwright") and "[" not in source:
        return "dagwright[checks]" + source[len("dagwright") :]
    return source


def _vendor(path: Path, vendor: Path) -> Path:
    """``path``'s wheel in ``vendor/``: copied, or built from a checkout (``pip wheel``)."""
    import shutil
    import subprocess
    import sys

    from dagwright.errors import ConfigError

    vendor.mkdir(parents=True, exist_ok=True)
    if path.is_file():
        return Path(shutil.copy(path, vendor))
    if not (path / "pyproject.toml").is_file():
        raise ConfigError(f"--dagwright-source {path}: no pyproject.toml in that folder")
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--quiet",
            "-w",
            str(vendor),
            str(path),
        ],
        capture_output=True,
        text=True,
    )
    wheels = sorted(vendor.glob("dagwright-*.whl"))
    if built.returncode != 0 or not wheels:
        raise ConfigError(
            f"could not build a dagwright wheel from {path}: {built.stderr.strip()[-500:]}"
        )
    return wheels[-1]


def _requirement_in(folder: Path) -> str:
    for line in (folder / "Makefile").read_text(encoding="utf-8").splitlines():
        if line.startswith("DAGWRIGHT ?= "):
            return line.removeprefix("DAGWRIGHT ?= ")
    return "?"


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


def create_project(folder: Path, source: str | None = None) -> list[Path]:
    from dagwright.commands import _scaffold as t
    from dagwright.commands.schema import render_schema
    from dagwright.errors import DagwrightError
    from dagwright.sample_data import ShopSize, generate

    size = ShopSize(customers=200, products=40, orders=t.DEMO_ORDERS, days=14)

    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise DagwrightError(f"{folder} exists and is not empty: choose a new folder")
    name = folder.resolve().name
    requirement = dagwright_requirement(source, folder)
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
