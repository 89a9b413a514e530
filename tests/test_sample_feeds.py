"""The committed sample feeds through `hepwatch run`: accounting against the generator's manifest, the
planted kratom injuries found with the right pattern and latency, the README kept in step."""

import json
from datetime import date

import duckdb
import pytest

from pipelines.cli import run
from pipelines.docs import DEMO_PSEUDONYM_KEY, data_dictionary, example_queries
from tests.conftest import PROJECT

SAMPLE = PROJECT / "sample_feeds"


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    warehouse = tmp_path_factory.mktemp("sample") / "warehouse"
    with pytest.MonkeyPatch.context() as env:
        env.setenv("HEPWATCH_PSEUDONYM_KEY", DEMO_PSEUDONYM_KEY)  # as `make demo` runs
        figures = run(str(SAMPLE), str(warehouse))
    manifest = json.loads((SAMPLE / "manifest.json").read_text())
    return warehouse, figures, manifest


def analytics(warehouse):
    return duckdb.connect(str(warehouse / "analytics.duckdb"), read_only=True)


def test_ledger_matches_what_the_generator_wrote(sample):
    warehouse, _, manifest = sample
    with analytics(warehouse) as conn:
        totals = conn.execute(
            "SELECT sum(messages), sum(accepted), sum(duplicates), sum(ignored), sum(quarantined) "
            "FROM marts.feed_files WHERE kind = 'labs'"
        ).fetchall()[0]
        per_file = conn.execute(
            "SELECT count(*) FROM marts.feed_files "
            "WHERE messages <> accepted + duplicates + ignored + quarantined"
        ).fetchall()[0][0]
        observation_reasons = dict(
            conn.execute(
                "SELECT reason, count(*) FROM marts.quarantine WHERE kind = 'lab_observation' GROUP BY ALL"
            ).fetchall()
        )
        dosing = conn.execute(
            "SELECT reason, count(*) FROM marts.quarantine WHERE kind = 'dosing_row' GROUP BY ALL"
        ).fetchall()
    expected = manifest["messages"]["expected_outcomes"]
    assert totals == (
        sum(expected.values()),
        expected["accepted"],
        expected["duplicate"],
        expected["ignored"],
        expected["quarantined"],
    )
    assert per_file == 0
    planted = manifest["messages"]["observations"]["liver_defects_in_accepted_messages"]
    assert observation_reasons == {
        "missing_collection_time": planted["missing_collection_time"],
        "non_numeric_value": planted["non_numeric_value"],
        "unknown_unit": planted["unknown_unit"],
        "unmapped_liver_code": planted["unmapped_code"],
    }
    assert dict(dosing) == manifest["dosing"]["bad_rows"]


def test_planted_injuries_appear_with_their_pattern_and_latency(sample):
    warehouse, _, manifest = sample
    with duckdb.connect(str(warehouse / "phi.duckdb"), read_only=True) as phi:
        keys = dict(
            ((authority, patient), key)
            for key, authority, patient in phi.execute("SELECT * FROM patient_map").fetchall()
        )
    with analytics(warehouse) as conn:
        for injury in manifest["planted_injuries"]:
            key = keys[(injury["id_authority"], injury["patient_id"])]
            worst_pattern, first_grade2, latency, hys_law = conn.execute(
                """
                SELECT arg_max(injury_pattern, greatest(alt_xuln, alp_xuln)),
                       min(case_date) FILTER (WHERE max_grade >= 2),
                       arg_min(days_since_kratom_start, case_date) FILTER (WHERE max_grade >= 2),
                       bool_or(potential_hys_law)
                FROM marts.abnormal_enzyme_cases_daily WHERE patient_key = ?
                """,
                [key],
            ).fetchall()[0]
            assert worst_pattern == injury["pattern"], injury
            onset, peak = date.fromisoformat(injury["onset_date"]), date.fromisoformat(injury["peak_date"])
            assert onset <= first_grade2 <= peak, injury
            assert latency == (first_grade2 - date.fromisoformat(injury["kratom_start"])).days, injury
            assert 14 <= latency <= 49, injury  # LiverTox: 1 to 8 weeks; the generator plants 14 to 49
            assert hys_law == injury["hys_law"], injury


def test_no_identifier_from_the_feeds_reaches_the_analysts(sample):
    warehouse, _, manifest = sample
    with duckdb.connect(str(warehouse / "phi.duckdb"), read_only=True) as phi:
        mrns = [row[0] for row in phi.execute("SELECT patient_id FROM patient_map").fetchall()]
    assert len(mrns) >= manifest["arguments"]["patients"] - manifest["patients"]["never_tested"]
    with analytics(warehouse) as conn:
        conn.execute("CREATE TEMP TABLE mrn AS SELECT unnest(?) AS id", [mrns])
        columns = conn.execute(
            "SELECT table_name, column_name FROM duckdb_columns() "
            "WHERE schema_name = 'marts' AND data_type = 'VARCHAR'"
        ).fetchall()
        for table, column in columns:
            hits = conn.execute(
                f'SELECT count(*) FROM marts.{table} t JOIN mrn ON contains(t."{column}", mrn.id)'
            ).fetchall()[0][0]
            assert hits == 0, f"an MRN appears in marts.{table}.{column}"


def test_readme_dictionary_and_example_queries_are_current(sample):
    warehouse, _, _ = sample
    readme = (PROJECT / "README.md").read_text()
    with analytics(warehouse) as conn:
        assert data_dictionary(conn) in readme, "run `make docs` to regenerate README sections"
        assert example_queries(conn) in readme, "run `make docs` to regenerate README sections"


def test_checks_on_the_sample_flag_only_the_planted_unmapped_codes_and_injuries(sample):
    _, figures, manifest = sample
    assert manifest["messages"]["observations"]["liver_defects_in_accepted_messages"]["unmapped_code"] > 0
    # the generator plants kratom liver injuries, one of them a potential Hy's law case: the safety-signal
    # checks warn on them; no data-quality check but the planted unmapped codes does
    assert any(injury["hys_law"] for injury in manifest["planted_injuries"])
    failing = {key: status for key, status in figures["checks"].items() if status != "passed"}
    assert failing == {
        ("staging/liver_observations", "unmapped_liver_codes"): "warn",
        ("marts/abnormal_enzyme_cases_daily", "new_potential_hys_law"): "warn",
        ("marts/abnormal_enzyme_cases_daily", "new_grade3plus_days"): "warn",
        ("marts/stopping_signals", "new_fda_stopping_signals"): "warn",
    }


def test_daily_report_shows_the_marts_numbers(sample):
    import re
    from html.parser import HTMLParser

    warehouse, _, manifest = sample
    html = (warehouse / "reports" / "latest.html").read_text()

    class Metrics(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.metrics: dict[str, str] = {}
            self.patients: list[str] = []
            self._open: str | None = None

        def handle_starttag(self, tag, attrs):
            attributes = dict(attrs)
            self._open = attributes.get("data-metric")
            if "data-patient" in attributes:
                self.patients.append(attributes["data-patient"])

        def handle_data(self, data):
            if self._open:
                self.metrics[self._open] = data
                self._open = None

    parsed = Metrics()
    parsed.feed(html)
    with analytics(warehouse) as conn:
        last_day, *summary = conn.execute(
            "SELECT * FROM marts.daily_summary ORDER BY summary_date DESC LIMIT 1"
        ).fetchall()[0]
        held = conn.execute("SELECT kind, reason, count(*) FROM marts.quarantine GROUP BY ALL").fetchall()
        overdue = {p for (p,) in conn.execute("SELECT patient_key FROM marts.monitoring_gaps").fetchall()}
    assert f"hepwatch liver-safety report, {last_day}" in html
    names = ["results", "patients_tested", "case_patients", "new_cases", "grade3plus_patients", "dili_patients",
             "hys_law_patients"]  # fmt: skip
    assert {n: int(parsed.metrics[n]) for n in names} == dict(zip(names, summary, strict=True))
    assert {(k, r): n for k, r, n in held} == {
        tuple(key.split(":")[1:]): int(value)
        for key, value in parsed.metrics.items()
        if key.startswith("quarantine:")
    }
    assert overdue <= set(parsed.patients)  # every overdue patient (as of the last day) is listed
    assert int(parsed.metrics["action_patients"]) == len(parsed.patients)
    assert not re.search(
        r"\b\d{8}\b", html.replace(str(last_day).replace("-", ""), "")
    )  # no MRN-like numbers
    assert "http" not in html.replace("http://www.w3.org/2000/svg", "")  # self-contained: nothing fetched
    assert html.count("<svg") >= 2  # trend and eDISH at least
    assert manifest["planted_injuries"]


def test_daily_report_renders_for_an_empty_day(sample):
    from datetime import date

    from hepwatch.report.daily import build_daily_report

    warehouse, _, _ = sample
    with duckdb.connect(str(warehouse / "hepwatch.duckdb"), read_only=True) as conn:
        report = build_daily_report(conn, date(2026, 10, 15))
    assert report.headline == dict.fromkeys(report.headline, 0)
    assert report.actions == {} and "None." in report.html


def test_planted_injuries_sit_where_they_belong_on_edish(sample):
    warehouse, _, manifest = sample
    with duckdb.connect(str(warehouse / "phi.duckdb"), read_only=True) as phi:
        keys = {(a, p): k for k, a, p in phi.execute("SELECT * FROM patient_map").fetchall()}
    with analytics(warehouse) as conn:
        quadrant = dict(conn.execute("SELECT patient_key, quadrant FROM marts.edish").fetchall())
    for injury in manifest["planted_injuries"]:
        where = quadrant[keys[(injury["id_authority"], injury["patient_id"])]]
        if injury["hys_law"]:
            assert where == "potential_hys_law", injury
        if injury["peak_alt_xuln"] >= 3:  # right of the x = 3 line
            assert where in {"potential_hys_law", "temples_corollary"}, injury


def test_no_identifier_in_the_reports_or_the_signal_checks_metadata(sample):
    """The report pages and what the safety-signal checks put in Dagster's metadata name patients by key only:
    none of the sample's MRNs (8 digits) appears in any of them."""
    import re

    from assets.resources import Warehouse
    from assets.signal_checks import new_fda_stopping_signals, new_grade3plus_days, new_potential_hys_law

    warehouse, _, _ = sample
    with duckdb.connect(str(warehouse / "phi.duckdb"), read_only=True) as phi:
        mrns = {row[0] for row in phi.execute("SELECT patient_id FROM patient_map").fetchall()}
    pages = list((warehouse / "reports").glob("*.html"))
    assert len(pages) > 90
    for page in pages:
        assert not set(re.findall(r"\d{6,}", page.read_text())) & mrns, page.name
    with Warehouse(directory=str(warehouse)).connect() as conn:
        for _, evaluate in (new_potential_hys_law, new_fda_stopping_signals, new_grade3plus_days):
            result = evaluate(conn, None, None, date(2026, 6, 1), date(2026, 8, 30))
            assert not result.passed  # the sample plants injuries that trigger each of them
            text = json.dumps({k: str(getattr(v, "value", v)) for k, v in result.metadata.items()})
            assert "pk_" in text and not set(re.findall(r"\d{6,}", text)) & mrns
