"""Files: CSV, TSV, Parquet, JSON and NDJSON, from a path, a folder or a glob.

DuckDB reads the files (in parallel, streaming) and writes the staged Parquet itself,
so a file source never holds the whole input in Python memory. Paths are local, or
fsspec URLs (``memory://``, ``s3://``, ...), whose filesystem is handed to DuckDB.

CSV is read strictly: the delimiter and quote are fixed (not sniffed), and a row whose
field count differs from the header, or a value that does not convert to its column's
type, is reported with its file, line and column, never silently skipped or shifted.
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from dagwright.errors import DataError
from dagwright.security import confine_files
from dagwright.state import RejectedRow
from extractors.base import Extractor, ExtractResult, SourceConfig

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

    from dagwright.state import FileIdentity

Format = Literal["csv", "tsv", "parquet", "json", "ndjson"]
_EXTENSIONS: dict[str, Format] = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".json": "json",
    ".ndjson": "ndjson",
    ".jsonl": "ndjson",
}
_COMPRESSED = (".gz", ".bz2", ".xz", ".lzma", ".zip", ".zst", ".zstd", ".lz4", ".snappy", ".sz")
"""Endings fsspec's ``compression="infer"`` decompresses; other local files open directly."""
_SQL_OPTIONS = {
    "header": "header",
    "sep": "delim",
    "quotechar": "quote",
    "dtype": "types",
    "na_values": "nullstr",
    "date_format": "dateformat",
    "timestamp_format": "timestampformat",
    "union_by_name": "union_by_name",
}
"""``_csv_options`` keys (the Python API's names) as ``read_csv``'s SQL parameters."""
_LINE = re.compile(r"CSV Error on Line: (\d+)")
_ORIGINAL = re.compile(r"Original Line: (.*)")
_COLUMN = re.compile(r'converting column "(.+?)"')
_CONVERT = re.compile(r"""Could not convert string "(.*?)" to '(.+?)'""")
_FILE = re.compile(r"^\s*file = (.+)$", re.MULTILINE)
_SNIFF_FILE = re.compile(r'(?:sniffing|in) file "(.+?)"')
_JSON_AT = re.compile(r'Malformed JSON in file "(.+?)", at byte (\d+) in line (\d+): (.*)')
_MAX_LINE = re.compile(r"Maximum line size of (\d+) bytes")
MAX_LINE_SIZE = 2_000_000
"""DuckDB's default ``max_line_size``: a CSV record longer than this (in bytes) fails."""
Fault = tuple[str, int, int, str]
_HASH_CHUNK = 1 << 20
"""A CSV fault found by re-scanning a file: kind, 1-based line, 0-based field, detail."""
LISTED = 100
"""Bad lines a ``bad_rows: fail`` error lists (then "and N more")."""
RAW_CHARS = 10_000
"""A rejected line's raw text is kept up to this many characters."""
_EXPECTED = re.compile(r"Expected Number of Columns: (\d+) Found: (\d+)")
_CAST = re.compile(r"""Could not convert string "(.*?)" to '(.+?)'""")


class FileSourceConfig(SourceConfig):
    """Read files matched by a path, folder or glob (local, or an fsspec URL)."""

    extractor: Literal["files", "csv", "tsv", "parquet", "json", "ndjson"]
    path: str = Field(
        description="A file, a folder, or a glob such as data/orders/*.csv; or an fsspec URL."
    )
    format: Format | None = Field(
        default=None, description="File format; by default from the extractor name or extension."
    )
    delimiter: str | None = Field(
        default=None, description="CSV field delimiter (default ',' for csv, tab for tsv)."
    )
    quote: str = Field(default='"', description="CSV quote character.")
    header: bool = Field(default=True, description="CSV files start with a header row.")
    columns: dict[str, str] | None = Field(
        default=None,
        description="Column types as SQL type names, e.g. {amount: DECIMAL(12,2)}.",
    )
    null_values: list[str] | None = Field(default=None, description="Strings read as null.")
    date_format: str | None = Field(default=None, description="strptime format of DATE columns.")
    timestamp_format: str | None = Field(
        default=None, description="strptime format of TIMESTAMP columns."
    )
    union_by_name: bool = Field(
        default=False, description="Files with different columns: match columns by name."
    )
    bad_rows: Literal["fail", "reject"] = Field(
        default="fail",
        description=(
            "CSV lines that cannot be read (a wrong number of fields, a value that does not "
            "convert to its column's type, invalid UTF-8, an unclosed quote, an over-long "
            "line): fail, the extract fails naming every bad line (file, line, column, "
            "reason); reject, the good rows load and each bad line is set aside with its "
            "file, line, column, reason and raw text, listed by `dagwright quarantine`."
        ),
    )


class FileExtractor(Extractor[FileSourceConfig]):
    config_model = FileSourceConfig
    takes_files = True
    _rejected: list[RejectedRow] | None = None
    _rejects: tuple[str, str] | None = None
    """The reject tables of the last ``bad_rows: reject`` relation made."""

    @property
    def file_format(self) -> Format:
        cfg = self.config
        if cfg.format:
            return cfg.format
        if cfg.extractor != "files":
            return cfg.extractor
        ext = os.path.splitext(cfg.path.rstrip("*"))[1].lower()
        return _EXTENSIONS.get(ext, "csv")

    @property
    def remote(self) -> bool:
        return "://" in self.config.path and not self.config.path.startswith("file://")

    def files(self) -> list[str]:
        """The files to read: those the run chose (``context.files``), else every match."""
        chosen = self.context.files.get(self.name)
        if chosen is None:
            return self.matching()
        if self.remote:
            return list(chosen)
        root = self.context.project_root
        return confine_files([p if os.path.isabs(p) else str(root / p) for p in chosen], root)

    def matching(self) -> list[str]:
        if self.remote:
            return self._remote_files()
        root = self.context.project_root
        pattern = self.config.path.removeprefix("file://")
        full = pattern if os.path.isabs(pattern) else str(root / pattern)
        if os.path.isdir(full):
            full = os.path.join(full, "**", "*")
        matches = sorted(p for p in glob.glob(full, recursive=True) if os.path.isfile(p))
        if not matches:
            raise DataError(
                f"source {self.name!r}: no file matches {self.config.path!r} "
                f"(looked in {root}); check the path or generate the data first"
            )
        return confine_files(matches, root)

    def _remote_files(self) -> list[str]:
        fs = self._filesystem()
        path = fs._strip_protocol(self.config.path)
        if fs.isdir(path):
            path = path.rstrip("/") + "/**"
        matches = sorted(p for p in fs.glob(path) if fs.isfile(p))
        if not matches:
            raise DataError(
                f"source {self.name!r}: no file matches {self.config.path!r}; check the URL"
            )
        return [fs.unstrip_protocol(p) for p in matches]

    def file_identities(self, paths: list[str] | None = None) -> list[FileIdentity]:
        from dagwright.state import FileIdentity

        fs = self._filesystem() if self.remote else None
        found = []
        for path in self.matching() if paths is None else paths:
            if fs is None:
                stat = os.stat(path)
                size, modified = stat.st_size, stat.st_mtime_ns // 1000
            else:
                info = fs.info(path)
                size, modified = int(info.get("size") or 0), _modified_us(info)
            digest = None if paths is None else _sha256(path, fs)
            found.append(FileIdentity(self._shown(path), size, modified, digest))
        return found

    def _shown(self, path: str) -> str:
        """A path as recorded: relative to the project root when it lies inside it."""
        if self.remote:
            return path
        root = str(self.context.project_root.resolve())
        full = os.path.realpath(path)
        return os.path.relpath(full, root) if full.startswith(root + os.sep) else full

    def _filesystem(self) -> Any:
        import fsspec

        protocol = self.config.path.split("://", 1)[0]
        try:
            return fsspec.filesystem(protocol)
        except (ImportError, ValueError) as exc:
            raise DataError(
                f"source {self.name!r}: cannot open {protocol}:// URLs ({exc}); install the "
                "fsspec implementation for it (e.g. s3fs, gcsfs)"
            ) from None

    def describe(self) -> str:
        return f"read {self.file_format} files {self.config.path!r}"

    def _csv_options(self) -> dict[str, Any]:
        cfg = self.config
        options: dict[str, Any] = {
            "header": cfg.header,
            "sep": cfg.delimiter or ("\t" if self.file_format == "tsv" else ","),
            "quotechar": cfg.quote,
        }
        if cfg.columns:
            options["dtype"] = cfg.columns
        if cfg.null_values:
            options["na_values"] = cfg.null_values
        if cfg.date_format:
            options["date_format"] = cfg.date_format
        if cfg.timestamp_format:
            options["timestamp_format"] = cfg.timestamp_format
        if cfg.union_by_name:
            options["union_by_name"] = True
        return options

    def _read_csv(
        self,
        con: duckdb.DuckDBPyConnection,
        files: list[str],
        rejects: tuple[str, str] | None = None,
        columns: dict[str, str] | None = None,
    ) -> duckdb.DuckDBPyRelation:
        """``read_csv`` as SQL: it binds (sniffs) in a third of the time of
        ``DuckDBPyConnection.read_csv`` with the same options (DuckDB 2.0).

        ``rejects``: (table, scan) names of DuckDB's reject tables, which then take the
        lines that cannot be read instead of failing; ``columns``: every column's type,
        read without sniffing."""
        options = self._csv_options()
        params: dict[str, Any] = {_SQL_OPTIONS[k]: v for k, v in options.items()}
        if columns is not None:
            params.pop("types", None)
            params |= {"auto_detect": False, "columns": columns}
        if rejects is not None:
            params |= {"store_rejects": True, "rejects_table": rejects[0]}
            params["rejects_scan"] = rejects[1]
        named = "".join(f", {name} := ${name}" for name in params)
        return con.sql(f"FROM read_csv($files{named})", params={"files": files, **params})

    def _rejecting(
        self, con: duckdb.DuckDBPyConnection, files: list[str], rejects: tuple[str, str]
    ) -> duckdb.DuckDBPyRelation:
        """``read_csv`` that sets bad lines aside in the ``rejects`` tables.

        DuckDB's sniffer gives up on a sample holding an unclosed quote or an over-long
        line (reject tables or not: "Error when sniffing", "Maximum line size"); the
        columns are then named from the header and typed from the lines that are clean
        (``_fallback_columns``), and read without sniffing.
        """
        import duckdb

        try:
            return self._read_csv(con, files, rejects)
        except duckdb.Error as exc:
            text = str(exc)
            if not ("sniffing" in text or _MAX_LINE.search(text)) or not self.config.header:
                raise
            if self.config.union_by_name:
                raise
            columns = self._fallback_columns(files[0])
            if not columns:
                raise
            return self._read_csv(con, files, rejects, columns)

    def _fallback_columns(self, path: str) -> dict[str, str] | None:
        """The header's columns, typed as declared, else as DuckDB types the file's first
        clean lines (valid UTF-8, no quote character, under 10,000 bytes)."""
        import csv
        import tempfile

        import duckdb
        import fsspec

        hints = self.config.columns or {}
        sniffed: dict[str, str] = {}
        quote = self.config.quote.encode()
        sep = self._csv_options()["sep"]
        try:
            with (
                fsspec.open(path, "rb", compression="infer").open() as handle,
                tempfile.TemporaryDirectory() as tmp,
            ):
                kept = [handle.readline()]
                first = kept[0].decode("utf-8", errors="replace")
                header = next(csv.reader([first], delimiter=sep, quotechar=self.config.quote))
                if not header or not all(header) or len(set(header)) != len(header):
                    return None
                for raw in handle:
                    if len(kept) > 2_000:
                        break
                    if quote in raw or len(raw) > 10_000 or not raw.strip():
                        continue
                    try:
                        raw.decode("utf-8")
                    except UnicodeDecodeError:
                        continue
                    kept.append(raw if raw.endswith(b"\n") else raw + b"\n")
                sample = f"{tmp}/sample.csv"
                with open(sample, "wb") as out:
                    out.writelines(kept)
                con = duckdb.connect()
                try:
                    rel = self._read_csv(con, [sample], (f"{_tag()}_r", f"{_tag()}_s"))
                    sniffed = dict(zip(rel.columns, map(str, rel.types), strict=True))
                finally:
                    con.close()
        except (OSError, csv.Error, StopIteration):
            return None
        except duckdb.Error:
            sniffed = {}
        return {name: hints.get(name) or sniffed.get(name) or "VARCHAR" for name in header}

    def rejected_rows(self) -> list[RejectedRow] | None:
        """The lines this read sets aside (``bad_rows: reject``); ``None``: it sets none
        aside (another format, or ``bad_rows: fail``). The core stores them."""
        if self.file_format not in ("csv", "tsv") or self.config.bad_rows != "reject":
            return None
        if self._rejected is None:
            self._rejected = self._scan_rejects(self.files())
        return self._rejected

    def _scan_rejects(self, files: list[str]) -> list[RejectedRow]:
        """Every line of ``files`` that DuckDB cannot read, read once with reject tables."""
        import duckdb

        con = duckdb.connect()
        try:
            if self.remote:
                con.register_filesystem(self._filesystem())
            rejects = (f"{_tag()}_rejects", f"{_tag()}_scan")
            rel = self._rejecting(con, files, rejects)
            rel.aggregate("count(columns(*))").fetchall()  # every column: casts included
            return self._collected(con, rejects)
        finally:
            con.close()

    def _collected(
        self, con: duckdb.DuckDBPyConnection, rejects: tuple[str, str]
    ) -> list[RejectedRow]:
        """The rows of DuckDB's reject tables, one ``RejectedRow`` per bad line."""
        from dagwright.sql.render import render

        query = render(
            "SELECT s.file_path, r.line, r.column_idx, r.column_name, r.error_type, "
            "r.csv_line, r.error_message FROM :r AS r JOIN :s AS s "
            "ON r.scan_id = s.scan_id AND r.file_id = s.file_id "
            "ORDER BY s.file_path, r.line, r.column_idx",
            "duckdb",
            r=rejects[0],
            s=rejects[1],
        )
        grouped: dict[tuple[str, int], list[tuple]] = {}
        for row in con.sql(query).fetchall():
            grouped.setdefault((row[0], int(row[1])), []).append(row)
        by_file: dict[str, set[int]] = {}
        for path, line in grouped:
            by_file.setdefault(path, set()).add(line)
        places = {path: self._physical_lines(path, lines) for path, lines in by_file.items()}
        found = []
        for (path, line), entries in grouped.items():
            physical, raw_bytes = places[path].get(line, (line, None))
            column, reason, raw = self._rejection(entries, raw_bytes)
            found.append(RejectedRow(self._show(path), physical, column, reason, raw))
        return sorted(found, key=lambda r: (r.file, r.line))

    def _rejection(
        self, entries: list[tuple], raw_bytes: bytes | None
    ) -> tuple[str | None, str, str]:
        """(column, reason, raw text) of one bad line from its reject table rows."""
        _path, _line, _idx, name, kind, csv_line, message = entries[0]
        text = (csv_line or "").lstrip("\r\n")
        raw = text.rstrip("\r\n")
        column = name
        limit = MAX_LINE_SIZE
        if kind == "CAST":
            cast = _CAST.search(message or "")
            hinted = {k.lower(): v for k, v in (self.config.columns or {}).items()}
            target = hinted.get((name or "").lower()) or (cast.group(2) if cast else "its type")
            value = f'"{cast.group(1)}"' if cast else "the value"
            reason = f"could not convert {value} to {target}"
        elif kind in ("MISSING COLUMNS", "TOO MANY COLUMNS"):
            counts = _EXPECTED.search(message or "")
            expected = int(counts.group(1)) if counts else None
            if kind == "MISSING COLUMNS":
                fields = min(int(e[2]) for e in entries)
                missing = ", ".join(str(e[3]) for e in entries if e[3])
                reason = f"the row has {fields} fields, the header {expected} (no {missing})"
            else:
                column = None
                fields = int(counts.group(2)) if counts else None
                reason = f"the row has {fields} fields, the header {expected}"
            reason += "; quote fields that contain the delimiter"
        elif kind == "UNQUOTED VALUE" and (
            "\n" in raw or "unterminated" in (message or "").lower()
        ):
            spanned = raw.count("\n")
            raw = raw.split("\n", 1)[0].rstrip("\r")
            inside = f"; the {spanned} line(s) after it were read inside it" if spanned else ""
            reason = (
                f"the quoted field opened on this line is never closed{inside}; close the "
                f"quote, and double any {self.config.quote} inside a quoted field"
            )
        elif kind == "INVALID ENCODING":
            reason = "invalid UTF-8; save the file as UTF-8 (e.g. iconv -f latin1 -t utf-8)"
        elif kind == "LINE SIZE OVER MAXIMUM":
            reason = f"the record is over DuckDB's maximum line size of {limit:,} bytes"
        else:
            reason = (message or kind or "unreadable").strip().splitlines()[0]
        if raw_bytes is not None and (kind == "INVALID ENCODING" or "\ufffd" in raw):
            raw = raw_bytes.rstrip(b"\r\n").decode("utf-8", errors="backslashreplace")
        return column, reason, raw[:RAW_CHARS]

    def _physical_lines(self, path: str, wanted: set[int]) -> dict[int, tuple[int, bytes]]:
        """DuckDB's line numbers -> (physical line, its bytes) in ``path``.

        DuckDB counts records and blank lines, not the line breaks inside quoted fields;
        an editor shows physical lines. A quote opens a field only at the field's start
        and closes it when not doubled (RFC 4180), as DuckDB's strict reader does.
        """
        import fsspec

        sep, quote = self._csv_options()["sep"].encode(), self.config.quote.encode()
        found: dict[int, tuple[int, bytes]] = {}
        logical = 0
        in_quote = False
        last = max(wanted)
        try:
            with fsspec.open(path, "rb", compression="infer").open() as handle:
                for number, raw in enumerate(handle, 1):
                    if not in_quote:
                        logical += 1
                        if logical in wanted:
                            found[logical] = (number, raw[: RAW_CHARS * 4])
                        if logical >= last:
                            break
                    if in_quote or quote in raw:
                        in_quote = _ends_in_quote(raw, sep, quote, in_quote)
        except OSError:
            return {}
        return found

    def _listed_faults(self, files: list[str]) -> DataError | None:
        """``bad_rows: fail``: every bad line of ``files`` in one error, when there are
        several (one keeps its located message, with its hint)."""
        import duckdb

        try:
            found = self._scan_rejects(files)
        except (duckdb.Error, DataError, OSError):
            return None
        if len(found) < 2:
            return None
        lines = [
            f"source {self.name!r}: {len(found):,} bad line(s) in its CSV files; nothing of "
            "this source was loaded:"
        ]
        lines += [f"  {r.file} {r.describe()}" for r in found[:LISTED]]
        if len(found) > LISTED:
            lines.append(f"  ... and {len(found) - LISTED:,} more")
        lines.append(
            "fix them, or set bad_rows: reject in the source to load the good rows and set "
            f"these aside (`dagwright quarantine {self.context.pipeline}` lists them)"
        )
        return DataError("\n".join(lines))

    def relation(self, con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyRelation:
        import duckdb

        files = self.files()
        if self.remote:
            con.register_filesystem(self._filesystem())
        fmt = self.file_format
        cfg = self.config
        try:
            if fmt in ("csv", "tsv"):
                if cfg.bad_rows == "reject":
                    self._rejects = (f"{_tag()}_rejects", f"{_tag()}_scan")
                    rel = self._rejecting(con, files, self._rejects)
                else:
                    rel = self._read_csv(con, files)
                if cfg.header:
                    self._check_header(files, rel.columns)
                if cfg.bad_rows == "reject":
                    # every column is read and cast whatever a reader projects (a SQL step
                    # selecting two columns), so the lines left out are those listed
                    rel = rel.filter("hash(COLUMNS(*)) IS NOT NULL")
                return rel
            if fmt == "parquet":
                rel = con.read_parquet(files, union_by_name=cfg.union_by_name)
            else:
                options: dict[str, Any] = {
                    "format": "newline_delimited" if fmt == "ndjson" else "auto"
                }
                if cfg.date_format:
                    options["date_format"] = cfg.date_format
                if cfg.timestamp_format:
                    options["timestamp_format"] = cfg.timestamp_format
                rel = con.read_json(files, **options)
        except duckdb.Error as exc:
            raise self._error(exc, files) from None
        return self._cast(rel)

    def _cast(self, rel: duckdb.DuckDBPyRelation) -> duckdb.DuckDBPyRelation:
        """Type hints for Parquet and JSON columns, applied as casts."""
        import duckdb

        hints = self.config.columns
        if not hints:
            return rel
        missing = sorted(set(hints) - set(rel.columns))
        if missing:
            raise DataError(
                f"source {self.name!r}: columns hints name {', '.join(map(repr, missing))}, "
                f"which the files do not have (they have {', '.join(rel.columns)})"
            )
        return rel.project(
            *[
                duckdb.ColumnExpression(c).cast(duckdb.sqltype(hints[c])).alias(c)
                if c in hints
                else duckdb.ColumnExpression(c)
                for c in rel.columns
            ]
        )

    def _check_header(self, files: list[str], read: list[str]) -> None:
        """DuckDB's sniffer can take a ragged row for the header: compare with the first line."""
        for path in files:
            header = self._first_record(path)
            if header is None:
                continue
            named = all(header) and len(set(header)) == len(header)
            if len(header) != len(read) or (named and header != read):
                ragged = self._ragged_row(path)
                if ragged:
                    raise (self._fails_all() and self._listed_faults(files)) or ragged
                if not self.config.union_by_name:
                    raise DataError(
                        f"source {self.name!r}: {self._show(path)} has columns "
                        f"{', '.join(header)}, but the files were read as {', '.join(read)}; "
                        "set union_by_name: true for files with different columns"
                    )

    def _open(self, path: str) -> Any:
        """A text handle on ``path``, local or remote, decompressing .gz/.bz2/... on the way."""
        if not self.remote and not path.lower().endswith(_COMPRESSED):
            return open(path, encoding="utf-8", newline="")  # noqa: SIM115 - the caller closes
        import fsspec

        return fsspec.open(path, "rt", compression="infer", encoding="utf-8", newline="").open()

    def _first_record(self, path: str) -> list[str] | None:
        """The header row as Python's csv module reads it; None when it cannot tell."""
        import csv

        try:
            with self._open(path) as handle:
                sep = self._csv_options()["sep"]
                return next(csv.reader(handle, delimiter=sep, quotechar=self.config.quote), None)
        except (OSError, ValueError, csv.Error):
            return None

    def _ragged_row(self, path: str) -> DataError | None:
        """The first row of ``path`` whose field count differs from the header's."""
        import csv

        sep = self._csv_options()["sep"]
        try:
            with self._open(path) as handle:
                reader = csv.reader(handle, delimiter=sep, quotechar=self.config.quote)
                header = next(reader, None)
                if header is None:
                    return None
                for row in reader:
                    if row and len(row) != len(header):
                        line = reader.line_num
                        if len(row) < len(header):
                            detail = (
                                f"column {header[len(row)]!r}: the row has {len(row)} fields, "
                                f"the header {len(header)}"
                            )
                        else:
                            detail = (
                                f"column {len(row)}: the row has {len(row)} fields, the header "
                                f"{len(header)} ({', '.join(header)})"
                            )
                        return DataError(
                            f"source {self.name!r}: {self._show(path)} line {line}, {detail}; "
                            f"row: {sep.join(row)[:200]!r}; fix the row (quote fields that "
                            "contain the delimiter)"
                        )
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            return DataError(f"source {self.name!r}: {self._show(path)}: {exc}")
        return None

    def _located_fault(self, path: str, limit: int | None) -> DataError | None:
        """Invalid UTF-8, an unterminated quote or an over-long line, at its line and column.

        DuckDB reports these without a usable place (a sniffing failure, the previous row, or
        line 1), so the file is scanned again, only after DuckDB has failed.
        """
        import csv

        import fsspec

        sep = self._csv_options()["sep"]
        try:
            with fsspec.open(path, "rb", compression="infer").open() as handle:
                fault = scan_csv(handle, sep, self.config.quote, limit or MAX_LINE_SIZE)
                handle.seek(0)
                first = handle.readline(65_536).decode("utf-8", errors="replace")
        except OSError:
            return None
        if fault is None:
            return None
        kind, line, field, detail = fault
        header = None
        if self.config.header:
            header = next(csv.reader([first], delimiter=sep, quotechar=self.config.quote), None)
        name = header[field] if header and field < len(header) and header[field] else None
        column = repr(name) if name else str(field + 1)
        hints = {
            "utf8": "save the file as UTF-8 (e.g. iconv -f latin1 -t utf-8)",
            "quote": f"close the quote, and double any {self.config.quote} inside a quoted field",
            "size": "shorten the field, or split the file's long values into several rows",
        }
        return DataError(
            f"source {self.name!r}: {self._show(path)} line {line}, column {column}: "
            f"{detail}; {hints[kind]}"
        )

    def _fails_all(self) -> bool:
        """Whether a read error lists every bad line (``bad_rows: fail``)."""
        return self.config.bad_rows == "fail"

    def _show(self, path: str) -> str:
        root = str(self.context.project_root)
        return os.path.relpath(path, root) if path.startswith(root + os.sep) else path

    def _error(self, exc: Exception, files: list[str]) -> DataError:
        """A DuckDB read error as one line naming the file, line and column."""
        text = str(exc)
        first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
        line = _LINE.search(text)
        named = _FILE.search(text) or _SNIFF_FILE.search(text)
        path = named.group(1).strip() if named else None
        csv_like = self.file_format in ("csv", "tsv")
        listed = self._listed_faults(files) if csv_like and self._fails_all() else None
        if listed is not None:
            return listed
        if csv_like and not _CONVERT.search(text):
            limit = _MAX_LINE.search(text)
            for candidate in [path] if path else files:
                located = self._located_fault(candidate, int(limit.group(1)) if limit else None)
                if located:
                    return located
        if csv_like and (line is None or "Expected Number of Columns" in text):
            for candidate in [path] if path else files:
                ragged = self._ragged_row(candidate)
                if ragged:
                    return ragged
        json_at = _JSON_AT.search(text)
        if json_at:
            where, _byte, row, why = json_at.groups()
            return DataError(
                f"source {self.name!r}: {self._show(where)} line {row}: malformed JSON "
                f"({why.strip()}); fix the line"
            )
        if line is None:
            where = f"{self._show(path)}: " if path else ""
            return DataError(f"source {self.name!r}: {where}{first}")
        column = _COLUMN.search(text)
        convert = _CONVERT.search(text)
        original = _ORIGINAL.search(text)
        parts = [
            f"source {self.name!r}: {self._show(path) if path else 'a file'} line {line.group(1)}"
        ]
        if column:
            parts[0] += f", column {column.group(1)!r}"
        if convert:
            message = f"could not convert {convert.group(1)!r} to {convert.group(2)}"
        else:
            message = first.split(": ", 1)[-1]
        hint = (
            f"fix the row, or set columns: {{{column.group(1)}: VARCHAR}} "
            "(or null_values / date_format) in the source"
            if column
            else "fix the row"
        )
        row = f"; row: {original.group(1).strip()[:200]!r}" if original else ""
        return DataError(f"{parts[0]}: {message}{row}; {hint}")

    def _filtered(self, con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyRelation:
        import duckdb

        rel = self.relation(con)
        inc = self.config.incremental
        if inc is None:
            return rel
        if inc.cursor not in rel.columns:
            raise DataError(
                f"source {self.name!r}: incremental cursor {inc.cursor!r} is not a column "
                f"(columns: {', '.join(rel.columns)})"
            )
        lower = self.context.watermarks.get(self.name, inc.initial_value)
        cursor = duckdb.ColumnExpression(inc.cursor)
        interval = self.context.interval
        if inc.use_interval and interval is not None:
            start = duckdb.ConstantExpression(interval.start.replace(tzinfo=None))
            end = duckdb.ConstantExpression(interval.end.replace(tzinfo=None))
            return rel.filter((cursor >= start) & (cursor < end))
        if lower is not None:
            if inc.lookback is not None and hasattr(lower, "__sub__"):
                lower = lower - inc.lookback
            return rel.filter(cursor > duckdb.ConstantExpression(lower))
        return rel

    def batches(self) -> Iterator[pa.RecordBatch]:
        import duckdb

        con = duckdb.connect()
        try:
            rel = self._filtered(con)
            try:
                reader = rel.to_arrow_reader(batch_size=100_000)  # type: ignore[attr-defined]
                yield from reader
            except duckdb.Error as exc:
                raise self._error(exc, self.files()) from None
        finally:
            con.close()

    def relation_on(self, con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyRelation:
        return self._filtered(con)

    def explain(self, exc: Exception) -> Exception | None:
        files = self.files()
        if not any(path in str(exc) for path in files):
            return None
        return self._error(exc, files)

    def write(self, path: str) -> ExtractResult:
        import duckdb

        from dagwright.staging import open_output

        con = duckdb.connect()
        try:
            rel = self._filtered(con)
            target = open_output(path)
            try:
                rel.write_parquet(target)
            except duckdb.Error as exc:
                raise self._error(exc, self.files()) from None
            if self._rejects is not None:
                self._rejected = self._collected(con, self._rejects)
            watermark = None
            if self.config.incremental is not None:
                cursor = duckdb.ColumnExpression(self.config.incremental.cursor)
                row = (
                    con.read_parquet(target)
                    .aggregate([duckdb.FunctionExpression("max", cursor)])
                    .fetchall()
                )
                watermark = row[0][0] if row else None
            count = (
                con.read_parquet(target)
                .aggregate([duckdb.FunctionExpression("count", duckdb.StarExpression())])
                .fetchall()
            )
        finally:
            con.close()
        previous = self.context.watermarks.get(self.name)
        if watermark is None or (previous is not None and watermark < previous):
            watermark = previous
        return ExtractResult(rows=int(count[0][0]) if count else 0, new_watermark=watermark)


def scan_csv(lines: Iterator[bytes], sep: str, quote: str, limit: int) -> Fault | None:
    """The first invalid UTF-8 byte, unterminated quote or record over ``limit`` bytes.

    Streams physical lines; a line without a quote outside a quoted field costs a decode
    and a ``count``. Quotes inside quoted fields are doubled (RFC 4180), so each quote
    character toggles the quoted state.
    """
    offset = 0
    in_quote = False
    record_line = opened_line = opened_field = field = record_bytes = 0
    lengths: list[int] = []
    number = 0
    for number, raw in enumerate(lines, 1):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            before = raw[: exc.start].decode("utf-8", errors="replace")
            at = (field if in_quote else 0) + _fields_in(before, sep, quote, in_quote)
            detail = (
                f"invalid UTF-8 (byte 0x{raw[exc.start]:02x} at position {len(before) + 1} "
                f"of the line, byte offset {offset + exc.start} of the file)"
            )
            return ("utf8", number, at, detail)
        offset += len(raw)
        if not in_quote:
            record_line, field, record_bytes, lengths = number, 0, 0, [0]
        record_bytes += len(raw)
        if in_quote or quote in text:
            parts = text.split(quote)
            for i, part in enumerate(parts):
                if i:
                    in_quote = not in_quote
                    if in_quote:
                        opened_line, opened_field = number, field
                if in_quote:
                    lengths[-1] += len(part)
                    continue
                pieces = part.split(sep)
                lengths[-1] += len(pieces[0])
                lengths.extend(len(p) for p in pieces[1:])
                field += len(pieces) - 1
        elif record_bytes > limit:
            lengths = [len(p) for p in text.split(sep)]
        if not in_quote and record_bytes > limit:
            widest = max(range(len(lengths)), key=lengths.__getitem__)
            detail = (
                f"the record is {record_bytes:,} bytes, over DuckDB's maximum line size of "
                f"{limit:,} bytes (this field holds {lengths[widest]:,} characters)"
            )
            return ("size", record_line, widest, detail)
    if in_quote:
        return (
            "quote",
            opened_line,
            opened_field,
            f"the quoted field opened on this line is never closed (the file ends inside "
            f"it, {number - opened_line + 1} line(s) later)",
        )
    return None


def _tag() -> str:
    """A fresh name for a connection's reject tables (each read has its own)."""
    import uuid

    return f"_dagwright_{uuid.uuid4().hex[:16]}"


def _ends_in_quote(raw: bytes, sep: bytes, quote: bytes, in_quote: bool) -> bool:
    """Whether a physical line ends inside a quoted field, starting inside one or not."""
    at_start = not in_quote
    i, n = 0, len(raw)
    while i < n:
        c = raw[i : i + 1]
        if in_quote:
            if c == quote:
                if raw[i + 1 : i + 2] == quote:
                    i += 2
                    continue
                in_quote = False
        elif c == quote and at_start:
            in_quote = True
        at_start = not in_quote and c == sep
        i += 1
    return in_quote


def _fields_in(text: str, sep: str, quote: str, in_quote: bool) -> int:
    """Delimiters outside quoted fields in ``text``, starting inside a quote or not."""
    count = 0
    for i, part in enumerate(text.split(quote)):
        if (i % 2 == 0) != in_quote:
            count += part.count(sep)
    return count


def _sha256(path: str, fs: Any) -> str:
    import hashlib

    digest = hashlib.sha256()
    with fs.open(path, "rb") if fs is not None else open(path, "rb") as handle:
        while chunk := handle.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _modified_us(info: dict[str, Any]) -> int:
    """An fsspec listing's modification time (``mtime``, ``LastModified``...) in
    microseconds; 0 when the store gives none (the content hash tells versions apart)."""
    from datetime import datetime

    value = info.get(
        "mtime", info.get("LastModified", info.get("last_modified", info.get("created")))
    )
    if isinstance(value, datetime):
        return int(value.timestamp() * 1_000_000)
    if isinstance(value, (int, float)):
        return int(value * 1_000_000)
    return 0
