"""History: results of every plausible date are kept (contract section 1, at least back to 1980), a run's cost
follows the days that hold data, not the span of their dates, and a feed with nothing datable still
publishes what was read."""

import os
from datetime import date, timedelta

import dagster as dg
import duckdb

from pipelines.cli import main, run
from tests.hl7_samples import obx, oru

ALT = "1742-6^ALT^LN"
HEADER = "record_id,patient_id,id_authority,substance,dose_amount,dose_unit,taken_at\n"


def _feeds(root, messages: list[str], doses: str = ""):
    (root / "labs").mkdir(parents=True)
    (root / "dosing").mkdir()
    (root / "labs" / "history.hl7").write_text("".join(messages))
    (root / "dosing" / "doses.csv").write_text(HEADER + doses)
    return root


def _published(warehouse, query: str) -> list[tuple]:
    with duckdb.connect(str(warehouse / "analytics.duckdb"), read_only=True) as conn:
        return conn.execute(query).fetchall()


def test_results_from_1985_and_2019_are_kept_graded_and_serve_as_baselines(tmp_path):
    feeds = _feeds(
        tmp_path / "feeds",
        [
            # patient A, 1985: ALT 130 U/L, ULN 40 -> 3.25 x ULN: CTCAE grade 2 (> 3.0 - 5.0 x ULN)
            oru(
                "H1",
                placer="OH1",
                filler="FH1",
                observations=[obx(1, ALT, "130")],
                mrn="A",
                collected="19850304083000",
                message_time="19850304120000",
            ),
            # patient B: ALT 80 on 2019-11-20 is the last result in the 90 days before the first kratom dose
            # (2020-01-10): an abnormal baseline; ALT 200 on 2020-02-01 is then 2.5 x baseline, grade 1
            # (1.5 - 3.0 x BL), where against the ULN (5.0 x ULN) it would be grade 2
            oru(
                "H2",
                placer="OH2",
                filler="FH2",
                observations=[obx(1, ALT, "80")],
                mrn="B",
                collected="20191120083000",
                message_time="20191120120000",
            ),
            oru(
                "H3",
                placer="OH3",
                filler="FH3",
                observations=[obx(1, ALT, "200")],
                mrn="B",
                collected="20200201083000",
                message_time="20200201120000",
            ),
        ],
        "K1,B,HWCLINIC,kratom,2,g,2020-01-10\n",
    )
    warehouse = tmp_path / "warehouse"
    run(str(feeds), str(warehouse))
    cases = _published(
        warehouse,
        "SELECT strftime(case_date, '%Y-%m-%d'), alt_xuln, alt_grade FROM marts.abnormal_enzyme_cases_daily "
        "ORDER BY case_date",
    )
    assert cases == [("1985-03-04", 3.25, 2), ("2019-11-20", 2.0, 1), ("2020-02-01", 5.0, 1)]
    assert _published(warehouse, "SELECT count(*) FROM marts.quarantine WHERE kind = 'lab_observation'") == [
        (0,)
    ]
    with duckdb.connect(str(warehouse / "hepwatch.duckdb"), read_only=True) as conn:
        baselines = conn.execute(
            "SELECT strftime(baseline_date, '%Y-%m-%d'), baseline_value, baseline_abnormal FROM staging.baselines"
        ).fetchall()
    assert baselines == [("2019-11-20", 80.0, True)]


def test_a_feed_spanning_30_years_builds_only_its_days_with_data(tmp_path, monkeypatch):
    # one result on each of 20 days spread over 1995 to 2025, and 10 dose days
    result_days = [date(1995, 1, 10) + timedelta(days=577 * n) for n in range(20)]
    dose_days = [date(1996, 6, 1) + timedelta(days=1000 * n) for n in range(10)]
    messages = [
        oru(
            f"C{n}",
            [obx(1, ALT, "50")],
            placer=f"ORD{n}",
            filler=f"FIL{n}",
            mrn=f"P{n % 3}",
            collected=f"{day:%Y%m%d}0830",
            message_time=f"{day:%Y%m%d}1200",
        )
        for n, day in enumerate(result_days)
    ]
    doses = "".join(f"D{n},P{n % 3},HWCLINIC,kratom,2,g,{day}\n" for n, day in enumerate(dose_days))
    feeds = _feeds(tmp_path / "feeds", messages, doses)
    assert len(set(result_days) | set(dose_days)) == 30
    home = tmp_path / "dagster_home"
    home.mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(home))  # a persistent instance, to count what was materialized
    warehouse = tmp_path / "warehouse"
    figures = run(str(feeds), str(warehouse))
    assert figures["days"] == 30 and figures["built_days"] == 30
    with dg.DagsterInstance.get() as instance:
        built = instance.get_materialized_partitions(dg.AssetKey(["marts", "lab_results"]))
        assert built == {day.isoformat() for day in set(result_days) | set(dose_days)}
        assert instance.get_dynamic_partitions("clinical_days") == sorted(built)
    # the contract's daily summary still has a row for every day from the first to the last result
    span = (result_days[-1] - result_days[0]).days + 1
    assert _published(warehouse, "SELECT count(*), sum(results) FROM marts.daily_summary") == [(span, 20)]
    # and a report for each day with data, plus latest.html
    assert len(list((warehouse / "reports").glob("*.html"))) == 30 + 1
    # the ALT of 50 U/L (1.25 x ULN) is a case on each result day
    assert _published(warehouse, "SELECT count(*) FROM marts.abnormal_enzyme_cases_daily") == [(20,)]


def test_a_feed_with_nothing_datable_succeeds_and_publishes_the_ledger_and_the_quarantine(tmp_path):
    adt = "MSH|^~\\&|ADT|HOSP|||20260601120000||ADT^A08|A1|P|2.5\rPID|1||MRN9^^^HOSP||DOE^JANE\r"
    no_time = oru("Q1", [obx(1, ALT, "50")], collected="")  # no collection time: quarantined
    feeds = _feeds(tmp_path / "feeds", [adt, no_time])
    warehouse = tmp_path / "warehouse"
    assert main(["run", "--feeds", str(feeds), "--warehouse", str(warehouse)]) == 0
    assert _published(
        warehouse, "SELECT file, messages, ignored, accepted FROM marts.feed_files WHERE kind = 'labs'"
    ) == [("labs/history.hl7", 2, 1, 1)]
    assert _published(warehouse, "SELECT reason FROM marts.quarantine") == [("missing_collection_time",)]
    assert _published(warehouse, "SELECT count(*) FROM marts.lab_results") == [(0,)]
    assert not any((warehouse / "reports").glob("*.html")) if (warehouse / "reports").exists() else True
    assert os.stat(warehouse / "analytics.duckdb").st_size > 0
