"""The ``dagwright`` command. Each subcommand lives in ``dagwright/commands/<name>.py``.

Only argparse runs at start-up: a command imports what it needs when it runs, so
``dagwright --help`` loads no Airflow, Great Expectations or database driver.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from dagwright import __version__


def command_names() -> list[str]:
    """Every module in ``dagwright/commands`` is a command; adding one touches nothing else."""
    import pkgutil

    from dagwright import commands

    return sorted(
        m.name for m in pkgutil.iter_modules(commands.__path__) if not m.name.startswith("_")
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dagwright",
        description="Declarative ETL pipelines: YAML specs in dags/ run locally or on Airflow 3.",
    )
    parser.add_argument("--version", action="version", version=f"dagwright {__version__}")
    parser.add_argument(
        "--project",
        "-C",
        default=".",
        metavar="DIR",
        help="project folder holding dags/ (default: the current folder)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in command_names():
        module = importlib.import_module(f"dagwright.commands.{name}")
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    from dagwright.errors import DagwrightError, SpecError
    from dagwright.secrets import install_log_filter, mask, register_environment

    try:
        from dagwright.dotenv import load_dotenv

        load_dotenv(args.project)
        register_environment()
        install_log_filter()
        return int(args.handler(args) or 0)
    except SpecError as exc:
        for problem in exc.problems:
            print(mask(str(problem)), file=sys.stderr)
        return 1
    except DagwrightError as exc:
        print(f"error: {mask(str(exc))}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader (e.g. `| head`) went away: stop quietly, as Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except Exception as exc:  # noqa: BLE001 - the last line of defence against tracebacks
        if os.environ.get("DAGWRIGHT_DEBUG"):
            raise
        print(
            f"internal error: {type(exc).__name__}: {mask(str(exc))}\n"
            "(this is a dagwright bug; set DAGWRIGHT_DEBUG=1 for the traceback)",
            file=sys.stderr,
        )
        return 2


if __name__ == "__main__":
    sys.exit(main())
