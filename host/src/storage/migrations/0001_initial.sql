-- Schema version 1. Instants are INTEGER seconds since the Unix epoch (UTC).

-- The schools (bases) data comes from.
CREATE TABLE schools (
    id                   INTEGER PRIMARY KEY,
    wonde_id             TEXT UNIQUE,
    name                 TEXT NOT NULL,
    urn                  INTEGER,
    la_code              TEXT,
    establishment_number TEXT,
    region_domain        TEXT,
    active               INTEGER NOT NULL DEFAULT 1
);

-- The LA's held record; columns follow the item catalogue in items.rs.
CREATE TABLE students (
    id                INTEGER PRIMARY KEY,
    school_id         INTEGER REFERENCES schools(id),
    active            INTEGER NOT NULL DEFAULT 1,
    forename          TEXT,
    middle_names      TEXT,
    surname           TEXT,
    legal_forename    TEXT,
    legal_surname     TEXT,
    gender            TEXT,
    date_of_birth     TEXT,
    upn               TEXT,
    former_upn        TEXT,
    house             TEXT,
    apartment         TEXT,
    street            TEXT,
    district          TEXT,
    town              TEXT,
    county            TEXT,
    postcode          TEXT,
    nc_year           TEXT,
    admission_date    TEXT,
    leaving_date      TEXT,
    sen_status        TEXT,
    free_school_meals TEXT,
    eal               TEXT,
    pupil_premium     TEXT,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
);
CREATE INDEX students_school ON students(school_id);
CREATE INDEX students_upn ON students(upn);

-- Carers of a student.
CREATE TABLE contacts (
    id                      INTEGER PRIMARY KEY,
    student_id              INTEGER NOT NULL REFERENCES students(id) ON DELETE CASCADE,
    name                    TEXT,
    relationship            TEXT,
    phone                   TEXT,
    email                   TEXT,
    parental_responsibility INTEGER
);
CREATE INDEX contacts_student ON contacts(student_id);

-- Ids other systems give a held student (the Wonde id, the `upi` GUID).
CREATE TABLE external_ids (
    source      TEXT NOT NULL,
    external_id TEXT NOT NULL,
    student_id  INTEGER NOT NULL REFERENCES students(id) ON DELETE CASCADE,
    PRIMARY KEY (source, external_id)
);
CREATE INDEX external_ids_student ON external_ids(student_id);

-- Virtual files: one per transfer. A deleted file keeps its row (tombstone).
CREATE TABLE import_files (
    id            INTEGER PRIMARY KEY,
    school_id     INTEGER REFERENCES schools(id),
    run_id        INTEGER,
    received_at   INTEGER NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('queued', 'processing', 'completed', 'failed')),
    record_count  INTEGER NOT NULL DEFAULT 0,
    error_count   INTEGER NOT NULL DEFAULT 0,
    error_log     TEXT,
    payload       BLOB,
    payload_bytes INTEGER NOT NULL DEFAULT 0,
    deleted_at    INTEGER
);
CREATE INDEX import_files_school ON import_files(school_id, received_at);

-- Hash of the last incoming block per school, external student and data group.
CREATE TABLE import_cache (
    id          INTEGER PRIMARY KEY,
    school_id   INTEGER NOT NULL REFERENCES schools(id),
    external_id TEXT NOT NULL,
    data_group  TEXT NOT NULL,
    hash        TEXT NOT NULL,
    imported_at INTEGER NOT NULL,
    UNIQUE (school_id, external_id, data_group)
);

-- Differences a person must decide on. At most one open conflict per student and item.
CREATE TABLE conflicts (
    id             INTEGER PRIMARY KEY,
    student_id     INTEGER NOT NULL REFERENCES students(id) ON DELETE CASCADE,
    item           TEXT NOT NULL,
    held_value     TEXT,
    incoming_value TEXT,
    import_file_id INTEGER REFERENCES import_files(id),
    raised_at      INTEGER NOT NULL,
    status         TEXT NOT NULL DEFAULT 'open'
                   CHECK (status IN ('open', 'accepted', 'discarded', 'cleared')),
    resolved_by    TEXT,
    resolved_at    INTEGER
);
CREATE UNIQUE INDEX conflicts_one_open ON conflicts(student_id, item) WHERE status = 'open';
CREATE INDEX conflicts_status ON conflicts(status, id);

-- System Defaults set away from their built-in default (definitions in defaults.rs).
CREATE TABLE system_defaults (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);

-- Installed and built-in plugins, with what they asked for and what was granted.
CREATE TABLE plugins (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    version      TEXT NOT NULL,
    description  TEXT NOT NULL,
    source       TEXT NOT NULL CHECK (source IN ('builtin', 'installed')),
    path         TEXT,
    sha256       TEXT NOT NULL,
    requested    TEXT NOT NULL,
    granted      TEXT NOT NULL,
    enabled      INTEGER NOT NULL DEFAULT 1,
    installed_by TEXT NOT NULL,
    installed_at INTEGER NOT NULL
);

-- One row per run of an action plugin.
CREATE TABLE action_runs (
    id             INTEGER PRIMARY KEY,
    plugin_id      TEXT NOT NULL,
    plugin_version TEXT NOT NULL,
    params         TEXT NOT NULL,
    actor          TEXT NOT NULL,
    started_at     INTEGER NOT NULL,
    finished_at    INTEGER,
    status         TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'interrupted')),
    examined       INTEGER,
    changed        INTEGER,
    skipped        INTEGER,
    summary        TEXT,
    error          TEXT,
    log            TEXT NOT NULL DEFAULT ''
);
CREATE INDEX action_runs_plugin ON action_runs(plugin_id, id);

-- Who changed what and when.
CREATE TABLE audit (
    id        INTEGER PRIMARY KEY,
    at        INTEGER NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    entity    TEXT NOT NULL,
    entity_id TEXT,
    detail    TEXT
);
CREATE INDEX audit_entity ON audit(entity, entity_id);
