"""The stage graph and the timeline as inline SVG: no scripts, no external files."""

from __future__ import annotations

from html import escape

from dagwright.state import StageRecord

KIND_COLOURS = {
    "extract": "#2563eb",
    "transform": "#7c3aed",
    "check": "#d97706",
    "load": "#059669",
}
STATUS_FILLS = {
    "success": "#ecfdf5",
    "failed": "#fef2f2",
    "skipped": "#f3f4f6",
    "abandoned": "#fef2f2",
    "running": "#eff6ff",
    "pending": "#f9fafb",
}
NODE_W, NODE_H, GAP_X, GAP_Y, PAD = 214, 54, 56, 16, 16
WAYPOINT = "\x00"


def layers(stages: list[str], edges: list[tuple[str, str]]) -> dict[str, int]:
    """Each stage's column: the length of the longest path reaching it."""
    layer = dict.fromkeys(stages, 0)
    for _ in stages:
        changed = False
        for up, down in edges:
            if up in layer and down in layer and layer[down] < layer[up] + 1:
                layer[down] = layer[up] + 1
                changed = True
        if not changed:
            break
    return layer


def graph(stages: list[StageRecord], edges: list[tuple[str, str]]) -> str:
    by_id = {s.stage: s for s in stages}
    edges = [(u, d) for u, d in edges if u in by_id and d in by_id]
    layer = layers(list(by_id), edges)
    chains, placed = _chains(edges, layer)
    links = [link for c in chains for link in zip(c, c[1:], strict=False)]
    columns = _order(list(placed), placed, links)
    pos: dict[str, tuple[int, int]] = {}
    for col, ids in columns.items():
        for row, sid in enumerate(ids):
            pos[sid] = (PAD + col * (NODE_W + GAP_X), PAD + row * (NODE_H + GAP_Y))
    width = PAD * 2 + len(columns) * (NODE_W + GAP_X) - GAP_X
    height = PAD * 2 + max(len(ids) for ids in columns.values()) * (NODE_H + GAP_Y) - GAP_Y
    parts = [
        f'<svg class="graph" xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="stage graph" style="max-width:100%;height:auto">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
        'fill="#9ca3af"/></marker></defs>',
    ]
    for chain in chains:
        parts.append(
            f'<path d="{_route(chain, pos)}" fill="none" stroke="#9ca3af" '
            f'stroke-width="1.5" marker-end="url(#arrow)"/>'
        )
    for sid, stage in by_id.items():
        x, y = pos[sid]
        colour = KIND_COLOURS.get(stage.kind, "#6b7280")
        fill = STATUS_FILLS.get(stage.status, "#ffffff")
        rows = "" if stage.rows_out is None else f"{stage.rows_out:,} rows"
        secs = "" if stage.seconds is None else f"{stage.seconds:.2f}s"
        status = "" if stage.status == "success" else stage.status
        detail = "  ·  ".join(x for x in (status, rows, secs) if x)
        parts.append(
            f'<g class="node" data-stage="{escape(sid)}"><title>{escape(sid)} '
            f"({escape(stage.kind)}): {escape(detail)}</title>"
            f'<rect x="{x}" y="{y}" width="{NODE_W}" height="{NODE_H}" rx="8" '
            f'fill="{fill}" stroke="{colour}" stroke-width="2"/>'
            f'<rect x="{x}" y="{y}" width="6" height="{NODE_H}" rx="3" fill="{colour}"/>'
            f'<text x="{x + 14}" y="{y + 22}" font-size="13" font-weight="600" '
            f'fill="#111827">{escape(_fit(sid, 27))}</text>'
            f'<text x="{x + 14}" y="{y + 41}" font-size="11" fill="#4b5563">'
            f"{escape(_fit(detail, 32))}</text></g>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _chains(
    edges: list[tuple[str, str]], layer: dict[str, int]
) -> tuple[list[list[str]], dict[str, int]]:
    """Each edge as a chain of nodes, with a hidden waypoint in every column it crosses.

    Waypoints take a slot in their column, so a long edge runs between the stages there
    instead of through them. Returns the chains and the column of every node.
    """
    placed = dict(layer)
    chains = []
    for i, (up, down) in enumerate(edges):
        chain = [up]
        for col in range(layer[up] + 1, layer[down]):
            waypoint = f"{WAYPOINT}{i}:{col}"
            placed[waypoint] = col
            chain.append(waypoint)
        chains.append([*chain, down])
    return chains, placed


def _route(chain: list[str], pos: dict[str, tuple[int, int]]) -> str:
    """An SVG path along a chain: curves between columns, straight through waypoints."""
    x, y = pos[chain[0]]
    cx, cy = x + NODE_W, y + NODE_H // 2
    path = [f"M{cx},{cy}"]
    for node in chain[1:]:
        nx, ny = pos[node]
        ex, ey = nx if node.startswith(WAYPOINT) else nx - 2, ny + NODE_H // 2
        mid = (cx + ex) // 2
        path.append(f"C{mid},{cy} {mid},{ey} {ex},{ey}")
        cx, cy = ex, ey
        if node.startswith(WAYPOINT):
            cx = nx + NODE_W
            path.append(f"L{cx},{cy}")
    return " ".join(path)


def _order(
    ids: list[str], layer: dict[str, int], edges: list[tuple[str, str]]
) -> dict[int, list[str]]:
    """Nodes per column, each column sorted by where its upstream nodes sit (fewer crossings)."""
    columns: dict[int, list[str]] = {}
    for sid in ids:
        columns.setdefault(layer[sid], []).append(sid)
    row: dict[str, float] = {}
    for col in sorted(columns):
        weight: dict[str, float] = {}
        for i, sid in enumerate(columns[col]):
            ups = [row[u] for u, d in edges if d == sid and u in row]
            weight[sid] = sum(ups) / len(ups) if ups else float(i)
        ids = sorted(columns[col], key=weight.__getitem__)
        columns[col] = ids
        row.update({sid: float(i) for i, sid in enumerate(ids)})
    return columns


def starts(stages: list[StageRecord], edges: list[tuple[str, str]]) -> dict[str, float]:
    """When each stage started: as recorded, else as soon as its upstream stages ended."""
    by_id = {s.stage: s for s in stages}
    begun: dict[str, float] = {}
    for stage in stages:
        if stage.started is not None:
            begun[stage.stage] = stage.started
            continue
        ends = [
            begun.get(up, 0.0) + (by_id[up].seconds or 0.0)
            for up, down in edges
            if down == stage.stage and up in by_id
        ]
        begun[stage.stage] = max(ends, default=0.0)
    return begun


def timeline(stages: list[StageRecord], edges: list[tuple[str, str]]) -> str:
    begun = starts(stages, edges)
    total = max((begun[s.stage] + (s.seconds or 0.0) for s in stages), default=0.0) or 1.0
    label_w, chart_w, row_h = 210, 620, 24
    width = label_w + chart_w + PAD * 2 + 50
    height = PAD * 2 + len(stages) * row_h + 24
    scale = chart_w / total
    parts = [
        f'<svg class="timeline" xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="timeline of stage durations" style="max-width:100%;height:auto">'
    ]
    axis_y = PAD + len(stages) * row_h + 4
    for tick in _ticks(total):
        x = PAD + label_w + tick * scale
        parts.append(
            f'<line x1="{x:.1f}" y1="{PAD}" x2="{x:.1f}" y2="{axis_y}" stroke="#e5e7eb"/>'
            f'<text x="{x:.1f}" y="{axis_y + 14}" font-size="10" fill="#6b7280" '
            f'text-anchor="middle">{tick:g}s</text>'
        )
    for i, stage in enumerate(stages):
        y = PAD + i * row_h
        x = PAD + label_w + begun[stage.stage] * scale
        w = max((stage.seconds or 0.0) * scale, 2.0)
        colour = KIND_COLOURS.get(stage.kind, "#6b7280")
        opacity = "1" if stage.status == "success" else "0.35"
        secs = "" if stage.seconds is None else f"{stage.seconds:.2f}s"
        parts.append(
            f'<g class="bar" data-stage="{escape(stage.stage)}">'
            f"<title>{escape(stage.stage)}: {escape(stage.status)} {secs}</title>"
            f'<text x="{PAD + label_w - 8}" y="{y + 16}" font-size="12" fill="#111827" '
            f'text-anchor="end">{escape(_fit(stage.stage, 28))}</text>'
            f'<rect x="{x:.1f}" y="{y + 4}" width="{w:.1f}" height="{row_h - 8}" rx="3" '
            f'fill="{colour}" fill-opacity="{opacity}"/>'
            f'<text x="{x + w + 4:.1f}" y="{y + 16}" font-size="10" fill="#4b5563">'
            f"{secs}</text></g>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _ticks(total: float) -> list[float]:
    for step in (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600):
        if total / step <= 8:
            break
    count = int(total / step) + 1
    return [round(i * step, 4) for i in range(count)]


def _fit(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
