"""The stored check results as one self-contained HTML page, readable offline.

Great Expectations' Data Docs load their styles and scripts from CDNs and draw their
tables with JavaScript: without a network they show an empty page. ``dagwright docs``
writes this page beside them from the same stored suite results (``_dagwright.validations``).
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:2rem;color:#1b1f24}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:2rem}
table{border-collapse:collapse;width:100%;margin:.5rem 0}
th,td{border:1px solid #d0d7de;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}.ok{color:#1a7f37}.bad{color:#cf222e}code{font-size:12px}
"""


def page(rows: list[dict[str, Any]]) -> str:
    """One section per validation (newest first), one table row per expectation."""
    rows = sorted(rows, key=lambda r: (str(r["checked_at"]), r["stage"]), reverse=True)
    sections = []
    for row in rows:
        result = json.loads(row["result"])
        status = "passed" if row["success"] else "failed"
        css = "ok" if row["success"] else "bad"
        head = (
            f"<h2 id='{escape(row['run_id'])}-{escape(row['stage'])}'>{escape(row['pipeline'])}"
            f" · {escape(row['stage'])} · <span class='{css}'>{status}</span></h2>"
            f"<p>run <code>{escape(row['run_id'])}</code>, checked {escape(str(row['checked_at']))}"
            "</p>"
        )
        body = "".join(_expectation(r) for r in result.get("results", []))
        sections.append(
            head + "<table><thead><tr><th>expectation</th><th>result</th><th>observed</th>"
            "<th>unexpected</th><th>sample of unexpected values</th></tr></thead>"
            f"<tbody>{body}</tbody></table>"
        )
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>dagwright check results</title><style>{CSS}</style></head><body>"
        f"<h1>Check results ({len(rows)} validation(s))</h1>{''.join(sections)}</body></html>\n"
    )


def _expectation(result: dict[str, Any]) -> str:
    config = result.get("expectation_config") or {}
    kind = config.get("type") or config.get("expectation_type") or "?"
    kwargs = {k: v for k, v in (config.get("kwargs") or {}).items() if k != "batch_id"}
    detail = result.get("result") or {}
    ok = result.get("success")
    shown = f"<code>{escape(kind)}</code><br><code>{escape(json.dumps(kwargs, default=str))}</code>"
    unexpected = detail.get("unexpected_count")
    percent = detail.get("unexpected_percent")
    if unexpected is not None and percent is not None:
        counted = f"{unexpected:,} ({percent:.2f}%)"
    else:
        counted = "" if unexpected is None else f"{unexpected:,}"
    sample = detail.get("partial_unexpected_list") or []
    observed = detail.get("observed_value")
    return (
        f"<tr><td>{shown}</td><td class='{'ok' if ok else 'bad'}'>"
        f"{'passed' if ok else 'failed'}</td>"
        f"<td>{escape('' if observed is None else json.dumps(observed, default=str))}</td>"
        f"<td>{escape(counted)}</td>"
        f"<td>{escape(json.dumps(sample[:20], default=str) if sample else '')}</td></tr>"
    )
