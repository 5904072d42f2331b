"""HTTP APIs: JSON REST endpoints, page after page, into Arrow.

Pages are fetched one at a time (page number, offset, cursor token or ``Link`` header),
with retries and exponential backoff on 429 and 5xx that honour ``Retry-After``, and an
optional rate limit. Each page's records (found by a JSON path) are appended to an NDJSON
file in the run's staging folder, so memory holds one page at a time; DuckDB then infers
one schema over all records (nested objects become structs) and writes the Parquet.

Secrets (bearer token, basic password, API key) come from a connection
(``DAGWRIGHT_CONN_<NAME>`` or Airflow) or an environment variable, never from the spec,
and are masked in every error.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urljoin, urlsplit

from pydantic import Field, model_validator

from dagwright.errors import ConfigError, DataError
from dagwright.spec.types import SpecModel
from extractors.base import Extractor, ExtractResult, SourceConfig

if TYPE_CHECKING:
    import httpx
    import pyarrow as pa

    from dagwright.connections import Connection

Scalar = str | int | float | bool


class Pagination(SpecModel):
    """How to get the next page; ``none`` reads one response."""

    type: Literal["none", "page", "offset", "cursor", "link"] = "none"
    page_param: str = Field(default="page", description="page: the page number parameter.")
    start_page: int = Field(default=1, description="page: number of the first page.")
    offset_param: str = Field(default="offset", description="offset: the offset parameter.")
    size_param: str | None = Field(
        default=None, description="page/offset: the page size parameter (e.g. per_page, limit)."
    )
    page_size: int | None = Field(
        default=None, ge=1, description="Records per page; a shorter page is the last one."
    )
    cursor_param: str = Field(default="cursor", description="cursor: the token parameter.")
    cursor_path: str | None = Field(
        default=None, description="cursor: JSON path of the next token in the body, e.g. meta.next"
    )
    max_pages: int = Field(default=100_000, ge=1, description="Stop (with an error) past this.")

    @model_validator(mode="after")
    def _needs(self) -> Pagination:
        if self.type == "cursor" and not self.cursor_path:
            raise ValueError("cursor pagination needs cursor_path (where the next token is)")
        if self.type == "offset" and not self.page_size:
            raise ValueError("offset pagination needs page_size")
        return self


class Auth(SpecModel):
    """Where the secret goes. It comes from the source's connection, or from ``env``."""

    type: Literal["bearer", "basic", "api_key"]
    header: str = Field(default="X-API-Key", description="api_key: the header carrying the key.")
    env: str | None = Field(
        default=None,
        description="Environment variable holding the token or key (instead of a connection).",
    )


class Retry(SpecModel):
    attempts: int = Field(default=5, ge=1, description="Tries per page, the first included.")
    backoff: float = Field(
        default=1.0, ge=0, description="Seconds before the first retry; doubles every retry."
    )
    max_delay: float = Field(default=60.0, ge=0, description="Longest wait between tries.")


class HttpSourceConfig(SourceConfig):
    """Read JSON records from a REST API."""

    extractor: Literal["http"]
    url: str = Field(
        description="Absolute URL, or a path appended to the connection's base URL.",
    )
    connection: str | None = Field(
        default=None,
        description="Connection name giving the base URL and credentials (DAGWRIGHT_CONN_<NAME>).",
    )
    params: dict[str, Scalar] = Field(default_factory=dict, description="Query parameters.")
    headers: dict[str, str] = Field(default_factory=dict, description="Extra (non-secret) headers.")
    auth: Auth | None = None
    records: str | None = Field(
        default=None,
        description="JSON path of the record list in each page, e.g. data.items; the body itself "
        "when omitted.",
    )
    pagination: Pagination = Field(default_factory=Pagination)
    retry: Retry = Field(default_factory=Retry)
    rate_limit: float | None = Field(default=None, gt=0, description="Most requests per second.")
    timeout: float = Field(default=30.0, gt=0, description="Seconds per request.")
    columns: dict[str, str] | None = Field(
        default=None,
        description="Column types as SQL type names, e.g. {id: BIGINT, at: TIMESTAMPTZ}; also "
        "the schema of a run that finds no records (so merge loads of an empty run work).",
    )
    since_param: str | None = Field(
        default=None,
        description="incremental: parameter receiving the lower bound (the watermark, or the "
        "interval start).",
    )
    until_param: str | None = Field(
        default=None, description="incremental with use_interval: parameter receiving the end."
    )

    @model_validator(mode="after")
    def _absolute(self) -> HttpSourceConfig:
        if self.connection is None and not urlsplit(self.url).scheme:
            raise ValueError(
                f"url {self.url!r} is relative and no connection gives a base URL: write "
                "the full URL (https://...), or name a connection whose URL is the base"
            )
        return self


class HttpExtractor(Extractor[HttpSourceConfig]):
    config_model = HttpSourceConfig

    @classmethod
    def needs(cls, config: HttpSourceConfig) -> tuple[str, list[tuple[str, ...]]]:
        return "http", [("httpx",)]

    def describe(self) -> str:
        return f"read {self.config.pagination.type}-paginated JSON from {self.config.url!r}"

    def batches(self) -> Iterator[pa.RecordBatch]:
        import tempfile

        import duckdb

        with tempfile.TemporaryDirectory(prefix="dagwright-http-") as tmp:
            ndjson = os.path.join(tmp, "records.ndjson")
            if self._fetch_all(ndjson) == 0:
                return
            con = duckdb.connect()
            try:
                rel = self._relation(con, ndjson)
                yield from rel.to_arrow_reader(batch_size=50_000)  # type: ignore[attr-defined]
            finally:
                con.close()

    def write(self, path: str) -> ExtractResult:
        import duckdb
        import pyarrow.parquet as pq

        from dagwright.staging import open_output

        target = open_output(path)
        ndjson = target + ".records.ndjson"
        try:
            rows = self._fetch_all(ndjson)
            if rows == 0 and not self.config.columns:
                pq.write_table(self.empty_schema().empty_table(), target)
            else:
                con = duckdb.connect()
                try:
                    self._relation(con, ndjson if rows else None).write_parquet(target)
                except duckdb.Error as exc:
                    raise DataError(f"source {self.name!r}: {str(exc).splitlines()[0]}") from None
                finally:
                    con.close()
        finally:
            if os.path.exists(ndjson):
                os.remove(ndjson)
        return ExtractResult(rows=rows, new_watermark=self.new_watermark)

    def _relation(self, con: Any, ndjson: str | None) -> Any:
        """The records with the ``columns`` hints applied; hinted columns only when none came."""
        import duckdb

        hints = self.config.columns or {}
        if ndjson is None:
            rel, have = con.sql("SELECT 1").limit(0), []
        else:
            rel = _read_ndjson(con, ndjson)
            have = rel.columns
        if not hints:
            return rel
        typed = [
            duckdb.ColumnExpression(c).cast(duckdb.sqltype(hints[c])).alias(c)
            if c in hints
            else duckdb.ColumnExpression(c)
            for c in have
        ]
        typed += [
            duckdb.ConstantExpression(None).cast(duckdb.sqltype(t)).alias(c)
            for c, t in hints.items()
            if c not in have
        ]
        return rel.project(*typed)

    def preview(self, con: Any) -> Any:
        """The declared ``columns``: an API's fields are known only once it is called."""
        import duckdb

        hints = self.config.columns
        if not hints:
            return None
        return (
            con.sql("SELECT 1")
            .project(
                *[
                    duckdb.ConstantExpression(None).cast(duckdb.sqltype(t)).alias(c)
                    for c, t in hints.items()
                ]
            )
            .limit(0)
        )

    def empty_schema(self) -> pa.Schema:
        import pyarrow as pa

        inc = self.config.incremental
        return pa.schema([pa.field(inc.cursor if inc else "_empty", pa.null())])

    # -- fetching ------------------------------------------------------------------------

    def _fetch_all(self, ndjson: str) -> int:
        """Fetch every page into ``ndjson``; the number of records written."""
        import httpx

        from dagwright.connections import redact

        lower, upper = self._bounds()
        self.new_watermark = self.context.watermarks.get(self.name)
        rows = 0
        client = httpx.Client(timeout=self.config.timeout, follow_redirects=True)
        try:
            with open(ndjson, "w", encoding="utf-8") as out:
                for page, records in self._pages(client, lower, upper):
                    for record in records:
                        if not self._keep(record, lower, page):
                            continue
                        out.write(json.dumps(record, default=str))
                        out.write("\n")
                        rows += 1
        except (DataError, ConfigError) as exc:
            raise type(exc)(redact(str(exc))) from None
        finally:
            client.close()
        return rows

    def _bounds(self) -> tuple[Any, Any]:
        inc = self.config.incremental
        if inc is None:
            return None, None
        if inc.use_interval and self.context.interval is not None:
            return self.context.interval.start, self.context.interval.end
        lower = self.context.watermarks.get(self.name, inc.initial_value)
        if lower is not None and inc.lookback is not None and isinstance(lower, datetime):
            lower = lower - inc.lookback
        return lower, None

    def _keep(self, record: Any, lower: Any, page: int) -> bool:
        """Track the watermark; drop records at or before it (APIs may ignore ``since``)."""
        inc = self.config.incremental
        if inc is None:
            return True
        if not isinstance(record, dict) or inc.cursor not in record:
            raise DataError(
                f"source {self.name!r}: page {page}: a record has no cursor field {inc.cursor!r}"
            )
        value = _comparable(record[inc.cursor], lower)
        if value is None:
            return True
        if not inc.use_interval and lower is not None and value <= _comparable(lower, value):
            return False
        if self.new_watermark is None or value > _comparable(self.new_watermark, value):
            self.new_watermark = value
        return True

    def _base(self) -> tuple[str, dict[str, str], Any]:
        """The first URL, the request headers, and httpx auth."""
        cfg = self.config
        headers = dict(cfg.headers)
        conn = self._connection()
        url = cfg.url
        if conn is not None and not urlsplit(url).scheme:
            port = f":{conn.port}" if conn.port else ""
            base = f"{conn.scheme}://{conn.host}{port}/{conn.database or ''}".rstrip("/") + "/"
            url = urljoin(base, url.lstrip("/"))
        if not urlsplit(url).scheme:
            raise ConfigError(
                f"source {self.name!r}: url {cfg.url!r} is not absolute and no connection "
                "gives a base URL"
            )
        auth: Any = None
        if cfg.auth is not None:
            secret, login = self._secret(conn)
            if cfg.auth.type == "bearer":
                headers["Authorization"] = f"Bearer {secret}"
            elif cfg.auth.type == "api_key":
                headers[cfg.auth.header] = secret
            else:
                import httpx

                auth = httpx.BasicAuth(login or "", secret)
        return url, headers, auth

    def _connection(self) -> Connection | None:
        if not self.config.connection:
            return None
        from dagwright.connections import resolve

        try:
            return resolve(self.config.connection, "https://user:token@api.example.com")
        except ConfigError as exc:
            raise ConfigError(f"source {self.name!r}: {exc}") from None

    def _secret(self, conn: Connection | None) -> tuple[str, str | None]:
        from dagwright.connections import register_secret

        auth = self.config.auth
        assert auth is not None
        if auth.env:
            value = os.environ.get(auth.env)
            if not value:
                raise ConfigError(
                    f"source {self.name!r}: auth.env names {auth.env}, which is not set"
                )
            register_secret(value)
            return value, conn.login if conn else None
        if conn is None or not conn.password:
            raise ConfigError(
                f"source {self.name!r}: {auth.type} auth needs a secret: give a connection whose "
                "URL or JSON has a password (the token or key), or auth.env"
            )
        return conn.password, conn.login

    def _pages(self, client: httpx.Client, lower: Any, upper: Any) -> Iterator[tuple[int, list]]:
        cfg = self.config
        pag = cfg.pagination
        url, headers, auth = self._base()
        origin = urlsplit(url)[:2]
        params: dict[str, Any] = dict(cfg.params)
        if cfg.since_param and lower is not None:
            params[cfg.since_param] = _text(lower)
        if cfg.until_param and upper is not None:
            params[cfg.until_param] = _text(upper)
        if pag.size_param and pag.page_size:
            params[pag.size_param] = pag.page_size
        number, offset = pag.start_page, 0
        next_url: str | None = url
        for page in range(1, pag.max_pages + 1):
            if pag.type == "page":
                params[pag.page_param] = number
            elif pag.type == "offset":
                params[pag.offset_param] = offset
            same_origin = urlsplit(next_url)[:2] == origin
            response = self._request(
                client,
                page,
                next_url,
                params if next_url == url else None,
                headers if same_origin else cfg.headers,
                auth if same_origin else None,
            )
            body = _json(self.name, page, response)
            records = _records(self.name, page, body, cfg.records)
            yield page, records
            if pag.type == "none":
                return
            if pag.type in ("page", "offset"):
                if not records or (pag.page_size and len(records) < pag.page_size):
                    return
                number += 1
                offset += len(records)
            elif pag.type == "cursor":
                assert pag.cursor_path is not None
                token = _lookup(body, pag.cursor_path)
                if token in (None, ""):
                    return
                params[pag.cursor_param] = token
            else:
                link = response.links.get("next", {}).get("url")
                if not link:
                    return
                next_url = urljoin(str(response.url), link)
        raise DataError(
            f"source {self.name!r}: more than {pag.max_pages} pages (pagination.max_pages); "
            "the API may repeat the same page"
        )

    def _request(
        self,
        client: httpx.Client,
        page: int,
        url: str,
        params: dict[str, Any] | None,
        headers: dict[str, str],
        auth: Any,
    ) -> httpx.Response:
        import httpx

        retry = self.config.retry
        problem = ""
        for attempt in range(1, retry.attempts + 1):
            self._throttle()
            delay: float | None = None
            try:
                response = client.get(url, params=params, headers=headers, auth=auth)
            except httpx.TransportError as exc:
                problem = f"{type(exc).__name__}: {exc}"
            else:
                if response.status_code == 429 or response.status_code >= 500:
                    problem = f"HTTP {response.status_code} {response.reason_phrase}"
                    delay = _retry_after(response.headers.get("Retry-After"))
                elif response.status_code >= 400:
                    raise DataError(
                        f"source {self.name!r}: page {page} ({_where(response)}) answered "
                        f"HTTP {response.status_code} {response.reason_phrase}: "
                        f"{_snippet(response.text)}"
                        + (
                            "; check the credentials of the connection"
                            if response.status_code in (401, 403)
                            else ""
                        )
                    )
                else:
                    return response
            if attempt == retry.attempts:
                break
            if delay is None:
                delay = retry.backoff * 2 ** (attempt - 1)
            time.sleep(min(delay, retry.max_delay))
        raise DataError(
            f"source {self.name!r}: page {page} ({_safe_url(url, params)}) failed after "
            f"{retry.attempts} attempts, last: {problem}; the retry budget is exhausted "
            "(raise retry.attempts or retry later)"
        )

    _last_request: float = 0.0

    def _throttle(self) -> None:
        if not self.config.rate_limit:
            return
        gap = 1.0 / self.config.rate_limit
        wait = self._last_request + gap - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        self._last_request = time.monotonic()


def _read_ndjson(con: Any, path: str) -> Any:
    return con.read_json(path, format="newline_delimited", sample_size=-1)


def _json(source: str, page: int, response: httpx.Response) -> Any:
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        kind = response.headers.get("content-type", "no content type")
        raise DataError(
            f"source {source!r}: page {page} ({_where(response)}) is not JSON ({kind}; "
            f"{getattr(exc, 'msg', exc)} at line {getattr(exc, 'lineno', '?')} column "
            f"{getattr(exc, 'colno', '?')}): {_snippet(response.text)}"
        ) from None


def _records(source: str, page: int, body: Any, path: str | None) -> list[Any]:
    found = _lookup(body, path) if path else body
    if found is None and path:
        keys = ", ".join(body) if isinstance(body, dict) else type(body).__name__
        raise DataError(
            f"source {source!r}: page {page} has nothing at records path {path!r}; "
            f"its top-level keys: {keys}"
        )
    if isinstance(found, dict):
        return [found]
    if not isinstance(found, list):
        raise DataError(
            f"source {source!r}: page {page}: records path {path or '$'!r} holds a "
            f"{type(found).__name__}, not a list of records"
        )
    return found


_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _lookup(body: Any, path: str) -> Any:
    """A value by a simple JSON path: ``data.items``, ``$.meta.next``, ``results[0].rows``."""
    node = body
    for key, index in _STEP.findall(path.removeprefix("$").lstrip(".")):
        if index:
            if not isinstance(node, list) or int(index) >= len(node):
                return None
            node = node[int(index)]
        elif isinstance(node, dict):
            node = node.get(key)
        else:
            return None
    return node


def _comparable(value: Any, like: Any) -> Any:
    """Cursor values as the JSON gives them (text) compared with datetimes from state."""
    if isinstance(like, datetime) and isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
        if parsed.tzinfo is None and like.tzinfo is not None:
            parsed = parsed.replace(tzinfo=like.tzinfo)
        return parsed
    return value


def _text(value: Any) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _where(response: httpx.Response) -> str:
    return f"{response.request.method} {_safe_url(str(response.url), {})}"


def _safe_url(url: str, params: dict[str, Any] | None) -> str:
    from urllib.parse import urlencode

    from dagwright.connections import redact

    query = urlencode(params) if params else ""
    return redact(f"{url}?{query}" if query else url)


def _snippet(text: str) -> str:
    text = " ".join(text.split())
    return repr(text[:120] + ("..." if len(text) > 120 else ""))
