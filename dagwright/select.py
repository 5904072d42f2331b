"""``--select``: which stages of a plan a run runs, in dbt's selector syntax.

``STAGE`` runs one stage, ``STAGE+`` it and everything downstream of it, ``+STAGE`` it
and everything upstream of it (``+STAGE+`` both). A stage is named as ``dagwright plan``
lists it (``transform_enriched_orders``), as ``kind.name`` (``transform.enriched_orders``,
``check.orders``, ``check_load.fct_orders``), or by its bare name when only one
non-check stage has it. A selected stage brings its own checks along: the output a
step's readers take is the checked one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from dagwright.errors import DagwrightError, did_you_mean
from dagwright.plan import Plan, Stage


class SelectError(DagwrightError):
    """A selector that names no stage, or more than one."""


@dataclass(frozen=True)
class Selector:
    name: str
    upstream: bool = False
    downstream: bool = False

    def __str__(self) -> str:
        return f"{'+' if self.upstream else ''}{self.name}{'+' if self.downstream else ''}"


def parse_selectors(values: Iterable[str]) -> list[Selector]:
    """Selectors from ``--select`` values, each comma-separated (``a,b+`` or repeated)."""
    selectors = []
    for value in values:
        for part in value.split(","):
            text = part.strip()
            if not text:
                continue
            up, down = text.startswith("+"), text.endswith("+")
            name = text.removeprefix("+").removesuffix("+").strip()
            if not name:
                raise SelectError(f"--select {text!r}: name a stage (e.g. +load.fct_orders)")
            selectors.append(Selector(name, up, down))
    if not selectors:
        raise SelectError("--select needs at least one stage")
    return selectors


def stage_names(stage: Stage) -> list[str]:
    """The names a stage answers to: its id and ``kind.name``."""
    kind = "check_load" if stage.kind == "check" and stage.checks_of == "load" else stage.kind
    return [stage.id, f"{kind}.{stage.name}"]


def resolve(plan: Plan, name: str) -> Stage:
    for stage in plan.stages.values():
        if name in stage_names(stage):
            return stage
    bare = [s for s in plan.stages.values() if s.name == name and s.kind != "check"]
    if len(bare) == 1:
        return bare[0]
    if bare:
        options = ", ".join(stage_names(s)[1] for s in bare)
        raise SelectError(f"--select {name!r} is ambiguous in {plan.pipeline}: use {options}")
    known = [n for s in plan.ordered() for n in stage_names(s)]
    raise SelectError(
        f"--select {name!r}: no such stage in {plan.pipeline}"
        f"{did_you_mean(name, known)}; its stages: "
        + ", ".join(stage_names(s)[1] for s in plan.ordered())
    )


def select(plan: Plan, selectors: Iterable[Selector]) -> set[str]:
    """The ids of the stages the selectors pick, with the checks of each picked stage."""
    chosen: set[str] = set()
    for selector in selectors:
        stage = resolve(plan, selector.name)
        chosen.add(stage.id)
        if selector.upstream:
            chosen |= plan.upstream(stage.id)
        if selector.downstream:
            chosen |= plan.downstream(stage.id)
    for sid in list(chosen):
        chosen |= checks_of(plan, sid)
    return chosen


def checks_of(plan: Plan, sid: str) -> set[str]:
    """The check stages that check ``sid``'s own output (or its load)."""
    return {
        s.id
        for s in plan.stages.values()
        if s.kind == "check" and s.upstream == (sid,) and plan.stages[sid].kind != "check"
    }
