"""The report: one markdown table per job, the targets of issue 8 checked, and a PNG chart."""

from __future__ import annotations

import argparse
import shlex
import statistics
import sys
from pathlib import Path

from benchmarks.jobs import (
    DAGWRIGHT,
    DAGWRIGHT_BARE,
    JOB_A,
    JOB_B_FULL,
    JOB_B_INC,
    JOB_C,
    STARTUP,
)
from benchmarks.measure import Measurement
from benchmarks.sqljobs import JOB_SQL_STEPS

ORDER = (JOB_A, JOB_B_FULL, JOB_B_INC, JOB_C, STARTUP, JOB_SQL_STEPS)
NO_ROW_RATE = (STARTUP, JOB_SQL_STEPS)
"""Jobs whose size is not a row count (spec counts, queries): no rows/s column."""


def _group(results: list[Measurement], job: str, size: int) -> list[Measurement]:
    return [m for m in results if m.job == job and m.size == size]


def reference_of(results: list[Measurement], m: Measurement) -> Measurement | None:
    """The reference in ``m``'s group (start-up rows compare per spec count)."""
    if m.job == STARTUP and (
        "Airflow parse" not in m.contender or m.size != _largest_parse(results)
    ):
        return None
    group = _group(results, m.job, m.size)
    return next((r for r in group if r.reference and r.ok), None)


def _largest_parse(results: list[Measurement]) -> int:
    sizes = [m.size for m in results if m.job == STARTUP and "Airflow parse" in m.contender]
    return max(sizes, default=0)


def _fmt_size(m: Measurement) -> str:
    if m.job == STARTUP:
        return f"{m.size:,} specs" if m.size else "-"
    if m.job == JOB_SQL_STEPS:
        return f"{m.size} queries"
    return f"{m.size:,}"


def _phases(m: Measurement) -> str:
    names = sorted({k for s in m.samples for k in s.extra if k != "dags"})
    return ", ".join(f"{n} {m.phase(n):.2f}s" for n in names)


def jobs_in_order(results: list[Measurement]) -> list[str]:
    """The fixed jobs first, then the others (extract, load groups) as they were measured."""
    seen = list(dict.fromkeys(m.job for m in results))
    return [*ORDER, *(j for j in seen if j not in ORDER)]


def table(results: list[Measurement]) -> list[str]:
    lines = []
    for job in jobs_in_order(results):
        rows = [m for m in results if m.job == job]
        if not rows:
            continue
        lines += [
            f"### {job}",
            "",
            "| rows | contender | wall s (median) | CPU s | peak RSS MiB | rows/s "
            "| wall vs ref | CPU vs ref | RSS vs ref | notes |",
            "|---:|---|---:|---:|---:|---:|---:|---:|---:|---|",
        ]
        for m in rows:
            name = f"**{m.contender}** (reference)" if m.reference else m.contender
            if not m.ok:
                lines.append(f"| {_fmt_size(m)} | {name} | {m.status} | | | | | | | |")
                continue
            ref = reference_of(results, m)
            wall_ratio = f"{m.wall / ref.wall:.2f}x" if ref and ref.wall else "-"
            rss_ratio = f"{m.rss_mib / ref.rss_mib:.2f}x" if ref and ref.rss_mib else "-"
            cpu_ratio = f"{m.cpu / ref.cpu:.2f}x" if ref and ref.cpu else "-"
            rate = f"{m.rows_per_s():,.0f}" if m.job not in NO_ROW_RATE else "-"
            notes = "; ".join(x for x in (_phases(m), m.note) if x)
            lines.append(
                f"| {_fmt_size(m)} | {name} | {m.wall:.2f} | {m.cpu:.2f} | {m.rss_mib:.0f} "
                f"| {rate} | {wall_ratio} | {cpu_ratio} | {rss_ratio} | {notes} |"
            )
        lines.append("")
    return lines


def _find(
    results: list[Measurement], job: str, prefix: str, size: int | None = None, exact: bool = False
):
    for m in results:
        named = m.contender == prefix if exact else m.contender.startswith(prefix)
        if m.job == job and named and (size is None or m.size == size):
            return m if m.ok else None
    return None


def per_round(m: Measurement, ref: Measurement) -> list[float]:
    """Wall ratios to the reference round by round, for contenders measured in turns.

    Each round's runs follow each other within seconds, so a round's ratio meets one
    machine; the median of these is the verdict's figure (the medians of each contender's
    runs can pair a busy minute with a quiet one)."""
    if len(m.samples) != len(ref.samples) or len(m.samples) < 2:
        return []
    return [a.wall / b.wall for a, b in zip(m.samples, ref.samples, strict=True)]


def checks_per_round(
    with_checks: Measurement, without: Measurement, ge: Measurement
) -> list[tuple[float, float]]:
    """Job C round by round: what the checks add (a run with them minus one without) over
    GE's own import and validation in the same round, as (CPU, wall) ratios."""
    rounds = list(zip(with_checks.samples, without.samples, ge.samples, strict=False))
    if len({len(with_checks.samples), len(without.samples), len(ge.samples)}) != 1:
        return []
    out = []
    for a, b, g in rounds:
        cpu = g.extra.get("import_cpu", 0) + g.extra.get("validate_cpu", 0)
        wall = g.extra.get("import", 0) + g.extra.get("validate", 0)
        if cpu <= 0 or wall <= 0:
            return []
        out.append(((a.cpu - b.cpu) / cpu, (a.wall - b.wall) / wall))
    return out if len(out) >= 2 else []


def targets(results: list[Measurement]) -> list[str]:
    """Issue 8's targets, each with the measured figure and pass / miss / not measured."""
    rows: list[tuple[str, str, str]] = []

    def verdict(ok: bool | None) -> str:
        return "not measured" if ok is None else ("met" if ok else "**missed**")

    sizes = sorted({m.size for m in results if m.job == JOB_A})
    big = sizes[-1] if sizes else None
    if big:
        ref = _find(results, JOB_A, "DuckDB", big)
        bare = _find(results, JOB_A, DAGWRIGHT_BARE, big)
        dw = _find(results, JOB_A, DAGWRIGHT, big, exact=True)
        for who, m in (("", dw), (DAGWRIGHT_BARE.removeprefix(DAGWRIGHT), bare)):
            if who and m is None:
                continue
            figure, ok = "-", None
            if m and ref:
                paired = per_round(m, ref)
                figure = (
                    f"{m.wall / ref.wall:.2f}x wall ({m.cpu / ref.cpu:.2f}x CPU), "
                    f"{m.rss_mib / ref.rss_mib:.2f}x RSS"
                )
                wall_ratio = m.wall / ref.wall
                if paired:
                    wall_ratio = statistics.median(paired)
                    figure += (
                        f"; per round {wall_ratio:.2f}x "
                        f"({min(paired):.2f}-{max(paired):.2f}x, {len(paired)} rounds)"
                    )
                ok = wall_ratio <= 1.3 and m.rss_mib <= 1.5 * ref.rss_mib
            rows.append(
                (
                    f"A at {big:,}{who}: wall <= 1.3x and RSS <= 1.5x the DuckDB script",
                    figure,
                    verdict(ok),
                )
            )
        for peer in ("pandas", "dlt"):
            p = _find(results, JOB_A, peer, big)
            ok = (p.cpu >= 1.5 * dw.cpu and p.wall >= 1.5 * dw.wall) if dw and p else None
            figure = (
                f"{peer} takes {p.wall / dw.wall:.2f}x dagwright's wall, "
                f"{p.cpu / dw.cpu:.2f}x its CPU"
                if dw and p
                else "-"
            )
            rows.append((f"A at {big:,}: well ahead of {peer} (>= 1.5x)", figure, verdict(ok)))
    b_sizes = sorted({m.size for m in results if m.job == JOB_B_FULL})
    if b_sizes:
        n = b_sizes[-1]
        dw = _find(results, JOB_B_FULL, "dagwright", n)
        ref = _find(results, JOB_B_FULL, "COPY", n)
        dlt = _find(results, JOB_B_FULL, "dlt", n)
        ok = (dw.wall <= 1.5 * ref.wall) if dw and ref else None
        rows.append(
            (
                f"B full at {n:,}: within 1.5x of COPY",
                f"{dw.wall / ref.wall:.2f}x" if dw and ref else "-",
                verdict(ok),
            )
        )
        ok = (dw.wall <= dlt.wall) if dw and dlt else None
        rows.append(
            (
                f"B full at {n:,}: at least dlt's throughput",
                f"{dw.rows_per_s():,.0f} vs {dlt.rows_per_s():,.0f} rows/s" if dw and dlt else "-",
                verdict(ok),
            )
        )
        if len(b_sizes) > 1:
            small = _find(results, JOB_B_FULL, "dagwright", b_sizes[0])
            growth = n / b_sizes[0]
            ok = (dw.rss_mib / small.rss_mib < 1.3) if dw and small else None
            rows.append(
                (
                    f"B full: peak RSS growth when input grows {growth:.0f}x < 1.3x",
                    f"{dw.rss_mib / small.rss_mib:.2f}x" if dw and small else "-",
                    verdict(ok),
                )
            )
    for n in sorted({m.size for m in results if m.job == JOB_C}):
        with_checks = _find(results, JOB_C, "dagwright +", n)
        without = _find(results, JOB_C, "dagwright, no", n)
        ge = _find(results, JOB_C, "GE directly", n)
        if with_checks and without and ge and ge.phase("validate_cpu") is not None:
            added = with_checks.cpu - without.cpu
            added_wall = with_checks.wall - without.wall
            imp, val = ge.phase("import_cpu") or 0, ge.phase("validate_cpu") or 0
            ge_wall = (ge.phase("import") or 0) + (ge.phase("validate") or 0)
            ratio_cpu, ratio_wall = added / (imp + val), added_wall / ge_wall
            figure = (
                f"checks add {added:.2f}s CPU, {added_wall:.2f}s wall; GE import {imp:.2f}s + "
                f"validate {val:.2f}s CPU = {imp + val:.2f}s ({ge_wall:.2f}s wall); ratio "
                f"{ratio_cpu:.2f}x CPU, {ratio_wall:.2f}x wall"
            )
            rounds = checks_per_round(with_checks, without, ge)
            if rounds:
                ratio_cpu = statistics.median(c for c, _ in rounds)
                ratio_wall = statistics.median(w for _, w in rounds)
                figure += (
                    f"; per round {ratio_cpu:.2f}x CPU, {ratio_wall:.2f}x wall "
                    f"({len(rounds)} rounds)"
                )
            ok = ratio_cpu <= 1.2 and ratio_wall <= 1.2
        elif with_checks and without and ge:
            added = with_checks.wall - without.wall
            imp, val = ge.phase("import") or 0, ge.phase("validate") or 0
            figure = (
                f"checks add {added:.2f}s wall; GE import {imp:.2f}s + validate {val:.2f}s wall"
            )
            rows.append(
                (
                    f"C at {n:,}: framework adds <= 20% around GE",
                    figure,
                    "inconclusive: wall seconds only (GE's CPU phases not measured)",
                )
            )
            continue
        else:
            figure, ok = "-", None
        rows.append((f"C at {n:,}: framework adds <= 20% around GE", figure, verdict(ok)))
    helpm = _find(results, STARTUP, "dagwright --help")
    rows.append(
        (
            "`dagwright --help` < 0.3 s",
            f"{helpm.wall:.2f}s wall ({helpm.cpu:.2f}s CPU)" if helpm else "-",
            verdict(helpm.wall < 0.3 if helpm else None),
        )
    )
    val = _find(results, STARTUP, "dagwright validate")
    rows.append(
        (
            f"validate {val.size if val else 100} specs < 1 s",
            f"{val.wall:.2f}s wall ({val.cpu:.2f}s CPU)" if val else "-",
            verdict(val.wall < 1.0 if val else None),
        )
    )
    n = _largest_parse(results)
    hand = next((m for m in results if m.job == STARTUP and m.reference and m.ok), None)
    for suffix in ("", ", cold cache"):
        name = f"Airflow parse: dagwright_dags.py, {n} specs{suffix}"
        dw = next((m for m in results if m.contender == name and m.ok), None)
        rows.append(_airflow_target(n, suffix, dw, hand))
    lines = ["| target (issue 8) | measured | verdict |", "|---|---|---|"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    return lines


def _airflow_target(
    n: int, suffix: str, dw: Measurement | None, hand: Measurement | None
) -> tuple[str, str, str]:
    if dw and hand:
        key = "parse_cpu" if dw.phase("parse_cpu") and hand.phase("parse_cpu") else "parse"
        unit = "s CPU" if key == "parse_cpu" else "s wall"
        imp = hand.phase(key.replace("parse", "import")) or 0
        figure = (
            f"parse {dw.phase(key):.2f}{unit} vs {hand.phase(key):.2f}{unit} hand-written "
            f"= {dw.phase(key) / hand.phase(key):.2f}x (Airflow import {imp:.2f}{unit}, "
            "not counted)"
        )
        ok = dw.phase(key) <= 2 * hand.phase(key)
        if suffix:
            figure += f"; {dw.note}" if dw.note else ""
    else:
        figure, ok = "-", None
    state = " (cold cache: first parse)" if suffix else " (warm: blueprints cached)"
    verdict = "not measured" if ok is None else ("met" if ok else "**missed**")
    return (f"Airflow parse of {n} specs{state} <= 2x {n} hand-written DAGs", figure, verdict)


def runs_per_job(results: list[Measurement]) -> str:
    """How many runs each job's medians are of, e.g. ``5 for A, 3 for B``."""
    counts: dict[str, int] = {}
    for m in results:
        key = m.job.split(":")[0]
        counts[key] = max(counts.get(key, 0), len(m.samples))
    return ", ".join(f"{n} for {job}" for job, n in counts.items() if n)


def markdown(
    results: list[Measurement], machine: dict[str, str], args: argparse.Namespace, elapsed: float
) -> str:
    command = "python -m benchmarks " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    if getattr(args, "from_json", None):
        command = f"report rewritten from {args.from_json.name} (see the note)"
    lines = [
        "# dagwright benchmarks",
        "",
        "Written by `make bench` (`python -m benchmarks`); every contender ran in its own",
        "process on the same generated data in the same run. Wall seconds are the median of",
        f"each contender's runs ({runs_per_job(results)}); CPU seconds are the"
        " child's user + system time (median); peak RSS is the child's maximum resident set "
        "(largest run). PostgreSQL's own CPU (job B) is not counted for anyone.",
        "",
        "## Machine",
        "",
        *(f"- {k}: {v}" for k, v in machine.items()),
        f"- command: `{command.strip()}`"
        + (f" ({elapsed / 60:.1f} min in total)" if elapsed else ""),
        *([f"- note: {args.note}"] if getattr(args, "note", "") else []),
        "",
        "## Targets",
        "",
        *targets(results),
        "",
        "## Results",
        "",
        *table(results),
    ]
    return "\n".join(lines) + "\n"


def chart(results: list[Measurement], path: Path) -> str | None:
    """Wall seconds per contender, one panel per job at its largest size; None when written."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "no chart: matplotlib is not installed (pip install -e '.[bench]')"
    panels = []
    for job in jobs_in_order(results):
        rows = [m for m in results if m.job == job and m.ok]
        if not rows:
            continue
        if job not in NO_ROW_RATE:
            top = max(m.size for m in rows)
            rows = [m for m in rows if m.size == top]
            title = f"{job}\n({top:,} rows)"
        else:
            title = job
        panels.append((title, rows))
    if not panels:
        return "no chart: nothing was measured"
    fig, axes = plt.subplots(
        len(panels),
        1,
        figsize=(9, 2.2 + 1.1 * sum(len(r) for _, r in panels) / len(panels) * len(panels) / 2),
    )
    axes = axes if len(panels) > 1 else [axes]
    for ax, (title, rows) in zip(axes, panels, strict=True):
        labels = [
            f"{m.contender} ({m.size:,})" if m.job == STARTUP and m.size else m.contender
            for m in rows
        ]
        colors = [
            "#4c72b0"
            if m.contender.startswith("dagwright")
            else ("#55a868" if m.reference else "#c44e52")
            for m in rows
        ]
        ys = list(range(len(rows)))
        bars = ax.barh([y - 0.2 for y in ys], [m.wall for m in rows], 0.4, color=colors)
        cpu = ax.barh([y + 0.2 for y in ys], [m.cpu for m in rows], 0.4, color=colors, alpha=0.4)
        ax.bar_label(bars, labels=[f"{m.wall:.2f}s wall" for m in rows], padding=3, fontsize=7)
        ax.bar_label(cpu, labels=[f"{m.cpu:.2f}s CPU" for m in rows], padding=3, fontsize=7)
        ax.set_yticks(ys, labels)
        ax.invert_yaxis()
        ax.set_title(title, fontsize=9, loc="left")
        ax.tick_params(labelsize=8)
        ax.set_xlabel("seconds (median): wall (solid), CPU (light)", fontsize=8)
        ax.margins(x=0.15)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return None
