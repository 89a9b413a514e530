"""One pseudonymization key per warehouse (contract section 1): fixed on first use, kept in the restricted
store, and a different key given later is refused, so one patient never gets two `patient_key`s."""

import hashlib
import hmac

import pytest

from hepwatch.settings import settings
from hepwatch.warehouse import PseudonymKeyError, connect, pseudonym_key
from pipelines.cli import main
from tests.support.hand_feed import write_feeds

ENV = "HEPWATCH_PSEUDONYM_KEY"


def key(conn) -> bytes:
    """The warehouse's key, with HEPWATCH_PSEUDONYM_KEY as the settings read it."""
    return pseudonym_key(conn, settings().pseudonym_key)


def stored(warehouse) -> list[tuple[str]]:
    with connect(warehouse) as conn:
        return conn.execute("SELECT value FROM phi.settings WHERE name = 'pseudonym_key'").fetchall()


def test_the_key_given_on_first_use_is_stored_and_used_without_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV, "first-key")
    with connect(tmp_path) as conn:
        assert key(conn) == b"first-key"
    assert stored(tmp_path) == [(b"first-key".hex(),)]
    monkeypatch.delenv(ENV)  # the daemon, started without it
    with connect(tmp_path) as conn:
        assert key(conn) == b"first-key"


def test_a_different_key_later_is_refused_in_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV, "first-key")
    with connect(tmp_path) as conn:
        key(conn)
    monkeypatch.setenv(ENV, "second-key")
    with connect(tmp_path) as conn, pytest.raises(PseudonymKeyError) as refused:
        key(conn)
    assert str(refused.value).startswith(f"{ENV} differs from the key this warehouse was built with")
    assert "\n" not in str(refused.value) and "second-key" not in str(refused.value)
    assert stored(tmp_path) == [(b"first-key".hex(),)]  # the stored key is untouched


def test_without_a_key_a_random_one_is_made_once(tmp_path, monkeypatch):
    monkeypatch.delenv(ENV, raising=False)
    with connect(tmp_path) as conn:
        first = key(conn)
    with connect(tmp_path) as conn:
        assert key(conn) == first
    assert len(first) == 32 and stored(tmp_path) == [(first.hex(),)]


def test_a_warehouse_that_never_stored_its_key_takes_only_the_key_its_patients_were_keyed_with(
    tmp_path, monkeypatch
):
    # an older release kept the key only in the environment: the patient map holds keys made with it
    digest = hmac.new(b"old-key", b"HWCLINIC\x1fMRN001", hashlib.sha256).hexdigest()
    with connect(tmp_path) as conn:
        conn.execute("INSERT INTO phi.patient_map VALUES (?, 'HWCLINIC', 'MRN001')", ["pk_" + digest[:20]])
    monkeypatch.delenv(ENV, raising=False)
    with connect(tmp_path) as conn, pytest.raises(PseudonymKeyError, match="does not keep it"):
        key(conn)  # a random key now would split every patient in two
    monkeypatch.setenv(ENV, "another-key")
    with connect(tmp_path) as conn, pytest.raises(PseudonymKeyError, match="not the key"):
        key(conn)
    monkeypatch.setenv(ENV, "old-key")
    with connect(tmp_path) as conn:
        assert key(conn) == b"old-key"
    assert stored(tmp_path) == [(b"old-key".hex(),)]


def test_hepwatch_run_with_another_key_fails_with_one_line_and_changes_nothing(tmp_path, monkeypatch, capsys):
    feeds, warehouse = write_feeds(tmp_path / "feeds"), tmp_path / "warehouse"
    monkeypatch.setenv(ENV, "first-key")
    assert main(["run", "--feeds", str(feeds), "--warehouse", str(warehouse)]) == 0
    published = (warehouse / "analytics.duckdb").read_bytes()
    capsys.readouterr()
    monkeypatch.setenv(ENV, "second-key")
    assert main(["run", "--feeds", str(feeds), "--warehouse", str(warehouse)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"hepwatch run failed: {ENV} differs from the key") and err.count("\n") == 1
    assert (warehouse / "analytics.duckdb").read_bytes() == published
