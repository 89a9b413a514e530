"""hepwatch as a Dagster deployment: a real `dagster-daemon` and `dagster-webserver` on loopback, with a
temporary DAGSTER_HOME configured like the project's `.dagster_home/dagster.yaml`, over a warehouse that
`hepwatch run` built with a pseudonymization key in the environment. The daemon runs without the key, as
`make dev` after `make demo` does.

One test walks what a data engineer does, in order (a daemon takes seconds to start): the sensor idles; a
new lab file is read and its day built and published under the patient's only key; a file of quarantined
messages reaches marts.quarantine; a cancelled run keeps no pool slot; a backfill of daily partitions from
the UI's GraphQL API republishes analytics.duckdb; the README's `dagster` commands work as written.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from pipelines.definitions import defs
from tests.hl7_samples import obx, oru
from tests.support.hand_feed import write_feeds
from tests.support.webserver import BIN, PROJECT, start_webserver, stop

pytestmark = pytest.mark.deployment

KEY = "deployment-test-key"
ALT = "1742-6^ALT^LN"
LOCATION = {"repositoryLocationName": "hepwatch", "repositoryName": "__repository__"}
# what a user selects in the UI to backfill "the daily assets": every partitioned asset of the code location
GRAPH = defs().resolve_asset_graph()
DAILY_ASSETS = sorted(k.to_user_string() for k in GRAPH.get_all_asset_keys() if GRAPH.get(k).partitions_def)
ACTIVE = ["QUEUED", "NOT_STARTED", "STARTING", "STARTED", "CANCELING"]


# How long the daemon may take to get somewhere: a bound on liveness, not a speed target. On a shared 2-core
# machine a build_days run through the multiprocess executor (a subprocess per step, each importing Dagster
# and hepwatch for a few seconds) took up to 4 minutes, and a two-day CLI backfill is two such runs.
SETTLE_SECONDS = 600


def wait_for(
    what: str, condition: Callable[[], object], timeout: float = SETTLE_SECONDS, every: float = 1.0
):  # fmt: skip
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")


class Deployment:
    def __init__(self, tmp_path: Path) -> None:
        self.home = tmp_path / "dagster_home"
        self.home.mkdir()
        shutil.copy(PROJECT / ".dagster_home" / "dagster.yaml", self.home / "dagster.yaml")
        self.feeds = write_feeds(tmp_path / "feeds")
        # results on the days the README's backfill commands name (the sample feeds' last two days)
        (self.feeds / "labs" / "northlab" / "2026-08-28.hl7").write_text(
            oru("N-28", [obx(1, ALT, "45")], collected="20260828080000", placer="O28")
            + oru("N-29", [obx(1, ALT, "46")], collected="20260829080000", placer="O29")
        )
        for path in self.feeds.rglob("*.*"):  # written a minute ago: settled
            os.utime(path, (time.time() - 60, time.time() - 60))
        self.warehouse = tmp_path / "warehouse"
        self.logs = tmp_path
        env = {
            **os.environ,
            "DAGSTER_HOME": str(self.home),
            "HEPWATCH_FEEDS_DIR": str(self.feeds),
            "HEPWATCH_WAREHOUSE_DIR": str(self.warehouse),
            "HEPWATCH_SENSOR_INTERVAL_SECONDS": "3",
            "HEPWATCH_SENSOR_SETTLE_SECONDS": "2",
        }
        env.pop("HEPWATCH_PSEUDONYM_KEY", None)  # the daemon knows no key: it must use the stored one
        self.env = env
        built = subprocess.run(
            [str(BIN / "hepwatch"), "run", "--feeds", str(self.feeds), "--warehouse", str(self.warehouse)],
            cwd=PROJECT,
            env={**env, "HEPWATCH_PSEUDONYM_KEY": KEY},
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert built.returncode == 0, built.stderr[-3000:]
        self.instance = dg.DagsterInstance.from_config(str(self.home))
        self.runs_before = {record.dagster_run.run_id for record in self.instance.get_run_records()}
        with (tmp_path / "daemon.log").open("w") as log:
            self.daemon = subprocess.Popen(
                [str(BIN / "dagster-daemon"), "run", "-w", str(PROJECT / "workspace.yaml")],
                cwd=PROJECT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.webserver, self.url = start_webserver(env, tmp_path / "webserver.log")

    def close(self) -> None:
        stop(self.daemon)
        stop(self.webserver)
        self.instance.dispose()

    def graphql(self, text: str, variables: dict | None = None) -> dict:
        request = urllib.request.Request(
            f"{self.url}/graphql",
            data=json.dumps({"query": text, "variables": variables or {}}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            body = json.load(response)
        assert "errors" not in body, body["errors"]
        return body["data"]

    def sensor_ticks(self, name: str) -> list[dict]:
        data = self.graphql(
            "query($s: SensorSelector!) { sensorOrError(sensorSelector: $s) { __typename "
            "... on Sensor { sensorState { ticks(limit: 50) { status runIds skipReason error { message } } } } } }",
            {"s": {**LOCATION, "sensorName": name}},
        )
        sensor = data["sensorOrError"]
        assert sensor["__typename"] == "Sensor", sensor
        return sensor["sensorState"]["ticks"]

    def new_runs(self) -> list[dg.DagsterRun]:
        """Runs the deployment launched (not those of the `hepwatch run` that built the warehouse), oldest first."""
        records = self.instance.get_run_records()
        return sorted(
            (r.dagster_run for r in records if r.dagster_run.run_id not in self.runs_before),
            key=lambda run: self.instance.get_run_record_by_id(run.run_id).create_timestamp,
        )

    def sensor_runs(self) -> list[dg.DagsterRun]:
        return [run for run in self.new_runs() if run.tags.get("dagster/sensor_name") == "feed_file_sensor"]

    def idle(self) -> bool:
        return not self.instance.get_run_records(
            filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus(s) for s in ACTIVE]), limit=1
        )

    def plan(self) -> dict:
        return json.loads((self.warehouse / "plan.json").read_text())

    def analytics(self, sql: str, params: list | None = None) -> list[tuple]:
        with duckdb.connect(str(self.warehouse / "analytics.duckdb"), read_only=True) as conn:
            return conn.execute(sql, params or []).fetchall()

    def patient_keys(self, patient_id: str) -> list[str]:
        with duckdb.connect(str(self.warehouse / "phi.duckdb"), read_only=True) as conn:
            rows = conn.execute("SELECT patient_key FROM patient_map WHERE patient_id = ?", [patient_id])
            return [key for (key,) in rows.fetchall()]

    def drop(self, name: str, text: str) -> None:
        path = self.feeds / "labs" / name
        path.write_text(text)
        os.utime(path, (time.time() - 10, time.time() - 10))

    def settle(self, what: str, done: Callable[[], object]) -> None:
        """Wait until `done` holds, no run is queued or in flight, and the last sensor tick requested nothing."""

        def quiet():
            return done() and self.idle() and self.sensor_ticks("feed_file_sensor")[0]["status"] == "SKIPPED"

        wait_for(what, quiet)


@pytest.fixture
def deployment(tmp_path):
    deployment = Deployment(tmp_path)
    try:
        yield deployment
    finally:
        deployment.close()
        for log in ("daemon.log", "webserver.log"):
            print(f"--- {log} (last lines)\n" + (tmp_path / log).read_text()[-4000:])


def test_the_daemon_follows_the_plan_one_key_one_run_at_a_time_and_publishes_every_build(deployment):
    d = deployment
    key = d.patient_keys("MRN001")
    assert len(key) == 1
    before = d.analytics("SELECT count(*) FROM marts.lab_results")

    # 1. After `hepwatch run`, the sensor idles: three ticks, nothing requested, no run at all.
    def finished_ticks():
        done = [t for t in d.sensor_ticks("feed_file_sensor") if t["status"] != "STARTED"]  # not in progress
        return done if len(done) >= 3 else None

    ticks = wait_for("three sensor ticks", finished_ticks)
    assert all(t["status"] == "SKIPPED" and not t["runIds"] for t in ticks), ticks
    assert ticks[0]["skipReason"] == "the warehouse holds every feed file version and no day is pending"
    assert d.new_runs() == []

    # 2. A new file with the next day's ALT for a known patient: read, its day built, published, nothing left
    # pending, under the patient's only key (the daemon has no key in its environment: it uses the stored one).
    d.drop(
        "northlab/2026-06-06.hl7", oru("N-20", [obx(1, ALT, "300")], collected="20260606080000", placer="O20")
    )
    d.settle(
        "the new file's day to be built", lambda: d.plan()["pending"] == [] and len(d.sensor_runs()) >= 2
    )
    runs = d.sensor_runs()
    # (the publish automation may add a run of its own, which publishes what is already published)
    assert all(run.status.value == "SUCCESS" for run in d.new_runs())
    assert [(run.job_name, run.status.value) for run in runs] == [
        ("refresh", "SUCCESS"),
        ("build_days", "SUCCESS"),
    ]
    build = runs[1].tags
    assert (build["dagster/asset_partition_range_start"], build["dagster/asset_partition_range_end"]) == (
        "2026-06-06",
        "2026-06-06",
    )  # the new day only: no day after the last that holds data
    assert d.patient_keys("MRN001") == key
    assert d.analytics(
        "SELECT patient_key, value FROM marts.lab_results WHERE collected_date = DATE '2026-06-06'"
    ) == [(key[0], 300.0)]
    # 300 U/L over the ULN of 40 is 7.5 x ULN, 5 days after this patient's first kratom dose on June 1st
    assert d.analytics(
        "SELECT alt_grade, kratom_exposed, days_since_kratom_start FROM marts.abnormal_enzyme_cases_daily "
        "WHERE case_date = DATE '2026-06-06'"
    ) == [(3, True, 5)]
    assert d.analytics("SELECT count(*) FROM marts.lab_results")[0][0] == before[0][0] + 1

    # 3. A file whose only message is quarantined (no patient identifier) is read and reaches the quarantine.
    d.drop("northlab/no-patient.hl7", oru("N-21", [obx(1, ALT, "30")], mrn="", authority="", placer="O21"))
    d.settle(
        "the quarantined file to reach analytics.duckdb",
        lambda: d.analytics(
            "SELECT reason FROM marts.quarantine WHERE file = 'labs/northlab/no-patient.hl7'"
        ),
    )
    assert d.analytics("SELECT reason FROM marts.quarantine WHERE file = 'labs/northlab/no-patient.hl7'") == [
        ("missing_patient_id",)
    ]
    assert d.sensor_runs()[-1].job_name == "refresh"

    # 4. A run cancelled while it runs keeps no `hepwatch_warehouse` slot.
    launched = d.graphql(
        "mutation($p: ExecutionParams!) { launchRun(executionParams: $p) { __typename "
        "... on LaunchRunSuccess { run { runId } } ... on PythonError { message } } }",
        {
            "p": {
                "selector": {**LOCATION, "jobName": "build_days"},
                "executionMetadata": {
                    "tags": [
                        {"key": "dagster/asset_partition_range_start", "value": "2026-06-01"},
                        {"key": "dagster/asset_partition_range_end", "value": "2026-06-06"},
                    ]
                },
            }
        },
    )["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    run_id = launched["run"]["runId"]
    wait_for(
        "the run to hold a slot", lambda: d.instance.event_log_storage.get_concurrency_run_ids(), every=0.2
    )
    d.graphql("mutation($id: String!) { terminateRun(runId: $id) { __typename } }", {"id": run_id})
    wait_for("the run to be cancelled", lambda: d.instance.get_run_by_id(run_id).status.value == "CANCELED")
    wait_for("its slot to be freed", lambda: not d.instance.event_log_storage.get_concurrency_run_ids(), 60)

    # 5. A backfill of the daily assets over a week, as the UI launches it: the next run starts (no slot is
    # stuck), and analytics.duckdb is republished although the publish asset was not selected.
    published = (d.warehouse / "analytics.duckdb").stat().st_ino
    backfill = d.graphql(
        "mutation($p: LaunchBackfillParams!) { launchPartitionBackfill(backfillParams: $p) { __typename "
        "... on LaunchBackfillSuccess { backfillId } ... on PythonError { message } "
        "... on PartitionKeysNotFoundError { partitionKeys } } }",
        {
            "p": {
                "assetSelection": [{"path": key.split("/")} for key in DAILY_ASSETS],
                # the partitions of that week are its days with data (June 4th and 7th hold none)
                "partitionNames": ["2026-06-01", "2026-06-02", "2026-06-03", "2026-06-05", "2026-06-06"],
            }
        },
    )["launchPartitionBackfill"]
    assert backfill["__typename"] == "LaunchBackfillSuccess", backfill
    backfill_id = backfill["backfillId"]
    wait_for(
        "the backfill to complete",
        lambda: (
            d.instance.get_backfill(backfill_id).status.value not in ("REQUESTED", "CANCELING", "FAILING")
        ),
    )
    assert d.instance.get_backfill(backfill_id).status.value in ("COMPLETED", "COMPLETED_SUCCESS")
    built = [
        r for r in d.instance.get_run_records() if r.dagster_run.tags.get("dagster/backfill") == backfill_id
    ]
    assert built and all(r.dagster_run.status.value == "SUCCESS" for r in built)
    # (the backfill daemon may split the range's assets over several runs, by the graph's levels)
    assert not any(
        "published/analytics_database" in {k.to_user_string() for k in r.dagster_run.asset_selection or []}
        for r in built
    )
    backfill_end = max(r.end_time for r in built)

    def published_after_the_backfill():
        # a publish run that ended after the backfill (the automation may have requested it while the
        # backfill's last run waited for the pool: it then publishes after it), and the file rewritten since
        return [
            r
            for r in d.instance.get_run_records()
            if (r.end_time or 0) > backfill_end
            and {k.to_user_string() for k in r.dagster_run.asset_selection or []}
            == {"published/analytics_database", "reports/daily_report"}
            and r.dagster_run.status.value == "SUCCESS"
        ] and (d.warehouse / "analytics.duckdb").stat().st_mtime > backfill_end

    d.settle("the automation to publish the backfill", published_after_the_backfill)
    assert (d.warehouse / "analytics.duckdb").stat().st_mtime > backfill_end
    assert (d.warehouse / "analytics.duckdb").stat().st_ino != published

    # 6. The README's command, as written, from the project root (the code location is named hepwatch).
    published = (d.warehouse / "analytics.duckdb").stat().st_ino
    backfilled = subprocess.run(
        [str(BIN / "dagster"), "job", "backfill", "-w", "workspace.yaml", "-j", "build_days",
         "--from", "2026-08-28", "--to", "2026-08-29", "--noprompt"],
        cwd=PROJECT, env=d.env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert backfilled.returncode == 0, backfilled.stdout[-2000:] + backfilled.stderr[-2000:]
    d.settle("the CLI backfill", lambda: (d.warehouse / "analytics.duckdb").stat().st_ino != published)
    assert all(run.status.value == "SUCCESS" for run in d.new_runs() if run.run_id != run_id)

    # 7. The README's in-process commands, as written (they need no daemon).
    readme_commands = [
        ["job", "execute", "-m", "pipelines.definitions", "-j", "build_days", "--tags",
         '{"dagster/asset_partition_range_start": "2026-08-28", "dagster/asset_partition_range_end": "2026-08-29"}'],
        ["job", "execute", "-m", "pipelines.definitions", "-j", "refresh"],
    ]  # fmt: skip
    for command in readme_commands:
        done = subprocess.run(
            [str(BIN / "dagster"), *command],
            cwd=PROJECT,
            env=d.env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0 and "RUN_SUCCESS" in done.stderr + done.stdout, done.stderr[-3000:]
    assert d.patient_keys("MRN001") == key
