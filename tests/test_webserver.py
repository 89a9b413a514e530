"""The Dagster UI's GraphQL API, served by `dagster-webserver` on a loopback port, over `hepwatch run`'s runs.

`hepwatch run` executes in its own process with a persistent DAGSTER_HOME, so its two runs and every check
evaluation are recorded in that instance; the webserver then loads `workspace.yaml` (the same code location
as `dg` and `make dev`) against the same instance. The tests ask it what a monitor would see in the UI: the
asset graph, the daily partitions, and the asset checks with their latest results.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

from tests.support.hand_feed import write_feeds
from tests.support.webserver import PROJECT, start_webserver, stop

FIRST_DAY, LAST_DAY = "2026-06-01", "2026-06-05"  # the days write_feeds holds


@pytest.fixture
def graphql(tmp_path):
    """A webserver over an instance holding the runs of `hepwatch run`; yields a GraphQL query function."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    feeds = write_feeds(tmp_path / "feeds")
    warehouse = tmp_path / "warehouse"
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "HEPWATCH_FEEDS_DIR": str(feeds),
        "HEPWATCH_WAREHOUSE_DIR": str(warehouse),
    }
    built = subprocess.run(
        [sys.executable, "-c", f"from pipelines.cli import run; run({str(feeds)!r}, {str(warehouse)!r})"],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    assert (warehouse / "analytics.duckdb").exists()

    server, url = start_webserver(env, tmp_path / "webserver.log")

    def query(text: str) -> dict:
        request = urllib.request.Request(
            f"{url}/graphql",
            data=json.dumps({"query": text}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            body = json.load(response)
        assert "errors" not in body, body["errors"]
        return body["data"]

    try:
        yield query
    finally:
        stop(server)


def user_string(key: dict) -> str:
    return "/".join(key["path"])


def asset_node(graphql, key: str, fields: str) -> dict:
    path = json.dumps(key.split("/"))
    data = graphql(
        f"{{ assetNodeOrError(assetKey: {{path: {path}}}) {{ __typename ... on AssetNode {{ {fields} }} }} }}"
    )
    node = data["assetNodeOrError"]
    assert node["__typename"] == "AssetNode", node
    return node


def assert_asset_graph_has_the_pipeline_assets_and_their_lineage(graphql) -> None:
    data = graphql("{ assetNodes { assetKey { path } dependencyKeys { path } } }")
    deps = {
        user_string(node["assetKey"]): {user_string(k) for k in node["dependencyKeys"]}
        for node in data["assetNodes"]
    }
    assert {
        "ingest/lab_feed",
        "ingest/dosing_feed",
        "staging/liver_observations",
        "marts/lab_results",
        "marts/abnormal_enzyme_cases_daily",
        "published/analytics_database",
    } <= set(deps)
    assert "ingest/lab_feed" in deps["staging/liver_observations"]
    assert deps["marts/lab_results"] == {"staging/liver_observations"}
    assert "marts/lab_results" in deps["marts/abnormal_enzyme_cases_daily"]
    # Publishing waits for every mart it copies into analytics.duckdb.
    assert {
        "marts/lab_results",
        "marts/dosing_daily",
        "marts/abnormal_enzyme_cases_daily",
        "marts/daily_summary",
        "marts/edish",
        "marts/monitoring_gaps",
        "marts/feed_files",
        "marts/quarantine",
    } <= deps["published/analytics_database"]


def assert_lab_results_is_daily_partitioned_and_its_days_are_materialized(graphql) -> None:
    node = asset_node(
        graphql,
        "marts/lab_results",
        "partitionDefinition { type description } partitionStats { numMaterialized numFailed }",
    )
    # one partition per day with data
    assert node["partitionDefinition"]["type"] == "DYNAMIC"
    assert "clinical_days" in node["partitionDefinition"]["description"]
    # The build_days run of `hepwatch run` materialized the days with data, 2026-06-01, 02, 03 and 05 (no
    # result or dose on June 4th), recorded in the instance.
    assert node["partitionStats"] == {"numMaterialized": 4, "numFailed": 0}


def assert_lab_results_checks_are_listed_and_schema_valid_passed(graphql) -> None:
    node = asset_node(
        graphql,
        "marts/lab_results",
        "assetChecksOrError { __typename ... on AssetChecks { checks { name blocking "
        "executionForLatestMaterialization { status evaluation { success severity } } } } }",
    )
    checks_or_error = node["assetChecksOrError"]
    assert checks_or_error["__typename"] == "AssetChecks", checks_or_error
    checks = {check["name"]: check for check in checks_or_error["checks"]}
    assert {"schema_valid", "no_duplicate_results"} <= set(checks)
    schema_valid = checks["schema_valid"]
    assert schema_valid["blocking"] is True
    assert schema_valid["executionForLatestMaterialization"] == {
        "status": "SUCCEEDED",
        "evaluation": {"success": True, "severity": "ERROR"},
    }
    assert checks["no_duplicate_results"]["executionForLatestMaterialization"]["status"] == "SUCCEEDED"


def assert_the_two_runs_of_hepwatch_run_are_recorded(graphql) -> None:
    data = graphql(
        "{ runsOrError { __typename ... on Runs { results { jobName status tags { key value } } } } }"
    )
    runs = data["runsOrError"]
    assert runs["__typename"] == "Runs", runs
    by_job = {run["jobName"]: run for run in runs["results"]}
    assert sorted(run["jobName"] for run in runs["results"]) == ["build_days", "ingest_feeds"]
    assert {run["status"] for run in runs["results"]} == {"SUCCESS"}
    tags = {tag["key"]: tag["value"] for tag in by_job["build_days"]["tags"]}
    assert tags["dagster/asset_partition_range_start"] == FIRST_DAY
    assert tags["dagster/asset_partition_range_end"] == LAST_DAY


def test_the_ui_shows_the_asset_graph_partitions_checks_and_runs_of_hepwatch_run(graphql):
    # One test over one webserver: under `pytest -n 2` a module fixture would start a server per worker.
    assert_asset_graph_has_the_pipeline_assets_and_their_lineage(graphql)
    assert_lab_results_is_daily_partitioned_and_its_days_are_materialized(graphql)
    assert_lab_results_checks_are_listed_and_schema_valid_passed(graphql)
    assert_the_two_runs_of_hepwatch_run_are_recorded(graphql)
