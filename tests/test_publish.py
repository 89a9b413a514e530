"""Published means rebuilt from the warehouse: analytics.duckdb holds exactly what hepwatch built, whatever an
analyst did to the previous file, and an incremental publish stays incremental."""

import duckdb

from pipelines.cli import run
from tests.hl7_samples import obx, oru
from tests.support.hand_feed import write_feeds

ALT = "1742-6^ALT^LN"


def test_edits_to_the_published_file_are_gone_after_the_next_publish(tmp_path):
    feeds, warehouse = write_feeds(tmp_path / "feeds"), tmp_path / "warehouse"
    run(str(feeds), str(warehouse))
    analytics = warehouse / "analytics.duckdb"
    with duckdb.connect(str(analytics), read_only=True) as conn:
        before = conn.execute("SELECT * FROM marts.lab_results ORDER BY ALL").fetchall()
    assert before
    # an analyst opens the published file for writing, deletes rows and adds a table of their own
    with duckdb.connect(str(analytics)) as conn:
        conn.execute("DELETE FROM marts.lab_results")
        conn.execute("CREATE TABLE marts.my_notes AS SELECT 'MRN001' AS note")

    (feeds / "labs" / "northlab" / "2026-06-06.hl7").write_text(
        oru("N-30", [obx(1, ALT, "45")], collected="20260606080000", placer="O30", filler="F30")
    )
    figures = run(str(feeds), str(warehouse))
    assert figures["ranges"] == [(figures["last_day"], figures["last_day"])]  # still incremental: one day
    with duckdb.connect(str(analytics), read_only=True) as conn:
        after = conn.execute("SELECT * FROM marts.lab_results ORDER BY ALL").fetchall()
        tables = {t for (t,) in conn.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    assert set(before) < set(after) and len(after) == len(before) + 1  # every row back, and the new one
    assert "my_notes" not in tables
