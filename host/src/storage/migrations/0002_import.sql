-- Schema version 2: the Wonde import.

-- Per school: add unmatched students as new held records (instead of queueing
-- them), and when its last import succeeded (the start of a delta).
ALTER TABLE schools ADD COLUMN add_unmatched INTEGER NOT NULL DEFAULT 0;
ALTER TABLE schools ADD COLUMN last_success_at INTEGER;

-- What applying a file did, as JSON counts.
ALTER TABLE import_files ADD COLUMN full INTEGER NOT NULL DEFAULT 0;
ALTER TABLE import_files ADD COLUMN outcome TEXT;

CREATE INDEX students_dob ON students(date_of_birth);

-- Incoming students no rule could match, until a person adds or matches them.
CREATE TABLE unmatched (
    id             INTEGER PRIMARY KEY,
    school_id      INTEGER NOT NULL REFERENCES schools(id),
    source_id      TEXT NOT NULL,
    upi            TEXT,
    surname        TEXT,
    forename       TEXT,
    date_of_birth  TEXT,
    upn            TEXT,
    data           TEXT NOT NULL,
    import_file_id INTEGER REFERENCES import_files(id),
    received_at    INTEGER NOT NULL,
    status         TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'added', 'matched')),
    student_id     INTEGER REFERENCES students(id),
    resolved_by    TEXT,
    resolved_at    INTEGER,
    UNIQUE (school_id, source_id)
);
CREATE INDEX unmatched_upi ON unmatched(upi);

-- How incoming values of a data group or item are applied, for all schools
-- (school_id NULL) or one. Without a rule: always put in conflict.
CREATE TABLE processing_rules (
    id         INTEGER PRIMARY KEY,
    school_id  INTEGER REFERENCES schools(id),
    target     TEXT NOT NULL,
    rule       TEXT NOT NULL CHECK (rule IN ('always_import', 'always_conflict', 'import_if_null', 'dont_import')),
    updated_by TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX processing_rules_target ON processing_rules(COALESCE(school_id, 0), target);

-- Students deleted at the source. No held record is deleted by an import.
CREATE TABLE source_deletions (
    id             INTEGER PRIMARY KEY,
    school_id      INTEGER NOT NULL REFERENCES schools(id),
    source_id      TEXT NOT NULL,
    student_id     INTEGER REFERENCES students(id),
    import_file_id INTEGER REFERENCES import_files(id),
    recorded_at    INTEGER NOT NULL,
    UNIQUE (school_id, source_id)
);
