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


def test_checks_on_the_sample_flag_only_the_planted_unmapped_codes(sample):
    _, figures, manifest = sample
    assert manifest["messages"]["observations"]["liver_defects_in_accepted_messages"]["unmapped_code"] > 0
    failing = {key: status for key, status in figures["checks"].items() if status != "passed"}
    assert failing == {("staging/liver_observations", "unmapped_liver_codes"): "warn"}
