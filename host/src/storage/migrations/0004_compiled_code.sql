-- Schema version 4: the sha256 of each plugin's compiled code, recorded when
-- this host compiled it, so that code from the on-disk cache is run only if
-- it is byte for byte what the host produced (engine/compile_cache.rs).

CREATE TABLE compiled_code (
    wasm_sha256 TEXT NOT NULL,
    engine      TEXT NOT NULL,
    code_sha256 TEXT NOT NULL,
    PRIMARY KEY (wasm_sha256, engine)
);
