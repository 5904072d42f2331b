"""A project's ``.env`` file: environment variables for local runs, never committed.

``KEY=VALUE`` lines (``export KEY=VALUE`` too; ``#`` starts a comment; a value may be
quoted). Variables already set in the environment win, so a shell or CI can override the
file. The CLI reads it before any command, so ``DAGWRIGHT_CONN_<NAME>`` URLs can live
there instead of in a shell profile; their secrets are masked like any others.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from dagwright.errors import ConfigError

_LINE = re.compile(r"^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$")
LOADED: set[str] = set()
"""The variables this process took from a ``.env`` file (``dagwright connections`` says so)."""


def load_dotenv(project: str | Path) -> list[str]:
    """Set the variables of ``project/.env`` that the environment lacks; their names."""
    path = Path(project) / ".env"
    if not path.is_file():
        return []
    loaded = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _LINE.match(line)
        if match is None:
            raise ConfigError(
                f"{path}:{number}:1: not a KEY=VALUE line; hint: quote values holding "
                "spaces, and start comments with #"
            )
        key, value = match.groups()
        value = _unquote(value)
        if key not in os.environ:
            os.environ[key] = value
            loaded.append(key)
    LOADED.update(loaded)
    return loaded


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return re.sub(r"\s+#.*$", "", value)
