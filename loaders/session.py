"""A session on a SQL warehouse: the one thing SQL loaders and their state store share."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlglot.expressions as exp


class Session:
    """One open connection: ``execute`` runs a statement and returns its rows."""

    dialect: str

    def __init__(self) -> None:
        self.executed: list[str] = []

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple]:
        raise NotImplementedError

    def scalar(self, sql: str, params: Sequence[Any] | None = None) -> Any:
        rows = self.execute(sql, params)
        return rows[0][0] if rows else None

    def run(self, statement: exp.Expression | str, params: Sequence[Any] | None = None) -> Any:
        """Execute and remember a statement of the load (shown in the run report)."""
        sql = statement if isinstance(statement, str) else self.sql(statement, bool(params))
        self.executed.append(sql)
        return self.execute(sql, params)

    def sql(self, statement: exp.Expression, with_params: bool = False) -> str:
        return statement.sql(dialect=self.dialect)
