"""One self-contained HTML page per run: inline CSS and SVG, no scripts, no network."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from html import escape
from typing import Any

import dagwright.report.svg as svg
from dagwright import __version__
from dagwright.report.collect import RUN_ID_COLUMNS, ReportData
from dagwright.state import StageRecord

CSS = """
:root { color-scheme: light; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #111827;
  margin: 0; background: #f9fafb; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 28px 64px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 16px; margin: 32px 0 10px; padding-bottom: 4px; border-bottom: 1px solid #e5e7eb; }
.sub { color: #6b7280; margin: 0 0 16px; }
.cards { display: flex; flex-wrap: wrap; gap: 10px; }
.card { background: #fff; border: 1px solid #e5e7eb; border-radius: 8px; padding: 8px 14px;
  min-width: 120px; }
.card .k { color: #6b7280; font-size: 12px; }
.card .v { font-size: 18px; font-weight: 600; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 999px; font-size: 12px;
  font-weight: 600; }
.s-success { background: #d1fae5; color: #065f46; }
.s-failed, .s-abandoned { background: #fee2e2; color: #991b1b; }
.s-skipped, .s-pending { background: #e5e7eb; color: #374151; }
.s-warned { background: #fef3c7; color: #92400e; }
.s-running { background: #dbeafe; color: #1e40af; }
.panel { background: #fff; border: 1px solid #e5e7eb; border-radius: 8px; padding: 10px;
  overflow-x: auto; }
table { border-collapse: collapse; width: 100%; background: #fff; }
th, td { text-align: left; padding: 5px 10px; border-bottom: 1px solid #f0f0f0;
  vertical-align: top; }
th { font-size: 12px; color: #6b7280; font-weight: 600; background: #f9fafb; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
pre { background: #0f172a; color: #e2e8f0; padding: 10px 12px; border-radius: 6px;
  overflow-x: auto; font-size: 12px; margin: 6px 0 12px; white-space: pre-wrap;
  word-break: break-word; }
pre.error { background: #fef2f2; color: #991b1b; white-space: pre-wrap; }
details summary { cursor: pointer; font-weight: 600; margin: 6px 0; }
.note { color: #6b7280; font-style: italic; }
.sample { font-family: ui-monospace, monospace; font-size: 12px; color: #9a3412; }
.legend span { margin-right: 14px; font-size: 12px; color: #374151; }
.legend i { display: inline-block; width: 10px; height: 10px; border-radius: 2px;
  margin-right: 4px; }
footer { margin-top: 40px; color: #9ca3af; font-size: 12px; }
"""

SAMPLE_HINTS = ("sample", "unexpected_list", "partial_unexpected")


def render(data: ReportData) -> str:
    run = data.run
    title = f"{run.pipeline} · run {run.run_id}"
    body = [
        f"<h1>{escape(run.pipeline)} <span class='badge s-{escape(run.status)}' "
        f"id='run-status'>{escape(run.status)}</span></h1>",
        f"<p class='sub'>run <code id='run-id'>{escape(run.run_id)}</code> · "
        f"{escape(data.destination)}</p>",
        _cards(data),
    ]
    if run.error:
        body.append(f"<pre class='error' id='run-error'>{escape(run.error)}</pre>")
    body += [
        "<h2>Stage graph</h2>",
        _legend(),
        f"<div class='panel'>{svg.graph(run.stages, data.edges)}</div>",
        "<h2>Timeline</h2>",
        f"<div class='panel'>{svg.timeline(run.stages, data.edges)}</div>",
        "<h2>Rows per stage</h2>",
        _stage_table(run.stages),
        "<h2>Checks</h2>",
        _checks(data),
        "<h2>Quarantine</h2>",
        _quarantine(data),
        "<h2>SQL as executed</h2>",
        _sql(run.stages),
        "<h2>Column lineage</h2>",
        _lineage(data),
        "<h2>Other runs</h2>",
        _previous(data),
        f"<footer>dagwright {escape(__version__)} · report written "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC</footer>",
    ]
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        "<link rel='icon' href='data:,'>"
        f"<title>{escape(title)}</title><style>{CSS}</style></head>"
        f"<body><main>{''.join(body)}</main></body></html>\n"
    )


def _when(value: datetime | None) -> str:
    return "" if value is None else f"{value:%Y-%m-%d %H:%M:%S}"


def _cards(data: ReportData) -> str:
    run = data.run
    if run.interval_start and run.interval_end:
        interval = f"{_when(run.interval_start)} → {_when(run.interval_end)}"
    else:
        interval = "full refresh"
    seconds = (run.finished_at - run.started_at).total_seconds() if run.finished_at else None
    loaded = sum(s.rows_out or 0 for s in run.stages if s.kind == "load")
    extracted = sum(s.rows_out or 0 for s in run.stages if s.kind == "extract")
    # a source its SQL step read in place (run workspace) is never counted on its own
    streamed = sum(
        1
        for s in run.stages
        if s.kind == "extract" and s.status == "success" and s.rows_out is None
    )
    cards = [
        ("interval", interval, "interval"),
        ("started", _when(run.started_at) + " UTC", "started"),
        ("duration", "running" if seconds is None else f"{seconds:.2f}s", "duration"),
        ("stages", str(len(run.stages)), "stage-count"),
        (
            "rows extracted",
            f"{extracted:,}"
            + (f" (+ {streamed} source(s) streamed into SQL, not counted)" if streamed else ""),
            "rows-extracted",
        ),
        ("rows loaded", f"{loaded:,}", "rows-loaded"),
        ("rows quarantined", f"{sum(data.quarantine.values()):,}", "rows-quarantined"),
    ]
    if data.rejected:
        rejected = ", ".join(f"{n:,} of {s}" for s, n in sorted(data.rejected.items()))
        cards.append(("lines rejected", rejected, "rows-rejected"))
    return (
        "<div class='cards'>"
        + "".join(
            f"<div class='card'><div class='k'>{escape(k)}</div>"
            f"<div class='v' id='{i}'>{escape(v)}</div></div>"
            for k, v, i in cards
        )
        + "</div>"
    )


def _legend() -> str:
    return (
        "<p class='legend'>"
        + "".join(
            f"<span><i style='background:{c}'></i>{escape(k)}</span>"
            for k, c in svg.KIND_COLOURS.items()
        )
        + "</p>"
    )


def _num(value: int | float | None, digits: int = 0) -> str:
    if value is None:
        return ""
    return f"{value:,.{digits}f}"


def _stage_table(stages: list[StageRecord]) -> str:
    rows = []
    for s in stages:
        streamed = s.kind == "extract" and s.status == "success" and s.rows_out is None
        out = "streamed into SQL" if streamed else _num(s.rows_out)
        rows.append(
            f"<tr data-stage='{escape(s.stage)}'><td>{escape(s.stage)}</td>"
            f"<td>{escape(s.kind)}</td>"
            f"<td><span class='badge s-{escape(s.status)}'>{escape(s.status)}</span></td>"
            f"<td class='num rows-in'>{_num(s.rows_in)}</td>"
            f"<td class='num rows-out'>{out}</td>"
            f"<td class='num seconds'>{_num(s.seconds, 3)}</td>"
            f"<td>{escape(s.checks)}{_error(s.error)}</td></tr>"
        )
    return (
        "<table id='stages'><thead><tr><th>stage</th><th>kind</th><th>status</th>"
        "<th class='num'>rows in</th><th class='num'>rows out</th>"
        "<th class='num'>seconds</th><th>checks / error</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _error(error: str | None) -> str:
    return f"<pre class='error'>{escape(error)}</pre>" if error else ""


def _checks(data: ReportData) -> str:
    parts = []
    summaries = [s for s in data.run.stages if s.kind == "check"]
    if summaries:
        parts.append(
            "<table id='check-stages'><thead><tr><th>check stage</th><th>status</th>"
            "<th>result</th></tr></thead><tbody>"
            + "".join(
                f"<tr><td>{escape(s.stage)}</td><td><span class='badge s-{escape(s.status)}'>"
                f"{escape(s.status)}</span></td><td>{escape(s.checks)}{_error(s.error)}</td></tr>"
                for s in summaries
            )
            + "</tbody></table>"
        )
    if data.checks.rows and set(data.checks.rows[0]) >= CHECK_COLUMNS:
        parts.append(_check_table(data.checks.rows))
    elif data.checks.rows:
        parts.append(_generic_table(data.checks.rows, "check-results"))
    elif data.checks.note:
        parts.append(f"<p class='note'>Detailed results: {escape(data.checks.note)}.</p>")
    if not summaries and not data.checks.rows:
        parts.append("<p class='note'>This pipeline has no checks.</p>")
    return "".join(parts)


CHECK_COLUMNS = {"stage", "expectation", "kwargs", "severity", "success", "unexpected_sample"}


def _check_table(rows: list[dict[str, Any]]) -> str:
    body = []
    for r in rows:
        if r["success"]:
            verdict, word = "success", "passed"
        elif r["severity"] == "warn":
            verdict, word = "warned", "warned"
        else:
            verdict, word = "failed", "failed"
        count = r.get("unexpected_count")
        if count is not None:
            result = f"{count:,} of {r.get('element_count') or 0:,} rows unexpected"
        elif r.get("observed_value") is not None:
            result = f"observed {_short(r['observed_value'])}"
        else:
            result = ""
        if r.get("exception"):
            result += f" raised {_short(r['exception'])}"
        sample = _sample(r.get("unexpected_sample"))
        quarantined = r.get("rows_quarantined")
        body.append(
            f"<tr data-stage='{escape(r['stage'])}'><td>{escape(r['stage'])}</td>"
            f"<td><code>{escape(r['expectation'])}</code><br><span class='note'>"
            f"{escape(_short(r['kwargs']))}</span></td><td>{escape(r['severity'])}</td>"
            f"<td><span class='badge s-{verdict}'>{word}</span></td>"
            f"<td>{escape(result)}</td><td class='sample'>{escape(sample)}</td>"
            f"<td class='num'>{_num(quarantined)}</td></tr>"
        )
    return (
        "<table id='check-results'><thead><tr><th>stage</th><th>expectation</th>"
        "<th>severity</th><th>result</th><th>details</th><th>unexpected values (sample)</th>"
        "<th class='num'>quarantined</th></tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def _sample(value: Any) -> str:
    if value in (None, ""):
        return ""
    try:
        items = json.loads(value) if isinstance(value, str) else value
    except ValueError:
        return _short(value)
    if isinstance(items, list):
        return _short(", ".join(json.dumps(v, default=str) for v in items[:10]))
    return _short(items)


def _generic_table(rows: list[dict[str, Any]], table_id: str) -> str:
    columns = [c for c in rows[0] if c not in RUN_ID_COLUMNS]
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    body = []
    for row in rows:
        cells = []
        for c in columns:
            css = " class='sample'" if any(h in c.lower() for h in SAMPLE_HINTS) else ""
            cells.append(f"<td{css}>{escape(_short(row.get(c)))}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    return (
        f"<table id='{table_id}'><thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def _short(value: Any, limit: int = 300) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _quarantine(data: ReportData) -> str:
    if data.quarantine:
        rows = "".join(
            f"<tr><td>{escape(t)}</td><td class='num'>{n:,}</td></tr>"
            for t, n in sorted(data.quarantine.items())
        )
        parts = [
            "<table id='quarantine'><thead><tr><th>quarantine table</th>"
            f"<th class='num'>rows from this run</th></tr></thead><tbody>{rows}</tbody></table>"
        ]
        for table, sample in sorted(data.quarantined.items()):
            shown = len(sample)
            total = data.quarantine.get(table, shown)
            more = f" (the first {shown} of {total:,})" if total > shown else ""
            parts.append(f"<h3>{escape(table)}{escape(more)}</h3>")
            parts.append(_generic_table(sample, f"quarantined-{_slug(table)}"))
        parts.append(
            "<p class='note'>Fix the cause, then <code>dagwright quarantine PIPELINE "
            "--replay</code> runs these rows again.</p>"
        )
        return "".join(parts)
    note = data.quarantine_note or "no rows were quarantined by this run"
    return f"<p class='note' id='quarantine'>{escape(note)}.</p>"


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in name)


def _previous(data: ReportData) -> str:
    """The pipeline's other recent runs, linked to their pages where those were written."""
    if not data.previous:
        return "<p class='note' id='previous'>This is the pipeline's only run.</p>"
    rows = []
    for run in data.previous:
        name = f"{run.run_id}.html"
        link = f"<a href='{escape(name)}'>{escape(run.run_id)}</a>"
        interval = (
            f"{_when(run.interval_start)} → {_when(run.interval_end)}"
            if run.interval_start and run.interval_end
            else "full refresh"
        )
        rows.append(
            f"<tr><td>{link}</td><td class='s-{escape(run.status)}'>{escape(run.status)}</td>"
            f"<td>{escape(interval)}</td><td>{escape(_when(run.started_at))}</td></tr>"
        )
    return (
        "<table id='previous'><thead><tr><th>run</th><th>status</th><th>interval</th>"
        f"<th>started (UTC)</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
        "<p class='note'>A run's page is written by <code>dagwright report RUN_ID</code>; "
        "the links open those written beside this one.</p>"
    )


def _sql(stages: list[StageRecord]) -> str:
    with_sql = [s for s in stages if s.sql]
    if not with_sql:
        return "<p class='note'>No SQL was recorded for this run.</p>"
    parts = []
    for s in with_sql:
        text = ";\n\n".join(q.strip().rstrip(";") for q in s.sql) + ";"
        plural = "s" if len(s.sql) != 1 else ""
        parts.append(
            f"<details open data-stage='{escape(s.stage)}'><summary>{escape(s.stage)} "
            f"<span class='note'>({len(s.sql)} statement{plural})</span></summary>"
            f"<pre><code>{escape(text)}</code></pre></details>"
        )
    return "".join(parts)


def _lineage(data: ReportData) -> str:
    if data.lineage is None:
        return f"<p class='note'>{escape(data.lineage_note or 'no lineage')}.</p>"
    return f"<div class='panel' id='lineage'>{_tree(data.lineage)}</div>"


def _tree(value: Any) -> str:
    """Nested dicts as tables, lists as comma-separated values."""
    if isinstance(value, dict):
        if not value:
            return "<span class='note'>none</span>"
        rows = "".join(
            f"<tr><th>{escape(str(k))}</th><td>{_tree(v)}</td></tr>" for k, v in value.items()
        )
        return f"<table>{rows}</table>"
    if isinstance(value, list):
        if all(not isinstance(v, (dict, list)) for v in value):
            return escape(", ".join("" if v is None else str(v) for v in value))
        return "".join(f"<div>{_tree(v)}</div>" for v in value)
    return escape("" if value is None else str(value))
