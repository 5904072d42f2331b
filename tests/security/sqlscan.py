"""Find SQL built by string formatting: f-strings, ``%``, ``+`` and ``.format`` that make SQL.

A formatted string is SQL when its literal text starts like a statement (SELECT, INSERT,
...) or when it is passed straight to a method that runs SQL (``execute``, ``sql``, ...).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

SQL_START = re.compile(
    r"^\s*(SELECT|INSERT|UPDATE|DELETE|CREATE|DROP|ALTER|TRUNCATE|MERGE|COPY|WITH|GRANT|"
    r"SET|ATTACH|DETACH|PRAGMA|CALL|BEGIN|COMMIT|ROLLBACK|VACUUM|ANALYZE)\b",
    re.IGNORECASE,
)
SQL_WORDS = re.compile(
    r"\b(SELECT\b.*\bFROM|INSERT\s+INTO|DELETE\s+FROM|UPDATE\b.*\bSET|CREATE\s+(OR\s+REPLACE\s+)?"
    r"(TEMP\s+|TEMPORARY\s+)?(TABLE|VIEW|SCHEMA|INDEX)|DROP\s+(TABLE|VIEW|SCHEMA)|ALTER\s+TABLE|"
    r"WHERE\b.*[=<>]|COPY\b.*\bFROM)",
    re.IGNORECASE | re.DOTALL,
)
RUNS_SQL = {"execute", "executemany", "sql", "query", "raw_sql", "read_sql", "cursor_execute"}


@dataclass(frozen=True)
class Finding:
    file: str
    line: int
    code: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.code}"


def _literal_text(node: ast.AST, names: dict[str, str] | None = None) -> str:
    """The constant parts of a string expression, joined (placeholders as spaces).

    ``names`` maps module-level names to their string constants (``QUERY.format(...)``).
    """
    names = names or {}
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name):
        return names.get(node.id, "")
    if isinstance(node, ast.JoinedStr):
        return "".join(
            v.value if isinstance(v, ast.Constant) and isinstance(v.value, str) else " "
            for v in node.values
        )
    if isinstance(node, ast.BinOp):
        return _literal_text(node.left, names) + " " + _literal_text(node.right, names)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        return _literal_text(node.func.value, names)
    return ""


def _is_formatting(node: ast.AST, names: dict[str, str]) -> bool:
    if isinstance(node, ast.JoinedStr):
        return any(isinstance(v, ast.FormattedValue) for v in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mod, ast.Add)):
        return bool(_literal_text(node, names).strip())
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "format"
        and bool(_literal_text(node.func.value, names).strip())
    )


def _looks_like_sql(text: str) -> bool:
    return bool(SQL_START.match(text) and SQL_WORDS.search(text))


def scan_source(source: str, filename: str) -> list[Finding]:
    tree = ast.parse(source, filename)
    lines = source.splitlines()
    names = {
        target.id: node.value.value
        for node in tree.body
        if isinstance(node, ast.Assign)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    found: dict[int, Finding] = {}
    for node in ast.walk(tree):
        suspicious = None
        if _is_formatting(node, names) and _looks_like_sql(_literal_text(node, names)):
            suspicious = node
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in RUNS_SQL
            and node.args
            and _is_formatting(node.args[0], names)
        ):
            suspicious = node.args[0]
        if suspicious is not None:
            line = suspicious.lineno
            found.setdefault(line, Finding(filename, line, lines[line - 1].strip()))
    return sorted(found.values(), key=lambda f: f.line)


def scan(paths: list[Path], root: Path) -> list[Finding]:
    findings: list[Finding] = []
    for folder in paths:
        for path in sorted(folder.rglob("*.py")):
            rel = str(path.relative_to(root))
            findings += scan_source(path.read_text(encoding="utf-8"), rel)
    return findings
