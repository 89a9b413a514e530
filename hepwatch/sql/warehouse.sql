-- Internal warehouse (WAREHOUSE/hepwatch.duckdb): landing tables written by ingestion, append-only and keyed
-- by file version, so re-reading a file version is a no-op and a crash inside one file leaves nothing of it.
CREATE SCHEMA IF NOT EXISTS landing;
CREATE SCHEMA IF NOT EXISTS ref;
CREATE SCHEMA IF NOT EXISTS staging;
CREATE SCHEMA IF NOT EXISTS marts;

CREATE TABLE IF NOT EXISTS landing.file_versions (
    file VARCHAR NOT NULL,            -- path relative to the feeds directory
    kind VARCHAR NOT NULL,            -- labs | dosing
    sha256 VARCHAR NOT NULL,
    size_bytes BIGINT NOT NULL,
    modified_at TIMESTAMP,
    ingested_at TIMESTAMP NOT NULL,
    ingest_seq BIGINT NOT NULL,       -- order in which file versions were ingested
    messages BIGINT NOT NULL,         -- messages (labs) or data rows (dosing) read
    accepted BIGINT NOT NULL,
    duplicates BIGINT NOT NULL,
    ignored BIGINT NOT NULL,
    quarantined BIGINT NOT NULL,
    unreadable_reason VARCHAR,
    PRIMARY KEY (file, sha256)
);

CREATE TABLE IF NOT EXISTS landing.lab_messages (
    file VARCHAR NOT NULL,
    sha256 VARCHAR NOT NULL,
    message_index INTEGER NOT NULL,   -- position of the message (or stray block) in the file
    line INTEGER NOT NULL,
    outcome VARCHAR NOT NULL,         -- accepted | duplicate | ignored | quarantined
    reason VARCHAR,
    detail VARCHAR,
    sending_facility VARCHAR,
    control_id VARCHAR,
    message_time TIMESTAMP,
    message_type VARCHAR,
    hl7_version VARCHAR,
    observations INTEGER NOT NULL,
    arrival_seq BIGINT NOT NULL,      -- global arrival order of messages
    PRIMARY KEY (file, sha256, message_index)
);

CREATE TABLE IF NOT EXISTS landing.lab_observations (
    arrival_seq BIGINT NOT NULL,
    obx_index INTEGER NOT NULL,
    observation_key VARCHAR NOT NULL, -- identity across versions: facility, orders, OBX-3, OBX-4, repeat no.
    sending_facility VARCHAR,
    control_id VARCHAR NOT NULL,
    message_time TIMESTAMP,
    patient_key VARCHAR NOT NULL,
    placer_order VARCHAR,
    filler_order VARCHAR,
    collected_at TIMESTAMP,           -- OBR-7, else OBX-14
    collected_date DATE,
    report_time TIMESTAMP,
    order_status VARCHAR,
    value_type VARCHAR,
    code VARCHAR, code_text VARCHAR, code_system VARCHAR,
    alt_code VARCHAR, alt_text VARCHAR, alt_system VARCHAR,
    sub_id VARCHAR,
    value_text VARCHAR,
    value_repeats INTEGER,
    value DOUBLE,
    comparator VARCHAR,
    value_problem VARCHAR,
    unit VARCHAR,
    reference_range VARCHAR,
    range_upper DOUBLE,
    abnormal_flags VARCHAR,
    result_status VARCHAR,
    PRIMARY KEY (arrival_seq, obx_index)
);

CREATE TABLE IF NOT EXISTS landing.dosing_rows (
    file VARCHAR NOT NULL,
    sha256 VARCHAR NOT NULL,
    line BIGINT NOT NULL,
    ingest_seq BIGINT NOT NULL,
    file_order BIGINT NOT NULL,       -- precedence of the file version among all dosing files (later wins)
    record_id VARCHAR NOT NULL,
    patient_key VARCHAR NOT NULL,
    substance VARCHAR NOT NULL,
    substance_as_written VARCHAR,
    product VARCHAR,
    dose_amount DOUBLE NOT NULL,
    dose_unit VARCHAR NOT NULL,
    dose_mg DOUBLE NOT NULL,
    taken_at_text VARCHAR,
    dose_date DATE NOT NULL,
    taken_at TIMESTAMP,
    source VARCHAR,
    PRIMARY KEY (file, sha256, line)
);

CREATE TABLE IF NOT EXISTS landing.dosing_quarantine (
    file VARCHAR NOT NULL,
    sha256 VARCHAR NOT NULL,
    line BIGINT NOT NULL,
    record_id VARCHAR,
    reason VARCHAR NOT NULL,
    detail VARCHAR,
    PRIMARY KEY (file, sha256, line)
);
