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
    arrival_seq BIGINT NOT NULL       -- global arrival order of messages
);

-- Observations are landed normalised (what OBX-3/4/6/7/8/11 say repeats on almost every row, and
-- writing it once per distinct combination more than halves DuckDB's share of ingestion): one row per OBX
-- in landing.lab_obx, its OBR context in landing.lab_orders, its description in landing.lab_descriptions;
-- the view landing.lab_observations puts them together with MSH-4/7/10 from landing.lab_messages.
CREATE TABLE IF NOT EXISTS landing.lab_descriptions (
    description_id BIGINT NOT NULL,   -- one per distinct combination of the columns below
    code VARCHAR, code_text VARCHAR, code_system VARCHAR,    -- OBX-3
    alt_code VARCHAR, alt_text VARCHAR, alt_system VARCHAR,  -- OBX-3 alternate triplet
    sub_id VARCHAR,                   -- OBX-4
    unit VARCHAR,                     -- OBX-6
    reference_range VARCHAR,          -- OBX-7
    range_upper DOUBLE,
    abnormal_flags VARCHAR,           -- OBX-8
    result_status VARCHAR             -- OBX-11
);

CREATE TABLE IF NOT EXISTS landing.lab_orders (
    order_id BIGINT NOT NULL,         -- one per OBR (or OBR-less PID group) of a message
    placer_order VARCHAR,             -- OBR-2
    filler_order VARCHAR,             -- OBR-3
    report_time TIMESTAMP,            -- OBR-22
    order_status VARCHAR              -- OBR-25
);

-- patient_key (23 characters) once per patient, not once per observation: a number per row costs DuckDB
-- about a third less to write
CREATE TABLE IF NOT EXISTS landing.lab_patients (
    patient_id INTEGER NOT NULL,
    patient_key VARCHAR NOT NULL
);

CREATE TABLE IF NOT EXISTS landing.lab_obx (
    arrival_seq BIGINT NOT NULL,      -- the message (landing.lab_messages.arrival_seq)
    obx_index INTEGER NOT NULL,
    key_hi UBIGINT NOT NULL,          -- observation key: first 128 bits of the SHA-1 of its identity across
    key_lo UBIGINT NOT NULL,          --   versions (facility, orders, OBX-3, OBX-4, repeat no.); shown as hex
    patient_id INTEGER NOT NULL,      -- landing.lab_patients
    order_id BIGINT NOT NULL,
    description_id BIGINT NOT NULL,
    collected_at TIMESTAMP,           -- OBR-7, else OBX-14
    collected_date DATE,
    value_type VARCHAR,               -- OBX-2
    value_text VARCHAR,               -- OBX-5
    value_repeats INTEGER,
    value DOUBLE,
    comparator VARCHAR,
    value_problem VARCHAR
);

-- landing.lab_observations_ids: the same with the internal ids that joins use (key_hi, key_lo, description_id).
CREATE OR REPLACE VIEW landing.lab_observations_ids AS
SELECT
    o.arrival_seq, o.obx_index, printf('%016x%016x', o.key_hi, o.key_lo) AS observation_key, o.key_hi, o.key_lo,
    o.description_id, m.sending_facility, m.control_id, m.message_time,
    p.patient_key, r.placer_order, r.filler_order, o.collected_at, o.collected_date, r.report_time,
    r.order_status, o.value_type, d.code, d.code_text, d.code_system, d.alt_code, d.alt_text, d.alt_system,
    d.sub_id, o.value_text, o.value_repeats, o.value, o.comparator, o.value_problem, d.unit,
    d.reference_range, d.range_upper, d.abnormal_flags, d.result_status
FROM landing.lab_obx AS o
JOIN landing.lab_messages AS m USING (arrival_seq)
JOIN landing.lab_orders AS r USING (order_id)
JOIN landing.lab_descriptions AS d USING (description_id)
JOIN landing.lab_patients AS p USING (patient_id);

CREATE OR REPLACE VIEW landing.lab_observations AS
SELECT * EXCLUDE (key_hi, key_lo, description_id) FROM landing.lab_observations_ids;

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
    source VARCHAR
    -- (file, sha256, line) is unique, without an index: a file version lands once, in one transaction,
    -- after landing.file_versions' key says it is new (an index over 4 million rows a year costs 2.5 s)
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

-- Clinical days whose staged tables and marts are out of date: marked when landed data changes
-- them (hepwatch.pending), cleared when a build run has rebuilt them, so a run does the work of the change,
-- not of the history. A day d marks the marts of d to d + 30 (the look-back windows).
CREATE TABLE IF NOT EXISTS landing.pending_days (
    day DATE PRIMARY KEY,
    marked_at TIMESTAMP NOT NULL
);
-- What has been accounted for in pending_days: the last lab arrival_seq and dosing ingest_seq, and the
-- fingerprint of the reference data and SQL the marts were built with.
CREATE TABLE IF NOT EXISTS landing.pending_marks (
    name VARCHAR PRIMARY KEY,
    value VARCHAR NOT NULL
);

-- Windows of days written into partitioned tables (assets.tables.replace_window), so that publishing copies
-- only the days rebuilt since the last publish, however many runs (or failed ones) came between.
CREATE TABLE IF NOT EXISTS landing.window_builds (
    table_name VARCHAR NOT NULL,
    window_start DATE NOT NULL,
    window_end DATE NOT NULL,        -- exclusive
    built_at TIMESTAMP NOT NULL
);
