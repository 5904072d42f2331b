"""The operator of a stage's task: ``run_stage`` in a PythonOperator that tells the
OpenLineage provider (``apache-airflow-providers-openlineage``) what the stage reads and
writes, with the same datasets, schemas and column lineage as a local run
(``dagwright.openlineage.stage_datasets``).

The provider calls ``get_openlineage_facets_on_start``/``_on_complete``/``_on_failure``
and puts the returned ``OperatorLineage`` in its own task events (job
``<dag_id>.<task_id>``, parent: the DAG run), which also carry the error on failure.
Without the provider, or with it disabled (no transport configured), the hooks are
never called and ``execute`` does no extra work.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from airflow.providers.standard.operators.python import PythonOperator

if TYPE_CHECKING:
    from airflow.providers.openlineage.extractors import OperatorLineage

    from dagwright.openlineage import Schema
    from dagwright.plan import Plan, Stage
    from dagwright.results import StageResult

log = logging.getLogger(__name__)


def _lineage_enabled() -> bool:
    try:
        from airflow.providers.openlineage.conf import is_disabled
    except ImportError:
        return False
    return not is_disabled()


class StageOperator(PythonOperator):
    """``PythonOperator(python_callable=run_stage, op_args=[spec_path, stage_id])`` that
    reports the stage's lineage."""

    _dagwright_result: dict[str, Any] | None = None
    _dagwright_schemas: dict[str, Schema] | None = None

    def execute(self, context: Any) -> Any:
        result = super().execute(context)
        self._dagwright_result = result
        if _lineage_enabled():
            try:
                self._dagwright_schemas = self._schemas(context["ti"], result)
            except Exception:  # noqa: BLE001 - lineage never fails a task
                log.warning("OpenLineage: no schemas for %s", self.task_id, exc_info=True)
        return result

    def _stage(self) -> tuple[Plan, Stage]:
        from dagwright.airflow.tasks import load_plan

        spec_path, stage_id = self.op_args[0], self.op_args[1]
        plan = load_plan(spec_path)
        return plan, plan.stages[stage_id]

    def _schemas(self, ti: Any, result: dict[str, Any] | None) -> dict[str, Schema]:
        """The columns of this stage's output, and of the output a load takes (read here,
        in the task, where its XCom is at hand)."""
        from dagwright.openlineage import schema_of

        plan, stage = self._stage()
        payloads = {stage.id: result}
        if stage.kind == "load":
            provider = stage.data_inputs[0][1]
            payloads[provider] = ti.xcom_pull(task_ids=provider)
        schemas = {}
        for sid, payload in payloads.items():
            staged = (payload or {}).get("staged")
            schema = schema_of(staged["uri"]) if staged else None
            if schema is not None:
                schemas[sid] = schema
        return schemas

    def _lineage(self, result: dict[str, Any] | None) -> OperatorLineage:
        from airflow.providers.openlineage.extractors import OperatorLineage

        from dagwright.openlineage import stage_datasets
        from dagwright.results import StageResult

        plan, stage = self._stage()
        parsed: StageResult | None = StageResult.from_dict(result) if result else None
        inputs, outputs = stage_datasets(plan, stage, self._dagwright_schemas, parsed)
        return OperatorLineage(inputs=inputs, outputs=outputs)

    def get_openlineage_facets_on_start(self) -> OperatorLineage:
        return self._lineage(None)

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> OperatorLineage:
        return self._lineage(self._dagwright_result)

    def get_openlineage_facets_on_failure(self, task_instance: Any) -> OperatorLineage:
        return self._lineage(None)
