"""HEPWATCH_MARTS_TARGET: the published marts also go to a database DuckDB attaches from that string (here
a DuckDB file standing in for a shared catalog), after analytics.duckdb is in place; only the marts go."""

from datetime import date

import duckdb
import pytest

from assets.marts import PUBLISHED
from assets.publish import MartsTargetError, publish_to_target, redact
from hepwatch.settings import MARTS_TARGET_ENV
from hepwatch.synthetic import generate_feeds
from pipelines.cli import RunFailed, run

FIRST = date(2026, 6, 1)


@pytest.fixture(scope="module")
def feeds(tmp_path_factory):
    out = tmp_path_factory.mktemp("marts_target") / "feeds"
    generate_feeds(out, patients=8, days=7, seed=3, start=FIRST)
    return out


@pytest.fixture
def environment(monkeypatch):
    monkeypatch.setenv("HEPWATCH_PSEUDONYM_KEY", "marts-target-test")
    for name in ("HEPWATCH_FEEDS_DIR", "HEPWATCH_WAREHOUSE_DIR"):
        monkeypatch.setenv(name, "")  # run()'s arguments name the directories, whatever these say
    return monkeypatch


def _contents(path) -> dict[str, tuple[list[str], list[tuple]]]:
    """Every PUBLISHED table of the file's schema `marts`: its columns in order and its rows in order."""
    with duckdb.connect(str(path), read_only=True) as conn:
        result = {}
        for table in PUBLISHED:
            relation = conn.execute(f"SELECT * FROM marts.{table}")
            columns = [d[0] for d in relation.description]
            result[table] = (columns, relation.fetchall())
        return result


def _schemas(path) -> set[str]:
    with duckdb.connect(str(path), read_only=True) as conn:
        return {
            s for (s,) in conn.execute(
                "SELECT schema_name FROM duckdb_schemas() WHERE database_name = current_database() "
                "AND NOT internal"
            ).fetchall()
        }  # fmt: skip


def test_the_published_marts_also_go_to_the_target_and_nothing_else(feeds, tmp_path, environment):
    target = tmp_path / "shared" / "catalog.duckdb"
    target.parent.mkdir()
    environment.setenv(MARTS_TARGET_ENV, str(target))
    warehouse = tmp_path / "warehouse"
    run(str(feeds), str(warehouse))

    local = _contents(warehouse / "analytics.duckdb")
    assert sum(len(rows) for _, rows in local.values()) > 0
    assert _contents(target) == local
    assert _schemas(target) <= {"main", "marts"}
    with duckdb.connect(str(target), read_only=True) as conn:
        tables = conn.execute(
            "SELECT schema_name, table_name, comment FROM duckdb_tables() ORDER BY ALL"
        ).fetchall()
        assert {(s, t) for s, t, _ in tables} == {("marts", t) for t in PUBLISHED}
        assert all(comment for _, _, comment in tables)  # the COMMENTs go too
        uncommented = conn.execute(
            "SELECT count(*) FROM duckdb_columns() WHERE schema_name = 'marts' AND comment IS NULL"
        ).fetchall()
        assert uncommented == [(0,)]


def test_republishing_is_idempotent_and_a_failing_target_keeps_the_local_publish(
    feeds, tmp_path, environment
):
    target = tmp_path / "catalog.duckdb"
    environment.setenv(MARTS_TARGET_ENV, str(target))
    warehouse = tmp_path / "warehouse"
    run(str(feeds), str(warehouse))
    analytics = warehouse / "analytics.duckdb"
    assert _contents(target) == _contents(analytics)

    again = run(str(feeds), str(warehouse))  # nothing new: nothing is published again
    assert again["built_days"] == 0
    assert _contents(target) == _contents(analytics)
    full = run(str(feeds), str(warehouse), full=True)  # published again: the target's tables are replaced
    assert full["built_days"] == full["days"]
    assert _contents(target) == _contents(analytics)
    assert _schemas(target) <= {"main", "marts"}

    missing = tmp_path / "no-such-directory" / "catalog.duckdb"
    environment.setenv(MARTS_TARGET_ENV, str(missing))
    before = analytics.stat().st_mtime_ns
    with pytest.raises(RunFailed, match="HEPWATCH_MARTS_TARGET") as failure:
        run(str(feeds), str(warehouse), full=True)
    assert str(missing) in str(failure.value)
    assert not missing.parent.exists()
    assert analytics.stat().st_mtime_ns != before  # the local file was published before the target failed
    local = _contents(analytics)
    assert set(local) == set(PUBLISHED)
    assert local == _contents(target)  # same feeds: the same marts as the last good publish

    quoted = tmp_path / "it's shared.duckdb"  # the string is quoted for ATTACH, not pasted
    assert publish_to_target(analytics, str(quoted)) == len(PUBLISHED)
    assert _contents(quoted) == local


def test_a_token_in_the_target_is_never_shown(tmp_path):
    shown = redact("md:hepwatch?motherduck_token=abc")
    assert shown.startswith("md:hepwatch?motherduck_token=")
    assert "abc" not in shown
    assert redact("md:hepwatch?user=1&MOTHERDUCK_TOKEN=s3cr3t&x=2").endswith("TOKEN=...")
    assert redact("/mnt/shared/catalog.duckdb") == "/mnt/shared/catalog.duckdb"
    assert redact("ducklake:/mnt/lake/metadata.ducklake") == "ducklake:/mnt/lake/metadata.ducklake"

    analytics = tmp_path / "analytics.duckdb"
    duckdb.connect(str(analytics)).close()
    secret = str(tmp_path / "missing" / "catalog.duckdb") + "?motherduck_token=abc"
    with pytest.raises(MartsTargetError, match="HEPWATCH_MARTS_TARGET") as failure:
        publish_to_target(analytics, secret)
    assert "abc" not in str(failure.value) and "motherduck_token=..." in str(failure.value)
    # DuckDB's own error, whose message may hold the whole string, is not chained
    assert failure.value.__cause__ is None and failure.value.__suppress_context__
