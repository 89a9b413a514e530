"""Alerts on what a run's checks found: a safety signal (assets/signal_checks.py) or a failed ERROR check.

One function reads a finished run's check evaluations from the Dagster instance and delivers the alerts
(hepwatch.alerts: once per fingerprint and channel, retried until delivered). Two callers: the run status
sensors below, which the daemon evaluates after every run that ends (successful or failed), and `hepwatch
run`, which calls it after its in-process run (an ephemeral instance has no daemon). The sensors open no
database: the ledger is a JSON file beside the warehouse.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

import dagster as dg
from dagster._core.definitions.asset_checks.asset_check_evaluation import AssetCheckEvaluation

from assets.resources import Warehouse
from assets.signal_checks import SIGNAL_CHECKS
from hepwatch.alerts import LEDGER_FILE, Alert, AlertSettings, Delivery, deliver


def _metadata_value(metadata: Mapping[str, Any], name: str) -> Any:
    value = metadata.get(name)
    return getattr(value, "value", value)


def _items(found: Any) -> tuple[str, ...]:
    """Each finding as one line of text: what makes two alerts the same alert."""
    if not isinstance(found, list):
        return ()
    return tuple(sorted(" ".join(f"{k}={v}" for k, v in sorted(row.items())) for row in found))


def alerts_for_run(instance: dg.DagsterInstance, run_id: str, settings: AlertSettings) -> list[Alert]:
    """The alerts a run's check evaluations call for: failed signal checks and failed ERROR checks."""
    records = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION).records
    alerts = []
    for record in records:
        event = record.event_log_entry.dagster_event
        evaluation = event.event_specific_data if event else None
        if not isinstance(evaluation, AssetCheckEvaluation) or evaluation.passed:
            continue
        asset = "/".join(evaluation.asset_key.path)
        check_url = (
            f"{settings.dagster_url.rstrip('/')}/assets/{quote(asset)}?view=checks"
            if settings.dagster_url
            else None
        )
        metadata = evaluation.metadata or {}
        days = str(_metadata_value(metadata, "days") or "")
        report_url = None
        if settings.report_url:
            last_day = days.split(", ")[-1] if days else ""
            page = f"{last_day}.html" if last_day else "latest.html"
            report_url = f"{settings.report_url.rstrip('/')}/{page}"
        if evaluation.check_name in SIGNAL_CHECKS:
            alerts.append(
                Alert(
                    check=evaluation.check_name,
                    asset=asset,
                    severity="WARN",
                    kind=str(_metadata_value(metadata, "signal")),
                    patients=int(_metadata_value(metadata, "patients") or 0),
                    days=tuple(d for d in days.split(", ") if d),
                    summary=evaluation.description or "",
                    items=_items(_metadata_value(metadata, "found_json")),
                    report_url=report_url,
                    check_url=check_url,
                )
            )
        elif evaluation.severity == dg.AssetCheckSeverity.ERROR:
            partition = evaluation.partition or ""
            alerts.append(
                Alert(
                    check=evaluation.check_name,
                    asset=asset,
                    severity="ERROR",
                    kind="failed data check",
                    patients=0,
                    days=(partition,) if partition else (),
                    summary=evaluation.description or f"{evaluation.check_name} failed on {asset}",
                    report_url=report_url,
                    check_url=check_url,
                )
            )
    return alerts


def alert_run(
    instance: dg.DagsterInstance,
    run_id: str,
    warehouse_dir: Path,
    log: Callable[[str], None] = lambda _: None,
    settings: AlertSettings | None = None,
) -> Delivery:
    """Deliver what a finished run calls for; nothing when no channel is configured."""
    settings = settings or AlertSettings.from_env()
    if not settings.enabled:
        return Delivery()
    return deliver(alerts_for_run(instance, run_id, settings), settings, warehouse_dir / LEDGER_FILE, log)


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.SUCCESS,
    name="alert_on_signals",
    description="After a run succeeds: alerts for new safety signals and failed ERROR checks (HEPWATCH_ALERT_*).",
    minimum_interval_seconds=30,
    monitor_all_code_locations=False,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def alert_on_signals(context: dg.RunStatusSensorContext, warehouse: Warehouse) -> None:
    delivery = alert_run(context.instance, context.dagster_run.run_id, warehouse.paths.root, context.log.info)
    if delivery.failed:
        context.log.warning(f"{len(delivery.failed)} alert(s) not delivered yet; retried after the next run")


@dg.run_failure_sensor(
    name="alert_on_failed_runs",
    description="After a run fails: alerts for failed ERROR checks and safety signals it recorded.",
    minimum_interval_seconds=30,
    monitor_all_code_locations=False,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def alert_on_failed_runs(context: dg.RunFailureSensorContext, warehouse: Warehouse) -> None:
    alert_run(context.instance, context.dagster_run.run_id, warehouse.paths.root, context.log.info)
