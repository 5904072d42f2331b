"""Regenerate ``mysql.json``: the functions a real MariaDB server has.

MariaDB has no catalog of its built-in functions (``pg_proc``'s like): its help tables
(``mysql.help_topic``, filled by ``mariadb-install-db``) name them, but as documentation
topics from a later knowledge base than the server (they list 11.x functions too). So every
name the help tables, PostgreSQL's catalog (``postgres.json``) and DuckDB's
(``duckdb_functions()``) know is called on the server, with a few argument lists: a name is
a function when some call runs, or fails for another reason than "does not exist" (1305,
1630) or a syntax error (1064; a function parsed as grammar, as COUNT, takes some list).

Run from the repository root (it starts the tests' throwaway MariaDB server)::

    .venv/bin/python -m dagwright.sql.catalogs.mysql_catalog
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_ARGUMENTS = (
    *("", "1", "1, 1", "1, 1, 1", "1, 1, 1, 1", "'a'", "'a', 'a'", "'a', 'a', 'a'"),
    # the functions MariaDB parses as grammar: DATE_ADD, TIMESTAMPDIFF, CAST, EXTRACT...
    *("'a', 1, 1, 'a'", "'2020-01-01', INTERVAL 1 DAY", "DAY, '2020-01-01', '2020-01-02'"),
    *("1 AS CHAR", "1, CHAR", "DAY FROM '2020-01-01'", "'a' IN 'a'", "'a' FROM 'a'"),
)
_ABSENT = {1064, 1305, 1630}


def candidates(help_topics: list[str]) -> set[str]:
    """Upper-cased names that may be functions: help topics, PostgreSQL's and DuckDB's."""
    import duckdb

    names = {t.replace("\\", "").removesuffix(" Function").strip() for t in help_topics}
    names |= set(json.loads((HERE / "postgres.json").read_text(encoding="utf-8"))["functions"])
    con = duckdb.connect()
    try:
        names |= {r[0] for r in con.sql("SELECT function_name FROM duckdb_functions()").fetchall()}
    finally:
        con.close()
    return {n.upper() for n in names if _NAME.match(n)}


def exists(cursor: Any, name: str) -> bool:
    import pymysql

    for arguments in _ARGUMENTS:
        for over in ("", " OVER ()"):
            try:
                cursor.execute(f"SELECT {name}({arguments}){over}")
                cursor.fetchall()
                return True
            except pymysql.err.MySQLError as exc:
                if exc.args[0] not in _ABSENT:
                    return True
    return False


def main() -> None:
    from tests.support.mariadb import mariadb_server

    with mariadb_server() as server:
        con = server.connect()
        with con.cursor() as cur:
            cur.execute("SET SESSION max_statement_time = 2")
            cur.execute("SELECT VERSION()")
            version = cur.fetchone()[0]
            cur.execute("SELECT name FROM mysql.help_topic")
            topics = [r[0] for r in cur.fetchall()]
            names = sorted(n for n in candidates(topics) if exists(cur, n))
        con.close()
    document = {
        "source": (
            f"MariaDB {version}: each name of mysql.help_topic, postgres.json and DuckDB's "
            "duckdb_functions() that the server calls as a function "
            "(dagwright/sql/catalogs/mysql_catalog.py)"
        ),
        "functions": names,
    }
    text = json.dumps(document, indent=0, ensure_ascii=False)
    (HERE / "mysql.json").write_text(text + "\n", encoding="utf-8")
    print(f"{len(names)} functions")


if __name__ == "__main__":
    main()
