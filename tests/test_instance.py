"""`hepwatch run`'s in-memory Dagster instance (pipelines/instance.py) stores and reads back what Dagster's own
ephemeral instance does: the same materializations, materialized partitions, metadata and check results; a
ranged run's planned materializations are one event per asset, naming its days."""

import dagster as dg

from pipelines.instance import ephemeral_instance

DAYS = dg.DynamicPartitionsDefinition(name="days")
KEYS = ["2024-01-01", "2024-01-02", "2024-01-05"]


@dg.asset(partitions_def=DAYS, backfill_policy=dg.BackfillPolicy.single_run(),
          check_specs=[dg.AssetCheckSpec("rows_ok", asset="daily")])  # fmt: skip
def daily(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    return dg.MaterializeResult(
        metadata={"days": len(context.partition_keys)},
        check_results=[dg.AssetCheckResult(check_name="rows_ok", passed=len(context.partition_keys) == 2)],
    )


@dg.asset(deps=[daily])
def whole() -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={"rows": 7})


def _run(instance: dg.DagsterInstance) -> tuple:
    instance.add_dynamic_partitions("days", KEYS)
    job = dg.Definitions(assets=[daily, whole], jobs=[dg.define_asset_job("both")]).resolve_job_def("both")
    tags = {"dagster/asset_partition_range_start": KEYS[0], "dagster/asset_partition_range_end": KEYS[1]}
    result = job.execute_in_process(instance=instance, tags=tags)
    assert result.success
    events = sorted(
        (e.event_type_value, e.asset_key.to_user_string() if e.asset_key else "", e.partition or "")
        for e in result.all_events
        if e.event_type_value.startswith("ASSET") and e.event_type_value != "ASSET_MATERIALIZATION_PLANNED"
    )
    planned = [
        r.event_log_entry.get_dagster_event().event_specific_data
        for r in instance.get_records_for_run(
            result.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED
        ).records
    ]
    days_planned = sorted(
        key
        for p in planned
        if p.asset_key == dg.AssetKey("daily")
        for key in (p.partitions_subset.get_partition_keys() if p.partitions_subset else [p.partition])
    )
    stored = sorted(
        (r.event_log_entry.dagster_event_type.value, r.partition_key or "")
        for r in instance.fetch_materializations(dg.AssetKey("daily"), limit=100).records
    )
    check = instance.event_log_storage.get_latest_asset_check_execution_by_key(
        [dg.AssetCheckKey(dg.AssetKey("daily"), "rows_ok")]
    )
    evaluation = next(iter(check.values())).event.asset_check_evaluation
    return (
        days_planned,
        events,
        stored,
        instance.get_materialized_partitions(dg.AssetKey("daily")),
        instance.get_latest_materialization_event(dg.AssetKey("whole")).asset_materialization.metadata[
            "rows"
        ],
        evaluation.passed,
    )


def test_a_ranged_run_reads_back_as_from_dagsters_ephemeral_instance():
    ours = _run(ephemeral_instance())
    theirs = _run(dg.DagsterInstance.ephemeral())
    assert ours == theirs
    days_planned, events, stored, materialized, rows, passed = ours
    assert ("ASSET_MATERIALIZATION", "daily", "2024-01-02") in events
    assert days_planned == ["2024-01-01", "2024-01-02"]
    # by hand: the range is the first two of the three days; each is planned and materialized once
    assert materialized == {"2024-01-01", "2024-01-02"}
    assert stored == [("ASSET_MATERIALIZATION", "2024-01-01"), ("ASSET_MATERIALIZATION", "2024-01-02")]
    assert rows == dg.IntMetadataValue(7)
    assert passed is True


def test_the_instance_serves_several_runs_and_reads_between_them():
    instance = ephemeral_instance()
    _run(instance)
    job = dg.Definitions(assets=[daily, whole], jobs=[dg.define_asset_job("both")]).resolve_job_def("both")
    tags = {"dagster/asset_partition_range_start": KEYS[2], "dagster/asset_partition_range_end": KEYS[2]}
    assert job.execute_in_process(instance=instance, tags=tags).success
    assert instance.get_materialized_partitions(dg.AssetKey("daily")) == set(KEYS)
    assert len(instance.get_runs()) == 2


def test_a_ranged_run_plans_each_asset_once():
    instance = ephemeral_instance()
    _run(instance)
    run = instance.get_runs()[0]
    planned = instance.get_records_for_run(
        run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED
    ).records
    # two assets, one event each (Dagster's own ephemeral instance: one per day of `daily`, plus `whole`)
    assert len(planned) == 2
