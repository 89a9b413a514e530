-- Restricted store (WAREHOUSE/phi.duckdb, mode 0600): the only place raw identifiers and raw payloads live.
CREATE TABLE IF NOT EXISTS phi.patient_map (
    patient_key VARCHAR PRIMARY KEY,
    id_authority VARCHAR NOT NULL,
    patient_id VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS phi.quarantine (
    kind VARCHAR NOT NULL,            -- lab_message | dosing_row
    file VARCHAR NOT NULL,
    sha256 VARCHAR NOT NULL,
    position BIGINT NOT NULL,         -- message index in the file (labs) or CSV line (dosing)
    line BIGINT,
    control_id VARCHAR,
    reason VARCHAR NOT NULL,
    detail VARCHAR,
    raw_payload VARCHAR,
    quarantined_at TIMESTAMP NOT NULL,
    PRIMARY KEY (kind, file, sha256, position)
);
CREATE TABLE IF NOT EXISTS phi.settings (
    name VARCHAR PRIMARY KEY,
    value VARCHAR NOT NULL
);
