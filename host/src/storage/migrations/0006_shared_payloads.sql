-- Schema version 6: transfer payloads compressed with zstd and stored once
-- per distinct content (storage/payloads.rs). A file points at its payload;
-- an unchanged school's repeated transfer points at the one already stored,
-- and a payload goes only when no file points at it any more. Files written
-- before keep their gzip payload in import_files.payload, still readable.

CREATE TABLE payloads (
    id     INTEGER PRIMARY KEY,
    sha256 TEXT NOT NULL UNIQUE,  -- of the uncompressed bytes
    data   BLOB NOT NULL,         -- zstd
    bytes  INTEGER NOT NULL       -- length of data
);

ALTER TABLE import_files ADD COLUMN payload_id INTEGER REFERENCES payloads(id);
CREATE INDEX import_files_payload ON import_files(payload_id);
